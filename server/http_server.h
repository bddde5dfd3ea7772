// HTTP/1.1 (and HTTPS when a certificate is configured) on Boost.Beast in front of Api.
//
// Limits that keep one client from holding the service: the request head must arrive within
// header_timeout and the body within body_timeout (slow clients are disconnected); bodies above
// max_body_bytes get 413 and the connection is closed; at most max_in_flight requests are handled
// at once (beyond: 503 with Retry-After). Keep-alive connections idle for idle_timeout are closed.
//
// Threads: runs on the given io_context (the caller runs it on several threads); each connection
// is on its own strand. Api responses may arrive from any thread; they are posted back to the
// connection's strand.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "server/api.h"
#include "server/config.h"

namespace rf::server {

struct AccessLogEntry {
  std::string request_id, method, target, route, principal, remote;
  int status = 0;
  double seconds = 0;
  size_t request_bytes = 0, response_bytes = 0;
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0 = any free port; port() tells which
  std::string tls_cert, tls_key;
  Limits limits;
  std::function<void(const AccessLogEntry&)> on_request;  // access log + metrics
};

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, HttpServerOptions options, Api* api);
  ~HttpServer();

  Status Start();  // binds and starts accepting
  std::uint16_t port() const;
  // Stops accepting and closes idle connections; requests being handled finish and are answered
  // with Connection: close. Returns at once; in_flight() tells when they are done.
  void Stop();
  size_t in_flight() const;
  size_t connections() const;

  class Impl;  // public only so that the connection template in the .cc can name it

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace rf::server
