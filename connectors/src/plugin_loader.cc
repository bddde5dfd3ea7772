#include <dlfcn.h>

#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <unordered_map>

#include "connectors/deadline.h"
#include "connectors/plugin.h"
#include "engine/ir/machine.h"
#include "retailflow/connector_abi.h"

namespace rf::connectors {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A call token is (instance serial << kSeqBits) | per-instance sequence number. Tokens are
// never reused, so an answer that comes late or twice is recognised as such instead of reaching
// freed memory or another call.
constexpr int kSeqBits = 40;
constexpr std::uint64_t kSeqMask = (std::uint64_t{1} << kSeqBits) - 1;

const std::set<std::string>& KnownTypes() {
  static const std::set<std::string> types = {"text",     "number", "money",  "bool", "time",
                                              "duration", "list",   "record", "any"};
  return types;
}

bool IsName(const std::string& s) {
  static const std::regex re("[A-Za-z_][A-Za-z0-9_]*");
  return std::regex_match(s, re);
}

Status ValidateFields(const json& fields, const std::string& where) {
  if (!fields.is_array()) return Status::InvalidArgument(where + " must be a list of fields");
  std::set<std::string> seen;
  for (size_t i = 0; i < fields.size(); ++i) {
    const json& f = fields[i];
    const std::string at = where + "[" + std::to_string(i) + "]";
    if (!f.is_object() || !f.contains("name") || !f["name"].is_string() ||
        !IsName(f["name"].get<std::string>()))
      return Status::InvalidArgument(at + ": a field needs a \"name\" (letters, digits, _)");
    const std::string name = f["name"].get<std::string>();
    if (!seen.insert(name).second)
      return Status::InvalidArgument(at + ": field \"" + name + "\" is declared twice");
    if (f.contains("type")) {
      if (!f["type"].is_string() || KnownTypes().count(f["type"].get<std::string>()) == 0)
        return Status::InvalidArgument(at + " (" + name + "): unknown type " + f["type"].dump() +
                                       "; known: text number money bool time duration list "
                                       "record any");
    }
    if (f.contains("required") && !f["required"].is_boolean())
      return Status::InvalidArgument(at + " (" + name + "): \"required\" must be true or false");
    if (f.contains("description") && !f["description"].is_string())
      return Status::InvalidArgument(at + " (" + name + "): \"description\" must be text");
  }
  return Status::Ok();
}

std::string KindOrInternal(const char* kind) {
  if (kind == nullptr) return "internal";
  const auto& kinds = ir::ErrorKinds();
  for (const auto& k : kinds)
    if (k == kind) return k;
  return "internal";
}

void DefaultLog(LogLevel level, const std::string& name, const std::string& message) {
  static std::mutex mu;
  static const char* kNames[] = {"debug", "info", "warn", "error"};
  std::lock_guard lock(mu);
  std::cerr << "retailflow: connector " << name << " [" << kNames[static_cast<int>(level)] << "] "
            << message << "\n";
}

}  // namespace

Result<fs::path> ResolvePluginLibrary(const std::string& library,
                                      const std::vector<fs::path>& plugin_dirs,
                                      const fs::path& base_dir) {
  if (library.empty()) return Status::InvalidArgument("no \"library\" given");
  fs::path lib(library);
  std::error_code ec;
  if (lib.is_absolute()) {
    if (fs::is_regular_file(lib, ec)) return lib;
    return Status::NotFound("plugin library " + lib.string() + " does not exist");
  }
  std::vector<fs::path> tried;
  for (const auto& dir : plugin_dirs) tried.push_back(dir / lib);
  tried.push_back(base_dir.empty() ? lib : base_dir / lib);
  std::string places;
  for (const auto& p : tried) {
    if (fs::is_regular_file(p, ec)) return fs::absolute(p, ec);
    places += (places.empty() ? "" : ", ") + p.string();
  }
  return Status::NotFound("plugin library " + library + " not found (looked for " + places + ")");
}

Status ValidateDescription(const json& d, const std::string& where) {
  if (!d.is_object()) return Status::InvalidArgument(where + ": must be a JSON object");
  if (d.contains("description") && !d["description"].is_string())
    return Status::InvalidArgument(where + ": \"description\" must be text");
  if (!d.contains("operations") || !d["operations"].is_array())
    return Status::InvalidArgument(where + ": needs an \"operations\" list");
  std::set<std::string> names;
  const json& ops = d["operations"];
  for (size_t i = 0; i < ops.size(); ++i) {
    const json& o = ops[i];
    std::string at = where + ": operations[" + std::to_string(i) + "]";
    if (!o.is_object() || !o.contains("name") || !o["name"].is_string() ||
        !IsName(o["name"].get<std::string>()))
      return Status::InvalidArgument(at + ": an operation needs a \"name\" (letters, digits, _)");
    const std::string name = o["name"].get<std::string>();
    at += " (" + name + ")";
    if (!names.insert(name).second)
      return Status::InvalidArgument(at + ": operation \"" + name + "\" is declared twice");
    for (const char* key : {"side_effects", "compensable"})
      if (o.contains(key) && !o[key].is_boolean())
        return Status::InvalidArgument(at + ": \"" + key + "\" must be true or false");
    for (const char* key : {"description", "writes"})
      if (o.contains(key) && !o[key].is_string())
        return Status::InvalidArgument(at + ": \"" + key + "\" must be text");
    for (const char* key : {"input", "output"}) {
      if (!o.contains(key)) continue;
      Status s = ValidateFields(o[key], at + "." + key);
      if (!s.ok()) return s;
    }
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------

struct PluginConnector::Core {
  struct Pending {
    std::string invocation_id;
    std::function<void(engine::CallResult)> done;
  };

  std::string name;
  std::string system;
  fs::path library;
  LogFn log;
  const engine::Clock* clock = nullptr;  // the deployment's; never null after LoadPlugin
  std::uint64_t serial = 0;
  rf_host_api host{};
  rf_plugin_api api{};
  json description;  // validated, as described by the plugin

  mutable std::mutex mu;
  std::condition_variable idle;  // active_invokes dropped to 0
  int active_invokes = 0;        // plugin invoke/cancel calls in progress
  bool shut_down = false;
  std::uint64_t next_seq = 0;
  std::map<std::uint64_t, Pending> pending;
  std::unordered_map<std::string, std::uint64_t> by_invocation;
  std::atomic<std::uint64_t> ignored{0};

  void Log(LogLevel level, const std::string& message) const {
    if (log) {
      log(level, name, message);
    } else {
      DefaultLog(level, name, message);
    }
  }

  // Called by the plugin (any thread) through the host table.
  void Complete(std::uint64_t seq, int ok, const char* kind, const char* message,
                const char* output_json) {
    Pending p;
    {
      std::lock_guard lock(mu);
      auto it = pending.find(seq);
      if (it != pending.end()) {
        p = std::move(it->second);
        by_invocation.erase(p.invocation_id);
        pending.erase(it);
      }
    }
    if (!p.done) {
      ++ignored;
      Log(LogLevel::kWarn, "ignored an answer to call #" + std::to_string(seq) +
                               ": it was already answered or the host gave up on it");
      return;
    }
    engine::CallResult result;
    if (ok != 0) {
      std::string text = output_json == nullptr ? std::string("{}") : std::string(output_json);
      auto v = Value::FromJson(text);
      if (!v.ok()) {
        result = engine::CallResult::Failure(
            "internal", "plugin " + name + " answered with invalid JSON: " + v.status().message());
      } else if (v->is_null()) {
        result = engine::CallResult::Success(Value(Record{}));
      } else if (!v->is_record()) {
        result = engine::CallResult::Failure(
            "internal", "plugin " + name + " answered with an output that is not a JSON object");
      } else {
        result = engine::CallResult::Success(std::move(*v));
      }
    } else {
      std::string k = KindOrInternal(kind);
      std::string m = message == nullptr ? std::string() : std::string(message);
      if (kind != nullptr && k != kind)
        m = "(unknown error kind \"" + std::string(kind) + "\") " + m;
      result = engine::CallResult::Failure(std::move(k), std::move(m));
    }
    p.done(std::move(result));
  }
};

namespace {

// Live plugin instances by serial, for the host's C callbacks (which get only a call token).
struct CoreTable {
  std::mutex mu;
  std::uint64_t next_serial = 1;
  std::unordered_map<std::uint64_t, std::weak_ptr<PluginConnector::Core>> cores;
};

CoreTable& Cores() {
  static CoreTable* table = new CoreTable();  // never destroyed: plugin threads may outlive main
  return *table;
}

std::shared_ptr<PluginConnector::Core> FindCore(std::uint64_t serial) {
  CoreTable& t = Cores();
  std::lock_guard lock(t.mu);
  auto it = t.cores.find(serial);
  return it == t.cores.end() ? nullptr : it->second.lock();
}

rf_call* TokenOf(std::uint64_t serial, std::uint64_t seq) {
  return reinterpret_cast<rf_call*>(static_cast<std::uintptr_t>((serial << kSeqBits) | seq));
}

extern "C" void HostLog(void* host_context, int level, const char* message) {
  try {
    auto* core = static_cast<PluginConnector::Core*>(host_context);
    if (core == nullptr) return;
    LogLevel l = level <= RF_LOG_DEBUG  ? LogLevel::kDebug
                 : level == RF_LOG_INFO ? LogLevel::kInfo
                 : level == RF_LOG_WARN ? LogLevel::kWarn
                                        : LogLevel::kError;
    core->Log(l, message == nullptr ? std::string() : std::string(message));
  } catch (...) {
    // Nothing may cross back into the plugin.
  }
}

extern "C" void HostComplete(rf_call* call, int ok, const char* error_kind, const char* message,
                             const char* output_json) {
  try {
    auto token = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(call));
    auto core = FindCore(token >> kSeqBits);
    if (!core) {
      DefaultLog(LogLevel::kWarn, "(unknown)",
                 "ignored an answer for a connector instance that is shut down");
      return;
    }
    core->Complete(token & kSeqMask, ok, error_kind, message, output_json);
  } catch (const std::exception& e) {
    DefaultLog(LogLevel::kError, "(plugin)",
               std::string("error while taking an answer: ") + e.what());
  } catch (...) {
    DefaultLog(LogLevel::kError, "(plugin)", "unknown error while taking an answer");
  }
}

// The ABI speaks wall-clock time (connector_abi.h): both deadlines go out as the same real
// instants on the system clock, whatever clock the deployment runs on.
std::string CallJson(const engine::Invocation& call, const engine::Clock& clock) {
  std::string out = "{";
  auto member = [&](const char* key, const std::string& value) {
    out += json(key).dump() + ":" + json(value).dump() + ",";
  };
  member("instance_id", call.instance_id);
  member("invocation_id", call.invocation_id);
  member("idempotency_key", call.idempotency_key);
  member("correlation_id", call.correlation_id);
  member("operation", call.operation);
  out += "\"input\":" + (call.input.is_record() ? call.input.ToJson() : std::string("{}")) + ",";
  out += "\"deadline_ms\":" + std::to_string(WallClockDeadlineMs(call.deadline, clock)) + ",";
  out += "\"attempt\":" + std::to_string(call.attempt);
  if (call.previous_attempt_deadline.ms > 0) {
    out += ",\"previous_attempt_deadline_ms\":" +
           std::to_string(WallClockDeadlineMs(call.previous_attempt_deadline, clock));
  }
  out += "}";
  return out;
}

}  // namespace

PluginConnector::PluginConnector(std::shared_ptr<Core> core) : core_(std::move(core)) {}

PluginConnector::~PluginConnector() { Shutdown(); }

const fs::path& PluginConnector::library() const { return core_->library; }

std::uint64_t PluginConnector::ignored_completions() const { return core_->ignored.load(); }

size_t PluginConnector::outstanding() const {
  std::lock_guard lock(core_->mu);
  return core_->pending.size();
}

json PluginConnector::Describe() const {
  json d = json::object();
  d["name"] = core_->name;
  d["system"] = core_->system;
  d["description"] = core_->description.value("description", std::string());
  d["operations"] = core_->description["operations"];
  return d;
}

void PluginConnector::Invoke(const engine::Invocation& call,
                             std::function<void(engine::CallResult)> done) {
  Core& c = *core_;
  std::uint64_t seq;
  {
    std::unique_lock lock(c.mu);
    if (c.shut_down) {
      lock.unlock();
      done(engine::CallResult::Failure("unavailable", "connector " + c.name + " is shut down"));
      return;
    }
    seq = ++c.next_seq;
    c.pending[seq] = Core::Pending{call.invocation_id, std::move(done)};
    c.by_invocation[call.invocation_id] = seq;
    ++c.active_invokes;
  }
  std::string text = CallJson(call, *c.clock);
  c.api.invoke(c.api.plugin, text.c_str(), TokenOf(c.serial, seq));
  {
    std::lock_guard lock(c.mu);
    if (--c.active_invokes == 0) c.idle.notify_all();
  }
}

void PluginConnector::Cancel(const std::string& invocation_id) {
  Core& c = *core_;
  std::uint64_t seq;
  {
    std::lock_guard lock(c.mu);
    if (c.shut_down || c.api.cancel == nullptr) return;
    auto it = c.by_invocation.find(invocation_id);
    if (it == c.by_invocation.end()) return;
    seq = it->second;
    ++c.active_invokes;
  }
  c.api.cancel(c.api.plugin, TokenOf(c.serial, seq));
  {
    std::lock_guard lock(c.mu);
    if (--c.active_invokes == 0) c.idle.notify_all();
  }
}

void PluginConnector::Shutdown() {
  if (!core_) return;
  Core& c = *core_;
  {
    std::unique_lock lock(c.mu);
    if (c.shut_down) return;
    c.shut_down = true;
    c.idle.wait(lock, [&] { return c.active_invokes == 0; });
  }
  // The plugin may still answer calls while it shuts down; those answers are delivered.
  c.api.shutdown(c.api.plugin);
  std::map<std::uint64_t, Core::Pending> left;
  {
    std::lock_guard lock(c.mu);
    left.swap(c.pending);
    c.by_invocation.clear();
  }
  {
    CoreTable& t = Cores();
    std::lock_guard lock(t.mu);
    t.cores.erase(c.serial);
  }
  for (auto& [seq, p] : left)
    p.done(engine::CallResult::Failure(
        "unavailable", "connector " + c.name + " shut down before the plugin answered"));
}

Result<std::unique_ptr<PluginConnector>> LoadPlugin(const InstanceConfig& config,
                                                    const fs::path& library) {
  const std::string lib = library.string();
  const std::string who = "connector " + config.name + ": plugin " + lib;
  std::error_code ec;
  if (!fs::is_regular_file(library, ec)) return Status::NotFound(who + " does not exist");

  // Never closed (see plugin.h): dlopen counts references, so loading the same file for several
  // instances maps it once.
  void* handle = dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* err = dlerror();
    return Status::FailedPrecondition(
        who + " cannot be loaded: " + (err != nullptr ? err : "unknown dlopen error"));
  }
  dlerror();
  auto init = reinterpret_cast<rf_connector_init_fn>(dlsym(handle, RF_CONNECTOR_INIT_SYMBOL));
  if (init == nullptr) {
    return Status::FailedPrecondition(who + " is not a retailflow connector: it does not export " +
                                      RF_CONNECTOR_INIT_SYMBOL);
  }

  auto core = std::make_shared<PluginConnector::Core>();
  core->name = config.name;
  core->system = config.system.empty() ? config.name : config.system;
  core->library = library;
  core->log = config.log;
  core->clock = &ClockOrSystem(config.clock);
  core->host.abi_version = RF_CONNECTOR_ABI_VERSION;
  core->host.struct_size = sizeof(rf_host_api);
  core->host.host_context = core.get();
  core->host.log = &HostLog;
  core->host.complete = &HostComplete;
  {
    CoreTable& t = Cores();
    std::lock_guard lock(t.mu);
    core->serial = t.next_serial++;
    t.cores[core->serial] = core;
  }
  auto forget = [&] {
    CoreTable& t = Cores();
    std::lock_guard lock(t.mu);
    t.cores.erase(core->serial);
  };

  const std::string settings = config.settings.is_null() ? "{}" : config.settings.dump();
  char error_buf[1024] = {0};
  int rc = init(RF_CONNECTOR_ABI_VERSION, &core->host, settings.c_str(), &core->api, error_buf,
                sizeof(error_buf));
  error_buf[sizeof(error_buf) - 1] = '\0';
  const std::string plugin_says = error_buf[0] != '\0' ? std::string(": ") + error_buf : "";
  if (rc == RF_INIT_ABI_MISMATCH ||
      (rc == RF_INIT_OK && core->api.abi_version != RF_CONNECTOR_ABI_VERSION)) {
    if (rc == RF_INIT_OK && core->api.shutdown != nullptr) core->api.shutdown(core->api.plugin);
    forget();
    return Status::FailedPrecondition(
        who + " speaks connector ABI version " + std::to_string(core->api.abi_version) +
        ", this retailflow speaks version " + std::to_string(RF_CONNECTOR_ABI_VERSION) +
        plugin_says + " (rebuild the plugin against this version's connector_abi.h)");
  }
  if (rc != RF_INIT_OK) {
    forget();
    return Status::FailedPrecondition(who + " failed to initialise" +
                                      (plugin_says.empty() ? " (it gave no reason)" : plugin_says));
  }
  if (core->api.describe == nullptr || core->api.invoke == nullptr ||
      core->api.shutdown == nullptr || core->api.free_string == nullptr) {
    if (core->api.shutdown != nullptr) core->api.shutdown(core->api.plugin);
    forget();
    return Status::FailedPrecondition(
        who +
        " left a required function of its table empty (describe, invoke, shutdown and "
        "free_string are required)");
  }

  // From here on the instance is live: a refusal shuts it down through the normal path.
  std::unique_ptr<PluginConnector> instance(new PluginConnector(core));
  char* described = core->api.describe(core->api.plugin);
  if (described == nullptr) return Status::FailedPrecondition(who + ": describe returned nothing");
  std::string text(described);
  core->api.free_string(core->api.plugin, described);
  json d = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (d.is_discarded())
    return Status::InvalidArgument(who +
                                   ": describe returned invalid JSON: " + text.substr(0, 200));
  Status valid = ValidateDescription(d, who + ": describe");
  if (!valid.ok()) return valid;
  core->description = std::move(d);
  return instance;
}

Factory PluginFactory() {
  return [](const InstanceConfig& config,
            boost::asio::io_context&) -> Result<std::unique_ptr<ConnectorInstance>> {
    auto path = ResolvePluginLibrary(config.library, config.plugin_dirs, config.base_dir);
    if (!path.ok()) return path.status();
    auto loaded = LoadPlugin(config, *path);
    if (!loaded.ok()) return loaded.status();
    return std::unique_ptr<ConnectorInstance>(std::move(*loaded));
  };
}

}  // namespace rf::connectors
