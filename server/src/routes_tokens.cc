// API tokens and their accounts: list (never the tokens), create (the token is shown once),
// revoke (effective at once) and rotate (a new token; the old one works until a stated time).
#include "server/src/api_context.h"
#include "server/webhooks.h"

namespace rf::server {

using nlohmann::json;

namespace {

json OptTime(const std::optional<Time>& t) { return t ? json(FormatTime(*t)) : json(nullptr); }

json InfoJson(const TokenInfo& i, Time now) {
  json j{{"name", i.name},
         {"account", i.account},
         {"kind", i.kind},
         {"roles", i.roles},
         {"status", i.StatusAt(now)},
         {"configured", i.configured},
         {"created_at", OptTime(i.created_at)},
         {"expires_at", OptTime(i.expires_at)},
         {"revoked_at", OptTime(i.revoked_at)},
         {"last_used_at", OptTime(i.last_used_at)}};
  if (!i.rotated_to.empty()) j["rotated_to"] = i.rotated_to;
  return j;
}

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

HttpResponse TokenError(const ApiContext& c, const Status& s) {
  switch (s.code()) {
    case Status::Code::kInvalidArgument: return ErrorResponse(400, "invalid_request", s.message());
    case Status::Code::kAlreadyExists: return ErrorResponse(409, "conflict", s.message());
    case Status::Code::kFailedPrecondition: return ErrorResponse(409, "wrong_state", s.message());
    case Status::Code::kNotFound: return ErrorResponse(404, "not_found", s.message());
    default: return InternalError(c.request, s.ToString());
  }
}

void ListTokens(Api& a, ApiContext& c) {
  Time now = a.deps().tokens->Now();
  json items = json::array();
  for (const auto& i : a.deps().tokens->List()) items.push_back(InfoJson(i, now));
  c.respond(JsonResponse(200, Dump(json{{"items", items}})));
}

void CreateToken(Api& a, ApiContext& c) {
  auto body = ReadBody(c, false);
  if (!body) return;
  JsonReader r(*body);
  TokenRequest req;
  req.name = r.Text("name", kRequired).value_or("");
  req.account = r.Text("account", kOptional).value_or("");
  req.kind = r.Text("kind", kOptional, {.one_of = {"person", "service"}}).value_or("");
  req.roles = r.TextList("roles", kOptional).value_or(std::vector<std::string>{});
  req.expires_in = r.DurationText("expires_in", kOptional, Duration{1000});
  r.RejectUnknown();
  if (Refused(c, r)) return;
  WebhookIngress* webhooks = a.deps().webhooks;
  auto t = a.deps().tokens->Create(req, [webhooks](const std::string& source) {
    return webhooks && webhooks->HasSource(source);
  });
  if (!t.ok()) return c.respond(TokenError(c, t.status()));
  json out = InfoJson(t->info, a.deps().tokens->Now());
  out["token"] = t->token;
  c.respond(JsonResponse(201, Dump(out)));
}

void RevokeToken(Api& a, ApiContext& c) {
  auto t = a.deps().tokens->Revoke(c.Param("name"));
  if (!t.ok()) return c.respond(TokenError(c, t.status()));
  c.respond(JsonResponse(200, Dump(InfoJson(*t, a.deps().tokens->Now()))));
}

void RotateToken(Api& a, ApiContext& c) {
  auto body = ReadBody(c);
  if (!body) return;
  JsonReader r(*body);
  std::string name = r.Text("name", kOptional).value_or("");
  Duration overlap = r.DurationText("overlap", kOptional).value_or(Duration{3600000});
  auto expires_in = r.DurationText("expires_in", kOptional, Duration{1000});
  r.RejectUnknown();
  if (Refused(c, r)) return;
  auto t = a.deps().tokens->Rotate(c.Param("name"), name, overlap, expires_in);
  if (!t.ok()) return c.respond(TokenError(c, t.status()));
  Time now = a.deps().tokens->Now();
  json out = InfoJson(t->fresh.info, now);
  out["token"] = t->fresh.token;
  out["previous"] = InfoJson(t->old, now);
  c.respond(JsonResponse(201, Dump(out)));
}

}  // namespace

void AddTokenRoutes(RouteTable& t) {
  const PathParam name{"name", ParamKind::kId, "the token's name"};
  t.Add({.method = "GET", .pattern = "/v1/tokens", .roles = kTokenAdminRoles,
         .summary = "Tokens with their account, roles, status and times (never the tokens).", .tag = "tokens",
         .outcomes = {{200, "the tokens", "TokenList"}}, .handler = ListTokens});
  t.Add({.method = "POST", .pattern = "/v1/tokens", .roles = kTokenAdminRoles,
         .summary = "Create a token {\"name\", \"account\", \"kind\", \"roles\": [...], \"expires_in\"}; the answer "
                    "is the only time it is shown.",
         .tag = "tokens", .body = RequestBody{"TokenRequest", true},
         .outcomes = {{201, "created", "TokenCreated"},
                      {409, "a token with this name exists (conflict), or roles other than the account's (wrong_state)",
                       ""}},
         .description = "A name (of a token or an account) is 1-64 characters of letters, digits and . _ - : @. "
                        "account defaults to the name; kind is person (default) or service. Roles: admin, deployer, "
                        "token_admin, repairer, operator, viewer, approver:<role>, webhook:<source> for a "
                        "configured webhook source; a new token of an existing account takes its roles. "
                        "expires_in (e.g. \"30d\") defaults to the configured token_expiry of its roles.",
         .handler = CreateToken});
  t.Add({.method = "DELETE", .pattern = "/v1/tokens/{name}", .roles = kTokenAdminRoles,
         .summary = "Revoke a token: its next request is refused (401).", .tag = "tokens", .params = {name},
         .outcomes = {{200, "revoked", "TokenInfo"},
                      {404, "no such token", ""},
                      {409, "already revoked (wrong_state)", ""}},
         .handler = RevokeToken});
  t.Add({.method = "POST", .pattern = "/v1/tokens/{name}/rotate", .roles = kTokenAdminRoles,
         .summary = "Rotate: a new token for the same account {\"name\", \"overlap\": \"1h\", \"expires_in\"}; the "
                    "old one keeps working for `overlap` (default 1h).",
         .tag = "tokens", .params = {name}, .body = RequestBody{"RotateRequest", false},
         .outcomes = {{201, "the new token (shown once) and the old one's expiry", "TokenRotated"},
                      {404, "no such token", ""},
                      {409, "the old token is revoked or expired (wrong_state), or the new name is taken (conflict)",
                       ""}},
         .handler = RotateToken});
}

}  // namespace rf::server
