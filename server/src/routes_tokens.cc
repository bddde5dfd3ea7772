// API tokens: list (names and roles only) and create (the token is shown once).
#include "server/src/api_context.h"
#include "server/webhooks.h"

namespace rf::server {

using nlohmann::json;

namespace {

void ListTokens(Api& a, ApiContext& c) {
  json items = json::array();
  for (const auto& p : a.deps().tokens->List()) items.push_back({{"name", p.name}, {"roles", p.roles}});
  c.respond(JsonResponse(200, json{{"items", items}}.dump(-1, ' ', false, json::error_handler_t::replace)));
}

void CreateToken(Api& a, ApiContext& c) {
  auto body = ReadBody(c, false);
  if (!body) return;
  JsonReader r(*body);
  auto name = r.Text("name", kRequired);
  auto roles = r.TextList("roles", kRequired);
  r.RejectUnknown();
  if (Refused(c, r)) return;
  WebhookIngress* webhooks = a.deps().webhooks;
  auto t = a.deps().tokens->Create(*name, *roles, [webhooks](const std::string& source) {
    return webhooks && webhooks->HasSource(source);
  });
  if (!t.ok()) {
    if (t.status().code() == Status::Code::kInvalidArgument)
      return c.respond(ErrorResponse(400, "invalid_request", t.status().message()));
    if (t.status().code() == Status::Code::kAlreadyExists)
      return c.respond(ErrorResponse(409, "conflict", t.status().message()));
    return c.respond(InternalError(c.request, t.status().ToString()));
  }
  c.respond(JsonResponse(201, json{{"name", *name}, {"roles", *roles}, {"token", *t}}.dump()));
}

}  // namespace

void AddTokenRoutes(RouteTable& t) {
  t.Add({.method = "GET", .pattern = "/v1/tokens", .roles = kAdminRoles,
         .summary = "Token names and roles (never the tokens).", .tag = "tokens",
         .outcomes = {{200, "the tokens", "TokenList"}}, .handler = ListTokens});
  t.Add({.method = "POST", .pattern = "/v1/tokens", .roles = kAdminRoles,
         .summary = "Create a token {\"name\", \"roles\": [...]}; the answer is the only time it is shown.",
         .tag = "tokens", .body = RequestBody{"TokenRequest", true},
         .outcomes = {{201, "created", "TokenCreated"}, {409, "a token with this name exists (conflict)", ""}},
         .description = "A name is 1-64 characters of letters, digits and . _ - : @. Roles: admin, operator, "
                        "viewer, approver:<role> (1-64 letters, digits, _ or -), webhook:<source> for a "
                        "configured webhook source.",
         .handler = CreateToken});
}

}  // namespace rf::server
