// Signed webhook ingress (server/webhooks.h does the work).
#include <chrono>

#include "server/src/api_context.h"
#include "server/webhooks.h"

namespace rf::server {

void AddWebhookRoutes(RouteTable& t) {
  t.Add({.method = "POST", .pattern = "/v1/webhooks/{source}", .roles = {"signature"},
         .summary = "Signed webhook ingress (Standard Webhooks). The source's routes say what an event does.",
         .tag = "webhooks", .params = {{"source", ParamKind::kId, "the configured webhook source"}},
         .body = RequestBody{"WebhookBody", true},
         .outcomes = {{200, "accepted, duplicate (this webhook-id was acted on) or ignored", "WebhookResult"},
                      {409, "in_progress: the same webhook-id is being acted on right now; retry after "
                            "Retry-After seconds (the retry answers duplicate once the first is durable)", ""},
                      {422, "the route's key is missing, or the workflow refused the input", ""}},
         .description = "Authenticated by the webhook-id, webhook-timestamp and webhook-signature headers "
                        "(HMAC-SHA256 over id.timestamp.body); an unknown source answers 401 like a bad "
                        "signature. Sent twice at once, a delivery is acted on once: the copy that arrives "
                        "while the first is in progress gets 409 in_progress with Retry-After: 1.",
         .handler = [](Api& a, ApiContext& c) {
           if (!a.deps().webhooks)
             return c.respond(ErrorResponse(401, "unauthenticated", "unknown webhook source"));
           auto now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
           a.deps().webhooks->Handle(c.Param("source"), c.request, now, c.respond);
         }});
}

}  // namespace rf::server
