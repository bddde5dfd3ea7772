// What the host (server/, cli/, tests) holds for one configured connector: the engine's
// Connector interface plus its self-description for the checker's catalog.
//
// A connector instance is created from one entry of the configuration's "connectors" list:
//
//   {"name": "odoo", "type": "odoo" | "http" | "webhook" | "plugin",
//    "system": "odoo",                      // system of record it talks to (ownership map)
//    "library": "fraud_plugin.so",          // type "plugin" only: file name or path
//    "settings": {...},                     // type-specific, see docs/connectors.md
//    "limits": {"timeout": "10s", "max_concurrency": 16, "rate_per_second": 50, "burst": 10,
//               "breaker": {"failures": 5, "cool_down": "30s"}}}
#pragma once

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/clock.h"
#include "engine/connector.h"

namespace rf::connectors {

class ConnectorInstance : public engine::Connector {
 public:
  // One connector of a `retailflow.catalog/1` document (dsl/catalog.h):
  //   {"name", "system", "description", "operations": [{"name", "description", "input",
  //    "output", "side_effects", "writes", "compensable"}]}
  virtual nlohmann::json Describe() const = 0;
  // Stops accepting calls; calls in flight complete (with `unavailable` if cut short). Idempotent.
  virtual void Shutdown() {}
  // Best effort: the caller no longer needs the answer to `invocation_id` (its deadline passed).
  // The instance may stop the work; it still calls the call's `done` (the answer is dropped by
  // the resilience layer). Thread-safe; may come after the call completed (then a no-op).
  virtual void Cancel(const std::string& invocation_id) { (void)invocation_id; }
};

// Severity of a connector's log line.
enum class LogLevel { kDebug, kInfo, kWarn, kError };
// Where connectors write their log lines: (level, connector instance name, message).
// Thread-safe; may be called from any thread.
using LogFn = std::function<void(LogLevel, const std::string&, const std::string&)>;

struct InstanceConfig {
  std::string name;
  std::string type;
  std::string system;
  std::string library;  // type "plugin"
  nlohmann::json settings = nlohmann::json::object();
  std::filesystem::path base_dir;  // relative paths in settings resolve against it
  // Where plugin libraries named without a directory are looked for (before base_dir).
  std::vector<std::filesystem::path> plugin_dirs;
  // Log sink for the instance; empty = standard error.
  LogFn log;
  // The deployment's clock, the one the engine's deadlines are measured on (convert them with
  // connectors/deadline.h); null = the system clock. Not owned; must outlive the instance.
  const engine::Clock* clock = nullptr;
};

// Builds one instance of a connector type. Called on the host's thread; the instance may use
// `io` for its own asynchronous I/O (it must not block the thread that calls Invoke).
using Factory = std::function<Result<std::unique_ptr<ConnectorInstance>>(
    const InstanceConfig& config, boost::asio::io_context& io)>;
using FactoryMap = std::map<std::string, Factory>;

}  // namespace rf::connectors
