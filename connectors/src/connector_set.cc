#include "connectors/connector_set.h"

#include <regex>
#include <set>

#include "connectors/plugin.h"

namespace rf::connectors {

using nlohmann::json;

namespace {

// `s` with `prefix` in front of its message, same code.
Status WithContext(const Status& s, const std::string& prefix) {
  std::string m = prefix + s.message();
  switch (s.code()) {
    case Status::Code::kNotFound:
      return Status::NotFound(m);
    case Status::Code::kFailedPrecondition:
      return Status::FailedPrecondition(m);
    case Status::Code::kUnavailable:
      return Status::Unavailable(m);
    case Status::Code::kIOError:
      return Status::IOError(m);
    case Status::Code::kInternal:
      return Status::Internal(m);
    default:
      return Status::InvalidArgument(m);
  }
}

}  // namespace

std::vector<std::string> KnownTypes(const FactoryMap& factories) {
  std::set<std::string> names = {"plugin"};
  for (const auto& [type, _] : factories) names.insert(type);
  return {names.begin(), names.end()};
}

Result<std::unique_ptr<ConnectorSet>> ConnectorSet::Create(const json& connectors_array,
                                                           const ConnectorSetOptions& opts,
                                                           boost::asio::io_context& io) {
  std::unique_ptr<ConnectorSet> set(new ConnectorSet());
  if (connectors_array.is_null()) return set;
  if (!connectors_array.is_array())
    return Status::InvalidArgument("\"connectors\" must be a list of connector entries");
  FactoryMap factories = opts.factories;
  if (factories.count("plugin") == 0) factories["plugin"] = PluginFactory();
  std::string known;
  for (const auto& t : KnownTypes(factories)) known += (known.empty() ? "" : ", ") + t;
  static const std::regex kName("[a-z_][a-z0-9_]*");

  for (size_t i = 0; i < connectors_array.size(); ++i) {
    const json& e = connectors_array[i];
    std::string where = "connectors[" + std::to_string(i) + "]";
    if (!e.is_object()) return Status::InvalidArgument(where + ": must be an object");
    if (!e.contains("name") || !e["name"].is_string() ||
        !std::regex_match(e["name"].get<std::string>(), kName))
      return Status::InvalidArgument(
          where +
          ": needs a \"name\" of lower-case letters, digits and _ (the name flows use "
          "in `call name.operation`)");
    InstanceConfig config;
    config.name = e["name"].get<std::string>();
    where += " (" + config.name + ")";
    for (const auto& existing : set->entries_)
      if (existing.name == config.name)
        return Status::AlreadyExists(where + ": a connector named \"" + config.name +
                                     "\" is already configured");
    if (!e.contains("type") || !e["type"].is_string())
      return Status::InvalidArgument(where + ": needs a \"type\" (one of " + known + ")");
    config.type = e["type"].get<std::string>();
    auto factory = factories.find(config.type);
    if (factory == factories.end())
      return Status::InvalidArgument(where + ": unknown type \"" + config.type +
                                     "\" (known: " + known + ")");
    for (const char* key : {"system", "library"})
      if (e.contains(key) && !e[key].is_string())
        return Status::InvalidArgument(where + ": \"" + key + "\" must be text");
    config.system = e.value("system", config.name);
    config.library = e.value("library", std::string());
    if (config.type == "plugin" && config.library.empty())
      return Status::InvalidArgument(where + ": a plugin needs a \"library\" (file name or path)");
    config.settings = e.value("settings", json::object());
    if (!config.settings.is_object())
      return Status::InvalidArgument(where + ": \"settings\" must be an object");
    config.base_dir = opts.base_dir;
    config.plugin_dirs = opts.plugin_dirs;
    config.log = opts.log;
    config.clock = opts.clock;
    auto limits = ParseLimits(e.value("limits", json()));
    if (!limits.ok()) return Status::InvalidArgument(where + ": " + limits.status().message());

    Result<std::unique_ptr<ConnectorInstance>> made = Status::Internal("not created");
    try {
      made = factory->second(config, io);
    } catch (const std::exception& ex) {
      return Status::Internal(where + ": creating the connector failed: " + ex.what());
    }
    if (!made.ok()) return WithContext(made.status(), where + ": ");
    if (!*made) return Status::Internal(where + ": the factory returned no connector");

    ResilienceOptions ro;
    ro.clock = opts.clock;
    ro.on_call = opts.on_call;
    Entry entry;
    entry.name = config.name;
    entry.type = config.type;
    entry.system = config.system;
    entry.connector = std::make_unique<ResilientConnector>(config.name, std::move(*made), *limits,
                                                           io, std::move(ro));
    set->entries_.push_back(std::move(entry));
  }
  return set;
}

ConnectorSet::~ConnectorSet() { Shutdown(); }

engine::Connector* ConnectorSet::Find(const std::string& name) { return FindInstance(name); }

ResilientConnector* ConnectorSet::FindInstance(const std::string& name) const {
  for (const auto& e : entries_)
    if (e.name == name) return e.connector.get();
  return nullptr;
}

std::vector<std::string> ConnectorSet::Names() const {
  std::vector<std::string> out;
  for (const auto& e : entries_) out.push_back(e.name);
  return out;
}

json ConnectorSet::Catalog(const json& owners) const {
  json doc = json::object();
  doc["format"] = "retailflow.catalog/1";
  doc["connectors"] = json::array();
  for (const auto& e : entries_) {
    json d = e.connector->Describe();
    if (!d.is_object()) d = json::object();
    // The configuration names the connector and its system, whatever the connector says.
    d["name"] = e.name;
    d["system"] = e.system;
    if (!d.contains("operations")) d["operations"] = json::array();
    doc["connectors"].push_back(std::move(d));
  }
  doc["owners"] = owners.is_object() ? owners : json::object();
  return doc;
}

std::vector<ConnectorState> ConnectorSet::States() const {
  std::vector<ConnectorState> out;
  for (const auto& e : entries_) {
    ConnectorState s;
    s.name = e.name;
    s.type = e.type;
    s.system = e.system;
    s.counters = e.connector->Counters();
    s.breaker = s.counters.breaker;
    out.push_back(std::move(s));
  }
  return out;
}

void ConnectorSet::Shutdown() {
  for (auto& e : entries_) e.connector->Shutdown();
}

}  // namespace rf::connectors
