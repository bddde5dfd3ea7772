// The HTTP API as a pure request → response function over the engine (no sockets), so every
// route, role and error can be tested directly; server/http_server.h puts it on Beast.
//
// Errors are {"error": {"code", "message", "details"?}}. Every route declares the roles it
// accepts (docs/service.md has the table); admin is accepted everywhere; public routes declare
// none; the webhook route is authenticated by its signature.
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
  struct PathParams {
    std::map<std::string, std::string> values;
    const std::string& operator[](const std::string& k) const { return values.at(k); }
  };
  struct Context {
    HttpRequest request;
    PathParams params;
    std::map<std::string, std::string> query;
    Principal principal;
    Respond respond;
  };
  struct Route {
    std::string method;
    std::string pattern;              // segments; "{name}" matches one segment
    std::vector<std::string> roles;   // empty = public; {"signature"} = webhook signature
    std::string summary;
    std::string request_schema;       // OpenAPI component name, or empty
    std::string response_schema;
    std::function<void(Api&, Context&)> handler;
  };

  explicit Api(ApiDeps deps);

  // Thread-safe. `respond` is called exactly once, from this thread or another one (engine
  // callbacks complete on the engine's strand).
  void Handle(HttpRequest request, Respond respond);

  const std::vector<Route>& routes() const { return routes_; }
  std::string OpenApiJson() const;

 private:
  ApiDeps d_;
  std::vector<Route> routes_;
  RateLimiter limiter_;

  void Declare(Route r) { routes_.push_back(std::move(r)); }
  void DeclareRoutes();
};

}  // namespace rf::server
