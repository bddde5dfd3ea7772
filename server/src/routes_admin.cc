// Administration: the adjustable clock of demos and tests.
#include "server/src/api_context.h"

namespace rf::server {

namespace {

void AdvanceClock(Api& a, ApiContext& c) {
  auto body = ReadBody(c, false);
  if (!body) return;
  if (!a.deps().advance_clock)
    return c.respond(ErrorResponse(409, "clock_fixed", "the clock is not adjustable (config adjustable_clock)"));
  JsonReader r(*body);
  auto by = r.DurationText("advance", kRequired, Duration{1});
  r.RejectUnknown();
  if (!r.ok() && r.error().path == "/advance")
    return c.respond(ErrorResponse(400, "invalid_request", "advance must be a positive duration such as \"4h\""));
  if (Refused(c, r)) return;
  Time now = a.deps().advance_clock(*by);
  c.respond(JsonResponse(200, nlohmann::json{{"now", FormatTime(now)}}.dump()));
}

}  // namespace

void AddAdminRoutes(RouteTable& t) {
  t.Add({.method = "POST", .pattern = "/v1/admin/clock", .roles = kAdminRoles,
         .summary = "Demos and tests only (config adjustable_clock): {\"advance\": \"4h\"} moves the clock forward.",
         .tag = "admin", .body = RequestBody{"ClockRequest", true},
         .outcomes = {{200, "the clock's new time", "ClockResult"},
                      {409, "the clock is not adjustable (clock_fixed)", ""}},
         .handler = AdvanceClock});
}

}  // namespace rf::server
