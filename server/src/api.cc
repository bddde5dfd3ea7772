#include "server/api.h"

#include <uriparser/Uri.h>

#include <algorithm>
#include <chrono>

#include "dsl/graph.h"
#include "engine/ir/machine.h"
#include "server/webhooks.h"
#include "server/workflows.h"

namespace rf::server {

using nlohmann::json;

namespace {

std::string Quote(const std::string& s) { return json(s).dump(); }

// The error code an engine Status maps to, with its HTTP status.
std::pair<int, std::string> FromStatus(const Status& s) {
  switch (s.code()) {
    case Status::Code::kInvalidArgument: return {422, "invalid_input"};
    case Status::Code::kNotFound: return {404, "not_found"};
    case Status::Code::kAlreadyExists: return {409, "conflict"};
    case Status::Code::kFailedPrecondition: return {409, "wrong_state"};
    case Status::Code::kUnavailable: return {503, "unavailable"};
    default: return {500, "internal"};
  }
}

HttpResponse Json(int status, std::string body);

// The error response for an engine Status (see FromStatus).
HttpResponse StatusError(const Status& s) {
  auto [st, code] = FromStatus(s);
  return ErrorResponse(st, code, s.message());
}

HttpResponse Json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

std::string Unescape(std::string s) {
  if (s.empty()) return s;
  std::vector<char> buf(s.begin(), s.end());
  buf.push_back('\0');
  const char* end = uriUnescapeInPlaceExA(buf.data(), URI_FALSE, URI_BR_DONT_TOUCH);
  return std::string(static_cast<const char*>(buf.data()), end);
}

std::map<std::string, std::string> ParseQuery(std::string_view q) {
  std::map<std::string, std::string> out;
  if (q.empty()) return out;
  UriQueryListA* list = nullptr;
  int count = 0;
  std::string text(q);
  if (uriDissectQueryMallocA(&list, &count, text.data(), text.data() + text.size()) != URI_SUCCESS)
    return out;
  for (UriQueryListA* p = list; p; p = p->next)
    if (p->key) out[p->key] = p->value ? p->value : "";
  uriFreeQueryListA(list);
  return out;
}

std::vector<std::string> Split(std::string_view path) {
  std::vector<std::string> segs;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    segs.emplace_back(path.substr(i, j - i));
    i = j;
  }
  return segs;
}

bool Match(const std::string& pattern, const std::vector<std::string>& segs,
           std::map<std::string, std::string>& params) {
  auto pat = Split(pattern);
  if (pat.size() != segs.size()) return false;
  std::map<std::string, std::string> p;
  for (size_t i = 0; i < pat.size(); ++i) {
    if (pat[i].size() > 2 && pat[i].front() == '{') {
      p[pat[i].substr(1, pat[i].size() - 2)] = Unescape(segs[i]);
    } else if (pat[i] != segs[i]) {
      return false;
    }
  }
  params = std::move(p);
  return true;
}

std::string Text(const Value* v) { return v && v->is_text() ? v->as_text() : std::string(); }

// A request body as a record, or an error response.
std::optional<Value> BodyRecord(Api::Context& c, bool allow_empty = true) {
  const std::string& b = c.request.body;
  if (b.find_first_not_of(" \t\r\n") == std::string::npos) {
    if (allow_empty) return Value(Record{});
    c.respond(ErrorResponse(400, "invalid_request", "a JSON object body is required"));
    return std::nullopt;
  }
  auto v = Value::FromJson(b);
  if (!v.ok()) {
    c.respond(ErrorResponse(400, "invalid_json", "the body is not valid JSON: " + v.status().message()));
    return std::nullopt;
  }
  if (!v->is_record()) {
    c.respond(ErrorResponse(400, "invalid_request", "the body must be a JSON object"));
    return std::nullopt;
  }
  return std::move(*v);
}

std::string ListJson(const std::vector<Value>& items, const std::string& next_cursor = {}) {
  std::string out = "{\"items\":[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ",";
    out += items[i].ToJson();
  }
  out += "]";
  if (!next_cursor.empty()) out += ",\"next_cursor\":" + Quote(next_cursor);
  return out + "}";
}

size_t LimitParam(const Api::Context& c, size_t def) {
  auto it = c.query.find("limit");
  if (it == c.query.end()) return def;
  try {
    long v = std::stol(it->second);
    return static_cast<size_t>(std::clamp(v, 1L, 1000L));
  } catch (const std::exception&) {
    return def;
  }
}

// The approver roles a principal holds ("approver:store_manager" → "store_manager").
std::vector<std::string> ApproverRoles(const Principal& p) {
  std::vector<std::string> out;
  for (const auto& r : p.roles)
    if (r.rfind("approver:", 0) == 0) out.push_back(r.substr(9));
  return out;
}

bool SeesEverything(const Principal& p) { return p.IsAdmin() || p.Has("operator") || p.Has("viewer"); }

template <typename T>
void Reply(Api::Context& c, const Result<T>& r, const std::function<std::string(const T&)>& body,
           int ok_status = 200) {
  if (!r.ok()) {
    c.respond(StatusError(r.status()));
    return;
  }
  c.respond(Json(ok_status, body(*r)));
}

}  // namespace

HttpResponse ErrorResponse(int status, const std::string& code, const std::string& message,
                           const std::string& details_json) {
  std::string body = "{\"error\":{\"code\":" + Quote(code) + ",\"message\":" + Quote(message);
  if (!details_json.empty()) body += ",\"details\":" + details_json;
  body += "}}";
  return Json(status, std::move(body));
}

Api::Api(ApiDeps deps)
    : d_(std::move(deps)), limiter_(d_.limits.token_rate_per_second, d_.limits.token_burst) {
  DeclareRoutes();
}

void Api::Handle(HttpRequest request, Respond respond) {
  std::string_view target = request.target;
  size_t qpos = target.find('?');
  std::string path(target.substr(0, qpos));
  auto segs = Split(path);

  const Route* route = nullptr;
  std::map<std::string, std::string> params;
  bool path_known = false;
  for (const auto& r : routes_) {
    std::map<std::string, std::string> p;
    if (!Match(r.pattern, segs, p)) continue;
    path_known = true;
    if (r.method == request.method) {
      route = &r;
      params = std::move(p);
      break;
    }
  }
  auto finish = [respond, pattern = route ? route->pattern : std::string(path_known ? "(method)" : "(unknown)")](
                    HttpResponse r, const std::string& who) {
    r.route = pattern;
    r.principal = who;
    respond(std::move(r));
  };
  if (!route) {
    if (path_known)
      finish(ErrorResponse(405, "method_not_allowed", request.method + " is not allowed on " + path), "-");
    else
      finish(ErrorResponse(404, "not_found", "no route " + path), "-");
    return;
  }

  auto ctx = std::make_shared<Context>();
  ctx->params.values = std::move(params);
  if (qpos != std::string_view::npos) ctx->query = ParseQuery(target.substr(qpos + 1));

  bool needs_token = !route->roles.empty() && route->roles.front() != "signature";
  if (needs_token) {
    auto auth = request.headers.find("authorization");
    std::string token;
    if (auth != request.headers.end() && auth->second.size() > 7 &&
        (auth->second.compare(0, 7, "Bearer ") == 0 || auth->second.compare(0, 7, "bearer ") == 0))
      token = auth->second.substr(7);
    auto principal = d_.tokens->Authenticate(token);
    if (!principal) {
      HttpResponse r = ErrorResponse(401, "unauthenticated",
                                     token.empty() ? "a bearer token is required"
                                                   : "the bearer token is not valid");
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
    if (!Allowed(*principal, route->roles)) {
      std::string need;
      for (const auto& r : route->roles) need += (need.empty() ? "" : ", ") + r;
      finish(ErrorResponse(403, "forbidden", "this route needs one of the roles: " + need + " (or admin)"),
             principal->name);
      return;
    }
    ctx->principal = std::move(*principal);
  }
  std::string who = ctx->principal.name.empty() ? "-" : ctx->principal.name;
  ctx->request = std::move(request);
  ctx->respond = [finish, who](HttpResponse r) { finish(std::move(r), who); };
  try {
    route->handler(*this, *ctx);
  } catch (const std::exception& e) {
    ctx->respond(ErrorResponse(500, "internal", std::string("internal error: ") + e.what()));
  }
  // Handlers that answer later hold their own copy of the context.
}

void Api::DeclareRoutes() {
  const std::vector<std::string> kRead{"viewer", "operator"};
  const std::vector<std::string> kOperator{"operator"};
  const std::vector<std::string> kAdmin{"admin"};

  Declare({"GET", "/healthz", {}, "Liveness: the process answers.", "", "Health",
           [](Api&, Context& c) { c.respond(Json(200, "{\"status\":\"ok\"}")); }});

  Declare({"GET", "/readyz", {}, "Readiness: recovery finished and not shutting down.", "", "Health",
           [](Api& a, Context& c) {
             if (a.d_.ready && a.d_.ready())
               c.respond(Json(200, "{\"status\":\"ready\"}"));
             else
               c.respond(ErrorResponse(503, "not_ready", "recovering or shutting down"));
           }});

  Declare({"GET", "/metrics", kRead, "Prometheus metrics (text exposition format).", "", "",
           [](Api& a, Context& c) {
             HttpResponse r;
             r.content_type = "text/plain; version=0.0.4; charset=utf-8";
             r.body = a.d_.metrics->Render();
             c.respond(std::move(r));
           }});

  Declare({"GET", "/v1/openapi.json", {}, "This API described in OpenAPI 3.", "", "",
           [](Api& a, Context& c) { c.respond(Json(200, a.OpenApiJson())); }});

  Declare({"GET", "/v1/workflows", kRead, "Deployed workflows and their versions.", "", "WorkflowList",
           [](Api& a, Context& c) {
             auto defs = a.d_.engine->ListDefinitions();
             if (!defs.ok()) return c.respond(ErrorResponse(500, "internal", defs.status().message()));
             std::map<std::string, std::vector<int>> versions;
             for (const auto& d : *defs) {
               const Value* v = d.Find("version");
               versions[Text(d.Find("name"))].push_back(v && v->is_number() ? static_cast<int>(v->as_number().ToInt64().value_or(0)) : 0);
             }
             json items = json::array();
             for (auto& [name, vs] : versions)
               items.push_back({{"name", name}, {"versions", vs}, {"latest", vs.empty() ? 0 : vs.back()}});
             c.respond(Json(200, json{{"items", items}}.dump()));
           }});

  Declare({"GET", "/v1/workflows/{name}", kRead,
           "One workflow: versions, source and graph (DOT and Mermaid) of a version (?version=, default latest).",
           "", "WorkflowDetail", [](Api& a, Context& c) {
             int version = 0;
             if (auto it = c.query.find("version"); it != c.query.end()) version = std::atoi(it->second.c_str());
             auto def = a.d_.engine->GetDefinition(c.params["name"], version);
             if (!def.ok()) return c.respond(StatusError(def.status()));
             std::vector<int> versions;
             if (auto defs = a.d_.engine->ListDefinitions(); defs.ok())
               for (const auto& d : *defs)
                 if (Text(d.Find("name")) == c.params["name"])
                   versions.push_back(static_cast<int>(d.Find("version")->as_number().ToInt64().value_or(0)));
             json out{{"name", c.params["name"]}, {"versions", versions}};
             const Value* v = def->Find("version");
             out["version"] = v && v->is_number() ? v->as_number().ToInt64().value_or(0) : 0;
             out["source"] = Text(def->Find("source"));
             if (const Value* dep = def->Find("deployed_at")) out["deployed_at"] = json::parse(dep->ToJson());
             const Value* m = def->Find("machine");
             auto machine = m ? ir::MachineFromJson(m->is_text() ? m->as_text() : m->ToJson())
                              : Result<ir::Machine>(Status::Corruption("definition without machine"));
             if (machine.ok()) {
               out["graph"] = {{"dot", dsl::ToDot(*machine)}, {"mermaid", dsl::ToMermaid(*machine)}};
               json inputs = json::array();
               for (const auto& f : machine->inputs)
                 inputs.push_back({{"name", f.name}, {"type", f.type}, {"optional", f.optional}});
               out["inputs"] = inputs;
             }
             c.respond(Json(200, out.dump()));
           }});

  Declare({"POST", "/v1/workflows", kAdmin,
           "Deploy a workflow: the body is the .flow source. 201 with the version, 200 if that exact "
           "version is already deployed, 422 with the checker's diagnostics.",
           "FlowSource", "DeployResult", [](Api& a, Context& c) {
             DeployOutcome o = a.d_.workflows->Deploy(c.request.body, "api");
             if (o.ok()) {
               c.respond(Json(o.http_status, json{{"workflow", o.workflow},
                                                  {"version", o.version},
                                                  {"created", o.http_status == 201},
                                                  {"diagnostics", o.diagnostics}}
                                                 .dump()));
             } else {
               json details{{"diagnostics", o.diagnostics}, {"text", o.diagnostics_text}};
               c.respond(ErrorResponse(o.http_status, o.http_status == 422 ? "invalid_workflow" : "conflict",
                                       o.error, details.dump()));
             }
           }});

  Declare({"POST", "/v1/workflows/reload", kAdmin,
           "Re-read the workflow folders and deploy what changed; broken files are refused "
           "and their running version stays.",
           "", "ReloadResult", [](Api& a, Context& c) {
             json items = json::array();
             for (const auto& o : a.d_.workflows->LoadDirs({})) {
               json item{{"origin", o.origin}, {"status", o.http_status}, {"workflow", o.workflow},
                         {"version", o.version}};
               if (!o.ok()) item["error"] = o.error, item["diagnostics"] = o.diagnostics;
               items.push_back(item);
             }
             c.respond(Json(200, json{{"items", items}}.dump()));
           }});

  Declare({"POST", "/v1/workflows/{name}/instances", kOperator,
           "Start an instance: {\"input\": {...}, \"business_key\": \"...\"}. 201 with the id; the same "
           "business key again answers 200 with the existing instance.",
           "StartRequest", "StartResult", [](Api& a, Context& c) {
             auto body = BodyRecord(c);
             if (!body) return;
             engine::StartRequest req;
             req.workflow = c.params["name"];
             if (const Value* in = body->Find("input")) req.input = *in;
             if (const Value* bk = body->Find("business_key")) {
               if (!bk->is_text() && !bk->is_null())
                 return c.respond(ErrorResponse(400, "invalid_request", "business_key must be text"));
               req.business_key = Text(bk);
             }
             if (const Value* cid = body->Find("correlation_id")) req.correlation_id = Text(cid);
             if (const Value* v = body->Find("version"); v && v->is_number())
               req.version = static_cast<int>(v->as_number().ToInt64().value_or(0));
             auto respond = c.respond;
             a.d_.engine->Start(std::move(req), [respond](Result<engine::StartResult> r) {
               if (!r.ok()) {
                 return respond(StatusError(r.status()));
               }
               respond(Json(r->created ? 201 : 200,
                            json{{"id", r->instance_id}, {"created", r->created}}.dump()));
             });
           }});

  Declare({"GET", "/v1/instances", kRead,
           "List instances: ?workflow=&status=&business_key=&limit=&cursor= (oldest first).", "",
           "InstancePage", [](Api& a, Context& c) {
             engine::InstanceQuery q;
             q.workflow = c.query.count("workflow") ? c.query["workflow"] : "";
             q.status = c.query.count("status") ? c.query["status"] : "";
             q.business_key = c.query.count("business_key") ? c.query["business_key"] : "";
             q.after = c.query.count("cursor") ? c.query["cursor"] : "";
             q.limit = LimitParam(c, 100);
             if (!q.status.empty() &&
                 std::find(engine::StatusNames().begin(), engine::StatusNames().end(), q.status) ==
                     engine::StatusNames().end())
               return c.respond(ErrorResponse(400, "invalid_request", "unknown status " + q.status));
             Reply<engine::InstancePage>(c, a.d_.engine->QueryInstances(q),
                                         [](const engine::InstancePage& p) { return ListJson(p.items, p.next_cursor); });
           }});

  Declare({"GET", "/v1/instances/{id}", kRead,
           "One instance: status, current states, data, pending timers/tasks/waits, error.", "",
           "Instance", [](Api& a, Context& c) {
             Reply<Value>(c, a.d_.engine->GetInstance(c.params["id"]), [](const Value& v) { return v.ToJson(); });
           }});

  Declare({"GET", "/v1/instances/{id}/history", kRead, "The instance's history events, in order.", "",
           "EventList", [](Api& a, Context& c) {
             if (!a.d_.engine->GetInstance(c.params["id"]).ok())
               return c.respond(ErrorResponse(404, "not_found", "no instance " + c.params["id"]));
             Reply<std::vector<Value>>(c, a.d_.engine->GetHistory(c.params["id"]),
                                       [](const std::vector<Value>& v) { return ListJson(v); });
           }});

  auto repair = [](const char* what) {
    return [what](Api& a, Context& c) {
      auto body = BodyRecord(c);
      if (!body) return;
      auto respond = c.respond;
      std::string id = c.params["id"];
      auto done = [respond, id](Result<bool> r) {
        if (!r.ok()) {
          return respond(StatusError(r.status()));
        }
        respond(Json(202, json{{"id", id}, {"accepted", true}}.dump()));
      };
      std::string w(what);
      if (w == "cancel") {
        a.d_.engine->Cancel(id, Text(body->Find("reason")).empty() ? "cancelled by " + c.principal.name
                                                                    : Text(body->Find("reason")),
                            done);
      } else if (w == "retry") {
        Value patch;
        if (const Value* p = body->Find("patch")) {
          if (!p->is_record() && !p->is_null())
            return respond(ErrorResponse(400, "invalid_request", "patch must be a JSON object"));
          patch = *p;
        }
        a.d_.engine->RetryStep(id, patch, done);
      } else {
        a.d_.engine->SkipStep(id, done);
      }
    };
  };
  Declare({"POST", "/v1/instances/{id}/cancel", kOperator,
           "Cancel: runs the undo chain, then `cancelled`. Body {\"reason\"} optional.", "CancelRequest",
           "Accepted", repair("cancel")});
  Declare({"POST", "/v1/instances/{id}/retry", kAdmin,
           "Retry the failed step of a held instance; optional {\"patch\": {...}} merged into its data.",
           "RetryRequest", "Accepted", repair("retry")});
  Declare({"POST", "/v1/instances/{id}/skip", kAdmin,
           "Skip the failed step of a held instance and continue with the next state.", "", "Accepted",
           repair("skip")});

  Declare({"POST", "/v1/events/{name}", kOperator,
           "Deliver an event {\"key\", \"data\"} to the instances waiting for it, or buffer it.",
           "EventRequest", "EventResult", [](Api& a, Context& c) {
             auto body = BodyRecord(c, false);
             if (!body) return;
             const Value* key = body->Find("key");
             if (!key || (!key->is_text() && !key->is_number()) || key->ToDisplayString().empty())
               return c.respond(ErrorResponse(400, "invalid_request", "the event needs a \"key\" (text)"));
             Value data = body->Find("data") ? *body->Find("data") : Value(Record{});
             auto respond = c.respond;
             a.d_.engine->DeliverEvent(c.params["name"], key->ToDisplayString(), std::move(data),
                                       [respond](Result<int> r) {
                                         if (!r.ok()) {
                                           return respond(StatusError(r.status()));
                                         }
                                         respond(Json(202, json{{"delivered_to", *r}, {"buffered", *r == 0}}.dump()));
                                       });
           }});

  Declare({"GET", "/v1/tasks", {"viewer", "operator", "approver:*"},
           "Human tasks: ?role=&status=open|closed (approvers see their own roles' tasks).", "",
           "TaskList", [](Api& a, Context& c) {
             std::string role = c.query.count("role") ? c.query["role"] : "";
             std::string status = c.query.count("status") ? c.query["status"] : "open";
             if (status == "all") status.clear();
             size_t limit = LimitParam(c, 200);
             std::vector<std::string> roles;
             if (SeesEverything(c.principal)) {
               roles.push_back(role);
             } else {
               for (const auto& r : ApproverRoles(c.principal))
                 if (role.empty() || r == role) roles.push_back(r);
             }
             std::vector<Value> out;
             for (const auto& r : roles) {
               auto tasks = a.d_.engine->ListTasks(r, status, limit);
               if (!tasks.ok()) return c.respond(ErrorResponse(500, "internal", tasks.status().message()));
               for (auto& t : *tasks) out.push_back(std::move(t));
             }
             c.respond(Json(200, ListJson(out)));
           }});

  Declare({"GET", "/v1/tasks/{id}", {"viewer", "operator", "approver:*"}, "One human task.", "", "Task",
           [](Api& a, Context& c) {
             auto t = a.d_.engine->GetTask(c.params["id"]);
             if (!t.ok()) return c.respond(ErrorResponse(404, "not_found", "no task " + c.params["id"]));
             if (!SeesEverything(c.principal)) {
               auto mine = ApproverRoles(c.principal);
               if (std::find(mine.begin(), mine.end(), Text(t->Find("role"))) == mine.end())
                 return c.respond(ErrorResponse(403, "forbidden", "this task is for role " + Text(t->Find("role"))));
             }
             c.respond(Json(200, t->ToJson()));
           }});

  Declare({"POST", "/v1/tasks/{id}/complete", {"approver:*"},
           "Decide a task: {\"decision\": \"approve\"|\"reject\", \"comment\"}. Only a token with the "
           "task's approver role (or admin); the actor is recorded.",
           "TaskDecision", "Accepted", [](Api& a, Context& c) {
             auto body = BodyRecord(c, false);
             if (!body) return;
             std::string decision = Text(body->Find("decision"));
             if (decision != "approve" && decision != "reject")
               return c.respond(ErrorResponse(400, "invalid_request", "decision must be \"approve\" or \"reject\""));
             auto t = a.d_.engine->GetTask(c.params["id"]);
             if (!t.ok()) return c.respond(ErrorResponse(404, "not_found", "no task " + c.params["id"]));
             std::string role = Text(t->Find("role"));
             if (!c.principal.IsAdmin() && !c.principal.Has("approver:" + role))
               return c.respond(ErrorResponse(403, "forbidden", "this task needs role approver:" + role));
             engine::TaskDecision d;
             d.task_id = c.params["id"];
             d.decision = decision;
             d.actor = c.principal.name;
             d.comment = Text(body->Find("comment"));
             auto respond = c.respond;
             std::string id = d.task_id;
             a.d_.engine->CompleteTask(std::move(d), [respond, id](Result<bool> r) {
               if (!r.ok()) {
                 return respond(StatusError(r.status()));
               }
               respond(Json(202, json{{"task", id}, {"accepted", true}}.dump()));
             });
           }});

  Declare({"GET", "/v1/dead-letters", kRead, "Instances waiting for an operator, with their error.", "",
           "DeadLetterList", [](Api& a, Context& c) {
             Reply<std::vector<Value>>(c, a.d_.engine->ListDeadLetters(),
                                       [](const std::vector<Value>& v) { return ListJson(v); });
           }});

  Declare({"GET", "/v1/connectors", kRead, "Configured connectors: type, circuit breaker, counters.", "",
           "ConnectorList", [](Api& a, Context& c) {
             json items = a.d_.connectors ? a.d_.connectors() : json::array();
             c.respond(Json(200, json{{"items", items}}.dump()));
           }});

  Declare({"POST", "/v1/admin/clock", kAdmin,
           "Demos and tests only (config adjustable_clock): {\"advance\": \"4h\"} moves the clock forward.",
           "ClockRequest", "ClockResult", [](Api& a, Context& c) {
             auto body = BodyRecord(c, false);
             if (!body) return;
             if (!a.d_.advance_clock)
               return c.respond(ErrorResponse(409, "clock_fixed", "the clock is not adjustable (config adjustable_clock)"));
             std::optional<Duration> by;
             if (const Value* v = body->Find("advance")) {
               if (v->is_text()) by = ParseDuration(v->as_text());
               else if (v->is_duration()) by = v->as_duration();
             }
             if (!by || by->ms <= 0)
               return c.respond(ErrorResponse(400, "invalid_request", "advance must be a positive duration such as \"4h\""));
             Time now = a.d_.advance_clock(*by);
             c.respond(Json(200, json{{"now", FormatTime(now)}}.dump()));
           }});

  Declare({"GET", "/v1/tokens", kAdmin, "Token names and roles (never the tokens).", "", "TokenList",
           [](Api& a, Context& c) {
             json items = json::array();
             for (const auto& p : a.d_.tokens->List()) items.push_back({{"name", p.name}, {"roles", p.roles}});
             c.respond(Json(200, json{{"items", items}}.dump()));
           }});

  Declare({"POST", "/v1/tokens", kAdmin,
           "Create a token {\"name\", \"roles\": [...]}; the answer is the only time it is shown.",
           "TokenRequest", "TokenCreated", [](Api& a, Context& c) {
             json body;
             try {
               body = json::parse(c.request.body);
             } catch (const json::exception&) {
               return c.respond(ErrorResponse(400, "invalid_json", "the body is not valid JSON"));
             }
             if (!body.is_object() || !body.value("name", json()).is_string() || !body.value("roles", json()).is_array())
               return c.respond(ErrorResponse(400, "invalid_request", "expected {\"name\": \"...\", \"roles\": [...]}"));
             std::vector<std::string> roles;
             for (const auto& r : body["roles"])
               if (r.is_string()) roles.push_back(r.get<std::string>());
             auto t = a.d_.tokens->Create(body["name"].get<std::string>(), roles);
             if (!t.ok()) {
               auto [st, code] = FromStatus(t.status());
               return c.respond(ErrorResponse(st == 422 ? 400 : st, st == 422 ? "invalid_request" : code,
                                              t.status().message()));
             }
             c.respond(Json(201, json{{"name", body["name"]}, {"roles", roles}, {"token", *t}}.dump()));
           }});

  Declare({"POST", "/v1/webhooks/{source}", {"signature"},
           "Signed webhook ingress (Standard Webhooks). The source's routes say what an event does.",
           "WebhookBody", "WebhookResult", [](Api& a, Context& c) {
             if (!a.d_.webhooks)
               return c.respond(ErrorResponse(401, "unauthenticated", "unknown webhook source"));
             auto now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
             a.d_.webhooks->Handle(c.params["source"], c.request, now, c.respond);
           }});
}

std::string Api::OpenApiJson() const {
  json paths = json::object();
  for (const auto& r : routes_) {
    json op;
    op["summary"] = r.summary;
    std::string id = r.method;
    for (char ch : r.pattern) id.push_back(std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_');
    op["operationId"] = id;
    json parameters = json::array();
    for (const auto& seg : Split(r.pattern))
      if (seg.front() == '{')
        parameters.push_back({{"name", seg.substr(1, seg.size() - 2)}, {"in", "path"}, {"required", true},
                              {"schema", {{"type", "string"}}}});
    if (!parameters.empty()) op["parameters"] = parameters;
    if (r.roles.empty()) {
      op["security"] = json::array();
    } else if (r.roles.front() == "signature") {
      op["security"] = json::array();
      op["description"] = "Authenticated by the webhook-id, webhook-timestamp and webhook-signature headers.";
    } else {
      op["security"] = json::array({{{"bearer", json::array()}}});
      op["x-roles"] = r.roles;
    }
    if (!r.request_schema.empty()) {
      std::string ct = r.request_schema == "FlowSource" ? "text/plain" : "application/json";
      op["requestBody"] = {{"required", true},
                           {"content", {{ct, {{"schema", {{"$ref", "#/components/schemas/" + r.request_schema}}}}}}}};
    }
    json responses = json::object();
    std::string ok = r.method == "POST" && (r.response_schema == "Accepted" || r.pattern == "/v1/events/{name}")
                         ? "202"
                         : "200";
    json schema = r.response_schema.empty() ? json{{"type", "object"}}
                                            : json{{"$ref", "#/components/schemas/" + r.response_schema}};
    json ok_content = json::object();
    if (r.pattern == "/metrics")
      ok_content["text/plain"]["schema"] = {{"type", "string"}};
    else
      ok_content["application/json"]["schema"] = schema;
    responses[ok] = {{"description", "success"}, {"content", ok_content}};
    if (r.method == "POST" && (r.pattern == "/v1/workflows" || r.pattern == "/v1/tokens" ||
                               r.pattern == "/v1/workflows/{name}/instances"))
      responses["201"] = {{"description", "created"}, {"content", ok_content}};
    auto err = [](const char* what) {
      return json{{"description", what},
                  {"content", {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}};
    };
    if (!r.roles.empty()) responses["401"] = err("no or invalid credentials");
    if (!r.roles.empty() && r.roles.front() != "signature") {
      responses["403"] = err("the token lacks the role");
      responses["429"] = err("rate limited");
    }
    if (r.method == "POST") {
      responses["400"] = err("malformed request");
      responses["413"] = err("body too large");
      responses["422"] = err("refused by the workflow or checker");
    }
    if (r.pattern.find('{') != std::string::npos) responses["404"] = err("not found");
    responses["503"] = err("overloaded or not ready");
    op["responses"] = responses;
    std::string m = r.method;
    std::transform(m.begin(), m.end(), m.begin(), ::tolower);
    paths[r.pattern][m] = op;
  }
  auto obj = [](json props, std::vector<std::string> required = {}) {
    json s{{"type", "object"}, {"properties", std::move(props)}};
    if (!required.empty()) s["required"] = required;
    return s;
  };
  json str{{"type", "string"}}, integer{{"type", "integer"}}, any_obj{{"type", "object"}};
  json schemas{
      {"Error", obj({{"error", obj({{"code", str}, {"message", str}, {"details", {}}}, {"code", "message"})}}, {"error"})},
      {"Health", obj({{"status", str}})},
      {"FlowSource", str},
      {"WorkflowList", obj({{"items", {{"type", "array"}, {"items", any_obj}}}})},
      {"WorkflowDetail", obj({{"name", str}, {"version", integer}, {"versions", {{"type", "array"}, {"items", integer}}},
                              {"source", str}, {"graph", obj({{"dot", str}, {"mermaid", str}})}})},
      {"DeployResult", obj({{"workflow", str}, {"version", integer}, {"created", {{"type", "boolean"}}}})},
      {"ReloadResult", obj({{"items", {{"type", "array"}, {"items", any_obj}}}})},
      {"StartRequest", obj({{"input", any_obj}, {"business_key", str}, {"correlation_id", str}, {"version", integer}})},
      {"StartResult", obj({{"id", str}, {"created", {{"type", "boolean"}}}}, {"id"})},
      {"Instance", obj({{"id", str}, {"workflow", str}, {"version", integer}, {"status", str}, {"business_key", str},
                        {"data", any_obj}, {"threads", {{"type", "array"}, {"items", any_obj}}}, {"error", any_obj}})},
      {"InstancePage", obj({{"items", {{"type", "array"}, {"items", {{"$ref", "#/components/schemas/Instance"}}}}},
                            {"next_cursor", str}})},
      {"EventList", obj({{"items", {{"type", "array"}, {"items", any_obj}}}})},
      {"CancelRequest", obj({{"reason", str}})},
      {"RetryRequest", obj({{"patch", any_obj}})},
      {"Accepted", obj({{"accepted", {{"type", "boolean"}}}})},
      {"EventRequest", obj({{"key", str}, {"data", any_obj}}, {"key"})},
      {"EventResult", obj({{"delivered_to", integer}, {"buffered", {{"type", "boolean"}}}})},
      {"Task", obj({{"id", str}, {"instance", str}, {"role", str}, {"title", str}, {"details", str}, {"status", str}})},
      {"TaskList", obj({{"items", {{"type", "array"}, {"items", {{"$ref", "#/components/schemas/Task"}}}}}})},
      {"TaskDecision", obj({{"decision", {{"type", "string"}, {"enum", {"approve", "reject"}}}}, {"comment", str}}, {"decision"})},
      {"DeadLetterList", obj({{"items", {{"type", "array"}, {"items", any_obj}}}})},
      {"ConnectorList", obj({{"items", {{"type", "array"}, {"items", any_obj}}}})},
      {"TokenList", obj({{"items", {{"type", "array"}, {"items", any_obj}}}})},
      {"TokenRequest", obj({{"name", str}, {"roles", {{"type", "array"}, {"items", str}}}}, {"name", "roles"})},
      {"TokenCreated", obj({{"name", str}, {"roles", {{"type", "array"}, {"items", str}}}, {"token", str}})},
      {"WebhookBody", obj({{"type", str}, {"timestamp", str}, {"data", any_obj}}, {"type"})},
      {"WebhookResult", obj({{"status", str}})},
      {"ClockRequest", obj({{"advance", str}}, {"advance"})},
      {"ClockResult", obj({{"now", str}})},
  };
  json doc{{"openapi", "3.0.3"},
           {"info", {{"title", "retailflow"}, {"version", "0.1.0"},
                     {"description", "The retailflow service API. Errors are {\"error\": {\"code\", \"message\", \"details\"}}."}}},
           {"paths", paths},
           {"components", {{"schemas", schemas},
                           {"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}}}}};
  return doc.dump();
}

}  // namespace rf::server
