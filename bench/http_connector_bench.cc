// The `http` connector against a bare Beast client. Prints figures; asserts nothing about time.
//
// A local Beast keep-alive server (port 0, its own thread) answers every request with a small
// JSON object. The same number of calls at the same concurrency goes through
//   1. the http connector (Invoke with done callbacks: templates, headers, pool, JSON parse with
//      exact decimals, response mapping), and
//   2. a bare Beast client: one keep-alive connection per concurrent caller, write + read.
// Both clients run on one io_context thread, as the host runs connectors. Printed: calls/s, p50,
// p99 and the ratio (target: the connector within 1.3x of the bare client).
//
// Usage: rf_bench_http [--calls=N] [--concurrency=C] [--rounds=R]
#include <algorithm>
#include <atomic>
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#pragma GCC diagnostic pop
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "connectors/builtin/http_connector.h"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr const char* kReply = R"({"id": "R-1", "sku": "A-100", "price": 19.99, "qty": 3})";

// --- server -------------------------------------------------------------------------------------

class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket s) : stream_(std::move(s)) {}
  void Start() { Read(); }

 private:
  void Read() {
    req_ = {};
    bhttp::async_read(stream_, buffer_, req_,
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (ec) return;
                        self->Write();
                      });
  }
  void Write() {
    res_ = {};
    res_.result(bhttp::status::ok);
    res_.version(11);
    res_.set(bhttp::field::content_type, "application/json");
    res_.keep_alive(req_.keep_alive());
    res_.body() = kReply;
    res_.prepare_payload();
    bhttp::async_write(stream_, res_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec || !self->res_.keep_alive()) return;
      self->Read();
    });
  }
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  bhttp::request<bhttp::string_body> req_;
  bhttp::response<bhttp::string_body> res_;
};

class Server {
 public:
  Server() : acceptor_(io_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
    Accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Server() {
    io_.stop();
    thread_.join();
  }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }

 private:
  void Accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket s) {
      if (!ec) {
        s.set_option(tcp::no_delay(true), ec);
        std::make_shared<Session>(std::move(s))->Start();
      }
      Accept();
    });
  }
  net::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
};

// --- measurement --------------------------------------------------------------------------------

struct Figures {
  double seconds = 0;
  size_t calls = 0;
  size_t failures = 0;
  std::vector<double> latencies_us;
  double Rate() const { return static_cast<double>(calls) / seconds; }
  double Percentile(double p) {
    if (latencies_us.empty()) return 0;
    std::sort(latencies_us.begin(), latencies_us.end());
    size_t i = std::min(latencies_us.size() - 1,
                        static_cast<size_t>(p * static_cast<double>(latencies_us.size())));
    return latencies_us[i];
  }
};

double Us(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

// Runs `calls` calls with `concurrency` in flight; `start_one(done)` issues one call and must
// invoke done(ok) on the io thread. All bookkeeping happens on that thread.
template <class StartOne>
Figures Drive(net::io_context& io, size_t calls, size_t concurrency, StartOne start_one) {
  struct State {
    size_t issued = 0, completed = 0;
    Figures f;
    std::promise<void> finished;
  };
  auto st = std::make_shared<State>();
  st->f.latencies_us.reserve(calls);
  auto begin = Clock::now();
  auto launch = std::make_shared<std::function<void()>>();
  *launch = [st, calls, start_one, launch_weak = std::weak_ptr<std::function<void()>>(launch)] {
    if (st->issued >= calls) return;
    ++st->issued;
    auto t0 = Clock::now();
    start_one([st, calls, t0, launch_weak](bool ok) {
      st->f.latencies_us.push_back(Us(Clock::now() - t0));
      if (!ok) ++st->f.failures;
      if (++st->completed == calls) {
        st->finished.set_value();
        return;
      }
      if (auto l = launch_weak.lock()) (*l)();
    });
  };
  auto fut = st->finished.get_future();
  net::post(io, [&] {
    for (size_t i = 0; i < concurrency; ++i) (*launch)();
  });
  fut.wait();
  st->f.seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  st->f.calls = calls;
  return st->f;
}

// The connector under test.
struct ConnectorCaller {
  rf::connectors::ConnectorInstance* connector;
  void operator()(std::function<void(bool)> done) const {
    rf::engine::Invocation call;
    call.instance_id = "bench";
    call.invocation_id = "inv";
    call.idempotency_key = "idem-1";
    call.correlation_id = "corr-1";
    call.operation = "get";
    rf::Record input;
    input.emplace("sku", rf::Value("A-100"));
    call.input = rf::Value(std::move(input));
    call.deadline = rf::Time{std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count() +
                             30000};
    connector->Invoke(call, [done = std::move(done)](rf::engine::CallResult r) { done(r.ok); });
  }
};

// The bare Beast client: a fixed set of keep-alive connections, each used by one caller at a
// time (a free-list), same request shape as the connector sends.
class BareClient {
 public:
  BareClient(net::io_context& io, unsigned short port, size_t connections) {
    tcp::resolver resolver(io);
    auto eps = resolver.resolve("127.0.0.1", std::to_string(port));
    for (size_t i = 0; i < connections; ++i) {
      auto c = std::make_shared<Conn>(io);
      c->stream.connect(eps);
      c->stream.socket().set_option(tcp::no_delay(true));
      free_.push_back(c);
    }
  }
  void operator()(std::function<void(bool)> done) {
    auto c = free_.back();  // Drive never has more in flight than connections
    free_.pop_back();
    c->req = {};
    c->req.method(bhttp::verb::get);
    c->req.target("/v1/items/A-100");
    c->req.version(11);
    c->req.set(bhttp::field::host, "127.0.0.1");
    c->req.set("Idempotency-Key", "idem-1");
    c->req.set("X-Correlation-Id", "corr-1");
    c->req.set(bhttp::field::content_type, "application/json");
    c->req.set(bhttp::field::user_agent, "bare");
    bhttp::async_write(c->stream, c->req, [this, c, done](beast::error_code ec, size_t) mutable {
      if (ec) {
        free_.push_back(c);
        return done(false);
      }
      c->res = {};
      bhttp::async_read(c->stream, c->buffer, c->res,
                        [this, c, done](beast::error_code ec2, size_t) {
                          free_.push_back(c);
                          done(!ec2 && c->res.result_int() == 200);
                        });
    });
  }

 private:
  struct Conn {
    explicit Conn(net::io_context& io) : stream(io) {}
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    bhttp::request<bhttp::string_body> req;
    bhttp::response<bhttp::string_body> res;
  };
  std::vector<std::shared_ptr<Conn>> free_;
};

void Print(const char* name, Figures& f) {
  std::printf("%-16s %9.0f calls/s   p50 %7.1f us   p99 %7.1f us   failures %zu\n", name,
              f.Rate(), f.Percentile(0.50), f.Percentile(0.99), f.failures);
}

}  // namespace

int main(int argc, char** argv) {
  size_t calls = 20000, concurrency = 16;
  int rounds = 3;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--calls=", 8) == 0) calls = std::stoul(argv[i] + 8);
    if (std::strncmp(argv[i], "--concurrency=", 14) == 0) concurrency = std::stoul(argv[i] + 14);
    if (std::strncmp(argv[i], "--rounds=", 9) == 0) rounds = std::max(1, std::atoi(argv[i] + 9));
  }
  Server server;
  net::io_context io;
  auto guard = net::make_work_guard(io);
  std::thread io_thread([&] { io.run(); });

  rf::connectors::InstanceConfig config;
  config.name = "bench";
  config.type = "http";
  config.settings = nlohmann::json::parse(R"({
    "base_url": "http://127.0.0.1:)" + std::to_string(server.port()) + R"(",
    "auth": {"type": "bearer", "token": "bench-token"},
    "pool": {"max_connections_per_host": )" + std::to_string(concurrency) + R"(},
    "operations": [{"name": "get", "method": "GET", "path": "/v1/items/{input.sku}",
                    "response": {"id": "/id", "price": "/price", "qty": "/qty"}}]})");
  auto connector = rf::connectors::MakeHttpConnector(config, io);
  if (!connector.ok()) {
    std::fprintf(stderr, "%s\n", connector.status().message().c_str());
    return 1;
  }
  BareClient bare(io, server.port(), concurrency);
  ConnectorCaller via_connector{connector->get()};
  auto via_bare = [&bare](std::function<void(bool)> done) { bare(std::move(done)); };

  std::printf("http connector vs bare Beast client: %zu calls, %zu concurrent, keep-alive, "
              "loopback\n", calls, concurrency);
  // Warm-up: connections opened, allocators and caches warm.
  Drive(io, std::min<size_t>(calls, 2000), concurrency, via_connector);
  Drive(io, std::min<size_t>(calls, 2000), concurrency, via_bare);
  // Alternating rounds so that load from other processes hits both sides alike; the round with
  // the median rate of each side is printed.
  std::vector<Figures> cs, bs;
  for (int round = 0; round < rounds; ++round) {
    cs.push_back(Drive(io, calls, concurrency, via_connector));
    bs.push_back(Drive(io, calls, concurrency, via_bare));
  }
  auto by_rate = [](const Figures& x, const Figures& y) { return x.Rate() < y.Rate(); };
  std::sort(cs.begin(), cs.end(), by_rate);
  std::sort(bs.begin(), bs.end(), by_rate);
  Figures& c = cs[cs.size() / 2];
  Figures& b = bs[bs.size() / 2];
  std::printf("median of %d alternating rounds:\n", rounds);
  Print("http connector", c);
  Print("bare Beast", b);
  std::printf("ratio (bare calls/s / connector calls/s): %.2fx   (target <= 1.30x)\n",
              b.Rate() / c.Rate());

  (*connector)->Shutdown();
  guard.reset();
  io_thread.join();
  return 0;
}
