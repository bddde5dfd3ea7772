// The built-in `webhook` connector: outbound events signed per Standard Webhooks.
//
//   {"url": "https://hooks.example.com/retail", "secret": "whsec_<base64>" | {"env": "NAME"},
//    "event_type": "notification.requested",
//    "operations": [{"name": "send"}, {"name": "order_paid", "event_type": "order.paid",
//                    "path": "/orders", "body": {...}, "input": [...], ...}]}
//
// Every operation POSTs {"type": <event type>, "timestamp": <ISO-8601>, "data": <input or the
// rendered body template>} with `webhook-id` = the invocation's idempotency key (a retried send
// keeps its id so the receiver dedupes), `webhook-timestamp` (unix seconds) and
// `webhook-signature: v1,<base64 HMAC-SHA256>`. Without "operations" the connector has one
// operation, `send`. Shares the http connector's auth/headers/tls/pool/status settings. A 2xx
// answer is success whatever its body; the output is {"webhook_id", "status"} unless a
// "response" mapping is configured.
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>

#include "common/status.h"
#include "connectors/connector_instance.h"

namespace rf::connectors {

Result<std::unique_ptr<ConnectorInstance>> MakeWebhookConnector(const InstanceConfig& config,
                                                                boost::asio::io_context& io);

}  // namespace rf::connectors
