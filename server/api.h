// The HTTP API as a pure request → response function over the engine (no sockets), so every
// route, role and error can be tested directly; server/http_server.h puts it on Beast.
//
// Errors are {"error": {"code", "message", "details"?}}. Every route is declared once in the
// route table (server/router.h; the route files server/src/routes_*.cc): roles (docs/service.md
// has the table; admin is accepted everywhere; public routes declare none; the webhook route is
// authenticated by its signature), parameters, body and statuses. Error messages never carry
// storage paths, keys or exception texts: a 5xx says "internal error" with the request id, and
// the detail is logged under that id.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/time_text.h"
#include "engine/engine.h"
#include "server/auth.h"
#include "server/metrics.h"
#include "server/router.h"

namespace rf::server {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, as received
  std::map<std::string, std::string> headers;  // names lower-case
  std::string body;
  std::string request_id;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Filled by the API for the access log (never the token).
  std::string route;      // the route pattern, e.g. "/v1/instances/{id}"
  std::string principal;  // token name, "-" when anonymous
};

// Never throws: text that is not valid UTF-8 is escaped.
HttpResponse ErrorResponse(int status, const std::string& code, const std::string& message,
                           const std::string& details_json = {});

using Respond = std::function<void(HttpResponse)>;

class WorkflowLibrary;
class WebhookIngress;

struct ApiDeps {
  engine::Engine* engine = nullptr;
  TokenStore* tokens = nullptr;
  Metrics* metrics = nullptr;
  WorkflowLibrary* workflows = nullptr;
  WebhookIngress* webhooks = nullptr;
  std::function<bool()> ready;                  // recovery finished, not shutting down
  std::function<nlohmann::json()> connectors;  // states for GET /v1/connectors
  // Moves the clock forward (POST /v1/admin/clock); null when the clock is not adjustable.
  std::function<Time(Duration)> advance_clock;
  std::function<Time()> now;
  Limits limits;
};

class Api {
 public:
  explicit Api(ApiDeps deps);

  // Thread-safe. `respond` is called exactly once, from this thread or another one (engine
  // callbacks complete on the engine's strand). Before a handler runs, the router has refused
  // (400) path parameters that are not of their kind or not valid UTF-8 and query parameters
  // that are unknown, repeated or malformed. A response whose status the route does not declare
  // is logged as an error and counted in retailflow_api_undeclared_responses_total.
  void Handle(HttpRequest request, Respond respond);

  const std::vector<Route>& routes() const { return table_.routes(); }
  // The OpenAPI 3 document, generated from routes() (server/src/openapi.cc).
  std::string OpenApiJson() const;

  const ApiDeps& deps() const { return d_; }

 private:
  ApiDeps d_;
  RouteTable table_;
  RateLimiter limiter_;
};

}  // namespace rf::server
