// Settings of one `odoo` connector instance and the state its calls share (private to the
// connector: see connectors/builtin/odoo_connector.h for the settings' meaning).
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "common/status.h"
#include "connectors/builtin/http_client.h"
#include "connectors/builtin/src/connector_settings.h"
#include "connectors/connector_instance.h"

namespace rf::connectors::odoo {

// How creates are made once per idempotency key.
enum class Idempotency {
  // The retailflow_idempotency addon is installed: x_rf_key is unique per model, so a create
  // goes straight to Odoo and a violation means "an earlier attempt created it".
  kAddon,
  // Weaker, for an Odoo without the addon: search by key, then create. A re-dispatch after a
  // crash first waits until the previous attempt's deadline has passed.
  kSearchAfterDeadline,
};

// Immutable after creation except the atomics. Shared by every call of the instance.
struct Shared {
  std::string name;
  std::string url;
  std::string db;
  std::string login;
  std::string api_key;
  bool json2 = false;
  std::string reference_field = "x_rf_key";
  std::set<std::string> reference_models = {"account.move", "stock.picking", "sale.order"};
  std::string default_customer_ref;
  std::chrono::milliseconds default_timeout{30000};
  Idempotency idempotency = Idempotency::kAddon;
  nlohmann::json describe;
  const engine::Clock* clock = nullptr;  // the deployment's; deadlines are on it (deadline.h)
  std::unique_ptr<http::Client> client;
  std::atomic<std::int64_t> uid{0};  // JSON-RPC uid, 0 until authenticated
  std::atomic<std::int64_t> next_rpc_id{1};
  std::atomic<bool> shut_down{false};

  settings::Secrets secrets;  // the API key, whatever its origin

  // `text` with every secret of the settings replaced by "[redacted]".
  std::string Redact(std::string text) const { return secrets.Redact(std::move(text)); }
};

// Parses `config.settings`; `operations` is the catalog's operation list (describe()).
Result<std::shared_ptr<Shared>> ParseSettings(const InstanceConfig& config,
                                              boost::asio::io_context& io,
                                              nlohmann::json operations);

}  // namespace rf::connectors::odoo
