// The one settings reader of the built-in connectors (http, webhook, odoo): the
// rules every connector's "settings" object follows, in one place.
//
//   - Errors name the place: "connector 'inventory' (http): settings.tls.ca_file: no such file:
//     /etc/certs/ca.pem". Unknown keys are refused (a typo must not be ignored silently).
//   - Secrets: a credential is a literal or {"env": "NAME"} (read once, now; an unset variable is
//     an error naming it). Every credential is recorded in Secrets and redacted from every
//     message, whatever its origin — including values the service configuration resolved from
//     {"env": ...} before the connector saw them (they arrive as plain strings). A free-form
//     header value is a secret when written {"env": ...} or when its name says it carries a
//     credential (IsSensitiveHeader).
//   - Transport: "tls" {"verify", "ca_file"}, "pool" {"max_connections_per_host"},
//     "max_body_bytes" → http::ClientOptions; a relative ca_file resolves against the
//     configuration's folder and must exist when the connector is created.
//   - "timeout": a positive duration ("30s"), used when a call carries no deadline.
//
// Adopting it in a connector (the odoo connector's ParseSettings, for instance):
//   settings::Reader in(config);
//   if (auto s = in.OnlyKnown(in.root(), "", {"url", "api_key", "tls", "pool", "timeout", ...});
//       !s.ok()) return s;
//   auto key = in.Secret(in.root(), "api_key");            // required credential, redacted
//   auto options = in.Transport();                         // tls + pool + max_body_bytes
//   auto timeout = in.Timeout(std::chrono::seconds(30));
//   shared->secrets = in.TakeSecrets();                    // shared->secrets.Redact(message)
//
// Private to rf_connectors_builtin. Not thread-safe while reading (creation happens on one
// thread); a filled Secrets is immutable and safe to share between threads.
#pragma once

#include <chrono>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "connectors/builtin/http_client.h"
#include "connectors/connector_instance.h"

namespace rf::connectors::settings {

// Values that must never appear in a message, and their removal.
class Secrets {
 public:
  // Records `value` (empty values are ignored).
  void Add(std::string value);
  // `text` with every recorded value replaced by "[redacted]" (longest values first, so a
  // secret that contains another is removed whole).
  std::string Redact(std::string text) const;
  bool empty() const { return values_.empty(); }

 private:
  std::vector<std::string> values_;
};

// True for a header whose value is a credential: Authorization, Proxy-Authorization, Cookie, and
// any name containing "key", "token", "secret", "password", "signature" or "auth"
// (case-insensitive).
bool IsSensitiveHeader(std::string_view name);

class Reader {
 public:
  // Reads config.settings; `config` must outlive the reader.
  explicit Reader(const InstanceConfig& config);

  const nlohmann::json& root() const { return config_.settings; }
  const InstanceConfig& config() const { return config_; }

  // InvalidArgument "connector 'N' (T): settings.<where>: <what>" (no "." when `where` is "").
  Status Error(std::string_view where, std::string_view what) const;
  // `where` + "." + `key`, or `key` when `where` is "".
  static std::string Path(std::string_view where, std::string_view key);

  // Error unless `object` is a JSON object whose keys are all in `known`.
  Status OnlyKnown(const nlohmann::json& object, std::string_view where,
                   std::initializer_list<std::string_view> known) const;

  // object[key] as text / bool / positive integer; `def` when absent; an error for another type.
  Result<std::string> Text(const nlohmann::json& object, std::string_view key, std::string def,
                           std::string_view where = "") const;
  Result<bool> Flag(const nlohmann::json& object, std::string_view key, bool def,
                    std::string_view where = "") const;
  Result<size_t> PositiveCount(const nlohmann::json& object, std::string_view key, size_t def,
                               std::string_view where = "") const;

  // A required credential at object[key]: a non-empty literal or {"env": "NAME"}. Recorded as a
  // secret in every case.
  Result<std::string> Secret(const nlohmann::json& object, std::string_view key,
                             std::string_view where = "");
  // A value that may be written {"env": "NAME"} (recorded as a secret then), or a literal
  // (recorded only when `sensitive`). `where` is the full path of the value.
  Result<std::string> TextOrEnv(const nlohmann::json& value, std::string_view where,
                                bool sensitive);

  // root()["timeout"] as a positive duration; `def` when absent.
  Result<std::chrono::milliseconds> Timeout(std::chrono::milliseconds def) const;
  // Any duration (zero allowed) at object[key]; `def` when absent.
  Result<std::chrono::milliseconds> Duration(const nlohmann::json& object, std::string_view key,
                                             std::chrono::milliseconds def,
                                             std::string_view where = "") const;

  // root()'s "tls", "pool" and "max_body_bytes" as client options (defaults when absent).
  Result<http::ClientOptions> Transport() const;

  Secrets& secrets() { return secrets_; }
  Secrets TakeSecrets() { return std::move(secrets_); }

 private:
  const InstanceConfig& config_;
  Secrets secrets_;
};

}  // namespace rf::connectors::settings
