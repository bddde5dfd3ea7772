// Asynchronous HTTP/1.1 client for the built-in connectors (http, webhook, odoo).
//
// Built on Boost.Beast over one boost::asio::io_context supplied by the owner. Supports http and
// https (OpenSSL; SNI; peer verification on by default against the system CAs or `ca_file`),
// a keep-alive connection pool per (scheme, host, port) bounded by `max_connections_per_host`
// (excess requests queue in FIFO order), a per-request deadline covering
// resolve + connect + handshake + write + read, and a maximum response body size.
//
// Threads: Send() may be called from any thread; all I/O and every `done` callback run on the
// io_context's thread(s). The io_context must be run by the owner (single-threaded run() is
// assumed; the pool is additionally guarded by a strand).
// Lifetime: the Client may be destroyed at any time (its destructor calls Shutdown()); internal
// state lives on until the io_context has run or destroyed the pending handlers. Shutdown() fails
// queued and in-flight requests with kUnavailable ("client shut down") and closes idle
// connections. A reused keep-alive connection that the server had already closed (nothing
// received) is retried once on a fresh connection; nothing else is ever retried here.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/status.h"

namespace rf::connectors::http {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string url;     // absolute http:// or https:// URL (query included, already encoded)
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The whole exchange (resolve, connect, TLS, write, read) must finish by then; on expiry the
  // connection is closed and the request fails with kTimeout. A default-constructed value means
  // no deadline.
  std::chrono::steady_clock::time_point deadline;
};

struct Response {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // First header with that name (case-insensitive), "" when absent.
  std::string Header(std::string_view name) const;
};

enum class FailureKind {
  kTimeout,      // the deadline passed
  kUnavailable,  // refused, reset, DNS, TLS, closed mid-response, client shut down
  kProtocol,     // malformed HTTP, body too large, bad URL
};

struct Failure {
  FailureKind kind;
  std::string message;  // never contains header values or request bodies
};

struct ClientOptions {
  size_t max_connections_per_host = 8;
  size_t max_body_bytes = 8 << 20;
  bool verify_tls = true;
  std::string ca_file;  // PEM; empty = system default verify paths
};

namespace detail {
class ClientImpl;
}  // namespace detail

class Client {
 public:
  Client(boost::asio::io_context& io, ClientOptions o);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // `done` is called exactly once, on the io_context's thread. Thread-safe to call.
  void Send(Request r, std::function<void(std::variant<Response, Failure>)> done);
  // Fails pending requests with kUnavailable and refuses new ones. Idempotent, thread-safe.
  void Shutdown();

  // Number of TCP connections this client opened so far (for tests and diagnostics).
  size_t ConnectionsOpened() const;

 private:
  std::shared_ptr<detail::ClientImpl> impl_;
};

// Parsed absolute URL (liburiparser). `target` is path + "?" + query, "/" when empty.
struct Url {
  std::string scheme;  // "http" | "https"
  std::string host;    // without brackets for IPv6
  std::string port;    // explicit or the scheme default
  std::string target;
};
Result<Url> ParseUrl(std::string_view url);

// Percent-encodes everything except RFC 3986 unreserved characters (for a path segment or a
// query component).
std::string PercentEncode(std::string_view s);

// Joins a base URL ("http://h:1/api" or ".../api/") with a path ("/v1/x" or "v1/x").
std::string JoinUrl(std::string_view base, std::string_view path);

}  // namespace rf::connectors::http
