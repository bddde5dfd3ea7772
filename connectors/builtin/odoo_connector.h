// The built-in `odoo` connector: Odoo's external API (JSON-RPC `execute_kw` or JSON-2) behind
// the operations the retail workflows call (workflows/connectors/retail.json, connector `odoo`)
// plus generic ORM access. Settings:
//
//   {"url": "http://127.0.0.1:8069", "db": "retail", "login": "integration",
//    "api_key": "..." | {"env": "ODOO_API_KEY"},
//    "protocol": "jsonrpc" (default) | "json2",
//    "reference_field": "x_rf_key",          // char field holding the idempotency key
//    "reference_models": ["account.move", "stock.picking", "sale.order"],  // generic create
//    "idempotency": "addon" (default) | "search_after_deadline",  // see below
//    "default_customer_ref": "WALK-IN",      // credit notes without a customer (optional)
//    "timeout": "30s",                       // when the invocation has no deadline
//    "tls": {"verify": true, "ca_file": "..."}, "pool": {"max_connections_per_host": 8}}
//
// Contracts:
//  - Exactly once per idempotency key, even while an earlier attempt is still in flight at
//    Odoo. With the retailflow_idempotency addon (connectors/builtin/odoo_addon/: x_rf_key unique
//    per model) a create goes straight to `create` with the key; on the unique violation the
//    connector reads the record holding the key and carries the operation on from its state
//    (posting a draft credit note, confirming a draft picking, validating a return). State
//    changes are idempotent call by call: a refusal because the state was reached concurrently
//    counts as done. "search_after_deadline" (weaker, for an Odoo without the addon): search by
//    key, then create; a re-dispatch after a restart first waits until the previous attempt's
//    deadline (Invocation::previous_attempt_deadline) has passed.
//  - Errors: AccessDenied/AccessError/Unauthorized, UserError/ValidationError and bad requests →
//    `rejected` (with Odoo's message); MissingError and unknown references (customer, SKU,
//    location, order) → `not_found`; transport failures, 5xx, 408/429 and malformed answers →
//    `unavailable`; the invocation's deadline → `timeout`. JSON-RPC re-authenticates once on
//    AccessDenied or an expired session (the uid is cached per instance).
//  - The API key never appears in messages.
//
// Threads: Invoke may be called from any thread and never blocks; the work runs as a coroutine on
// `io` and `done` is called on the io_context's thread. Shutdown() fails calls in flight with
// `unavailable`.
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>

#include "common/status.h"
#include "connectors/connector_instance.h"

namespace rf::connectors {

Result<std::unique_ptr<ConnectorInstance>> MakeOdooConnector(const InstanceConfig& config,
                                                             boost::asio::io_context& io);

}  // namespace rf::connectors
