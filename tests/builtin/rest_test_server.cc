// The scriptable test server. See rest_test_server.h.
#include "tests/builtin/rest_test_server.h"

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#pragma GCC diagnostic pop
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace rf::testing {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

const char* Reason(int status) {
  return bhttp::obsolete_reason(static_cast<bhttp::status>(status)).data();
}

}  // namespace

std::string RecordedRequest::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (IEquals(k, name)) return v;
  }
  return {};
}

class RestTestServer::Impl {
 public:
  explicit Impl(Options options) : options_(std::move(options)), acceptor_(io_) {
    if (options_.tls) {
      tls_.emplace(ssl::context::tls_server);
      tls_->use_certificate_chain_file(options_.cert_file);
      tls_->use_private_key_file(options_.key_file, ssl::context::pem);
    }
    tcp::endpoint ep(net::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen(net::socket_base::max_listen_connections);
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }

  ~Impl() { Stop(); }

  void Stop() {
    {
      std::lock_guard lock(mu_);
      if (stopped_) return;
      stopped_ = true;
      // shutdown() wakes threads blocked in accept()/read() (close() alone does not).
      ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
      for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    }
    cv_.notify_all();
    if (accept_thread_.joinable()) accept_thread_.join();
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mu_);
      threads.swap(conn_threads_);
    }
    for (auto& t : threads) t.join();
    beast::error_code ignored;
    acceptor_.close(ignored);
  }

  void AcceptLoop() {
    while (true) {
      beast::error_code ec;
      tcp::socket socket(io_);
      acceptor_.accept(socket, ec);
      std::lock_guard lock(mu_);
      if (ec || stopped_) return;
      size_t number = ++accepted_;
      open_fds_.insert(socket.native_handle());
      conn_threads_.emplace_back(
          [this, s = std::move(socket), number]() mutable { Serve(std::move(s), number); });
    }
  }

  void Serve(tcp::socket socket, size_t number) {
    beast::error_code ec;
    socket.set_option(tcp::no_delay(true), ec);
    if (tls_) {
      ssl::stream<tcp::socket> stream(std::move(socket), *tls_);
      stream.handshake(ssl::stream_base::server, ec);
      if (ec) {  // e.g. the client refused our certificate
        Forget(stream.lowest_layer().native_handle());
        return;
      }
      ServeLoop(stream, number);
      Forget(stream.lowest_layer().native_handle());
      stream.lowest_layer().close(ec);
    } else {
      ServeLoop(socket, number);
      Forget(socket.native_handle());
      socket.shutdown(tcp::socket::shutdown_both, ec);
      socket.close(ec);
    }
  }

  // Before the descriptor is closed (and its number possibly reused), so Stop() never shuts
  // down somebody else's socket.
  void Forget(int fd) {
    std::lock_guard lock(mu_);
    open_fds_.erase(fd);
  }

  template <class Stream>
  void ServeLoop(Stream& stream, size_t number) {
    beast::flat_buffer buffer;
    while (true) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.body_limit(64 << 20);
      beast::error_code ec;
      bhttp::read(stream, buffer, parser, ec);
      if (ec) return;
      auto msg = parser.release();
      RecordedRequest req;
      req.method = std::string(msg.method_string());
      req.target = std::string(msg.target());
      req.path = req.target.substr(0, req.target.find('?'));
      for (const auto& f : msg) {
        req.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
      }
      req.body = std::move(msg.body());
      req.connection = number;
      bool keep_alive = msg.keep_alive();

      Reply reply = Choose(req);
      {
        std::lock_guard lock(mu_);
        if (options_.record) requests_.push_back(req);
        ++in_flight_;
        max_in_flight_ = std::max(max_in_flight_, in_flight_);
      }
      bool keep_going = Answer(stream, reply, keep_alive);
      {
        std::lock_guard lock(mu_);
        --in_flight_;
      }
      if (!keep_going) return;
    }
  }

  Reply Choose(const RecordedRequest& req) {
    Handler handler;
    {
      std::lock_guard lock(mu_);
      handler = handler_;
    }
    if (handler) {
      if (auto r = handler(req)) return *r;
    }
    std::lock_guard lock(mu_);
    auto it = routes_.find(req.path);
    if (it != routes_.end()) return it->second;
    return Reply::Json(404, R"({"error": "no route"})");
  }

  // Writes the reply; false when the connection must end.
  template <class Stream>
  bool Answer(Stream& stream, const Reply& reply, bool keep_alive) {
    if (reply.delay.count() > 0) {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, reply.delay, [this] { return stopped_; });
      if (stopped_) return false;
    }
    beast::error_code ec;
    if (reply.close_without_response) return false;
    if (reply.raw) {
      net::write(stream, net::buffer(*reply.raw), ec);
      return false;
    }
    bool close = reply.close_after || !keep_alive;
    std::string head = "HTTP/1.1 " + std::to_string(reply.status) + " " + Reason(reply.status) +
                       "\r\nContent-Type: " + reply.content_type + "\r\n";
    for (const auto& [k, v] : reply.headers) head += k + ": " + v + "\r\n";
    if (close) head += "Connection: close\r\n";
    if (reply.close_mid_response) {
      head += "Content-Length: " + std::to_string(reply.body.size() + 100) + "\r\n\r\n";
      head += reply.body.substr(0, reply.body.size() / 2);
      net::write(stream, net::buffer(head), ec);
      return false;
    }
    if (reply.chunked) {
      head += "Transfer-Encoding: chunked\r\n\r\n";
      size_t third = std::max<size_t>(1, reply.body.size() / 3);
      for (size_t pos = 0; pos < reply.body.size(); pos += third) {
        std::string part = reply.body.substr(pos, third);
        char size[32];
        std::snprintf(size, sizeof size, "%zx\r\n", part.size());
        head += size + part + "\r\n";
      }
      head += "0\r\n\r\n";
    } else {
      head += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n\r\n" + reply.body;
    }
    net::write(stream, net::buffer(head), ec);
    return !ec && !close;
  }

  Options options_;
  net::io_context io_;
  std::optional<ssl::context> tls_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::thread accept_thread_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;
  std::vector<std::thread> conn_threads_;
  std::set<int> open_fds_;
  size_t accepted_ = 0;
  size_t in_flight_ = 0;
  size_t max_in_flight_ = 0;
  std::vector<RecordedRequest> requests_;
  std::map<std::string, Reply> routes_;
  Handler handler_;
};

RestTestServer::RestTestServer() : RestTestServer(Options{}) {}
RestTestServer::RestTestServer(Options options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
RestTestServer::~RestTestServer() { impl_->Stop(); }

uint16_t RestTestServer::port() const { return impl_->port_; }
std::string RestTestServer::base_url() const {
  return std::string(impl_->options_.tls ? "https" : "http") + "://127.0.0.1:" +
         std::to_string(port());
}

void RestTestServer::Route(const std::string& path, Reply reply) {
  std::lock_guard lock(impl_->mu_);
  impl_->routes_[path] = std::move(reply);
}

void RestTestServer::SetHandler(Handler handler) {
  std::lock_guard lock(impl_->mu_);
  impl_->handler_ = std::move(handler);
}

size_t RestTestServer::connections_accepted() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->accepted_;
}

size_t RestTestServer::max_concurrent_requests() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->max_in_flight_;
}

std::vector<RecordedRequest> RestTestServer::requests() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->requests_;
}

std::optional<RecordedRequest> RestTestServer::last_request() const {
  std::lock_guard lock(impl_->mu_);
  if (impl_->requests_.empty()) return std::nullopt;
  return impl_->requests_.back();
}

void RestTestServer::Stop() { impl_->Stop(); }

uint16_t RestTestServer::RefusedPort() {
  net::io_context io;
  tcp::acceptor a(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  uint16_t port = a.local_endpoint().port();
  a.close();
  return port;
}

bool RestTestServer::MakeSelfSignedCert(const std::string& dir) {
  std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost"
                    " -addext subjectAltName=IP:127.0.0.1,DNS:localhost"
                    " -keyout '" + dir + "/key.pem' -out '" + dir + "/cert.pem' >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

struct IdempotentEndpoint::State {
  Reply answer;
  std::string problem_type;
  mutable std::mutex mu;
  mutable std::condition_variable cv;
  bool holding = false;
  size_t held = 0;
  size_t effects = 0;
  size_t in_progress_answers = 0;
  std::set<std::string> claimed;
  std::map<std::string, Reply> stored;
};

IdempotentEndpoint::IdempotentEndpoint(Reply answer, std::string problem_type)
    : state_(std::make_shared<State>()) {
  state_->answer = std::move(answer);
  state_->problem_type = std::move(problem_type);
}

IdempotentEndpoint::~IdempotentEndpoint() { Release(); }

RestTestServer::Handler IdempotentEndpoint::Handler(std::string path) {
  return [st = state_, path = std::move(path)](const RecordedRequest& req) -> std::optional<Reply> {
    if (req.path != path) return std::nullopt;
    std::string key = req.Header("Idempotency-Key");
    if (key.empty()) key = req.Header("webhook-id");
    std::unique_lock lock(st->mu);
    if (key.empty()) {
      ++st->effects;
      return st->answer;
    }
    if (auto it = st->stored.find(key); it != st->stored.end()) return it->second;
    if (st->claimed.count(key)) {
      ++st->in_progress_answers;
      st->cv.notify_all();
      Reply r = Reply::Json(409, R"({"type": ")" + st->problem_type +
                                     R"(", "title": "A request is outstanding for this )"
                                     R"(Idempotency-Key", "status": 409})");
      r.content_type = "application/problem+json";
      return r;
    }
    st->claimed.insert(key);
    ++st->held;
    st->cv.notify_all();
    st->cv.wait(lock, [&] { return !st->holding; });
    --st->held;
    ++st->effects;
    st->stored[key] = st->answer;
    st->claimed.erase(key);
    return st->answer;
  };
}

void IdempotentEndpoint::Hold() {
  std::lock_guard lock(state_->mu);
  state_->holding = true;
}

void IdempotentEndpoint::Release() {
  std::lock_guard lock(state_->mu);
  state_->holding = false;
  state_->cv.notify_all();
}

bool IdempotentEndpoint::WaitHeld(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(state_->mu);
  return state_->cv.wait_for(lock, timeout, [&] { return state_->held >= n; });
}

bool IdempotentEndpoint::WaitInProgressAnswers(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(state_->mu);
  return state_->cv.wait_for(lock, timeout, [&] { return state_->in_progress_answers >= n; });
}

size_t IdempotentEndpoint::effects() const {
  std::lock_guard lock(state_->mu);
  return state_->effects;
}

size_t IdempotentEndpoint::in_progress_answers() const {
  std::lock_guard lock(state_->mu);
  return state_->in_progress_answers;
}

}  // namespace rf::testing
