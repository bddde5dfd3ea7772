// Events delivered to waiting instances (or buffered until one waits).
#include "server/src/api_context.h"

namespace rf::server {

using nlohmann::json;

namespace {

void Deliver(Api& a, ApiContext& c) {
  auto body = ReadBody(c, false);
  if (!body) return;
  JsonReader r(*body);
  const Value* key = r.Any("key", kRequired);
  const Value* data = r.Any("data");
  r.RejectUnknown();
  if (r.ok() && key && ((!key->is_text() && !key->is_number()) || key->ToDisplayString().empty() ||
                        key->ToDisplayString().size() > 200))
    r.Fail("key", "expected text or a number (1-200 characters)");
  if (Refused(c, r)) return;
  auto ctx = Keep(c);
  a.deps().engine->DeliverEvent(c.Param("name"), key->ToDisplayString(), data ? *data : Value(Record{}),
                                [ctx](Result<int> res) {
                                  if (!res.ok()) return ctx->respond(StatusError(*ctx, res.status(), "no such event"));
                                  ctx->respond(JsonResponse(202, json{{"delivered_to", *res}, {"buffered", *res == 0}}.dump()));
                                });
}

}  // namespace

void AddEventRoutes(RouteTable& t) {
  t.Add({.method = "POST", .pattern = "/v1/events/{name}", .roles = kOperatorRoles,
         .summary = "Deliver an event {\"key\", \"data\"} to the instances waiting for it, or buffer it.",
         .tag = "events", .params = {{"name", ParamKind::kName, "the event's name, as in `wait for event NAME`"}},
         .body = RequestBody{"EventRequest", true},
         .outcomes = {{202, "delivered (delivered_to > 0) or buffered", "EventResult"}}, .handler = Deliver});
}

}  // namespace rf::server
