// The configured connectors and their health.
#include "server/src/api_context.h"

namespace rf::server {

void AddConnectorRoutes(RouteTable& t) {
  t.Add({.method = "GET", .pattern = "/v1/connectors", .roles = kReadRoles,
         .summary = "Configured connectors: type, circuit breaker, counters.", .tag = "connectors",
         .outcomes = {{200, "the connectors", "ConnectorList"}},
         .handler = [](Api& a, ApiContext& c) {
           nlohmann::json items = a.deps().connectors ? a.deps().connectors() : nlohmann::json::array();
           c.respond(JsonResponse(200, nlohmann::json{{"items", items}}.dump(-1, ' ', false,
                                                                             nlohmann::json::error_handler_t::replace)));
         }});
}

}  // namespace rf::server
