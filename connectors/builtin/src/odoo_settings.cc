// Settings of the `odoo` connector (see connectors/builtin/odoo_connector.h).
#include "connectors/builtin/src/odoo_settings.h"

#include <cstdlib>
#include <filesystem>
#include <utility>

#include "common/time_text.h"

namespace rf::connectors::odoo {

namespace asio = boost::asio;
using nlohmann::json;

std::string Shared::Redact(std::string text) const {
  if (api_key.empty()) return text;
  for (size_t pos = text.find(api_key); pos != std::string::npos; pos = text.find(api_key, pos)) {
    text.replace(pos, api_key.size(), "[redacted]");
    pos += 10;
  }
  return text;
}

namespace {

Status SettingError(const InstanceConfig& c, const std::string& where, const std::string& what) {
  return Status::InvalidArgument("connector '" + c.name + "' (odoo): settings." + where + ": " +
                                 what);
}

Result<std::string> SettingString(const InstanceConfig& c, const json& st, const char* key,
                                  const std::string& def, bool allow_env) {
  if (!st.contains(key)) return def;
  const json& j = st[key];
  if (j.is_string()) return j.get<std::string>();
  if (allow_env && j.is_object() && j.size() == 1 && j.contains("env") && j["env"].is_string()) {
    std::string var = j["env"].get<std::string>();
    const char* v = std::getenv(var.c_str());
    if (v == nullptr) return SettingError(c, key, "environment variable " + var + " is not set");
    return std::string(v);
  }
  return SettingError(c, key,
                      allow_env ? "expected a string or {\"env\": \"NAME\"}" : "expected a string");
}

}  // namespace

Result<std::shared_ptr<Shared>> ParseSettings(const InstanceConfig& c, asio::io_context& io,
                                              json operations) {
  auto s = std::make_shared<Shared>();
  s->name = c.name;
  const json& st = c.settings;
  if (!st.is_object()) return SettingError(c, "", "expected an object");
  static const std::set<std::string> kKnown = {"url",
                                               "db",
                                               "login",
                                               "api_key",
                                               "protocol",
                                               "reference_field",
                                               "reference_models",
                                               "default_customer_ref",
                                               "timeout",
                                               "tls",
                                               "pool",
                                               "description",
                                               "idempotency"};
  for (const auto& [k, v] : st.items()) {
    if (!kKnown.count(k)) return SettingError(c, k, "unknown setting");
  }
  struct Str {
    const char* key;
    std::string* out;
    const char* def;
    bool env;
  };
  for (const Str& f : {Str{"url", &s->url, "", false}, Str{"db", &s->db, "", false},
                       Str{"login", &s->login, "", false}, Str{"api_key", &s->api_key, "", true},
                       Str{"reference_field", &s->reference_field, "x_rf_key", false},
                       Str{"default_customer_ref", &s->default_customer_ref, "", false}}) {
    auto v = SettingString(c, st, f.key, f.def, f.env);
    if (!v.ok()) return v.status();
    *f.out = *v;
  }
  if (s->url.empty()) return SettingError(c, "url", "missing");
  if (auto u = http::ParseUrl(s->url); !u.ok()) return SettingError(c, "url", u.status().message());
  if (s->api_key.empty()) return SettingError(c, "api_key", "missing");
  if (s->reference_field.empty()) return SettingError(c, "reference_field", "must not be empty");
  auto protocol = SettingString(c, st, "protocol", "jsonrpc", false);
  if (!protocol.ok()) return protocol.status();
  if (*protocol != "jsonrpc" && *protocol != "json2") {
    return SettingError(c, "protocol", "expected \"jsonrpc\" or \"json2\"");
  }
  s->json2 = *protocol == "json2";
  auto idempotency = SettingString(c, st, "idempotency", "addon", false);
  if (!idempotency.ok()) return idempotency.status();
  if (*idempotency != "addon" && *idempotency != "search_after_deadline") {
    return SettingError(c, "idempotency", "expected \"addon\" or \"search_after_deadline\"");
  }
  s->idempotency =
      *idempotency == "addon" ? Idempotency::kAddon : Idempotency::kSearchAfterDeadline;
  if (!s->json2 && (s->db.empty() || s->login.empty())) {
    return SettingError(c, s->db.empty() ? "db" : "login", "missing (needed by JSON-RPC)");
  }
  if (st.contains("reference_models")) {
    const json& r = st["reference_models"];
    if (!r.is_array()) return SettingError(c, "reference_models", "expected a list of models");
    s->reference_models.clear();
    for (const auto& m : r) {
      if (!m.is_string()) return SettingError(c, "reference_models", "expected model names");
      s->reference_models.insert(m.get<std::string>());
    }
  }
  if (st.contains("timeout")) {
    auto t = SettingString(c, st, "timeout", "", false);
    if (!t.ok()) return t.status();
    auto d = ParseDuration(*t);
    if (!d || d->ms <= 0) return SettingError(c, "timeout", "expected a duration such as \"30s\"");
    s->default_timeout = std::chrono::milliseconds(d->ms);
  }
  http::ClientOptions options;
  if (st.contains("tls")) {
    const json& tls = st["tls"];
    if (!tls.is_object()) return SettingError(c, "tls", "expected an object");
    if (tls.contains("verify")) {
      if (!tls["verify"].is_boolean()) return SettingError(c, "tls.verify", "expected a bool");
      options.verify_tls = tls["verify"].get<bool>();
    }
    if (tls.contains("ca_file")) {
      if (!tls["ca_file"].is_string()) return SettingError(c, "tls.ca_file", "expected a path");
      std::filesystem::path p(tls["ca_file"].get<std::string>());
      if (p.is_relative() && !c.base_dir.empty()) p = c.base_dir / p;
      options.ca_file = p.string();
    }
  }
  if (st.contains("pool")) {
    const json& pool = st["pool"];
    if (!pool.is_object() ||
        !pool.value("max_connections_per_host", json(8)).is_number_unsigned()) {
      return SettingError(c, "pool", "expected {\"max_connections_per_host\": <n>}");
    }
    options.max_connections_per_host = pool.value("max_connections_per_host", size_t{8});
    if (options.max_connections_per_host == 0) {
      return SettingError(c, "pool", "max_connections_per_host must be positive");
    }
  }
  s->describe = {{"name", c.name},
                 {"system", c.system.empty() ? std::string("odoo") : c.system},
                 {"description",
                  st.value("description", std::string("Odoo ERP through its external API: "
                                                      "orders, pickings, quants and accounting."))},
                 {"operations", std::move(operations)}};
  for (json& op : s->describe["operations"]) {  // the catalog's defaults, spelled out
    if (!op.contains("side_effects")) op["side_effects"] = true;
    if (!op.contains("writes")) op["writes"] = "";
    if (!op.contains("compensable")) op["compensable"] = true;
  }
  s->client = std::make_unique<http::Client>(io, options);
  return s;
}

}  // namespace rf::connectors::odoo
