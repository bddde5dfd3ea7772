// Loading connector plugins (.so files speaking connectors/include/retailflow/connector_abi.h)
// and presenting each loaded instance to the host as a ConnectorInstance.
//
// The loader refuses, with an error naming the file, every plugin it cannot trust: a missing
// file, a missing `rf_connector_init`, another ABI version, an init that fails, a describe that
// is not a valid catalog description. A refused plugin never takes the host down.
//
// Libraries are opened with dlopen(RTLD_NOW | RTLD_LOCAL) and never unloaded during the
// process's lifetime: a misbehaving plugin thread that outlives `shutdown` then still finds its
// code mapped instead of crashing the host.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "connectors/connector_instance.h"

namespace rf::connectors {

// Finds the library file of a plugin entry. An absolute path is used as is; a relative one is
// tried against each of `plugin_dirs` in order, then against `base_dir`. NotFound names the
// library and every place it looked.
Result<std::filesystem::path> ResolvePluginLibrary(
    const std::string& library, const std::vector<std::filesystem::path>& plugin_dirs,
    const std::filesystem::path& base_dir);

// Checks a connector description (describe's JSON, or one connector of a catalog) against the
// catalog rules: an object with an "operations" list; every operation a unique name, known
// field types, unique field names, booleans where booleans belong. `where` prefixes errors.
Status ValidateDescription(const nlohmann::json& description, const std::string& where);

// One initialised plugin instance. Thread-safe: Invoke and Cancel from any thread; the plugin's
// answers may arrive on any thread and are handed to the call's `done` on that thread.
// A call's `done` is called exactly once: with the plugin's first answer, or `unavailable` when
// the instance shuts down before the plugin answered. Later answers are ignored and logged.
class PluginConnector : public ConnectorInstance {
 public:
  ~PluginConnector() override;
  void Invoke(const engine::Invocation& call,
              std::function<void(engine::CallResult)> done) override;
  nlohmann::json Describe() const override;
  // Calls the plugin's `shutdown` (once every invoke in progress has returned), then answers
  // the calls the plugin left unanswered with `unavailable`. Must not be called from inside a
  // call's `done`. Idempotent.
  void Shutdown() override;
  void Cancel(const std::string& invocation_id) override;

  const std::filesystem::path& library() const;
  // Answers that were ignored: a second answer to the same call, or one for a call the host
  // already gave up on.
  std::uint64_t ignored_completions() const;
  // Calls handed to the plugin and not answered yet.
  size_t outstanding() const;

  struct Core;  // shared with the C callbacks; defined in plugin_loader.cc

 private:
  friend Result<std::unique_ptr<PluginConnector>> LoadPlugin(const InstanceConfig& config,
                                                             const std::filesystem::path& library);
  explicit PluginConnector(std::shared_ptr<Core> core);
  std::shared_ptr<Core> core_;
};

// Opens `library` and creates one instance of it with `config.settings`; `config.name` names
// the instance in errors and logs.
Result<std::unique_ptr<PluginConnector>> LoadPlugin(const InstanceConfig& config,
                                                    const std::filesystem::path& library);

// The Factory for type "plugin": resolves config.library (ResolvePluginLibrary with
// config.plugin_dirs and config.base_dir) and loads it.
Factory PluginFactory();

}  // namespace rf::connectors
