// GET /v1/session: who the bearer token is and what it may do, so a client (the console) shows
// only the actions the token's roles allow. The capabilities mirror the route table's roles.
#include "server/src/api_context.h"

namespace rf::server {

using nlohmann::json;

namespace {

void Session(Api&, ApiContext& c) {
  const Principal& p = c.principal;
  json approve = ApproverRoles(p);
  bool admin = p.IsAdmin();
  json can{{"read", admin || p.Has("viewer") || p.Has("operator")},
           {"operate", admin || p.Has("operator")},  // start, cancel, events
           {"repair", admin || p.Has("repairer")},  // retry, skip
           {"deploy", admin || p.Has("deployer")},
           {"approve", admin ? json::array({"*"}) : approve}};
  c.respond(JsonResponse(200, json{{"name", p.name}, {"roles", p.roles}, {"can", can}}.dump(
                                  -1, ' ', false, json::error_handler_t::replace)));
}

}  // namespace

void AddSessionRoutes(RouteTable& t) {
  t.Add({.method = "GET", .pattern = "/v1/session", .roles = {"viewer", "operator", "approver:*", "webhook:*"},
         .summary = "The signed-in token: its name, roles and what they allow (read, operate, repair, deploy, "
                    "approve: the approver roles, or [\"*\"] for admin).",
         .tag = "session", .outcomes = {{200, "the token's identity and capabilities", "Session"}},
         .handler = Session});
}

}  // namespace rf::server
