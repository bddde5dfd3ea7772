#include "server/api.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "common/utf8.h"
#include "server/log.h"
#include "server/src/api_context.h"
#include "server/src/console_assets.h"

namespace rf::server {

using nlohmann::json;

namespace {

constexpr const char* kUndeclared = "retailflow_api_undeclared_responses_total";

std::string Quote(const std::string& s) {
  return json(s).dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Helpers shared by the route files (server/src/api_context.h)

std::string ApiContext::Query(const std::string& name, const std::string& fallback) const {
  auto it = query.find(name);
  return it == query.end() ? fallback : it->second;
}

std::shared_ptr<ApiContext> Keep(const ApiContext& c) {
  auto k = std::make_shared<ApiContext>();
  k->request.method = c.request.method;
  k->request.target = c.request.target;
  k->request.request_id = c.request.request_id;
  k->params = c.params;
  k->query = c.query;
  k->principal = c.principal;
  k->respond = c.respond;
  return k;
}

HttpResponse JsonResponse(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse InternalError(const HttpRequest& request, const std::string& detail) {
  log::Error("request failed", {{"request_id", request.request_id},
                                {"method", request.method},
                                {"detail", EscapeForMessage(detail, 2000)}});
  return ErrorResponse(500, "internal", "internal error; the service log has the details under request id " +
                                            request.request_id);
}

HttpResponse StatusError(const ApiContext& c, const Status& s, const std::string& not_found) {
  switch (s.code()) {
    case Status::Code::kInvalidArgument: return ErrorResponse(422, "invalid_input", s.message());
    case Status::Code::kNotFound: return ErrorResponse(404, "not_found", not_found);
    case Status::Code::kAlreadyExists: return ErrorResponse(409, "conflict", s.message());
    case Status::Code::kFailedPrecondition: return ErrorResponse(409, "wrong_state", s.message());
    case Status::Code::kUnavailable: {
      log::Warn("request unavailable", {{"request_id", c.request.request_id}, {"detail", EscapeForMessage(s.message(), 2000)}});
      HttpResponse r = ErrorResponse(503, "unavailable", "the service cannot do this right now; retry (request id " +
                                                             c.request.request_id + ")");
      r.headers.emplace_back("Retry-After", "1");
      return r;
    }
    default: return InternalError(c.request, s.ToString());
  }
}

std::optional<Value> ReadBody(ApiContext& c, bool allow_empty) {
  const std::string& b = c.request.body;
  if (b.find_first_not_of(" \t\r\n") == std::string::npos) {
    if (allow_empty) return Value(Record{});
    c.respond(ErrorResponse(400, "invalid_request", "a JSON object body is required"));
    return std::nullopt;
  }
  auto doc = ParseJson(b);
  if (!doc.ok()) {
    c.respond(ErrorResponse(400, doc.error->code(), "the body is not accepted: " + doc.error->message));
    return std::nullopt;
  }
  if (!doc.value.is_record()) {
    c.respond(ErrorResponse(400, "invalid_request", "the body must be a JSON object"));
    return std::nullopt;
  }
  return std::move(doc.value);
}

bool Refused(ApiContext& c, const JsonReader& r) {
  if (r.ok()) return false;
  c.respond(ErrorResponse(400, r.error().code(), r.error().message));
  return true;
}

std::string ListJson(const std::vector<Value>& items, const std::string& next_cursor) {
  std::string out = "{\"items\":[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ",";
    out += items[i].ToJson();
  }
  out += "]";
  if (!next_cursor.empty()) out += ",\"next_cursor\":" + Quote(next_cursor);
  return out + "}";
}

std::string TextOf(const Value* v) { return v && v->is_text() ? v->as_text() : std::string(); }

std::vector<std::string> ApproverRoles(const Principal& p) {
  std::vector<std::string> out;
  for (const auto& r : p.roles)
    if (r.rfind("approver:", 0) == 0) out.push_back(r.substr(9));
  return out;
}

bool SeesEverything(const Principal& p) { return p.IsAdmin() || p.Has("operator") || p.Has("viewer"); }

HttpResponse ErrorResponse(int status, const std::string& code, const std::string& message,
                           const std::string& details_json) {
  std::string body = "{\"error\":{\"code\":" + Quote(code) + ",\"message\":" + Quote(message);
  if (!details_json.empty()) body += ",\"details\":" + details_json;
  body += "}}";
  return JsonResponse(status, std::move(body));
}

// ---------------------------------------------------------------------------------------------
// The API

Api::Api(ApiDeps deps)
    : d_(std::move(deps)), limiter_(d_.limits.token_rate_per_second, d_.limits.token_burst) {
  AddHealthRoutes(table_);
  AddWorkflowRoutes(table_);
  AddInstanceRoutes(table_);
  AddEventRoutes(table_);
  AddTaskRoutes(table_);
  AddConnectorRoutes(table_);
  AddAdminRoutes(table_);
  AddTokenRoutes(table_);
  AddWebhookRoutes(table_);
  AddSessionRoutes(table_);
  AddBulkRoutes(table_);
  if (d_.metrics)
    d_.metrics->Declare(kUndeclared, Metrics::Type::kCounter,
                        "Responses whose status their route does not declare (a bug: the OpenAPI document is wrong).");
}

void Api::Handle(HttpRequest request, Respond respond) {
  std::string_view target = request.target;
  size_t qpos = target.find('?');
  std::string path(target.substr(0, qpos));
  RouteMatch m = table_.Match(request.method, path);

  Metrics* metrics = d_.metrics;
  std::string request_id = request.request_id;
  auto finish = [respond, route = m.route, metrics, request_id,
                 pattern = m.route ? m.route->pattern : std::string(m.path_known ? "(method)" : "(unknown)")](
                    HttpResponse r, const std::string& who) {
    r.route = pattern;
    r.principal = who;
    if (route && !route->Declares(r.status)) {
      log::Error("undeclared response status", {{"request_id", request_id}, {"route", pattern}, {"status", r.status}});
      if (metrics) metrics->Add(kUndeclared, {{"route", pattern}, {"status", std::to_string(r.status)}});
    }
    respond(std::move(r));
  };
  if (!m.route) {
    if (auto page = ConsoleResponse(request, path)) {  // the embedded console (routes_console.cc)
      page->route = "(console)";
      page->principal = "-";
      return respond(std::move(*page));
    }
    if (m.path_known)
      finish(ErrorResponse(405, "method_not_allowed", request.method + " is not allowed on this path"), "-");
    else
      finish(ErrorResponse(404, "not_found", "no such route"), "-");
    return;
  }
  const Route& route = *m.route;

  auto ctx = std::make_shared<ApiContext>();
  if (route.ByToken()) {
    auto auth = request.headers.find("authorization");
    std::string token;
    if (auth != request.headers.end() && auth->second.size() > 7 &&
        (auth->second.compare(0, 7, "Bearer ") == 0 || auth->second.compare(0, 7, "bearer ") == 0))
      token = auth->second.substr(7);
    auto principal = d_.tokens->Authenticate(token);
    if (!principal) {
      HttpResponse r = ErrorResponse(401, "unauthenticated",
                                     token.empty() ? "a bearer token is required" : "the bearer token is not valid");
      r.headers.emplace_back("WWW-Authenticate", "Bearer");
      finish(std::move(r), "-");
      return;
    }
    double retry = 0;
    if (!limiter_.Allow(principal->token_hash, std::chrono::steady_clock::now(), &retry)) {
      HttpResponse r = ErrorResponse(429, "rate_limited", "too many requests for this token");
      r.headers.emplace_back("Retry-After", std::to_string(static_cast<int>(std::ceil(std::max(retry, 1.0)))));
      finish(std::move(r), principal->name);
      return;
    }
    if (!Allowed(*principal, route.roles)) {
      std::string need;
      for (const auto& r : route.roles) need += (need.empty() ? "" : ", ") + r;
      finish(ErrorResponse(403, "forbidden", "this route needs one of the roles: " + need + " (or admin)"),
             principal->name);
      return;
    }
    ctx->principal = std::move(*principal);
  }
  std::string who = ctx->principal.name.empty() ? "-" : ctx->principal.name;

  // Parameters are checked after authentication: an anonymous caller learns nothing from them.
  if (auto bad = CheckParams(route, m.params)) return finish(ErrorResponse(400, bad->code, bad->message), who);
  std::string_view query = qpos == std::string_view::npos ? std::string_view() : target.substr(qpos + 1);
  if (auto bad = ParseQuery(route, query, &ctx->query)) return finish(ErrorResponse(400, bad->code, bad->message), who);

  ctx->params = std::move(m.params);
  ctx->request = std::move(request);
  ctx->respond = [finish, who](HttpResponse r) { finish(std::move(r), who); };
  try {
    route.handler(*this, *ctx);
  } catch (const std::exception& e) {
    ctx->respond(InternalError(ctx->request, e.what()));
  }
  // Handlers that answer later hold their own copy of ctx->respond.
}

}  // namespace rf::server
