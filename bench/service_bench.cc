// Service benchmark (issue: the service). Prints figures; asserts nothing about time.
//
// The same work measured twice in one process, so the HTTP layer's cost is visible:
//   engine only   Engine::Start on LevelDB (sync = true), C callers in a closed loop
//   through HTTP  POST /v1/workflows/bench_order/instances on `retailflow serve`'s Service (real
//                 sockets, keep-alive, bearer auth, JSON, LevelDB sync = true), C client threads
//                 in a closed loop
// Each start carries a new business key, so every request is a durable start (the idempotency
// index is written too). The workflow finishes right after starting (one more transition).
//
// Usage: rf_bench_service [--seconds=S] [--clients=C] [--dir=PATH] [--only=engine|http] [--json]
// [--print-flow]
//   --only   run one of the two (bench/http_start.py runs `--only=engine`, with the HTTP side in
//            a separate `retailflow serve` process driven by wrk)
//   --json   print one JSON line per run instead of the table
//   --print-flow  print the benchmark's .flow source and exit (bench/http_start.py deploys it, so
//            both paths run the same workflow)
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "dsl/compiler.h"
#include "engine/engine.h"
#include "server/auth.h"
#include "server/config.h"
#include "server/service.h"
#include "state/keys.h"
#include "state/leveldb_store.h"

namespace {

using namespace rf;
namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

const char* kFlow = R"(workflow bench_order version 1
  "Benchmark: accept an order."
input
  order_ref text
finish accepted "Order {input.order_ref} accepted."
)";

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

struct Figures {
  double per_second = 0, p50_ms = 0, p99_ms = 0;
  size_t done = 0, failed = 0;
};

void Print(const char* what, const Figures& f) {
  std::printf("  %-14s %9.0f starts/s   p50 %7.2f ms   p99 %7.2f ms   (%zu starts, %zu failed)\n", what,
              f.per_second, f.p50_ms, f.p99_ms, f.done, f.failed);
}

void PrintJson(const char* path, int clients, const Figures& f) {
  nlohmann::json line{{"bench", "rf_service"},
                      {"path", path},
                      {"shape", "start_finish"},
                      {"clients", clients},
                      {"starts_per_s", f.per_second},
                      {"p50_ms", f.p50_ms},
                      {"p99_ms", f.p99_ms},
                      {"starts", f.done},
                      {"failed", f.failed}};
  std::printf("%s\n", line.dump().c_str());
}

class NoConnectors : public engine::ConnectorRegistry {
 public:
  engine::Connector* Find(const std::string&) override { return nullptr; }
};

Figures EngineOnly(const fs::path& dir, int clients, double seconds) {
  auto store = state::OpenLevelDb(dir.string(), {});
  if (Status f = store.ok() ? state::keys::PrepareFormat(store->get()) : Status::Ok(); !f.ok()) store = f;
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().message().c_str());
    std::exit(1);
  }
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) threads.emplace_back([&] { io.run(); });
  engine::SystemClock clock;
  NoConnectors connectors;
  auto engine = std::make_unique<engine::Engine>(io, store->get(), &clock, &connectors);
  (void)engine->Recover();
  dsl::Catalog catalog;
  dsl::Diagnostics diags;
  auto machine = dsl::CompileSource(kFlow, catalog, diags);
  if (!machine || !engine->Deploy(*machine, kFlow).ok()) {
    std::fprintf(stderr, "bench flow does not compile\n");
    std::exit(1);
  }
  std::mutex mu;
  std::vector<double> latencies;
  std::atomic<size_t> failed{0}, seq{0};
  std::atomic<bool> stop{false};
  std::atomic<int> active{clients};
  std::condition_variable cv;
  std::function<void()> one = [&] {
    if (stop) {
      if (--active == 0) cv.notify_all();
      return;
    }
    engine::StartRequest r;
    r.workflow = "bench_order";
    std::string key = "E-" + std::to_string(++seq);
    Record in;
    in["order_ref"] = Value(key);
    r.input = Value(std::move(in));
    r.business_key = key;
    auto t0 = SteadyClock::now();
    engine->Start(std::move(r), [&, t0](Result<engine::StartResult> res) {
      double ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count();
      {
        std::lock_guard<std::mutex> lock(mu);
        latencies.push_back(ms);
      }
      if (!res.ok()) ++failed;
      one();
    });
  };
  auto t0 = SteadyClock::now();
  for (int i = 0; i < clients; ++i) one();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return active.load() == 0; });
  }
  double elapsed = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  engine->WaitIdle();
  engine.reset();
  work.reset();
  io.stop();
  for (auto& t : threads) t.join();
  Figures f;
  f.done = latencies.size();
  f.failed = failed;
  f.per_second = static_cast<double>(f.done) / elapsed;
  f.p50_ms = Percentile(latencies, 0.50);
  f.p99_ms = Percentile(latencies, 0.99);
  return f;
}

Figures ThroughHttp(const fs::path& dir, int clients, double seconds) {
  fs::create_directories(dir / "workflows");
  std::ofstream(dir / "workflows" / "bench_order.flow") << kFlow;
  const std::string token = "bench-operator-token-0123456789";
  nlohmann::json config{
      {"listen", "127.0.0.1:0"},
      {"data_dir", (dir / "data").string()},
      {"workflow_dirs", {(dir / "workflows").string()}},
      {"tokens", {{{"name", "bench"}, {"sha256", server::Sha256Hex(token)}, {"roles", {"operator", "admin"}}}}},
      {"limits", {{"token_rate_per_second", 1e9}, {"token_burst", 1e9}}},
      {"log", {{"level", "warn"}, {"file", (dir / "service.log").string()}}},
  };
  auto parsed = server::ParseConfig(config.dump(), dir);
  if (!parsed.ok()) {
    std::fprintf(stderr, "%s\n", parsed.status().message().c_str());
    std::exit(1);
  }
  server::Service service(std::move(*parsed), "");
  if (Status s = service.Start(); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.message().c_str());
    std::exit(1);
  }
  unsigned short port = service.port();
  std::atomic<bool> stop{false};
  std::atomic<size_t> failed{0};
  std::mutex mu;
  std::vector<double> latencies;
  std::vector<std::thread> threads;
  auto t0 = SteadyClock::now();
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      namespace beast = boost::beast;
      namespace http = beast::http;
      boost::asio::io_context io;
      beast::tcp_stream stream(io);
      stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
      beast::flat_buffer buffer;
      std::vector<double> mine;
      for (int i = 0; !stop; ++i) {
        std::string key = "H-" + std::to_string(c) + "-" + std::to_string(i);
        http::request<http::string_body> req(http::verb::post, "/v1/workflows/bench_order/instances", 11);
        req.set(http::field::host, "127.0.0.1");
        req.set(http::field::authorization, "Bearer " + token);
        req.set(http::field::content_type, "application/json");
        req.keep_alive(true);
        req.body() = R"({"business_key":")" + key + R"(","input":{"order_ref":")" + key + R"("}})";
        req.prepare_payload();
        auto s0 = SteadyClock::now();
        http::write(stream, req);
        http::response<http::string_body> res;
        http::read(stream, buffer, res);
        mine.push_back(std::chrono::duration<double, std::milli>(SteadyClock::now() - s0).count());
        if (res.result_int() != 201) ++failed;
      }
      std::lock_guard<std::mutex> lock(mu);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  service.Shutdown();
  Figures f;
  f.done = latencies.size();
  f.failed = failed;
  f.per_second = static_cast<double>(f.done) / elapsed;
  f.p50_ms = Percentile(latencies, 0.50);
  f.p99_ms = Percentile(latencies, 0.99);
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 5;
  int clients = 16;
  bool json = false;
  std::string only;
  fs::path dir = fs::temp_directory_path() / ("rf_bench_service_" + std::to_string(::getpid()));
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--seconds=", 0) == 0) seconds = std::atof(a.c_str() + 10);
    else if (a.rfind("--clients=", 0) == 0) clients = std::atoi(a.c_str() + 10);
    else if (a.rfind("--dir=", 0) == 0) dir = a.substr(6);
    else if (a == "--only=engine" || a == "--only=http")
      only = a.substr(7);
    else if (a == "--json")
      json = true;
    else if (a == "--print-flow") {
      std::printf("%s", kFlow);
      return 0;
    } else {
      std::fprintf(stderr,
                   "usage: rf_bench_service [--seconds=S] [--clients=C] [--dir=PATH] "
                   "[--only=engine|http] [--json] [--print-flow]\n");
      return 2;
    }
  }
  fs::remove_all(dir);
  fs::create_directories(dir);
  if (!json)
    std::printf(
        "start-instance, LevelDB sync=true, %d concurrent callers, %.0f s per run, %u cores\n",
        clients, seconds, std::thread::hardware_concurrency());
  Figures engine, http;
  if (only != "http") engine = EngineOnly(dir / "engine", clients, seconds);
  if (only != "engine") http = ThroughHttp(dir / "service", clients, seconds);
  if (json) {
    if (only != "http") PrintJson("engine_only", clients, engine);
    if (only != "engine") PrintJson("http_in_process_client", clients, http);
  } else {
    if (only != "http") Print("engine only", engine);
    if (only != "engine") Print("through HTTP", http);
    if (only.empty())
      std::printf(
          "  HTTP overhead: %.2fx the engine's time per start (engine starts/s / HTTP starts/s), "
          "p50 +%.2f ms\n",
          engine.per_second / std::max(http.per_second, 1e-9), http.p50_ms - engine.p50_ms);
  }
  fs::remove_all(dir);
  return 0;
}
