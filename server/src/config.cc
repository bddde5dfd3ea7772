#include "server/config.h"

#include <algorithm>
#include <cstdlib>
#include <set>
#include <fstream>
#include <sstream>

#include "common/time_text.h"
#include "server/default_config.h"  // generated: kDefaultConfigText

namespace rf::server {

namespace fs = std::filesystem;
using nlohmann::json;

Result<std::string> ResolveSecret(const json& j, const std::string& what) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.contains("env") && j["env"].is_string()) {
    std::string name = j["env"].get<std::string>();
    const char* v = std::getenv(name.c_str());
    if (v && *v) return std::string(v);
    if (j.contains("default") && j["default"].is_string()) return j["default"].get<std::string>();
    return Status::InvalidArgument(what + ": environment variable " + name + " is not set");
  }
  return Status::InvalidArgument(what + ": expected a string or {\"env\": \"NAME\"}");
}

Result<json> ResolveSecrets(const json& j, const std::string& what) {
  if (j.is_object() && j.contains("env") && (j.size() == 1 || (j.size() == 2 && j.contains("default")))) {
    auto s = ResolveSecret(j, what);
    if (!s.ok()) return s.status();
    return json(*s);
  }
  if (j.is_object()) {
    json out = json::object();
    for (auto it = j.begin(); it != j.end(); ++it) {
      auto v = ResolveSecrets(it.value(), what + "." + it.key());
      if (!v.ok()) return v.status();
      out[it.key()] = std::move(*v);
    }
    return out;
  }
  if (j.is_array()) {
    json out = json::array();
    for (size_t i = 0; i < j.size(); ++i) {
      auto v = ResolveSecrets(j[i], what + "[" + std::to_string(i) + "]");
      if (!v.ok()) return v.status();
      out.push_back(std::move(*v));
    }
    return out;
  }
  return j;
}

namespace {

Status Bad(const std::string& where, const std::string& msg) {
  return Status::InvalidArgument("config: " + where + ": " + msg);
}

Result<std::chrono::milliseconds> Millis(const json& j, const std::string& where) {
  if (!j.is_string()) return Bad(where, "expected a duration such as \"10s\"");
  auto d = ParseDuration(j.get<std::string>());
  if (!d || d->ms < 0) return Bad(where, "not a duration: " + j.get<std::string>());
  return std::chrono::milliseconds(d->ms);
}

std::vector<std::string> Strings(const json& j) {
  std::vector<std::string> out;
  if (j.is_string()) out.push_back(j.get<std::string>());
  if (j.is_array())
    for (const auto& e : j)
      if (e.is_string()) out.push_back(e.get<std::string>());
  return out;
}

bool IsHex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

const std::set<std::string>& KnownKeys() {
  static const std::set<std::string> k{"listen",     "tls",       "data_dir",  "workflow_dirs",
                                       "plugin_dirs", "connectors", "owners",   "tokens",
                                       "webhooks",   "limits",    "durability", "hold_failed_steps",
                                       "tick_interval", "http_threads", "log", "adjustable_clock"};
  return k;
}

}  // namespace

Result<ServiceConfig> ParseConfigImpl(std::string_view text, const fs::path& base_dir) {
  json j;
  try {
    j = json::parse(text, nullptr, true, /*ignore_comments=*/true);
  } catch (const json::exception& e) {
    return Status::InvalidArgument(std::string("config: not valid JSON: ") + e.what());
  }
  if (!j.is_object()) return Bad("(top)", "expected an object");
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!KnownKeys().count(it.key())) return Bad(it.key(), "unknown setting");

  ServiceConfig c;
  c.base_dir = base_dir;
  if (j.contains("listen")) {
    if (!j["listen"].is_string()) return Bad("listen", "expected \"host:port\"");
    std::string l = j["listen"].get<std::string>();
    size_t colon = l.rfind(':');
    if (colon == std::string::npos) return Bad("listen", "expected \"host:port\", got " + l);
    c.listen_host = l.substr(0, colon);
    try {
      int port = std::stoi(l.substr(colon + 1));
      if (port < 0 || port > 65535) throw std::out_of_range("port");
      c.listen_port = static_cast<std::uint16_t>(port);
    } catch (const std::exception&) {
      return Bad("listen", "bad port in " + l);
    }
  }
  if (j.contains("tls")) {
    const json& t = j["tls"];
    if (!t.is_object() || !t.value("cert", json()).is_string() || !t.value("key", json()).is_string())
      return Bad("tls", "expected {\"cert\": FILE, \"key\": FILE}");
    c.tls_cert = c.Resolve(t["cert"].get<std::string>()).string();
    c.tls_key = c.Resolve(t["key"].get<std::string>()).string();
  }
  if (j.contains("data_dir")) {
    if (!j["data_dir"].is_string()) return Bad("data_dir", "expected a path");
    c.data_dir = j["data_dir"].get<std::string>();
  }
  if (j.contains("workflow_dirs")) {
    c.workflow_dirs.clear();
    for (const auto& s : Strings(j["workflow_dirs"])) c.workflow_dirs.emplace_back(s);
  }
  if (j.contains("plugin_dirs"))
    for (const auto& s : Strings(j["plugin_dirs"])) c.plugin_dirs.emplace_back(s);
  if (j.contains("connectors")) {
    if (!j["connectors"].is_array()) return Bad("connectors", "expected a list of connector entries");
    auto resolved = ResolveSecrets(j["connectors"], "connectors");
    if (!resolved.ok()) return Bad("connectors", resolved.status().message());
    c.connectors = std::move(*resolved);
  }
  if (j.contains("owners")) {
    if (!j["owners"].is_object()) return Bad("owners", "expected {\"entity\": \"system\"}");
    c.owners = j["owners"];
  }
  if (j.contains("tokens")) {
    if (!j["tokens"].is_array()) return Bad("tokens", "expected a list");
    for (const auto& t : j["tokens"]) {
      TokenConfig tc;
      tc.name = t.value("name", "");
      tc.sha256 = t.value("sha256", "");
      tc.roles = Strings(t.value("roles", json::array()));
      if (tc.name.empty()) return Bad("tokens", "every token needs a name");
      if (!IsHex64(tc.sha256))
        return Bad("tokens." + tc.name, "sha256 must be the 64 hex digits of SHA-256(token); "
                                        "`retailflow token hash` prints it");
      if (tc.roles.empty()) return Bad("tokens." + tc.name, "needs at least one role");
      c.tokens.push_back(std::move(tc));
    }
  }
  if (j.contains("webhooks")) {
    if (!j["webhooks"].is_object()) return Bad("webhooks", "expected {\"source\": {...}}");
    for (auto it = j["webhooks"].begin(); it != j["webhooks"].end(); ++it) {
      std::string where = "webhooks." + it.key();
      const json& w = it.value();
      WebhookSource src;
      src.name = it.key();
      if (w.contains("secrets") || w.contains("secret")) {
        json secrets = w.contains("secrets") ? w["secrets"] : json::array({w["secret"]});
        if (!secrets.is_array()) return Bad(where, "secrets: expected a list");
        auto is_generate = [](const json& s) { return s.is_string() && s.get<std::string>() == "generate"; };
        src.secret_from_data_dir = std::any_of(secrets.begin(), secrets.end(), is_generate);
        for (const auto& s : secrets) {
          if (is_generate(s)) continue;
          auto v = ResolveSecret(s, where + ".secrets");
          if (!v.ok()) {
            // A missing environment variable falls back to a generated secret only when the
            // configuration says so ("generate" listed too); otherwise it is an error.
            if (src.secret_from_data_dir) continue;
            return v.status();
          }
          if (v->rfind("whsec_", 0) != 0) return Bad(where, "a secret must be written whsec_<base64>");
          src.secrets.push_back(*v);
        }
      }
      if (!src.secrets.empty()) src.secret_from_data_dir = false;
      if (src.secrets.empty() && !src.secret_from_data_dir) return Bad(where, "needs a secret");
      src.tolerance_seconds = w.value("tolerance_seconds", 300);
      for (const auto& r : w.value("routes", json::array())) {
        WebhookRoute route;
        route.event_type = r.value("type", "*");
        route.action = r.value("action", "");
        route.workflow = r.value("workflow", "");
        route.event = r.value("event", "");
        route.key_pointer = r.value("key", "");
        route.data_pointer = r.value("data", "/data");
        std::string rw = where + ".routes[" + route.event_type + "]";
        if (route.action == "start" && route.workflow.empty()) return Bad(rw, "start needs a workflow");
        if (route.action == "event" && route.event.empty()) return Bad(rw, "event needs an event name");
        if (route.action != "start" && route.action != "event" && route.action != "ignore")
          return Bad(rw, "action must be start, event or ignore");
        if (route.action != "ignore" && (route.key_pointer.empty() || route.key_pointer[0] != '/'))
          return Bad(rw, "key must be a JSON pointer such as /data/return_id");
        src.routes.push_back(std::move(route));
      }
      c.webhooks[src.name] = std::move(src);
    }
  }
  if (j.contains("limits")) {
    const json& l = j["limits"];
    if (!l.is_object()) return Bad("limits", "expected an object");
    if (l.contains("max_body_bytes")) c.limits.max_body_bytes = l["max_body_bytes"].get<size_t>();
    for (auto [key, field] : {std::pair{"header_timeout", &c.limits.header_timeout},
                              std::pair{"body_timeout", &c.limits.body_timeout},
                              std::pair{"idle_timeout", &c.limits.idle_timeout}}) {
      if (!l.contains(key)) continue;
      auto m = Millis(l[key], std::string("limits.") + key);
      if (!m.ok()) return m.status();
      *field = *m;
    }
    if (l.contains("max_in_flight")) c.limits.max_in_flight = l["max_in_flight"].get<size_t>();
    if (l.contains("token_rate_per_second")) c.limits.token_rate_per_second = l["token_rate_per_second"].get<double>();
    if (l.contains("token_burst")) c.limits.token_burst = l["token_burst"].get<double>();
  }
  if (j.contains("durability")) {
    std::string d = j["durability"].is_string() ? j["durability"].get<std::string>() : "";
    if (d != "fsync" && d != "os") return Bad("durability", "expected \"fsync\" (default) or \"os\"");
    c.sync_commits = d == "fsync";
  }
  if (j.contains("hold_failed_steps")) c.hold_failed_steps = j["hold_failed_steps"].get<bool>();
  if (j.contains("adjustable_clock")) c.adjustable_clock = j["adjustable_clock"].get<bool>();
  if (j.contains("tick_interval")) {
    auto m = Millis(j["tick_interval"], "tick_interval");
    if (!m.ok()) return m.status();
    c.tick_interval = *m;
  }
  if (j.contains("http_threads")) c.http_threads = std::max(1, j["http_threads"].get<int>());
  if (j.contains("log")) {
    c.log_level = j["log"].value("level", "info");
    c.log_file = j["log"].value("file", "");
  }
  return c;
}

Result<ServiceConfig> ParseConfig(std::string_view text, const fs::path& base_dir) {
  try {
    return ParseConfigImpl(text, base_dir);
  } catch (const json::exception& e) {
    // A setting of the wrong JSON type (e.g. a string where a number belongs).
    return Status::InvalidArgument(std::string("config: wrong type of value: ") + e.what());
  }
}

Result<ServiceConfig> LoadConfigFile(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return Status::IOError("cannot read config " + file.string());
  std::stringstream ss;
  ss << in.rdbuf();
  auto c = ParseConfig(ss.str(), fs::absolute(file).parent_path());
  if (!c.ok()) return Status::InvalidArgument(file.string() + ": " + c.status().message());
  return c;
}

const std::string& EmbeddedDefaultConfig() {
  static const std::string text(kDefaultConfigText);
  return text;
}

}  // namespace rf::server
