// Engine benchmark (issue: the durable engine). Prints figures; asserts nothing about time.
//
// 1. LevelDB's own limit on this disk, measured in the same run: six synced single-record
//    writes in a row (the floor of a 5-step instance without group commit: the start and five
//    results), sampled between the instances of the concurrency-1 run of 2., and synced
//    group-commit throughput.
// 2. A 5-step sequential flow (a store return's shape) on LevelDB with sync=true and a connector
//    that answers at once: p50/p99 end-to-end latency at concurrency 1; completed instances/s and
//    transitions/s at several concurrencies; peak RSS.
// 3. N instances parked in an event wait (default 1,000,000): RSS of this process, then the time
//    to reopen the store, recover and be ready, and proof that a parked instance still resumes.
//
// Usage: rf_bench_engine [--parked=N] [--seconds=S] [--dir=PATH] [--no-baseline] [--no-group]
//                        [--levels=C1,C2,...] [--latency-n=N] [--json]
//   --partitions engine partitions, each with a thread of its own (default 2: one per core)
//   --levels     the concurrencies of the throughput part (default 16,64,256,1024)
//   --no-group   skip the group-commit baseline (3 s)
//   --json       the human-readable figures go to stderr and stdout gets one JSON line at the end
//                (bench/compare_xstate.py reads it)
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "dsl/compiler.h"
#include "engine/engine.h"
#include "state/group_commit.h"
#include "state/keys.h"
#include "state/leveldb_store.h"

namespace {

using namespace rf;
using Clock = std::chrono::steady_clock;

// Human-readable figures: stdout, or stderr when stdout carries the JSON line (--json).
FILE* out = stdout;

// CPU time (user + system) this process has used, in seconds: all its threads.
double ProcessCpuSeconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return s(u.ru_utime) + s(u.ru_stime);
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

long StatusKb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field, 0) == 0) return std::atol(line.c_str() + std::strlen(field));
  return -1;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

// Answers at once, from the calling thread, like an in-process system with no latency.
class InstantConnector : public engine::Connector {
 public:
  void Invoke(const engine::Invocation&, std::function<void(engine::CallResult)> done) override {
    Record r;
    r["ok"] = Value(true);
    done(engine::CallResult::Success(Value(std::move(r))));
  }
};

class Registry : public engine::ConnectorRegistry {
 public:
  engine::Connector* Find(const std::string&) override { return &c_; }

 private:
  InstantConnector c_;
};

const char* kReturnShape = R"(workflow bench_return version 1
uses sys
input return_id text, amount money
step find_sale
  call sys.get_sale with id = input.return_id
  save result as sale
step score
  call sys.score with amount = input.amount
step restock
  call sys.adjust with id = input.return_id
  undo call sys.adjust with id = input.return_id, direction = "out"
step credit_note
  call sys.credit with amount = input.amount
  undo call sys.cancel_credit with id = input.return_id
step tell_customer
  call sys.notify with id = input.return_id
finish
)";

const char* kParked = R"(workflow bench_parked version 1
uses sys
input k text
wait for_pickup
  for event pickup where order_ref == input.k within 30 days
  on timeout go to no_show
finish
fail no_show "no show"
)";

ir::Machine Compile(const char* source) {
  dsl::Catalog catalog;
  (void)catalog.AddJson(R"({"format": "retailflow.catalog/1", "connectors": [{"name": "sys", "operations": [
      {"name": "get_sale", "side_effects": false}, {"name": "score", "side_effects": false},
      {"name": "adjust"}, {"name": "credit"}, {"name": "cancel_credit"}, {"name": "notify", "compensable": false}]}]})",
                        "bench");
  dsl::Diagnostics diags;
  auto m = dsl::CompileSource(source, catalog, diags);
  if (!m) {
    for (const auto& d : diags.all()) std::fprintf(stderr, "%s\n", dsl::RenderText(d, "bench", source).c_str());
    std::exit(1);
  }
  return *m;
}

// The engine's threads: one per partition (--partitions), as the service runs them.
int g_threads = 2;

struct Host {
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::vector<std::thread> threads = [this] {
    std::vector<std::thread> t;
    for (int i = 0; i < g_threads; ++i) t.emplace_back([this] { io.run(); });
    return t;
  }();
  ~Host() {
    work.reset();
    io.stop();
    for (auto& t : threads) t.join();
  }
};

// Removes a benchmark directory. Every store in it must be closed first: an open LevelDB keeps
// writing files from its compaction thread, which made a remove fail with "Directory not empty".
// An opened store made ready for this binary (keys::PrepareFormat), as every host does.
Result<std::unique_ptr<state::StateStore>> Prepared(Result<std::unique_ptr<state::StateStore>> store) {
  if (!store.ok()) return store;
  if (Status s = state::keys::PrepareFormat(store->get()); !s.ok()) return s;
  return store;
}

void RemoveDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec) std::fprintf(stderr, "warning: cannot remove %s: %s\n", dir.c_str(), ec.message().c_str());
}

// Synced commits a 5-step instance needs when nothing is grouped: the start and five results.
constexpr int kSyncedCommitsPerInstance = 6;

// Synced group commits of 5-record batches from 64 submitters for 3 s: batches/s.
double GroupCommitPerSecond(state::StateStore* store, const std::string& value) {
  // The committer is declared after the store, so it stops (its writer thread joined) before the
  // store closes.
  state::GroupCommitter committer(store);
  std::atomic<long> done{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  auto t0 = Clock::now();
  for (int t = 0; t < 64; ++t) {
    threads.emplace_back([&, t] {
      for (long i = 0; !stop; ++i) {
        std::mutex m;
        std::condition_variable cv;
        bool ok = false;
        state::WriteBatch b;
        for (int k = 0; k < 5; ++k)
          b.Put("g/" + std::to_string(t) + "/" + std::to_string(i) + "/" + std::to_string(k),
                value);
        committer.Submit(std::move(b), [&](const Status&) {
          std::lock_guard l(m);
          ok = true;
          cv.notify_one();
        });
        std::unique_lock l(m);
        cv.wait(l, [&] { return ok; });
        ++done;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(3));
  stop = true;
  for (auto& th : threads) th.join();
  return static_cast<double>(done) / std::chrono::duration<double>(Clock::now() - t0).count();
}

// Synced group-commit rate of 5-record batches, on a fresh store in `dir`.
double GroupCommitBaseline(const std::string& dir) {
  RemoveDir(dir);
  double per_s = 0;
  {
    auto store = state::OpenLevelDb(dir, state::LevelDbOptions{});
    if (store.ok()) store = Prepared(std::move(store));
    if (!store.ok()) {
      std::fprintf(stderr, "%s\n", store.status().message().c_str());
      std::exit(1);
    }
    per_s = GroupCommitPerSecond(store->get(), std::string(400, 'x'));
  }  // the store closed (its compactions finished) before the folder is removed
  RemoveDir(dir);
  return per_s;
}

// Six synced single-record commits in a row on a store of its own: the floor of a 5-step instance
// when nothing is grouped. Sampled between the instances of the concurrency-1 run, so that the
// ratio of the two compares the disk at the same moments (its fsync time drifts by several times
// within a minute when other work shares the disk).
class SixSyncedCommits {
 public:
  explicit SixSyncedCommits(std::string dir) : dir_(std::move(dir)) {
    RemoveDir(dir_);
    auto store = state::OpenLevelDb(dir_, state::LevelDbOptions{});
    if (!store.ok()) {
      std::fprintf(stderr, "%s\n", store.status().message().c_str());
      std::exit(1);
    }
    store_ = std::move(store).value();
  }
  ~SixSyncedCommits() {
    store_.reset();
    RemoveDir(dir_);
  }

  void Sample() {
    auto t0 = Clock::now();
    for (int k = 0; k < kSyncedCommitsPerInstance; ++k) {
      state::WriteBatch b;
      b.Put("k/" + std::to_string(samples_.size()) + "/" + std::to_string(k), value_);
      if (Status s = store_->Commit(b); !s.ok()) {
        std::fprintf(stderr, "baseline commit failed: %s\n", s.message().c_str());
        std::exit(1);
      }
    }
    samples_.push_back(Ms(Clock::now() - t0));
  }
  double P50() const { return Percentile(samples_, 0.5); }

 private:
  std::string dir_;
  std::unique_ptr<state::StateStore> store_;
  std::string value_ = std::string(400, 'x');
  std::vector<double> samples_;
};

struct Runner {
  engine::Engine* engine;
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, Clock::time_point> started;
  std::vector<double> latencies;
  long completed = 0;
  // Closed loop for throughput: each finished instance starts the next one from the engine's
  // own callback, so the load generator adds no thread of its own to this 2-core machine.
  std::atomic<bool> refill{false};
  std::atomic<long> finished{0};
  std::function<void()> start_next;
};

}  // namespace

int main(int argc, char** argv) {
  long parked = 1000000;
  double seconds = 4;
  bool baseline = true, group = true, json = false;
  int latency_n = 300;
  std::vector<int> levels{16, 64, 256, 1024};
  std::string base = std::filesystem::temp_directory_path() / ("rf-bench-engine-" + std::to_string(::getpid()));
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--parked=", 0) == 0) parked = std::atol(a.c_str() + 9);
    if (a.rfind("--seconds=", 0) == 0) seconds = std::atof(a.c_str() + 10);
    if (a.rfind("--dir=", 0) == 0) base = a.substr(6);
    if (a == "--no-baseline") baseline = false;
    if (a == "--no-group") group = false;
    if (a == "--json") json = true;
    if (a.rfind("--partitions=", 0) == 0) g_threads = std::clamp(std::atoi(a.c_str() + 13), 1, 16);
    if (a.rfind("--latency-n=", 0) == 0) latency_n = std::max(1, std::atoi(a.c_str() + 12));
    if (a.rfind("--levels=", 0) == 0) {
      levels.clear();
      std::stringstream list(a.substr(9));
      for (std::string item; std::getline(list, item, ',');)
        if (std::atoi(item.c_str()) > 0) levels.push_back(std::atoi(item.c_str()));
      if (levels.empty()) {
        std::fprintf(stderr,
                     "--levels: a comma-separated list of concurrencies, e.g. --levels=64,256\n");
        return 2;
      }
    }
  }
  if (json) out = stderr;
  std::filesystem::create_directories(base);

  double six_synced_ms = 0, group_per_s = 0;
  if (baseline && group) group_per_s = GroupCommitBaseline(base + "/baseline");
  std::optional<SixSyncedCommits> six;
  if (baseline) six.emplace(base + "/six");

  // ------------------------------------------------------------------ 5-step throughput/latency
  std::ostringstream result;  // the --json line
  ir::Machine flow = Compile(kReturnShape);
  Registry registry;
  engine::SystemClock clock;
  std::string dir = base + "/engine";
  RemoveDir(dir);
  auto store = Prepared(state::OpenLevelDb(dir, state::LevelDbOptions{}));
  if (!store.ok()) return 1;
  Runner runner;
  engine::EngineOptions options;
  options.partitions = g_threads;
  options.on_terminal = [&runner](const std::string& id, const std::string&, const std::string& status) {
    if (runner.refill) {
      ++runner.finished;
      runner.start_next();
      return;
    }
    auto now = Clock::now();
    std::lock_guard l(runner.mu);
    auto it = runner.started.find(id);
    if (it != runner.started.end()) {
      runner.latencies.push_back(Ms(now - it->second));
      runner.started.erase(it);
    }
    if (status == "completed") ++runner.completed;
    runner.cv.notify_all();
  };
  {
    Host host;
    engine::Engine engine(host.io, store->get(), &clock, &registry, options);
    if (!engine.Recover().ok() || !engine.Deploy(flow, kReturnShape).ok()) return 1;
    runner.engine = &engine;
    std::atomic<long> seq{0};
    auto start_one = [&](auto&& self) -> void {
      engine::StartRequest req;
      req.workflow = "bench_return";
      long n = seq++;
      Record in;
      in["return_id"] = Value("R" + std::to_string(n));
      in["amount"] = Value(Decimal::Parse("19.99").value());
      req.input = Value(std::move(in));
      auto t0 = Clock::now();
      engine.Start(req, [&, t0](Result<engine::StartResult> r) {
        if (!r.ok()) return;
        std::lock_guard l(runner.mu);
        runner.started[r->instance_id] = t0;
      });
      (void)self;
    };
    // Latency at concurrency 1, each instance after a sample of six synced commits.
    auto c1_stats0 = engine.stats();
    for (int i = 0; i < latency_n; ++i) {
      if (six) six->Sample();
      long before;
      {
        std::lock_guard l(runner.mu);
        before = runner.completed;
      }
      start_one(start_one);
      std::unique_lock l(runner.mu);
      runner.cv.wait(l, [&] { return runner.completed > before; });
    }
    engine.WaitIdle();
    auto c1_stats1 = engine.stats();
    double commits_per_instance =
        static_cast<double>(c1_stats1.commits - c1_stats0.commits) / static_cast<double>(latency_n);
    double p50 = Percentile(runner.latencies, 0.5), p99 = Percentile(runner.latencies, 0.99);
    if (six) six_synced_ms = six->P50();
    six.reset();
    std::fprintf(out, "LevelDB on this disk (sync=true, same run):\n");
    std::fprintf(out,
                 "  six synced single-record writes in a row    p50 %8.2f ms (between the "
                 "instances below)\n",
                 six_synced_ms);
    if (group_per_s > 0)
      std::fprintf(out, "  group commit, 64 submitters, 5-record batches %8.0f batches/s\n",
                   group_per_s);
    std::fprintf(out, "\n");
    std::fprintf(out, "5-step flow, LevelDB sync=true, concurrency 1 (%d instances):\n", latency_n);
    std::fprintf(out,
                 "  end-to-end p50 %7.2f ms   p99 %7.2f ms   (p50 / six synced writes = %.2fx)\n",
                 p50, p99, six_synced_ms > 0 ? p50 / six_synced_ms : 0.0);
    std::fprintf(out, "  %.2f synced commit groups per instance\n\n", commits_per_instance);
    result << "{\"bench\":\"rf_engine\",\"shape\":\"store_return_5_steps\",\"fsync\":true"
           << ",\"six_synced_commits_p50_ms\":" << six_synced_ms
           << ",\"group_commit_batches_per_s\":" << group_per_s << ",\"c1_instances\":" << latency_n
           << ",\"c1_p50_ms\":" << p50 << ",\"c1_p99_ms\":" << p99
           << ",\"c1_commits_per_instance\":" << commits_per_instance << ",\"levels\":[";

    std::fprintf(out, "5-step flow, throughput (%.0f s per level):\n", seconds);
    double best = 0, best_tr = 0;
    int best_c = 0;
    runner.start_next = [&] {
      engine::StartRequest req;
      req.workflow = "bench_return";
      Record in;
      in["return_id"] = Value("T" + std::to_string(seq++));
      in["amount"] = Value(Decimal::Parse("19.99").value());
      req.input = Value(std::move(in));
      engine.Start(req, [](Result<engine::StartResult>) {});
    };
    for (int concurrency : levels) {
      runner.finished = 0;
      runner.refill = true;
      auto stats0 = engine.stats();
      double cpu0 = ProcessCpuSeconds();
      auto t0 = Clock::now();
      for (int i = 0; i < concurrency; ++i) runner.start_next();
      std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
      long done = runner.finished.load();
      auto stats1 = engine.stats();
      // CPU per completed instance: the figure a busy machine moves least (wall-clock rates
      // fall with the share of the cores this process gets).
      double cpu_us = (ProcessCpuSeconds() - cpu0) * 1e6 / static_cast<double>(std::max(done, 1L));
      double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
      runner.refill = false;  // the instances in flight finish without starting more
      double per_s = static_cast<double>(done) / elapsed;
      double tr_s = static_cast<double>(stats1.transitions - stats0.transitions) / elapsed;
      double groups = static_cast<double>(stats1.commits - stats0.commits);
      double per_write =
          groups > 0 ? static_cast<double>(stats1.transitions - stats0.transitions) / groups : 0.0;
      std::fprintf(out,
                   "  concurrency %5d: %8.0f instances/s  %9.0f transitions/s  %6.1f transitions "
                   "per synced write  %6.0f us CPU per instance\n",
                   concurrency, per_s, tr_s, per_write, cpu_us);
      result << (concurrency == levels.front() ? "" : ",") << "{\"c\":" << concurrency
             << ",\"instances_per_s\":" << per_s << ",\"transitions_per_s\":" << tr_s
             << ",\"transitions_per_synced_write\":" << per_write
             << ",\"cpu_us_per_instance\":" << cpu_us << "}";
      if (per_s > best) {
        best = per_s;
        best_tr = tr_s;
        best_c = concurrency;
      }
      engine.WaitIdle();
    }
    std::fprintf(
        out,
        "  best: %.0f instances/s (%.0f transitions/s) at concurrency %d; peak RSS %ld MiB\n\n",
        best, best_tr, best_c, StatusKb("VmHWM:") / 1024);
    result << "],\"best_instances_per_s\":" << best << ",\"best_c\":" << best_c
           << ",\"peak_rss_mib\":" << StatusKb("VmHWM:") / 1024 << "}";
  }
  store->reset();
  RemoveDir(dir);

  // ---------------------------------------------------------------------- parked instances
  if (parked > 0) {
    ir::Machine park = Compile(kParked);
    std::string pdir = base + "/parked";
    RemoveDir(pdir);
    long rss_before = 0;
    double fill_s = 0;
    {
      auto pstore = Prepared(state::OpenLevelDb(pdir, state::LevelDbOptions{}));
      if (!pstore.ok()) return 1;
      Host host;
      engine::Engine engine(host.io, pstore->get(), &clock, &registry, engine::EngineOptions{});
      if (!engine.Recover().ok() || !engine.Deploy(park, kParked).ok()) return 1;
      rss_before = StatusKb("VmRSS:");
      std::atomic<long> acked{0};
      auto t0 = Clock::now();
      const long window = 2048;
      for (long i = 0; i < parked; ++i) {
        while (i - acked.load() > window) std::this_thread::sleep_for(std::chrono::microseconds(100));
        engine::StartRequest req;
        req.workflow = "bench_parked";
        Record in;
        in["k"] = Value("K" + std::to_string(i));
        req.input = Value(std::move(in));
        engine.Start(req, [&](Result<engine::StartResult>) { ++acked; });
        if (i % 100000 == 0 && i > 0)
          std::fprintf(
              out, "  ... %ld parked (%.0f/s)\n", i,
              static_cast<double>(i) / std::chrono::duration<double>(Clock::now() - t0).count());
      }
      while (acked.load() < parked) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      engine.WaitIdle();
      fill_s = std::chrono::duration<double>(Clock::now() - t0).count();
      auto st = engine.stats();
      std::fprintf(out, "%ld instances parked in an event wait in %.1f s (%.0f starts/s):\n",
                   parked, fill_s, static_cast<double>(parked) / fill_s);
      std::fprintf(out,
                   "  engine RSS now %ld MiB (before parking %ld MiB); resident instances %zu\n",
                   StatusKb("VmRSS:") / 1024, rss_before / 1024, st.resident_instances);
    }
    // Restart: reopen, recover, ready.
    auto t0 = Clock::now();
    auto pstore = Prepared(state::OpenLevelDb(pdir, state::LevelDbOptions{}));
    if (!pstore.ok()) return 1;
    Host host;
    engine::Engine engine(host.io, pstore->get(), &clock, &registry, engine::EngineOptions{});
    if (!engine.Recover().ok()) return 1;
    double ready_s = std::chrono::duration<double>(Clock::now() - t0).count();
    std::mutex m;
    std::condition_variable cv;
    int delivered = -1;
    engine.DeliverEvent("pickup", "K" + std::to_string(parked / 2), Value(Record{}), [&](Result<int> r) {
      std::lock_guard l(m);
      delivered = r.ok() ? *r : -2;
      cv.notify_all();
    });
    {
      std::unique_lock l(m);
      cv.wait(l, [&] { return delivered != -1; });
    }
    std::fprintf(out,
                 "  restart: store reopened, recovered and ready in %.2f s; an event then resumed "
                 "%d parked instance(s)\n",
                 ready_s, delivered);
  }
  RemoveDir(base);
  if (json) std::printf("%s\n", result.str().c_str());
  return 0;
}
