// The built-in `http` connector: REST operations declared in configuration, so that a new REST
// endpoint is integrated by configuration alone. Settings (docs/connectors.md, "Built-in
// connectors"):
//
//   {"base_url": "https://api.example.com/v1",
//    "auth": {"type": "bearer", "token": "..."} | {"type": "basic", "user": "...", "password": ...}
//            | {"type": "api_key", "header": "X-Api-Key", "key": ...},
//    "headers": {"X-Tenant": "demo"},
//    "tls": {"verify": true, "ca_file": "certs/ca.pem"},
//    "pool": {"max_connections_per_host": 8}, "max_body_bytes": 8388608, "timeout": "30s",
//    "retryable_statuses": [408, 429, 500, 502, 503, 504],
//    "in_progress": {"problem_types": [...], "first_wait": "100ms", "max_wait": "2s"} | false,
//    "operations": [{"name", "description", "method", "path", "query", "headers", "body",
//                    "input", "output", "side_effects", "writes", "compensable",
//                    "response": {"field": "/json/pointer"}, "statuses": {"404": "not_found"}}]}
//
// Secrets (token, password, key, header values) may be {"env": "NAME"}; they are read once at
// creation and never appear in error messages (connector_settings.h says which values are
// secrets). Unknown settings are refused. A 409 "request outstanding" answer to a keyed request
// (src/in_progress.h) is retried within the call's deadline, never mapped to `conflict`.
//
// Threads: Invoke may be called from any thread and never blocks; `done` runs on the
// io_context's thread. The instance must outlive no call: calls in flight at destruction or
// Shutdown() complete with `unavailable`.
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>

#include "common/status.h"
#include "connectors/connector_instance.h"

namespace rf::connectors {

Result<std::unique_ptr<ConnectorInstance>> MakeHttpConnector(const InstanceConfig& config,
                                                             boost::asio::io_context& io);

}  // namespace rf::connectors
