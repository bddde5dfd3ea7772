#include "cli/connectors_cmd.h"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "connectors/connector_set.h"
#include "connectors/plugin.h"

#if defined(RF_HAVE_BUILTIN_CONNECTORS) && __has_include("connectors/builtin/builtin.h")
#include "connectors/builtin/builtin.h"
#define RF_BUILTINS 1
#else
#define RF_BUILTINS 0
#endif

namespace rf::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct Options {
  std::string config;
  std::string name;
  std::string plugin;
  std::string settings = "{}";
  std::vector<std::string> plugin_dirs;
  std::string format = "text";
};

// The places `serve` looks for plugins when the configuration does not say.
const char* kDefaultPluginDirs[] = {"{exe_dir}/../plugins", "{exe_dir}/plugins",
                                    "/usr/lib/retailflow/plugins"};

std::string TypeSummary(const std::string& type) {
  if (type == "http")
    return "REST calls described in settings (method, URL, body, retryable codes)";
  if (type == "odoo") return "Odoo JSON-RPC execute_kw with an API key, idempotent creates";
  if (type == "webhook") return "outbound webhooks signed the Standard Webhooks way";
  if (type == "plugin") return "a shared library speaking retailflow/connector_abi.h";
  return "";
}

fs::path ExpandDir(std::string dir, const std::string& exe_dir, const fs::path& base) {
  if (auto pos = dir.find("{exe_dir}"); pos != std::string::npos) dir.replace(pos, 9, exe_dir);
  fs::path p(dir);
  return p.is_absolute() || base.empty() ? p.lexically_normal() : (base / p).lexically_normal();
}

connectors::ConnectorSetOptions SetOptions(const std::vector<fs::path>& plugin_dirs,
                                           const fs::path& base_dir) {
  connectors::ConnectorSetOptions o;
#if RF_BUILTINS
  connectors::AddBuiltinFactories(o.factories);
#endif
  o.plugin_dirs = plugin_dirs;
  o.base_dir = base_dir;
  o.log = [](connectors::LogLevel level, const std::string& name, const std::string& message) {
    if (level >= connectors::LogLevel::kWarn)
      std::cerr << "retailflow: connector " << name << ": " << message << "\n";
  };
  return o;
}

// The configuration's connectors, created (plugins loaded) but never called.
struct Loaded {
  boost::asio::io_context io;
  std::unique_ptr<connectors::ConnectorSet> set;
  json entries = json::array();
  json owners = json::object();
};

int LoadConfig(const Options& o, const std::string& exe_dir, Loaded& out) {
  std::ifstream in(o.config, std::ios::binary);
  if (!in) {
    std::cerr << "retailflow: cannot read " << o.config << "\n";
    return 2;
  }
  std::stringstream text;
  text << in.rdbuf();
  json config;
  try {
    config = json::parse(text.str(), nullptr, true, /*ignore_comments=*/true);
  } catch (const json::exception& e) {
    std::cerr << "retailflow: " << o.config << " is not valid JSON: " << e.what() << "\n";
    return 2;
  }
  if (!config.is_object()) {
    std::cerr << "retailflow: " << o.config << " must hold a JSON object\n";
    return 2;
  }
  fs::path base = fs::absolute(o.config).parent_path();
  std::vector<fs::path> dirs;
  for (const auto& d : o.plugin_dirs) dirs.push_back(ExpandDir(d, exe_dir, fs::current_path()));
  if (config.contains("plugin_dirs")) {
    if (!config["plugin_dirs"].is_array()) {
      std::cerr << "retailflow: " << o.config << ": \"plugin_dirs\" must be a list of folders\n";
      return 2;
    }
    for (const auto& d : config["plugin_dirs"])
      if (d.is_string()) dirs.push_back(ExpandDir(d.get<std::string>(), exe_dir, base));
  }
  out.entries = config.value("connectors", json::array());
  out.owners = config.value("owners", json::object());
  auto set = connectors::ConnectorSet::Create(out.entries, SetOptions(dirs, base), out.io);
  if (!set.ok()) {
    std::cerr << "retailflow: " << o.config << ": " << set.status().message() << "\n";
    return 1;
  }
  out.set = std::move(*set);
  return 0;
}

int ListBuiltIn(const Options& o, const std::string& exe_dir) {
  connectors::ConnectorSetOptions so = SetOptions({}, {});
  std::vector<fs::path> dirs;
  for (const auto& d : o.plugin_dirs) dirs.push_back(ExpandDir(d, exe_dir, fs::current_path()));
  for (const char* d : kDefaultPluginDirs) dirs.push_back(ExpandDir(d, exe_dir, {}));
  json plugins = json::array();
  for (const auto& dir : dirs) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.path().extension() == ".so") plugins.push_back(e.path().string());
  }
  json types = json::array();
  for (const auto& t : connectors::KnownTypes(so.factories))
    types.push_back({{"type", t}, {"summary", TypeSummary(t)}});
  if (o.format == "json") {
    std::cout << json{{"types", types}, {"plugins", plugins}}.dump(2) << "\n";
    return 0;
  }
  std::cout << "Connector types in this build:\n";
  for (const auto& t : types) {
    std::string name = t["type"].get<std::string>();
    name.resize(std::max<size_t>(name.size() + 1, 10), ' ');
    std::cout << "  " << name << t["summary"].get<std::string>() << "\n";
  }
#if !RF_BUILTINS
  std::cout << "  (the built-in http, odoo and webhook connectors are not part of this build)\n";
#endif
  std::cout << "Plugin libraries found:\n";
  if (plugins.empty()) std::cout << "  (none)\n";
  for (const auto& p : plugins) std::cout << "  " << p.get<std::string>() << "\n";
  std::cout << "Use --config FILE to list the connectors a configuration defines.\n";
  return 0;
}

int List(const Options& o, const std::string& exe_dir) {
  if (o.config.empty()) return ListBuiltIn(o, exe_dir);
  Loaded l;
  if (int rc = LoadConfig(o, exe_dir, l); rc != 0) return rc;
  json catalog = l.set->Catalog(l.owners);
  json out = json::array();
  auto states = l.set->States();
  for (size_t i = 0; i < states.size(); ++i) {
    json ops = json::array();
    for (const auto& op : catalog["connectors"][i]["operations"]) ops.push_back(op["name"]);
    json limits = l.entries[i].value("limits", json::object());
    out.push_back({{"name", states[i].name},
                   {"type", states[i].type},
                   {"system", states[i].system},
                   {"operations", ops},
                   {"limits", limits}});
  }
  if (o.format == "json") {
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  if (out.empty()) std::cout << "(no connectors configured in " << o.config << ")\n";
  for (const auto& c : out) {
    std::cout << c["name"].get<std::string>() << "  (" << c["type"].get<std::string>()
              << ", system " << c["system"].get<std::string>() << ")\n";
    std::string ops;
    for (const auto& op : c["operations"]) ops += (ops.empty() ? "" : ", ") + op.get<std::string>();
    std::cout << "  operations: " << (ops.empty() ? "(none)" : ops) << "\n";
    if (!c["limits"].empty()) std::cout << "  limits: " << c["limits"].dump() << "\n";
  }
  return 0;
}

void PrintConnector(const json& c) {
  std::cout << c["name"].get<std::string>() << "  (system " << c.value("system", "") << ")\n";
  if (!c.value("description", "").empty())
    std::cout << "  " << c["description"].get<std::string>() << "\n";
  auto fields = [](const json& list) {
    std::string s;
    for (const auto& f : list) {
      s += (s.empty() ? "" : ", ") + f["name"].get<std::string>() + " " + f.value("type", "any");
      if (!f.value("required", true)) s += " optional";
    }
    return s.empty() ? std::string("-") : s;
  };
  for (const auto& op : c["operations"]) {
    std::cout << "  " << op["name"].get<std::string>();
    if (!op.value("side_effects", true)) std::cout << "  [no side effects]";
    if (!op.value("writes", "").empty())
      std::cout << "  [writes " << op["writes"].get<std::string>() << "]";
    if (!op.value("compensable", true)) std::cout << "  [cannot be undone]";
    std::cout << "\n";
    if (!op.value("description", "").empty())
      std::cout << "      " << op["description"].get<std::string>() << "\n";
    std::cout << "      input:  " << fields(op.value("input", json::array())) << "\n";
    std::cout << "      output: " << fields(op.value("output", json::array())) << "\n";
  }
}

int Describe(const Options& o, const std::string& exe_dir) {
  json catalog;
  if (!o.plugin.empty()) {
    json settings;
    try {
      settings = json::parse(o.settings, nullptr, true, true);
    } catch (const json::exception& e) {
      std::cerr << "retailflow: --settings is not valid JSON: " << e.what() << "\n";
      return 2;
    }
    boost::asio::io_context io;
    json entry = {{"name", o.name.empty() ? fs::path(o.plugin).stem().string() : o.name},
                  {"type", "plugin"},
                  {"library", fs::absolute(o.plugin).string()},
                  {"settings", settings}};
    auto set = connectors::ConnectorSet::Create(json::array({entry}), SetOptions({}, {}), io);
    if (!set.ok()) {
      std::cerr << "retailflow: " << set.status().message() << "\n";
      return 1;
    }
    catalog = (*set)->Catalog();
  } else if (!o.config.empty()) {
    Loaded l;
    if (int rc = LoadConfig(o, exe_dir, l); rc != 0) return rc;
    catalog = l.set->Catalog(l.owners);
    if (!o.name.empty()) {
      json one = json::array();
      for (const auto& c : catalog["connectors"])
        if (c["name"] == o.name) one.push_back(c);
      if (one.empty()) {
        std::cerr << "retailflow: no connector named \"" << o.name << "\" in " << o.config << "\n";
        return 2;
      }
      catalog["connectors"] = one;
    }
  } else {
    std::cerr << "retailflow: connectors describe needs --config FILE or --plugin LIB\n";
    return 2;
  }
  if (o.format == "json") {
    std::cout << catalog.dump(2) << "\n";
    return 0;
  }
  for (const auto& c : catalog["connectors"]) PrintConnector(c);
  return 0;
}

}  // namespace

void AddConnectorsCommand(CLI::App& app, int* rc, std::string exe_dir) {
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("connectors", "List connectors and describe their operations");
  cmd->require_subcommand(1);

  auto* list = cmd->add_subcommand(
      "list", "Connectors of a configuration (--config), or the types and plugins of this build");
  list->add_option("--config", o->config, "Service configuration (JSON with comments)")
      ->check(CLI::ExistingFile);
  list->add_option("--plugin-dir", o->plugin_dirs, "Extra folder to search for plugin libraries");
  list->add_option("--format", o->format, "text or json")->check(CLI::IsMember({"text", "json"}));
  list->callback([o, rc, exe_dir] { *rc = List(*o, exe_dir); });

  auto* describe = cmd->add_subcommand(
      "describe",
      "Operations of the configured connectors (all, or NAME) as the checker sees them");
  describe->add_option("name", o->name, "Connector name (default: all)");
  describe->add_option("--config", o->config, "Service configuration (JSON with comments)")
      ->check(CLI::ExistingFile);
  describe->add_option("--plugin", o->plugin, "Describe this plugin library instead of a config")
      ->check(CLI::ExistingFile);
  describe->add_option("--settings", o->settings, "Settings JSON for --plugin (default {})");
  describe->add_option("--plugin-dir", o->plugin_dirs,
                       "Extra folder to search for plugin libraries");
  describe->add_option("--format", o->format, "text or json (a retailflow.catalog/1 document)")
      ->check(CLI::IsMember({"text", "json"}));
  describe->callback([o, rc, exe_dir] { *rc = Describe(*o, exe_dir); });
}

}  // namespace rf::cli
