// Operations on many instances at once (the console's selection): cancel, retry held; and the
// counts per status that the instance list shows. Each instance gets the same answer it would
// get alone; the batch answers once every instance has been answered.
#include <algorithm>
#include <mutex>

#include "server/src/api_context.h"

namespace rf::server {

using nlohmann::json;

namespace {

constexpr size_t kMaxIds = 200;
constexpr size_t kMaxCounted = 100000;  // instances scanned for the counts before giving up

bool IsIdText(std::string_view s) {
  return !s.empty() && s.size() <= 200 &&
         std::all_of(s.begin(), s.end(), [](char ch) { return ch > 0x20 && ch < 0x7f; });
}

bool IsName(std::string_view s) {
  return !s.empty() && s.size() <= 128 && (std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_') &&
         std::all_of(s.begin(), s.end(), [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_'; });
}

json ItemError(const Status& s) {
  switch (s.code()) {
    case Status::Code::kNotFound: return {{"code", "not_found"}, {"message", "no such instance"}};
    case Status::Code::kFailedPrecondition: return {{"code", "wrong_state"}, {"message", s.message()}};
    case Status::Code::kInvalidArgument: return {{"code", "invalid_input"}, {"message", s.message()}};
    case Status::Code::kUnavailable: return {{"code", "unavailable"}, {"message", "retry later"}};
    default: return {{"code", "internal"}, {"message", "internal error; see the service log"}};
  }
}

// Collects one answer per instance; the last one answers the request.
struct Batch {
  std::mutex mu;
  std::vector<json> items;
  size_t left = 0;
  std::shared_ptr<ApiContext> ctx;
};

engine::Callback<bool> AnswerOf(std::shared_ptr<Batch> b, size_t i) {
  return [b, i](Result<bool> r) {
    std::lock_guard<std::mutex> lock(b->mu);
    b->items[i]["accepted"] = r.ok();
    if (!r.ok()) b->items[i]["error"] = ItemError(r.status());
    if (--b->left > 0) return;
    size_t accepted = 0;
    for (const auto& it : b->items) accepted += it.value("accepted", false) ? 1 : 0;
    json out{{"items", b->items}, {"accepted", accepted}, {"refused", b->items.size() - accepted}};
    b->ctx->respond(JsonResponse(200, out.dump(-1, ' ', false, json::error_handler_t::replace)));
  };
}

template <typename Op>
void RunBatch(ApiContext& c, const std::vector<std::string>& ids, Op op) {
  auto batch = std::make_shared<Batch>();
  batch->ctx = Keep(c);
  batch->left = ids.size();
  for (const auto& id : ids) batch->items.push_back({{"id", id}});
  // Callbacks may run before this loop ends (on other threads); `left` protects the answer.
  for (size_t i = 0; i < ids.size(); ++i) op(ids[i], AnswerOf(batch, i));
}

std::optional<std::vector<std::string>> ReadIds(ApiContext& c, JsonReader& r) {
  auto ids = r.TextList("ids", kRequired, TextRule::Matching(IsIdText, "instance ids"));
  if (ids && ids->empty()) r.Fail("ids", "at least one instance id is required");
  if (ids && ids->size() > kMaxIds) r.Fail("ids", "at most " + std::to_string(kMaxIds) + " instances at once");
  if (ids) {
    std::vector<std::string> sorted = *ids;
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) r.Fail("ids", "an instance id is repeated");
  }
  r.RejectUnknown();
  if (Refused(c, r)) return std::nullopt;
  return ids;
}

void BulkCancel(Api& a, ApiContext& c) {
  auto body = ReadBody(c, false);
  if (!body) return;
  JsonReader r(*body);
  std::string reason = r.Text("reason", kOptional, {.max_length = 2000}).value_or("");
  auto ids = ReadIds(c, r);
  if (!ids) return;
  if (reason.empty()) reason = "cancelled by " + c.principal.name;
  engine::Engine* e = a.deps().engine;
  RunBatch(c, *ids, [e, reason](const std::string& id, engine::Callback<bool> done) { e->Cancel(id, reason, done); });
}

void BulkRetry(Api& a, ApiContext& c) {
  auto body = ReadBody(c, false);
  if (!body) return;
  JsonReader r(*body);
  auto ids = ReadIds(c, r);
  if (!ids) return;
  engine::Engine* e = a.deps().engine;
  RunBatch(c, *ids, [e](const std::string& id, engine::Callback<bool> done) { e->RetryStep(id, Value(), done); });
}

void Counts(Api& a, ApiContext& c) {
  engine::InstanceQuery q;
  q.workflow = c.Query("workflow");
  q.limit = 1000;
  std::map<std::string, size_t> counts;
  for (const auto& s : engine::StatusNames()) counts[s] = 0;
  size_t total = 0;
  bool complete = true;
  while (true) {
    auto page = a.deps().engine->QueryInstances(q);
    if (!page.ok()) return c.respond(StatusError(c, page.status(), "no such instances"));
    for (const auto& inst : page->items) ++counts[TextOf(inst.Find("status"))], ++total;
    if (page->next_cursor.empty()) break;
    if (total >= kMaxCounted) {
      complete = false;
      break;
    }
    q.after = page->next_cursor;
  }
  c.respond(JsonResponse(200, json{{"counts", counts}, {"total", total}, {"complete", complete}}.dump(
                                  -1, ' ', false, json::error_handler_t::replace)));
}

}  // namespace

void AddBulkRoutes(RouteTable& t) {
  const std::vector<Outcome> batch{{200, "one answer per instance (accepted, or its error)", "BulkResult"}};
  t.Add({.method = "POST", .pattern = "/v1/bulk/instances/cancel", .roles = kOperatorRoles,
         .summary = "Cancel many instances: {\"ids\": [...] (1-200), \"reason\"}. Each runs its undo chain; the "
                    "answer lists what each instance answered.",
         .tag = "instances", .body = RequestBody{"BulkCancelRequest", true}, .outcomes = batch,
         .handler = BulkCancel});
  t.Add({.method = "POST", .pattern = "/v1/bulk/instances/retry", .roles = kRepairRoles,
         .summary = "Retry the failed step of many held instances: {\"ids\": [...] (1-200)}, without a patch.",
         .tag = "instances", .body = RequestBody{"BulkRetryRequest", true}, .outcomes = batch, .handler = BulkRetry});
  t.Add({.method = "GET", .pattern = "/v1/stats/instances", .roles = kReadRoles,
         .summary = "Instances per status (?workflow=), every status listed; `complete` is false when more than "
                    "100000 instances were counted and the counting stopped.",
         .tag = "instances",
         .query = {{.name = "workflow", .description = "a workflow name", .valid = IsName, .valid_what = "a workflow name"}},
         .outcomes = {{200, "the counts", "InstanceCounts"}}, .handler = Counts});
}

}  // namespace rf::server
