// A scriptable HTTP/1.1 (and HTTPS) server for connector tests, bound to 127.0.0.1 on a free port.
//
// Replies are chosen per path (exact match on the target without its query) or by a handler
// function, with fault injection: any status, delays, connection closed before or in the middle
// of a response, raw (malformed) bytes, chunked bodies, forced `Connection: close`. It records
// every request and counts accepted TCP connections and the peak number of requests handled at
// the same time.
//
// Threads: one accept thread plus one thread per connection (blocking Beast I/O); all public
// methods are thread-safe. The destructor stops the server (delays are cut short).
// This header does not include Beast, so test files using it stay light to compile.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rf::testing {

struct RecordedRequest {
  std::string method;
  std::string target;  // path and query, as sent
  std::string path;    // without the query
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  size_t connection = 0;  // 1-based number of the TCP connection it arrived on
  std::string Header(std::string_view name) const;  // "" when absent (case-insensitive)
};

struct Reply {
  int status = 200;
  std::string body = "{}";
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds delay{0};  // wait before answering
  bool chunked = false;                // Transfer-Encoding: chunked, body in several chunks
  bool close_after = false;            // answer with Connection: close and close
  bool close_without_response = false;  // read the request, then close the connection
  bool close_mid_response = false;     // send the head and half of the body, then close
  std::optional<std::string> raw;      // send these bytes verbatim, then close

  static Reply Json(int status, std::string body) {
    Reply r;
    r.status = status;
    r.body = std::move(body);
    return r;
  }
};

class RestTestServer {
 public:
  struct Options {
    bool tls = false;
    std::string cert_file;  // PEM, when tls
    std::string key_file;   // PEM, when tls
    bool record = true;     // keep every request (benchmarks turn it off)
  };
  using Handler = std::function<std::optional<Reply>(const RecordedRequest&)>;

  RestTestServer();
  explicit RestTestServer(Options options);
  ~RestTestServer();
  RestTestServer(const RestTestServer&) = delete;
  RestTestServer& operator=(const RestTestServer&) = delete;

  uint16_t port() const;
  std::string base_url() const;  // "http://127.0.0.1:<port>" (https when tls)

  // Reply for one path; replaces an earlier one.
  void Route(const std::string& path, Reply reply);
  // Consulted before the routes; nullopt = fall through to the routes. Unknown paths get
  // 404 {"error": "no route"}.
  void SetHandler(Handler handler);

  size_t connections_accepted() const;
  size_t max_concurrent_requests() const;
  std::vector<RecordedRequest> requests() const;
  std::optional<RecordedRequest> last_request() const;

  void Stop();

  // A port on 127.0.0.1 that was bound and closed again: connecting to it is refused.
  static uint16_t RefusedPort();
  // Writes a self-signed certificate for 127.0.0.1/localhost (cert.pem, key.pem) into `dir`
  // with the openssl tool. False when that failed.
  static bool MakeSelfSignedCert(const std::string& dir);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// The server side of the IETF Idempotency-Key draft for one path, with a hold, to make "an
// earlier attempt still in flight" happen on purpose. A request carrying a key seen for the
// first time claims it and, while the hold is closed, waits (on its connection's thread) before
// it is "executed" (counted in effects()) and answered `answer`; another request with a claimed
// key gets 409 application/problem+json with `problem_type` and the draft's title; a request
// with a completed key gets the stored answer. Requests without a key get `answer` at once.
// Thread-safe. Destroying it releases the hold (declare it after the server it serves).
class IdempotentEndpoint {
 public:
  static constexpr const char* kSimulatorProblemType =
      "https://retailflow.example/problems/idempotency-request-outstanding";

  explicit IdempotentEndpoint(Reply answer, std::string problem_type = kSimulatorProblemType);
  ~IdempotentEndpoint();
  IdempotentEndpoint(const IdempotentEndpoint&) = delete;
  IdempotentEndpoint& operator=(const IdempotentEndpoint&) = delete;

  // For RestTestServer::SetHandler: answers requests to `path`, falls through for others.
  RestTestServer::Handler Handler(std::string path);

  void Hold();
  void Release();
  // Wait (bounded by `timeout`, false when it passed) until `n` first requests are held /
  // `n` answers 409-in-progress were sent.
  bool WaitHeld(size_t n, std::chrono::milliseconds timeout) const;
  bool WaitInProgressAnswers(size_t n, std::chrono::milliseconds timeout) const;

  size_t effects() const;
  size_t in_progress_answers() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace rf::testing
