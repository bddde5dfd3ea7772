// The connectors of one service: built from the configuration's "connectors" list, each wrapped
// in its resilience layer (connectors/resilience.h), handed to the engine as its
// ConnectorRegistry, and described as one `retailflow.catalog/1` document for the checker.
//
//   ConnectorSetOptions opts;
//   AddBuiltinFactories(opts.factories);          // http, odoo, webhook (connectors/builtin)
//   opts.plugin_dirs = {"/usr/lib/retailflow/plugins"};
//   opts.clock = &clock;                          // the clock the engine is given
//   auto set = ConnectorSet::Create(config["connectors"], opts, io);
//   if (!set.ok()) { ... set.status().message() names the entry ... }
//   Engine engine(io, store, &clock, set->get(), ...);
//
// The type "plugin" is always available (connectors/plugin.h); other types come from
// `factories`. Thread-safe after Create: Find, Catalog and States from any thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "connectors/connector_instance.h"
#include "connectors/resilience.h"
#include "engine/connector.h"

namespace rf::connectors {

struct ConnectorSetOptions {
  FactoryMap factories;  // by type; "plugin" is added by Create unless already present
  std::vector<std::filesystem::path> plugin_dirs;  // searched in order for plugin libraries
  std::filesystem::path base_dir;  // relative paths resolve against it (the config's folder)
  // Called once per answered call (latency histograms, error counters): the call, its result,
  // the time from Invoke to the answer. Any thread; must be quick.
  std::function<void(const engine::Invocation&, const engine::CallResult&,
                     std::chrono::nanoseconds elapsed)>
      on_call;
  // Connector log lines; empty = standard error.
  LogFn log;
  // The deployment's clock, the same one the engine is given: deadlines are converted on it and
  // the resilience layer's cool-downs and rate limits run on its SteadyNow() (so moving it moves
  // breakers on). Null = the system clock. Not owned; must outlive the set.
  const engine::Clock* clock = nullptr;
};

struct ConnectorState {
  std::string name;
  std::string type;
  std::string system;
  std::string breaker;  // "closed", "open", "half_open"
  ConnectorCounters counters;
};

class ConnectorSet : public engine::ConnectorRegistry {
 public:
  // Builds every entry of `connectors_array` (a JSON list of entries as documented in
  // connectors/connector_instance.h). Fails, naming the entry, on an unknown type, a duplicate
  // or invalid name, bad limits, or a connector that cannot be created (a plugin the loader
  // refuses). Nothing stays running after a failure. `io` must outlive the set.
  static Result<std::unique_ptr<ConnectorSet>> Create(const nlohmann::json& connectors_array,
                                                      const ConnectorSetOptions& opts,
                                                      boost::asio::io_context& io);
  ~ConnectorSet() override;  // Shutdown()
  ConnectorSet(const ConnectorSet&) = delete;
  ConnectorSet& operator=(const ConnectorSet&) = delete;

  // The resilient connector named `name`, or nullptr.
  engine::Connector* Find(const std::string& name) override;
  ResilientConnector* FindInstance(const std::string& name) const;
  std::vector<std::string> Names() const;  // in configuration order

  // A `retailflow.catalog/1` document of every connector's Describe(), with `owners` (entity →
  // system of record; null = none) copied in. Loads with rf::dsl::Catalog::AddJson.
  nlohmann::json Catalog(const nlohmann::json& owners = nlohmann::json::object()) const;
  std::vector<ConnectorState> States() const;  // in configuration order

  // Fails queued calls, shuts every connector down (their calls in flight are answered).
  // Idempotent; Find keeps working and its connectors answer `unavailable`.
  void Shutdown();

 private:
  struct Entry {
    std::string name, type, system;
    std::unique_ptr<ResilientConnector> connector;
  };
  ConnectorSet() = default;
  std::vector<Entry> entries_;
};

// The connector types Create knows about with `factories`: their names, sorted, "plugin"
// included.
std::vector<std::string> KnownTypes(const FactoryMap& factories);

}  // namespace rf::connectors
