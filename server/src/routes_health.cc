// Liveness, readiness, metrics and this API's own description.
#include "server/src/api_context.h"

namespace rf::server {

void AddHealthRoutes(RouteTable& t) {
  t.Add({.method = "GET", .pattern = "/healthz", .summary = "Liveness: the process answers.", .tag = "health",
         .outcomes = {{200, "the process answers", "Health"}},
         .handler = [](Api&, ApiContext& c) { c.respond(JsonResponse(200, "{\"status\":\"ok\"}")); }});

  t.Add({.method = "GET", .pattern = "/readyz", .summary = "Readiness: recovery finished and not shutting down.",
         .tag = "health",
         .outcomes = {{200, "ready", "Health"}, {503, "recovering or shutting down", ""}},
         .handler = [](Api& a, ApiContext& c) {
           if (a.deps().ready && a.deps().ready())
             c.respond(JsonResponse(200, "{\"status\":\"ready\"}"));
           else
             c.respond(ErrorResponse(503, "not_ready", "recovering or shutting down"));
         }});

  t.Add({.method = "GET", .pattern = "/metrics", .roles = kReadRoles,
         .summary = "Prometheus metrics (text exposition format).", .tag = "health",
         .outcomes = {{200, "the metrics", ""}}, .content_type = "text/plain",
         .handler = [](Api& a, ApiContext& c) {
           HttpResponse r;
           r.content_type = "text/plain; version=0.0.4; charset=utf-8";
           r.body = a.deps().metrics->Render();
           c.respond(std::move(r));
         }});

  t.Add({.method = "GET", .pattern = "/v1/openapi.json", .summary = "This API described in OpenAPI 3.",
         .tag = "health", .outcomes = {{200, "the OpenAPI document", "OpenApiDocument"}},
         .handler = [](Api& a, ApiContext& c) { c.respond(JsonResponse(200, a.OpenApiJson())); }});
}

}  // namespace rf::server
