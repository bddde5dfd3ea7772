// The Beast-based HTTP/1.1 client: connection pool, TLS, deadlines. See http_client.h.
//
// Structure: ClientImpl owns the pools (one per scheme://host:port) under a mutex. A Conn is
// one TCP (or TLS) connection with its own strand; it runs one exchange at a time. An exchange
// ends exactly once (Finish), either from an I/O handler or from the deadline timer; every later
// handler of that exchange sees a different generation number and does nothing. After Finish the
// connection goes back to the pool (or is closed), the next queued request of that host may take
// it, and only then is the caller's `done` invoked, so a caller that chains requests from its
// callback reuses the same connection.
// GCC 12 reports -Wnull-dereference inside Asio's scheduler and nlohmann when it inlines them
// into this file (false positives in library code). The pragma is location-based: it silences
// the library headers and keeps our own code below fully checked.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include "connectors/builtin/http_client.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <uriparser/Uri.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#pragma GCC diagnostic pop

namespace rf::connectors::http {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using Done = std::function<void(std::variant<Response, Failure>)>;

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string RangeText(const UriTextRangeA& r) {
  if (r.first == nullptr || r.afterLast == nullptr) return {};
  return std::string(r.first, r.afterLast);
}

}  // namespace

std::string Response::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (IEquals(k, name)) return v;
  }
  return {};
}

Result<Url> ParseUrl(std::string_view text) {
  std::string s(text);
  UriUriA uri;
  const char* error_pos = nullptr;
  if (uriParseSingleUriA(&uri, s.c_str(), &error_pos) != URI_SUCCESS) {
    return Status::InvalidArgument("malformed URL '" + s + "' at offset " +
                                   std::to_string(error_pos ? error_pos - s.c_str() : 0));
  }
  Url url;
  url.scheme = RangeText(uri.scheme);
  std::transform(url.scheme.begin(), url.scheme.end(), url.scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  url.host = RangeText(uri.hostText);
  url.port = RangeText(uri.portText);
  std::string userinfo = RangeText(uri.userInfo);
  std::string path;
  for (UriPathSegmentA* seg = uri.pathHead; seg != nullptr; seg = seg->next) {
    path += "/" + RangeText(seg->text);
  }
  if (path.empty() && uri.absolutePath == URI_TRUE) path = "/";
  std::string query = RangeText(uri.query);
  bool has_query = uri.query.first != nullptr;
  uriFreeUriMembersA(&uri);

  if (url.scheme != "http" && url.scheme != "https") {
    return Status::InvalidArgument("URL '" + s + "': scheme must be http or https");
  }
  if (url.host.empty()) return Status::InvalidArgument("URL '" + s + "' has no host");
  if (!userinfo.empty()) {
    return Status::InvalidArgument("URL must not carry credentials; use the auth settings");
  }
  if (url.port.empty()) url.port = url.scheme == "https" ? "443" : "80";
  url.target = path.empty() ? "/" : path;
  if (has_query) url.target += "?" + query;
  return url;
}

std::string PercentEncode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string JoinUrl(std::string_view base, std::string_view path) {
  std::string out(base);
  while (!out.empty() && out.back() == '/') out.pop_back();
  if (path.empty()) return out.empty() ? "/" : out;
  if (path.front() != '/') out.push_back('/');
  out.append(path);
  return out;
}

namespace detail {

struct PoolKey {
  std::string scheme, host, port;
  auto operator<=>(const PoolKey&) const = default;
};

struct Pending {
  Request request;
  Url url;
  Done done;
};

// RFC 9110 §9.2.2 idempotent methods, or a request the server can deduplicate.
bool SafeToResend(const Request& r) {
  static const char* kIdempotent[] = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"};
  for (const char* m : kIdempotent)
    if (r.method == m) return true;
  for (const auto& [name, value] : r.headers)
    if (boost::beast::iequals(name, "Idempotency-Key") && !value.empty()) return true;
  return false;
}

class Conn;

class ClientImpl : public std::enable_shared_from_this<ClientImpl> {
 public:
  ClientImpl(net::io_context& io, ClientOptions o)
      : io_(io), options_(std::move(o)), tls_(ssl::context::tls_client) {
    if (options_.max_connections_per_host == 0) options_.max_connections_per_host = 1;
    boost::system::error_code ec;
    tls_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                         ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                         ssl::context::no_tlsv1_1,
                     ec);
    if (options_.verify_tls) {
      tls_.set_verify_mode(ssl::verify_peer, ec);
      if (!options_.ca_file.empty()) {
        tls_.load_verify_file(options_.ca_file, ec);
        if (ec) tls_error_ = "cannot load CA file '" + options_.ca_file + "': " + ec.message();
      } else {
        tls_.set_default_verify_paths(ec);
        if (ec) tls_error_ = "cannot load the system CA certificates: " + ec.message();
      }
    } else {
      tls_.set_verify_mode(ssl::verify_none, ec);
    }
  }

  void Send(Request r, Done done);
  void Shutdown();
  // Called by a Conn (on its strand) when its exchange ended. `reusable` = keep-alive intact.
  void Release(const std::shared_ptr<Conn>& conn, bool reusable);
  // A reused connection turned out stale before any response byte: run the request again on a
  // new connection of the same host (does not count against the limit twice).
  void RetryOnFreshConnection(const std::shared_ptr<Conn>& stale, Pending p);
  void Deliver(Done done, std::variant<Response, Failure> result) {
    // Always on the io_context, never inline in Send (callers may hold locks).
    net::post(io_, [done = std::move(done), result = std::move(result)]() mutable {
      done(std::move(result));
    });
  }

  net::io_context& io_;
  ClientOptions options_;
  ssl::context tls_;
  std::string tls_error_;
  std::atomic<size_t> opened_{0};

 private:
  struct HostPool {
    std::deque<Pending> queue;
    std::vector<std::shared_ptr<Conn>> idle;
    size_t total = 0;  // idle + busy connections
  };
  std::shared_ptr<Conn> NewConn(const PoolKey& key);  // mu_ held

  std::mutex mu_;
  bool shut_down_ = false;
  std::map<PoolKey, HostPool> pools_;
  std::map<const Conn*, std::weak_ptr<Conn>> all_;
};

class Conn : public std::enable_shared_from_this<Conn> {
 public:
  Conn(std::shared_ptr<ClientImpl> owner, PoolKey key)
      : owner_(std::move(owner)),
        key_(std::move(key)),
        strand_(net::make_strand(owner_->io_)),
        resolver_(strand_),
        timer_(strand_) {
    if (key_.scheme == "https") {
      tls_.emplace(strand_, owner_->tls_);
    } else {
      plain_.emplace(strand_);
    }
  }

  const PoolKey& key() const { return key_; }

  // Starts one exchange. Any thread.
  void Start(Pending p) {
    net::dispatch(strand_, [self = shared_from_this(), p = std::move(p)]() mutable {
      self->Begin(std::move(p));
    });
  }

  // Ends the current exchange (if any) with `f` and closes the connection. Any thread.
  void Abort(Failure f) {
    net::dispatch(strand_, [self = shared_from_this(), f = std::move(f)]() mutable {
      if (self->active_) {
        self->Fail(std::move(f));
      } else {
        self->Close();
      }
    });
  }

 private:
  beast::tcp_stream& Tcp() { return tls_ ? beast::get_lowest_layer(*tls_) : *plain_; }

  void Begin(Pending p) {
    ++generation_;
    active_ = true;
    bytes_received_ = false;
    pending_ = std::move(p);
    reused_ = connected_;
    if (pending_.request.deadline == std::chrono::steady_clock::time_point{}) {
      pending_.request.deadline = std::chrono::steady_clock::time_point::max();  // no deadline
    }
    timer_.expires_at(pending_.request.deadline);
    timer_.async_wait([self = shared_from_this(), gen = generation_](beast::error_code ec) {
      if (ec || gen != self->generation_ || !self->active_) return;
      self->Fail({FailureKind::kTimeout, "deadline exceeded while " + self->phase_ + " " +
                                             self->Where()});
    });
    if (std::chrono::steady_clock::now() >= pending_.request.deadline) {
      Fail({FailureKind::kTimeout, "deadline already passed before sending to " + Where()});
      return;
    }
    if (connected_) {
      Write();
      return;
    }
    if (key_.scheme == "https" && !owner_->tls_error_.empty()) {
      Fail({FailureKind::kUnavailable, owner_->tls_error_});
      return;
    }
    phase_ = "resolving";
    resolver_.async_resolve(
        key_.host, key_.port,
        [self = shared_from_this(), gen = generation_](beast::error_code ec,
                                                       tcp::resolver::results_type results) {
          if (gen != self->generation_ || !self->active_) return;
          if (ec) {
            self->Fail({FailureKind::kUnavailable,
                        "cannot resolve " + self->key_.host + ": " + ec.message()});
            return;
          }
          self->Connect(results);
        });
  }

  void Connect(const tcp::resolver::results_type& results) {
    phase_ = "connecting to";
    Tcp().async_connect(results, [self = shared_from_this(), gen = generation_](
                                     beast::error_code ec, const tcp::endpoint&) {
      if (gen != self->generation_ || !self->active_) return;
      if (ec) {
        self->Fail({FailureKind::kUnavailable,
                    "cannot connect to " + self->Where() + ": " + ec.message()});
        return;
      }
      self->owner_->opened_++;
      beast::error_code ignored;
      self->Tcp().socket().set_option(tcp::no_delay(true), ignored);
      if (self->tls_) {
        self->Handshake();
      } else {
        self->connected_ = true;
        self->Write();
      }
    });
  }

  void Handshake() {
    phase_ = "TLS handshake with";
    SSL* ssl_handle = tls_->native_handle();
    boost::system::error_code addr_ec;
    net::ip::make_address(key_.host, addr_ec);
    bool is_ip = !addr_ec;
    if (!is_ip) {
      // SNI (not sent for IP literals, RFC 6066) and the name the certificate must carry.
      SSL_set_tlsext_host_name(ssl_handle, key_.host.c_str());
    }
    if (owner_->options_.verify_tls) {
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl_handle);
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      if (is_ip) {
        X509_VERIFY_PARAM_set1_ip_asc(param, key_.host.c_str());
      } else {
        X509_VERIFY_PARAM_set1_host(param, key_.host.c_str(), key_.host.size());
      }
    }
    tls_->async_handshake(ssl::stream_base::client, [self = shared_from_this(),
                                                     gen = generation_](beast::error_code ec) {
      if (gen != self->generation_ || !self->active_) return;
      if (ec) {
        std::string detail = ec.message();
        if (ec.category() == net::error::get_ssl_category()) {
          long verify = SSL_get_verify_result(self->tls_->native_handle());
          if (verify != X509_V_OK) {
            detail += " (" + std::string(X509_verify_cert_error_string(verify)) + ")";
          }
        }
        self->Fail({FailureKind::kUnavailable,
                    "TLS handshake with " + self->Where() + " failed: " + detail});
        return;
      }
      self->connected_ = true;
      self->Write();
    });
  }

  void Write() {
    phase_ = "sending to";
    const Request& r = pending_.request;
    request_ = {};
    request_.version(11);
    request_.method_string(r.method);
    request_.target(pending_.url.target);
    bool has_host = false;
    for (const auto& [k, v] : r.headers) {
      if (IEquals(k, "host")) has_host = true;
      if (IEquals(k, "content-length") || IEquals(k, "transfer-encoding")) continue;
      request_.insert(k, v);
    }
    if (!has_host) {
      bool default_port = (key_.scheme == "http" && key_.port == "80") ||
                          (key_.scheme == "https" && key_.port == "443");
      std::string host = key_.host.find(':') != std::string::npos ? "[" + key_.host + "]"
                                                                  : key_.host;
      request_.set(bhttp::field::host, default_port ? host : host + ":" + key_.port);
    }
    request_.keep_alive(true);
    request_.body() = r.body;
    if (!r.body.empty() || r.method == "POST" || r.method == "PUT" || r.method == "PATCH") {
      request_.prepare_payload();
    }
    auto on_write = [self = shared_from_this(), gen = generation_](beast::error_code ec,
                                                                   size_t) {
      if (gen != self->generation_ || !self->active_) return;
      if (ec) {
        self->TransportError(ec, "sending to");
        return;
      }
      self->Read();
    };
    if (tls_) {
      bhttp::async_write(*tls_, request_, std::move(on_write));
    } else {
      bhttp::async_write(*plain_, request_, std::move(on_write));
    }
  }

  void Read() {
    phase_ = "waiting for the response of";
    parser_.emplace();
    parser_->body_limit(owner_->options_.max_body_bytes);
    parser_->header_limit(64 * 1024);
    if (pending_.request.method == "HEAD") parser_->skip(true);
    ReadSome();
  }

  // Reads piecewise so that "closed after some bytes" can be told from "closed before any".
  void ReadSome() {
    auto on_read = [self = shared_from_this(), gen = generation_](beast::error_code ec,
                                                                  size_t n) {
      if (gen != self->generation_ || !self->active_) return;
      if (n > 0) self->bytes_received_ = true;
      if (ec) {
        if (ec == bhttp::error::body_limit) {
          self->Fail({FailureKind::kProtocol,
                      "response body from " + self->Where() + " exceeds " +
                          std::to_string(self->owner_->options_.max_body_bytes) + " bytes"});
        } else if (ec == bhttp::error::header_limit) {
          self->Fail({FailureKind::kProtocol,
                      "response headers from " + self->Where() + " are too large"});
        } else if (ec.category() == bhttp::make_error_code(bhttp::error::bad_version).category() &&
                   ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
          self->Fail({FailureKind::kProtocol,
                      "malformed HTTP response from " + self->Where() + ": " + ec.message()});
        } else {
          self->TransportError(ec, "reading the response of");
        }
        return;
      }
      if (self->parser_->is_done()) {
        self->Complete();
      } else {
        self->ReadSome();
      }
    };
    if (tls_) {
      bhttp::async_read_some(*tls_, buffer_, *parser_, std::move(on_read));
    } else {
      bhttp::async_read_some(*plain_, buffer_, *parser_, std::move(on_read));
    }
  }

  void Complete() {
    auto msg = parser_->release();
    Response resp;
    resp.status = static_cast<int>(msg.result_int());
    for (const auto& field : msg) {
      resp.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    resp.body = std::move(msg.body());
    bool reusable = msg.keep_alive() && buffer_.size() == 0;
    parser_.reset();
    Done done = std::move(pending_.done);
    EndExchange(reusable);
    done(std::move(resp));
  }

  void TransportError(beast::error_code ec, const std::string& doing) {
    bool closed = ec == bhttp::error::end_of_stream || ec == net::error::eof ||
                  ec == net::error::connection_reset || ec == net::error::broken_pipe ||
                  ec == bhttp::error::partial_message || ec == ssl::error::stream_truncated;
    if (reused_ && !bytes_received_ && closed && SafeToResend(pending_.request)) {
      // The server closed an idle keep-alive connection just as we reused it. Usually nothing
      // was processed, but a server may also have acted and lost the answer: only a request that
      // is harmless to repeat (idempotent method, or one carrying an Idempotency-Key the server
      // honours) goes out again on a fresh connection (once). Anything else reports the failure
      // and leaves the decision to the caller's retry policy, which knows how to check first.
      Pending p = std::move(pending_);
      ++generation_;
      active_ = false;
      timer_.cancel();
      Close();
      owner_->RetryOnFreshConnection(shared_from_this(), std::move(p));
      return;
    }
    std::string what = closed ? (bytes_received_ ? "connection closed mid-response"
                                                 : "connection closed by the server")
                              : ec.message();
    Fail({FailureKind::kUnavailable, what + " while " + doing + " " + Where()});
  }

  void Fail(Failure f) {
    Close();
    Done done = std::move(pending_.done);
    EndExchange(false);
    if (done) done(std::move(f));
  }

  void EndExchange(bool reusable) {
    ++generation_;
    active_ = false;
    timer_.cancel();
    pending_ = {};
    if (!reusable) Close();
    owner_->Release(shared_from_this(), reusable);
  }

  void Close() {
    connected_ = false;
    resolver_.cancel();
    beast::error_code ignored;
    Tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    Tcp().socket().close(ignored);
    buffer_.clear();
  }

  std::string Where() const { return key_.scheme + "://" + key_.host + ":" + key_.port; }

  std::shared_ptr<ClientImpl> owner_;
  PoolKey key_;
  net::strand<net::io_context::executor_type> strand_;
  tcp::resolver resolver_;
  net::steady_timer timer_;
  std::optional<beast::tcp_stream> plain_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::response_parser<bhttp::string_body>> parser_;
  bhttp::request<bhttp::string_body> request_;
  Pending pending_;
  uint64_t generation_ = 0;
  bool active_ = false;
  bool connected_ = false;
  bool reused_ = false;
  bool bytes_received_ = false;
  std::string phase_;
};

}  // namespace detail

using detail::ClientImpl;
using detail::Conn;
using detail::PoolKey;
using detail::Pending;

std::shared_ptr<Conn> ClientImpl::NewConn(const PoolKey& key) {
  auto conn = std::make_shared<Conn>(shared_from_this(), key);
  all_[conn.get()] = conn;
  return conn;
}

void ClientImpl::Send(Request r, Done done) {
  Result<Url> url = ParseUrl(r.url);
  if (!url.ok()) {
    Deliver(std::move(done), Failure{FailureKind::kProtocol, url.status().message()});
    return;
  }
  PoolKey key{url->scheme, url->host, url->port};
  Pending p{std::move(r), std::move(*url), std::move(done)};
  std::shared_ptr<Conn> conn;
  {
    std::lock_guard lock(mu_);
    if (shut_down_) {
      Deliver(std::move(p.done), Failure{FailureKind::kUnavailable, "client shut down"});
      return;
    }
    HostPool& pool = pools_[key];
    if (!pool.idle.empty()) {
      conn = std::move(pool.idle.back());
      pool.idle.pop_back();
    } else if (pool.total < options_.max_connections_per_host) {
      ++pool.total;
      conn = NewConn(key);
    } else {
      pool.queue.push_back(std::move(p));
      return;
    }
  }
  conn->Start(std::move(p));
}

void ClientImpl::Release(const std::shared_ptr<Conn>& conn, bool reusable) {
  std::optional<Pending> next;
  std::shared_ptr<Conn> runner;
  {
    std::lock_guard lock(mu_);
    HostPool& pool = pools_[conn->key()];
    if (shut_down_) {
      reusable = false;
    } else if (!pool.queue.empty()) {
      next = std::move(pool.queue.front());
      pool.queue.pop_front();
    }
    if (next) {
      // The slot passes to the next request: on this connection if it is still good.
      if (reusable) {
        runner = conn;
      } else {
        all_.erase(conn.get());
        runner = NewConn(conn->key());
      }
    } else if (reusable) {
      pool.idle.push_back(conn);
    } else {
      all_.erase(conn.get());
      --pool.total;
    }
  }
  if (next) runner->Start(std::move(*next));
}

void ClientImpl::RetryOnFreshConnection(const std::shared_ptr<Conn>& stale, Pending p) {
  std::shared_ptr<Conn> fresh;
  {
    std::lock_guard lock(mu_);
    all_.erase(stale.get());
    if (shut_down_) {
      --pools_[stale->key()].total;
      Deliver(std::move(p.done), Failure{FailureKind::kUnavailable, "client shut down"});
      return;
    }
    fresh = NewConn(stale->key());
  }
  fresh->Start(std::move(p));
}

void ClientImpl::Shutdown() {
  std::vector<Pending> queued;
  std::vector<std::shared_ptr<Conn>> conns;
  {
    std::lock_guard lock(mu_);
    if (shut_down_) return;
    shut_down_ = true;
    for (auto& [key, pool] : pools_) {
      for (auto& p : pool.queue) queued.push_back(std::move(p));
      pool.queue.clear();
      pool.idle.clear();
    }
    for (auto& [ptr, weak] : all_) {
      if (auto c = weak.lock()) conns.push_back(std::move(c));
    }
  }
  for (auto& p : queued) {
    Deliver(std::move(p.done), Failure{FailureKind::kUnavailable, "client shut down"});
  }
  for (auto& c : conns) c->Abort({FailureKind::kUnavailable, "client shut down"});
}

Client::Client(net::io_context& io, ClientOptions o)
    : impl_(std::make_shared<ClientImpl>(io, std::move(o))) {}

Client::~Client() { impl_->Shutdown(); }

void Client::Send(Request r, std::function<void(std::variant<Response, Failure>)> done) {
  impl_->Send(std::move(r), std::move(done));
}

void Client::Shutdown() { impl_->Shutdown(); }

size_t Client::ConnectionsOpened() const { return impl_->opened_.load(); }

}  // namespace rf::connectors::http
