#include "server/http_server.h"

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <mutex>
#include <set>
#include <vector>

#include "server/request_reader.h"

namespace rf::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace {

std::string NewRequestId() {
  static std::atomic<std::uint64_t> seq{0};
  static const std::uint64_t boot = static_cast<std::uint64_t>(
      std::chrono::system_clock::now().time_since_epoch().count());
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08llx-%06llx", static_cast<unsigned long long>(boot & 0xffffffffULL),
                static_cast<unsigned long long>(++seq));
  return buf;
}

// A client-supplied request id is kept only if it is short and plain, so logs stay parseable.
bool UsableRequestId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  return true;
}

}  // namespace

class HttpServer::Impl : public std::enable_shared_from_this<HttpServer::Impl> {
 public:
  Impl(net::io_context& io, HttpServerOptions o, Api* api)
      : io_(io), o_(std::move(o)), api_(api), acceptor_(net::make_strand(io)), ssl_(ssl::context::tls_server) {}

  Status Start() {
    if (!o_.tls_cert.empty()) {
      boost::system::error_code ec;
      ssl_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                       ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
      ssl_.use_certificate_chain_file(o_.tls_cert, ec);
      if (ec) return Status::InvalidArgument("TLS certificate " + o_.tls_cert + ": " + ec.message());
      ssl_.use_private_key_file(o_.tls_key, ssl::context::pem, ec);
      if (ec) return Status::InvalidArgument("TLS key " + o_.tls_key + ": " + ec.message());
      tls_ = true;
    }
    boost::system::error_code ec;
    auto addr = net::ip::make_address(o_.host, ec);
    if (ec) return Status::InvalidArgument("listen address " + o_.host + ": " + ec.message());
    tcp::endpoint ep(addr, o_.port);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec)
      return Status::IOError("cannot listen on " + o_.host + ":" + std::to_string(o_.port) + ": " + ec.message());
    port_ = acceptor_.local_endpoint().port();
    Accept();
    return Status::Ok();
  }

  void Stop() {
    stopping_ = true;
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      boost::system::error_code ec;
      self->acceptor_.close(ec);
    });
    // Called outside the lock: a closer may drop the last reference to its session, whose
    // destructor takes the lock.
    std::vector<std::function<void()>> closers;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& close : idle_closers_) closers.push_back(close.second);
    }
    for (auto& close : closers) close();
  }

  void Accept() {
    acceptor_.async_accept(net::make_strand(io_), [self = shared_from_this()](beast::error_code ec, tcp::socket s) {
      if (ec) {
        if (ec == net::error::operation_aborted || self->stopping_) return;
      } else if (!self->stopping_) {
        self->StartSession(std::move(s));
      }
      if (!self->stopping_) self->Accept();
    });
  }

  void StartSession(tcp::socket socket);

  net::io_context& io_;
  HttpServerOptions o_;
  Api* api_;
  tcp::acceptor acceptor_;
  ssl::context ssl_;
  bool tls_ = false;
  std::atomic<std::uint16_t> port_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> in_flight_{0};
  std::atomic<size_t> connections_{0};
  std::mutex mu_;
  std::uint64_t next_session_ = 0;
  std::map<std::uint64_t, std::function<void()>> idle_closers_;  // sessions waiting for a request
};

// One connection. `Stream` is beast::tcp_stream or beast::ssl_stream<beast::tcp_stream>.
// Framing is RequestReader's (the same code the HTTP fuzz target drives); this class only moves
// bytes, arms timeouts and answers.
template <typename Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(std::shared_ptr<HttpServer::Impl> server, Stream stream, std::string remote)
      : server_(std::move(server)),
        stream_(std::move(stream)),
        remote_(std::move(remote)),
        reader_(FramingFor(server_->o_.limits)) {
    ++server_->connections_;
  }
  ~Session() {
    --server_->connections_;
    SetIdle(false);
  }

  void Run() {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      ReadRequest(true);
    } else {
      beast::get_lowest_layer(stream_).expires_after(server_->o_.limits.header_timeout);
      stream_.async_handshake(ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
        if (!ec) self->ReadRequest(true);
      });
    }
  }

 private:
  // What the access log needs of a request once its body has been handed to the API.
  struct Seen {
    std::string request_id, method, target;
    size_t body_bytes = 0;
  };

  std::shared_ptr<HttpServer::Impl> server_;
  Stream stream_;
  std::string remote_;
  RequestReader reader_;
  bool idle_ = false, first_ = true, body_timer_ = false;
  std::shared_ptr<http::response<http::string_body>> response_;
  std::array<char, 4096> drain_{};
  size_t drain_budget_ = 0;
  std::chrono::steady_clock::time_point started_;
  std::uint64_t id_ = 0;

  static FramingLimits FramingFor(const Limits& l) {
    FramingLimits f;
    f.max_body_bytes = l.max_body_bytes;
    return f;
  }

  auto& Tcp() { return beast::get_lowest_layer(stream_); }

  void SetIdle(bool idle) {
    idle_ = idle;
    std::lock_guard<std::mutex> lock(server_->mu_);
    if (!idle) {
      if (id_) server_->idle_closers_.erase(id_);
      return;
    }
    if (!id_) id_ = ++server_->next_session_;
    std::weak_ptr<Session> weak = this->shared_from_this();
    server_->idle_closers_[id_] = [weak] {
      if (auto s = weak.lock())
        net::post(s->Tcp().get_executor(), [s] {
          beast::error_code ec;
          s->Tcp().socket().shutdown(tcp::socket::shutdown_both, ec);
          s->Tcp().close();
        });
    };
  }

  // The first request of a connection must come within header_timeout; between keep-alive
  // requests idle_timeout applies until its first byte, then the head must still arrive within
  // header_timeout; the body within body_timeout once the head is in.
  void ReadRequest(bool first) {
    if (server_->stopping_) return Close();
    first_ = first;
    body_timer_ = false;
    Tcp().expires_after(first ? server_->o_.limits.header_timeout : server_->o_.limits.idle_timeout);
    SetIdle(true);
    Continue();
  }

  // Parses what has arrived (bytes of a pipelined request may already be there), then reads more.
  void Continue() {
    RequestReader::Progress progress = reader_.Parse();
    if (reader_.started() && idle_) {
      SetIdle(false);
      started_ = std::chrono::steady_clock::now();
      if (!first_) Tcp().expires_after(server_->o_.limits.header_timeout);
    }
    if (progress == RequestReader::Progress::kRefused) return Refuse(reader_.refusal());
    if (progress == RequestReader::Progress::kComplete) return Dispatch();
    if (reader_.head_done() && !body_timer_) {
      body_timer_ = true;
      Tcp().expires_after(server_->o_.limits.body_timeout);
    }
    stream_.async_read_some(reader_.buffer().prepare(16 * 1024),
                            [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                              self->reader_.buffer().commit(n);
                              if (!ec) return self->Continue();
                              // A client that half-closes in the middle of a request still hears why.
                              if (ec == net::error::eof && self->reader_.started() && !self->server_->stopping_)
                                return self->Refuse({400, "incomplete_request", "the connection ended inside a request"});
                              self->Close();
                            });
  }

  void Dispatch() {
    Tcp().expires_never();
    bool keep_alive = reader_.keep_alive();
    unsigned version = reader_.version();
    HttpRequest req = reader_.TakeRequest();
    reader_.Next();
    auto rid = req.headers.find("x-request-id");
    req.request_id = rid != req.headers.end() && UsableRequestId(rid->second) ? rid->second : NewRequestId();
    Seen seen{req.request_id, req.method, req.target, req.body.size()};

    // Checked once here, so no route ever sees a path, query or body that is not valid UTF-8.
    if (FramingRefusal bad = CheckRequestContent(req); bad.status != 0) {
      HttpResponse r = ErrorResponse(bad.status, bad.code, bad.message);
      r.route = "(refused)";
      r.principal = "-";
      return Write(std::move(r), std::move(seen), keep_alive, version, false, false);
    }
    if (server_->in_flight_.fetch_add(1) >= server_->o_.limits.max_in_flight) {
      --server_->in_flight_;
      HttpResponse r = ErrorResponse(503, "overloaded", "too many requests in progress; retry shortly");
      r.headers.emplace_back("Retry-After", "1");
      r.route = "(overload)";
      r.principal = "-";
      return Write(std::move(r), std::move(seen), keep_alive, version, false, false);
    }
    auto self = this->shared_from_this();
    server_->api_->Handle(std::move(req), [self, seen = std::move(seen), keep_alive, version](HttpResponse r) {
      net::post(self->Tcp().get_executor(), [self, seen, keep_alive, version, r = std::move(r)]() mutable {
        self->Write(std::move(r), std::move(seen), keep_alive, version, true, false);
      });
    });
  }

  void Write(HttpResponse r, Seen seen, bool keep_alive, unsigned version, bool counted, bool linger) {
    if (server_->stopping_) keep_alive = false;
    response_ = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(r.status), version);
    response_->set(http::field::server, "retailflow");
    response_->set(http::field::content_type, r.content_type);
    response_->set("X-Request-Id", seen.request_id);
    for (const auto& [k, v] : r.headers) response_->set(k, v);
    response_->keep_alive(keep_alive);
    response_->body() = std::move(r.body);
    response_->prepare_payload();
    if (server_->o_.on_request) {
      AccessLogEntry e;
      e.request_id = seen.request_id;
      e.method = seen.method;
      e.target = seen.target;
      e.route = r.route;
      e.principal = r.principal;
      e.remote = remote_;
      e.status = r.status;
      e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
      e.request_bytes = seen.body_bytes;
      e.response_bytes = response_->body().size();
      server_->o_.on_request(e);
    }
    Tcp().expires_after(server_->o_.limits.body_timeout);
    http::async_write(stream_, *response_,
                      [self = this->shared_from_this(), keep_alive, counted, linger](beast::error_code ec, size_t) {
                        if (counted) --self->server_->in_flight_;
                        self->response_.reset();
                        if (!ec && linger) return self->Linger();
                        if (ec || !keep_alive) return self->Close();
                        self->ReadRequest(false);
                      });
  }

  // Answers a request whose framing cannot be trusted and closes (RFC 9112 §6.3): nothing more is
  // read from this connection as a request.
  void Refuse(const FramingRefusal& why) {
    SetIdle(false);
    Seen seen;
    seen.request_id = NewRequestId();
    seen.method = "-";
    seen.target = "-";
    HttpResponse r = ErrorResponse(why.status, why.code, why.message);
    r.route = "(refused)";
    r.principal = "-";
    Write(std::move(r), std::move(seen), false, 11, false, true);
  }

  // Stops sending, then reads and drops what the client is still sending (a bounded amount, for a
  // bounded time) before closing, so that closing with unread bytes does not reset the
  // connection before the client has read the answer.
  void Linger() {
    if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
      return Close();
    } else {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      drain_budget_ = server_->o_.limits.max_body_bytes + 64 * 1024;
      Tcp().expires_after(std::min<std::chrono::milliseconds>(server_->o_.limits.header_timeout, std::chrono::seconds(2)));
      Drain();
    }
  }

  void Drain() {
    stream_.async_read_some(net::buffer(drain_), [self = this->shared_from_this()](beast::error_code ec, size_t n) {
      if (ec || n >= self->drain_budget_) return;  // the session ends and the socket closes
      self->drain_budget_ -= n;
      self->Drain();
    });
  }

  void Close() {
    beast::error_code ec;
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    } else {
      Tcp().expires_after(std::chrono::seconds(2));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {});
    }
  }
};

void HttpServer::Impl::StartSession(tcp::socket socket) {
  boost::system::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  std::string remote = ec ? "?" : ep.address().to_string() + ":" + std::to_string(ep.port());
  if (tls_) {
    std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
        shared_from_this(), beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(socket)), ssl_), remote)
        ->Run();
  } else {
    std::make_shared<Session<beast::tcp_stream>>(shared_from_this(), beast::tcp_stream(std::move(socket)), remote)
        ->Run();
  }
}

HttpServer::HttpServer(net::io_context& io, HttpServerOptions options, Api* api)
    : impl_(std::make_shared<Impl>(io, std::move(options), api)) {}
HttpServer::~HttpServer() { impl_->Stop(); }
Status HttpServer::Start() { return impl_->Start(); }
std::uint16_t HttpServer::port() const { return impl_->port_; }
void HttpServer::Stop() { impl_->Stop(); }
size_t HttpServer::in_flight() const { return impl_->in_flight_; }
size_t HttpServer::connections() const { return impl_->connections_; }

}  // namespace rf::server
