// Settings of the `odoo` connector (see connectors/builtin/odoo_connector.h).
#include "connectors/builtin/src/odoo_settings.h"

#include <utility>

#include "connectors/deadline.h"

namespace rf::connectors::odoo {

namespace asio = boost::asio;
using nlohmann::json;

Result<std::shared_ptr<Shared>> ParseSettings(const InstanceConfig& c, asio::io_context& io,
                                              json operations) {
  // The rules every built-in connector's settings follow (unknown keys, {"env": ...} secrets and
  // their redaction, TLS with a ca_file that must exist, pool, timeout) live in the shared reader.
  settings::Reader in(c);
  auto s = std::make_shared<Shared>();
  s->name = c.name;
  s->clock = &ClockOrSystem(c.clock);
  const json& st = in.root();
  if (auto known = in.OnlyKnown(st, "", {"url", "db", "login", "api_key", "protocol", "reference_field",
                                         "reference_models", "default_customer_ref", "timeout", "tls",
                                         "pool", "max_body_bytes", "description", "idempotency"});
      !known.ok()) {
    return known;
  }
  struct Str {
    const char* key;
    std::string* out;
    const char* def;
  };
  for (const Str& f : {Str{"url", &s->url, ""}, Str{"db", &s->db, ""}, Str{"login", &s->login, ""},
                       Str{"reference_field", &s->reference_field, "x_rf_key"},
                       Str{"default_customer_ref", &s->default_customer_ref, ""}}) {
    auto v = in.Text(st, f.key, f.def);
    if (!v.ok()) return v.status();
    *f.out = *v;
  }
  if (s->url.empty()) return in.Error("url", "missing");
  if (auto u = http::ParseUrl(s->url); !u.ok()) return in.Error("url", u.status().message());
  auto key = in.Secret(st, "api_key");
  if (!key.ok()) return key.status();
  s->api_key = *key;
  if (s->reference_field.empty()) return in.Error("reference_field", "must not be empty");
  auto protocol = in.Text(st, "protocol", "jsonrpc");
  if (!protocol.ok()) return protocol.status();
  if (*protocol != "jsonrpc" && *protocol != "json2") {
    return in.Error("protocol", "expected \"jsonrpc\" or \"json2\"");
  }
  s->json2 = *protocol == "json2";
  auto idempotency = in.Text(st, "idempotency", "addon");
  if (!idempotency.ok()) return idempotency.status();
  if (*idempotency != "addon" && *idempotency != "search_after_deadline") {
    return in.Error("idempotency", "expected \"addon\" or \"search_after_deadline\"");
  }
  s->idempotency =
      *idempotency == "addon" ? Idempotency::kAddon : Idempotency::kSearchAfterDeadline;
  if (!s->json2 && (s->db.empty() || s->login.empty())) {
    return in.Error(s->db.empty() ? "db" : "login", "missing (needed by JSON-RPC)");
  }
  if (st.contains("reference_models")) {
    const json& r = st["reference_models"];
    if (!r.is_array()) return in.Error("reference_models", "expected a list of models");
    s->reference_models.clear();
    for (const auto& m : r) {
      if (!m.is_string()) return in.Error("reference_models", "expected model names");
      s->reference_models.insert(m.get<std::string>());
    }
  }
  auto timeout = in.Timeout(s->default_timeout);
  if (!timeout.ok()) return timeout.status();
  s->default_timeout = *timeout;
  auto options = in.Transport();
  if (!options.ok()) return options.status();
  auto description = in.Text(st, "description",
                             "Odoo ERP through its external API: orders, pickings, quants and accounting.");
  if (!description.ok()) return description.status();
  s->secrets = in.TakeSecrets();
  s->describe = {{"name", c.name},
                 {"system", c.system.empty() ? std::string("odoo") : c.system},
                 {"description", *description},
                 {"operations", std::move(operations)}};
  for (json& op : s->describe["operations"]) {  // the catalog's defaults, spelled out
    if (!op.contains("side_effects")) op["side_effects"] = true;
    if (!op.contains("writes")) op["writes"] = "";
    if (!op.contains("compensable")) op["compensable"] = true;
  }
  s->client = std::make_unique<http::Client>(io, *options);
  return s;
}

}  // namespace rf::connectors::odoo
