// Instances: start, list, read, history, and the operator's repairs (cancel, retry, skip).
#include <algorithm>

#include "common/time_text.h"

#include "server/src/api_context.h"

namespace rf::server {

using nlohmann::json;

namespace {

const TextRule kKeyText{.min_length = 1, .max_length = 200};

bool IsInstanceId(std::string_view s) {
  // "<partition>-<ms>-<seq>", digits (engine/src/engine.cc mints them).
  int dashes = 0;
  bool digit_before = false;
  for (char c : s) {
    if (c == '-') {
      if (!digit_before) return false;
      ++dashes;
      digit_before = false;
    } else if (c >= '0' && c <= '9') {
      digit_before = true;
    } else {
      return false;
    }
  }
  return dashes == 2 && digit_before && s.size() <= 64;
}

bool IsName(std::string_view s) {
  return !s.empty() && s.size() <= 128 && (std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_') &&
         std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

void Start(Api& a, ApiContext& c) {
  auto body = ReadBody(c);
  if (!body) return;
  JsonReader r(*body);
  engine::StartRequest req;
  req.workflow = c.Param("name");
  if (const Value* in = r.Any("input")) req.input = *in;
  req.business_key = r.Text("business_key", kOptional, kKeyText).value_or("");
  req.correlation_id = r.Text("correlation_id", kOptional, kKeyText).value_or("");
  if (auto v = r.Integer("version", kOptional, 1, 1000000000)) req.version = static_cast<int>(*v);
  r.RejectUnknown();
  if (Refused(c, r)) return;
  auto ctx = Keep(c);
  std::string not_found = "no workflow " + req.workflow + (req.version ? " version " + std::to_string(*req.version) : "");
  a.deps().engine->Start(std::move(req), [ctx, not_found](Result<engine::StartResult> res) {
    if (!res.ok()) return ctx->respond(StatusError(*ctx, res.status(), not_found));
    ctx->respond(JsonResponse(res->created ? 201 : 200, json{{"id", res->instance_id}, {"created", res->created}}.dump()));
  });
}

// Filters the engine's query does not index (version, creation time) are applied to the pages it
// returns; a page then holds at most `limit` matches among at most kMaxScanned instances, and
// next_cursor continues after the last instance looked at.
constexpr size_t kMaxScanned = 20000;

bool Matches(const Value& inst, std::optional<std::int64_t> version, std::optional<Time> from, std::optional<Time> to) {
  if (version) {
    const Value* v = inst.Find("version");
    if (!v || !v->is_number() || v->as_number().ToInt64().value_or(-1) != *version) return false;
  }
  if (from || to) {
    const Value* c = inst.Find("created_at");
    std::optional<Time> at = c && c->is_time() ? std::optional<Time>(c->as_time()) : ParseTime(TextOf(c));
    if (!at) return false;
    if (from && *at < *from) return false;
    if (to && *at > *to) return false;
  }
  return true;
}

void List(Api& a, ApiContext& c) {
  engine::InstanceQuery q;
  q.workflow = c.Query("workflow");
  q.status = c.Query("status");
  q.business_key = c.Query("business_key");
  q.after = c.Query("cursor");
  q.limit = static_cast<size_t>(std::stoll(c.Query("limit", "100")));
  std::optional<std::int64_t> version;
  if (auto v = c.Query("version"); !v.empty()) version = std::stoll(v);
  std::optional<Time> from, to;
  if (auto t = c.Query("created_from"); !t.empty()) from = ParseTime(t);
  if (auto t = c.Query("created_to"); !t.empty()) to = ParseTime(t);
  if (!version && !from && !to) {
    auto page = a.deps().engine->QueryInstances(q);
    if (!page.ok()) return c.respond(StatusError(c, page.status(), "no such instances"));
    return c.respond(JsonResponse(200, ListJson(page->items, page->next_cursor)));
  }
  const size_t limit = q.limit;
  q.limit = std::max<size_t>(limit, 200);
  std::vector<Value> out;
  std::string next;
  size_t scanned = 0;
  while (true) {
    auto page = a.deps().engine->QueryInstances(q);
    if (!page.ok()) return c.respond(StatusError(c, page.status(), "no such instances"));
    const size_t n = page->items.size();
    for (size_t i = 0; i < n; ++i) {
      const Value& inst = page->items[i];
      ++scanned;
      if (Matches(inst, version, from, to)) out.push_back(inst);
      const bool more = i + 1 < n || !page->next_cursor.empty();
      if ((out.size() == limit || scanned >= kMaxScanned) && more) {
        next = TextOf(inst.Find("id"));
        return c.respond(JsonResponse(200, ListJson(out, next)));
      }
    }
    if (page->next_cursor.empty()) break;
    q.after = page->next_cursor;
  }
  c.respond(JsonResponse(200, ListJson(out, next)));
}

void Get(Api& a, ApiContext& c) {
  auto inst = a.deps().engine->GetInstance(c.Param("id"));
  if (!inst.ok()) return c.respond(StatusError(c, inst.status(), "no instance " + c.Param("id")));
  c.respond(JsonResponse(200, inst->ToJson()));
}

void History(Api& a, ApiContext& c) {
  auto inst = a.deps().engine->GetInstance(c.Param("id"));
  if (!inst.ok()) return c.respond(StatusError(c, inst.status(), "no instance " + c.Param("id")));
  auto hist = a.deps().engine->GetHistory(c.Param("id"));
  if (!hist.ok()) return c.respond(StatusError(c, hist.status(), "no instance " + c.Param("id")));
  c.respond(JsonResponse(200, ListJson(*hist)));
}

// The answer of a repair once the engine has it.
engine::Callback<bool> Accepted(const ApiContext& c) {
  auto ctx = Keep(c);
  return [ctx](Result<bool> r) {
    const std::string& id = ctx->Param("id");
    if (!r.ok()) return ctx->respond(StatusError(*ctx, r.status(), "no instance " + id));
    ctx->respond(JsonResponse(202, json{{"id", id}, {"accepted", true}}.dump()));
  };
}

void Cancel(Api& a, ApiContext& c) {
  auto body = ReadBody(c);
  if (!body) return;
  JsonReader r(*body);
  std::string reason = r.Text("reason", kOptional, {.max_length = 2000}).value_or("");
  r.RejectUnknown();
  if (Refused(c, r)) return;
  if (reason.empty()) reason = "cancelled by " + c.principal.name;
  a.deps().engine->Cancel(c.Param("id"), reason, Accepted(c));
}

void Retry(Api& a, ApiContext& c) {
  auto body = ReadBody(c);
  if (!body) return;
  JsonReader r(*body);
  const Value* patch = r.Record("patch");
  r.RejectUnknown();
  if (Refused(c, r)) return;
  a.deps().engine->RetryStep(c.Param("id"), patch ? *patch : Value(), Accepted(c));
}

void Skip(Api& a, ApiContext& c) {
  auto body = ReadBody(c);
  if (!body) return;
  JsonReader r(*body);
  r.RejectUnknown();
  if (Refused(c, r)) return;
  a.deps().engine->SkipStep(c.Param("id"), Accepted(c));
}

void DeadLetters(Api& a, ApiContext& c) {
  auto dead = a.deps().engine->ListDeadLetters();
  if (!dead.ok()) return c.respond(InternalError(c.request, dead.status().ToString()));
  c.respond(JsonResponse(200, ListJson(*dead)));
}

}  // namespace

void AddInstanceRoutes(RouteTable& t) {
  const PathParam id{"id", ParamKind::kId, "the instance id"};
  const std::vector<Outcome> repair{{202, "accepted", "Accepted"},
                                    {404, "no such instance", ""},
                                    {409, "the instance is not in a state that allows it (wrong_state)", ""}};
  t.Add({.method = "POST", .pattern = "/v1/workflows/{name}/instances", .roles = kOperatorRoles,
         .summary = "Start an instance: {\"input\": {...}, \"business_key\": \"...\"}. 201 with the id; the same "
                    "business key again answers 200 with the existing instance.",
         .tag = "instances", .params = {{"name", ParamKind::kName, "the workflow's name"}},
         .body = RequestBody{"StartRequest", false},
         .outcomes = {{200, "an instance with this business key exists (created: false)", "StartResult"},
                      {201, "started", "StartResult"},
                      {404, "no such workflow or version", ""},
                      {422, "the input does not fit the workflow (invalid_input)", ""}},
         .handler = Start});
  std::vector<std::string> statuses = engine::StatusNames();
  t.Add({.method = "GET", .pattern = "/v1/instances", .roles = kReadRoles,
         .summary = "List instances: ?workflow=&status=&business_key=&version=&created_from=&created_to=&limit=&cursor= "
                    "(oldest first). version and the creation times filter the pages as they are read: a page "
                    "holds at most `limit` matches among at most 20000 instances looked at.",
         .tag = "instances",
         .query = {{.name = "workflow", .description = "a workflow name", .valid = IsName, .valid_what = "a workflow name"},
                   {.name = "status", .type = QueryParam::Type::kEnum, .description = "an instance status",
                    .allowed = statuses},
                   {.name = "business_key", .description = "requires workflow",
                    .valid = [](std::string_view s) { return !s.empty() && s.size() <= 200; },
                    .valid_what = "1-200 characters"},
                   {.name = "version", .type = QueryParam::Type::kInteger, .description = "a version of the workflow",
                    .min = 1, .max = 1000000000},
                   {.name = "created_from", .description = "created at or after this time (RFC 3339)",
                    .valid = [](std::string_view s) { return ParseTime(s).has_value(); }, .valid_what = "an RFC 3339 time"},
                   {.name = "created_to", .description = "created at or before this time (RFC 3339)",
                    .valid = [](std::string_view s) { return ParseTime(s).has_value(); }, .valid_what = "an RFC 3339 time"},
                   {.name = "limit", .type = QueryParam::Type::kInteger, .description = "page size (default 100)",
                    .min = 1, .max = 1000},
                   {.name = "cursor", .description = "next_cursor of the previous page", .valid = IsInstanceId,
                    .valid_what = "the next_cursor of a previous page"}},
         .outcomes = {{200, "a page of instances", "InstancePage"},
                      {422, "a combination the query cannot answer (business_key without workflow)", ""}},
         .handler = List});
  t.Add({.method = "GET", .pattern = "/v1/instances/{id}", .roles = kReadRoles,
         .summary = "One instance: status, current states, data, pending timers/tasks/waits, error.",
         .tag = "instances", .params = {id},
         .outcomes = {{200, "the instance", "Instance"}, {404, "no such instance", ""}}, .handler = Get});
  t.Add({.method = "GET", .pattern = "/v1/instances/{id}/history", .roles = kReadRoles,
         .summary = "The instance's history events, in order.", .tag = "instances", .params = {id},
         .outcomes = {{200, "the history", "EventList"}, {404, "no such instance", ""}}, .handler = History});
  t.Add({.method = "POST", .pattern = "/v1/instances/{id}/cancel", .roles = kCancelRoles,
         .summary = "Cancel: runs the undo chain, then `cancelled`. Body {\"reason\"} optional.", .tag = "instances",
         .params = {id}, .body = RequestBody{"CancelRequest", false}, .outcomes = repair, .handler = Cancel});
  t.Add({.method = "POST", .pattern = "/v1/instances/{id}/retry", .roles = kRepairRoles,
         .summary = "Retry the failed step of a held instance; optional {\"patch\": {...}} merged into its data.",
         .tag = "instances", .params = {id}, .body = RequestBody{"RetryRequest", false}, .outcomes = repair,
         .handler = Retry});
  t.Add({.method = "POST", .pattern = "/v1/instances/{id}/skip", .roles = kRepairRoles,
         .summary = "Skip the failed step of a held instance and continue with the next state.", .tag = "instances",
         .params = {id}, .body = RequestBody{"Empty", false}, .outcomes = repair, .handler = Skip});
  t.Add({.method = "GET", .pattern = "/v1/dead-letters", .roles = kReadRoles,
         .summary = "Instances waiting for an operator, with their error.", .tag = "instances",
         .outcomes = {{200, "the held and failed instances", "DeadLetterList"}}, .handler = DeadLetters});
}

}  // namespace rf::server
