#include "server/config.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <set>
#include <fstream>
#include <sstream>

#include "common/json_reader.h"
#include "common/time_text.h"
#include "common/utf8.h"
#include "server/auth.h"
#include "server/default_config.h"  // generated: kDefaultConfigText

namespace rf::server {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// {"file": PATH}: a regular file that only its owner may read or write (mode 0600 or 0400, as
// Docker and Kubernetes secrets are mounted), one trailing newline dropped. Errors name the
// file and what is wrong with it, never its content.
Result<std::string> SecretFromFile(const std::string& path, const std::string& what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return Status::InvalidArgument(what + ": secret file " + path + " cannot be read: " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(what + ": secret file " + path + " is not a regular file");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status::InvalidArgument(what + ": secret file " + path + " is open to group or others (mode " + mode +
                                   "); chmod 600 it");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument(what + ": secret file " + path + " cannot be read");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string v = ss.str();
  if (!v.empty() && v.back() == '\n') v.pop_back();
  if (!v.empty() && v.back() == '\r') v.pop_back();
  if (v.empty()) return Status::InvalidArgument(what + ": secret file " + path + " is empty");
  return v;
}

bool IsSecretRef(const json& j) {
  if (!j.is_object()) return false;
  if (j.size() == 1 && j.contains("file") && j["file"].is_string()) return true;
  return j.contains("env") && (j.size() == 1 || (j.size() == 2 && j.contains("default")));
}

}  // namespace

Result<std::string> ResolveSecret(const json& j, const std::string& what) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.size() == 1 && j.contains("file") && j["file"].is_string())
    return SecretFromFile(j["file"].get<std::string>(), what);
  if (j.is_object() && j.contains("env") && j["env"].is_string()) {
    std::string name = j["env"].get<std::string>();
    const char* v = std::getenv(name.c_str());
    if (v && *v) return std::string(v);
    if (j.contains("default") && j["default"].is_string()) return j["default"].get<std::string>();
    return Status::InvalidArgument(what + ": environment variable " + name + " is not set");
  }
  return Status::InvalidArgument(what + ": expected a string, {\"env\": \"NAME\"} or {\"file\": \"/run/secrets/NAME\"}");
}

Result<json> ResolveSecrets(const json& j, const std::string& what) {
  if (IsSecretRef(j)) {
    auto s = ResolveSecret(j, what);
    if (!s.ok()) return s.status();
    return json(*s);
  }
  if (j.is_object()) {
    json out = json::object();
    for (auto it = j.begin(); it != j.end(); ++it) {
      auto v = ResolveSecrets(it.value(), what + "/" + it.key());
      if (!v.ok()) return v.status();
      out[it.key()] = std::move(*v);
    }
    return out;
  }
  if (j.is_array()) {
    json out = json::array();
    for (size_t i = 0; i < j.size(); ++i) {
      auto v = ResolveSecrets(j[i], what + "/" + std::to_string(i));
      if (!v.ok()) return v.status();
      out.push_back(std::move(*v));
    }
    return out;
  }
  return j;
}

namespace {

json ToJson(const Value& v) { return json::parse(v.ToJson()); }

bool IsHex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

// A path or a list of paths.
std::vector<fs::path> Paths(JsonReader& r, std::string_view key) {
  std::vector<fs::path> out;
  const Value* v = r.Any(key);
  if (!v) return out;
  if (v->is_text()) {
    out.emplace_back(v->as_text());
  } else if (v->is_list()) {
    for (const auto& e : v->as_list()) {
      if (!e.is_text()) {
        r.Fail(key, "expected a path or a list of paths");
        return {};
      }
      out.emplace_back(e.as_text());
    }
  } else {
    r.Fail(key, "expected a path or a list of paths");
  }
  return out;
}

void ReadListen(JsonReader& r, ServiceConfig& c) {
  auto l = r.Text("listen");
  if (!l) return;
  size_t colon = l->rfind(':');
  std::string port = colon == std::string::npos ? "" : l->substr(colon + 1);
  bool digits = !port.empty() && port.size() <= 5 && std::all_of(port.begin(), port.end(), ::isdigit);
  if (!digits || std::stoi(port) > 65535) return r.Fail("listen", "expected \"host:port\", got " + EscapeForMessage(*l));
  c.listen_host = l->substr(0, colon);
  c.listen_port = static_cast<std::uint16_t>(std::stoi(port));
}

void ReadWebhookSource(const std::string& name, JsonReader& w, ServiceConfig& c) {
  WebhookSource src;
  src.name = name;
  const Value* list = w.List("secrets");
  const Value* one = w.Any("secret");
  if (list && one) return w.Fail("secret", "give secrets or secret, not both");
  std::vector<Value> secrets = list ? list->as_list() : one ? std::vector<Value>{*one} : std::vector<Value>{};
  auto is_generate = [](const Value& s) { return s.is_text() && s.as_text() == "generate"; };
  src.secret_from_data_dir = std::any_of(secrets.begin(), secrets.end(), is_generate);
  for (size_t i = 0; i < secrets.size(); ++i) {
    if (is_generate(secrets[i])) continue;
    std::string at = JsonReader::Pointer(w.path(), list ? "secrets" : "secret") + (list ? "/" + std::to_string(i) : "");
    auto v = ResolveSecret(ToJson(secrets[i]), at);
    if (!v.ok()) {
      // A missing environment variable falls back to a generated secret only when the
      // configuration says so ("generate" listed too); otherwise it is an error.
      if (src.secret_from_data_dir) continue;
      return w.Fail(list ? "secrets" : "secret", v.status().message().substr(at.size() + 2));
    }
    if (v->rfind("whsec_", 0) != 0) return w.Fail(list ? "secrets" : "secret", "a secret must be written whsec_<base64>");
    src.secrets.push_back(*v);
  }
  if (!src.secrets.empty()) src.secret_from_data_dir = false;
  if (src.secrets.empty() && !src.secret_from_data_dir) return w.Fail("", "needs a secret");
  src.tolerance_seconds = static_cast<int>(w.Integer("tolerance_seconds", kOptional, 1, 86400).value_or(300));
  w.Objects("routes", kOptional, [&](JsonReader& r) {
    WebhookRoute route;
    route.event_type = r.Text("type", kOptional, {.min_length = 1}).value_or("*");
    route.action = r.Text("action", kRequired, {.one_of = {"start", "event", "ignore"}}).value_or("");
    route.workflow = r.Text("workflow").value_or("");
    route.event = r.Text("event").value_or("");
    route.key_pointer = r.Text("key").value_or("");
    route.data_pointer = r.Text("data").value_or("/data");
    r.RejectUnknown("setting");
    if (!r.ok()) return;
    if (route.action == "start" && route.workflow.empty()) return r.Fail("workflow", "start needs a workflow");
    if (route.action == "event" && route.event.empty()) return r.Fail("event", "event needs an event name");
    if (route.action != "ignore" && (route.key_pointer.empty() || route.key_pointer[0] != '/'))
      return r.Fail("key", "key must be a JSON pointer such as /data/return_id");
    src.routes.push_back(std::move(route));
  });
  w.RejectUnknown("setting");
  c.webhooks[src.name] = std::move(src);
}

void ReadLimits(JsonReader& l, Limits& limits) {
  if (auto v = l.Integer("max_body_bytes", kOptional, 1, std::int64_t{1} << 34)) limits.max_body_bytes = static_cast<size_t>(*v);
  for (auto [key, field] : {std::pair{"header_timeout", &limits.header_timeout},
                            std::pair{"body_timeout", &limits.body_timeout},
                            std::pair{"idle_timeout", &limits.idle_timeout}})
    if (auto d = l.DurationText(key)) *field = std::chrono::milliseconds(d->ms);
  if (auto v = l.Integer("max_in_flight", kOptional, 0, 1000000)) limits.max_in_flight = static_cast<size_t>(*v);
  if (auto v = l.Number("token_rate_per_second", kOptional, 0.001, 1e9)) limits.token_rate_per_second = *v;
  if (auto v = l.Number("token_burst", kOptional, 1, 1e9)) limits.token_burst = *v;
  l.RejectUnknown("setting");
}

}  // namespace

Result<ServiceConfig> ParseConfig(std::string_view text, const fs::path& base_dir) {
  auto doc = ParseJson(text, {.max_depth = 64, .allow_comments = true});
  if (!doc.ok()) return Status::InvalidArgument("config: " + doc.error->message);
  JsonReader r(doc.value);
  ServiceConfig c;
  c.base_dir = base_dir;
  ReadListen(r, c);
  if (auto tls = r.Object("tls")) {
    auto cert = tls->Text("cert", kRequired, {.min_length = 1});
    auto key = tls->Text("key", kRequired, {.min_length = 1});
    tls->RejectUnknown("setting");
    if (cert && key) {
      c.tls_cert = c.Resolve(*cert).string();
      c.tls_key = c.Resolve(*key).string();
    }
  }
  if (auto d = r.Text("data_dir", kOptional, {.min_length = 1})) c.data_dir = *d;
  if (r.Any("workflow_dirs")) c.workflow_dirs = Paths(r, "workflow_dirs");
  c.plugin_dirs = Paths(r, "plugin_dirs");
  if (const Value* conns = r.List("connectors")) {
    auto resolved = ResolveSecrets(ToJson(*conns), "/connectors");
    if (!resolved.ok()) return Status::InvalidArgument("config: " + resolved.status().message());
    c.connectors = std::move(*resolved);
  }
  if (const Value* owners = r.Record("owners")) {
    for (const auto& [entity, system] : owners->as_record())
      if (!system.is_text()) r.Fail("owners", "expected {\"entity\": \"system\"}");
    c.owners = ToJson(*owners);
  }
  r.Entries("webhooks", kOptional, [&](const std::string& name, JsonReader& w) { ReadWebhookSource(name, w, c); });
  r.Objects("tokens", kOptional, [&](JsonReader& t) {
    TokenConfig tc;
    tc.name = t.Text("name", kRequired).value_or("");
    tc.sha256 = t.Text("sha256", kRequired).value_or("");
    tc.roles = t.TextList("roles", kRequired).value_or(std::vector<std::string>{});
    t.RejectUnknown("setting");
    if (!t.ok()) return;
    if (Status s = ValidateTokenName(tc.name); !s.ok()) return t.Fail("name", s.message());
    if (!IsHex64(tc.sha256))
      return t.Fail("sha256", "must be the 64 hex digits of SHA-256(token); `retailflow token hash` prints it");
    if (tc.roles.empty()) return t.Fail("roles", "needs at least one role");
    for (const auto& role : tc.roles)
      if (Status s = ValidateRole(role, [&](const std::string& src) { return c.webhooks.count(src) > 0; }); !s.ok())
        return t.Fail("roles", s.message());
    c.tokens.push_back(std::move(tc));
  });
  if (const Value* te = r.Record("token_expiry")) {
    for (const auto& [role, v] : te->as_record()) {
      auto d = v.is_text() ? ParseDuration(v.as_text()) : std::nullopt;
      if (!d || d->ms <= 0) {
        r.Fail("token_expiry", "expected {\"<role>\": \"<duration>\"} with a positive duration such as \"30d\"");
        break;
      }
      if (role != "approver:*" && role != "webhook:*") {
        Status s = ValidateRole(role, [&](const std::string& src) { return c.webhooks.count(src) > 0; });
        if (!s.ok()) {
          r.Fail("token_expiry", s.message());
          break;
        }
      }
      c.token_expiry[role] = *d;
    }
  }
  if (auto l = r.Object("limits")) ReadLimits(*l, c.limits);
  if (auto d = r.Text("durability", kOptional, {.one_of = {"fsync", "os"}})) c.sync_commits = *d == "fsync";
  if (auto b = r.Bool("hold_failed_steps")) c.hold_failed_steps = *b;
  if (auto b = r.Bool("adjustable_clock")) c.adjustable_clock = *b;
  if (auto d = r.DurationText("tick_interval", kOptional, Duration{1})) c.tick_interval = std::chrono::milliseconds(d->ms);
  if (auto n = r.Integer("http_threads", kOptional, 1, 64)) c.http_threads = static_cast<int>(*n);
  if (auto n = r.Integer("partitions", kOptional, 0, 64)) c.partitions = static_cast<int>(*n);
  if (auto log = r.Object("log")) {
    c.log_level = log->Text("level", kOptional, {.one_of = {"trace", "debug", "info", "warn", "warning", "error", "critical", "off"}}).value_or("info");
    c.log_file = log->Text("file").value_or("");
    log->RejectUnknown("setting");
  }
  r.RejectUnknown("setting");
  if (!r.ok()) return Status::InvalidArgument("config: " + r.error().message);
  return c;
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
