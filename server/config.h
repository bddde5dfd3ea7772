// The service's configuration: one JSON document (comments allowed), documented in
// docs/service.md. Without --config the service runs on EmbeddedDefaultConfig().
//
// Secrets (webhook secrets, connector keys) and other connector settings may be written as
// {"env": "NAME"} or {"env": "NAME", "default": "value"} instead of a literal; they are read from
// the environment when the configuration is loaded. Tokens are never
// written in clear: the config holds their SHA-256 (`retailflow token hash` prints it).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/value.h"

namespace rf::server {

struct TokenConfig {
  std::string name;
  std::string sha256;  // hex of SHA-256(token)
  std::vector<std::string> roles;
};

// What a verified webhook of one event type does.
struct WebhookRoute {
  std::string event_type;    // the payload's "type", e.g. "return.initiated"; "*" = any
  std::string action;        // "start" | "event" | "ignore"
  std::string workflow;      // start: the workflow to start
  std::string event;         // event: the event name to deliver
  std::string key_pointer;   // JSON pointer into the body: business key (start) or event key
  std::string data_pointer = "/data";  // the workflow input (start) or event data (event)
};

struct WebhookSource {
  std::string name;
  std::vector<std::string> secrets;  // "whsec_<base64>"; several during key rotation
  int tolerance_seconds = 300;
  std::vector<WebhookRoute> routes;
  bool secret_from_data_dir = false;  // generated on first start, kept in <data>/secrets/
};

struct Limits {
  size_t max_body_bytes = 1 << 20;
  std::chrono::milliseconds header_timeout{10000};  // the whole request head must arrive by then
  std::chrono::milliseconds body_timeout{30000};
  std::chrono::milliseconds idle_timeout{60000};    // keep-alive connection with no request
  size_t max_in_flight = 1024;  // requests being handled at once; beyond: 503 + Retry-After
  double token_rate_per_second = 500;  // per bearer token; beyond: 429 + Retry-After
  double token_burst = 1000;
};

struct ServiceConfig {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8080;
  std::string tls_cert, tls_key;  // both set = HTTPS
  std::filesystem::path data_dir = "data";
  std::vector<std::filesystem::path> workflow_dirs{"workflows"};
  std::vector<std::filesystem::path> plugin_dirs;
  std::filesystem::path base_dir = ".";  // relative paths resolve against it
  nlohmann::json connectors = nlohmann::json::array();
  nlohmann::json owners = nlohmann::json::object();
  std::vector<TokenConfig> tokens;
  // The lifetime of a token created without expires_in, by role ("admin", "webhook:*",
  // "approver:store_manager"); the shortest of a token's roles applies; none = never expires.
  std::map<std::string, Duration> token_expiry;
  std::map<std::string, WebhookSource> webhooks;
  Limits limits;
  bool sync_commits = true;
  bool hold_failed_steps = true;
  // Demos and end-to-end tests only: POST /v1/admin/clock {"advance": "4h"} moves the service's
  // clock forward (timers, deadlines and schedules fire as if that time had passed).
  bool adjustable_clock = false;  // a failed step waits for an operator (retry/skip/cancel)
  std::chrono::milliseconds tick_interval{100};
  int http_threads = 2;
  // Engine partitions (executors, each on its own strand); 0 = one per core.
  int partitions = 0;
  std::string log_level = "info";
  std::string log_file;  // empty = stdout

  std::filesystem::path Resolve(const std::filesystem::path& p) const {
    return p.is_absolute() ? p : base_dir / p;
  }
};

// Parses a configuration document. `base_dir` is where relative paths resolve (the config file's
// folder, or the working directory for the embedded default).
Result<ServiceConfig> ParseConfig(std::string_view text, const std::filesystem::path& base_dir);
Result<ServiceConfig> LoadConfigFile(const std::filesystem::path& file);

// The configuration used when `serve` is given none: 127.0.0.1:8080, ./data, ./workflows, the
// retail connectors pointed at the simulators' default ports (examples/sim), the POS webhook
// source. Printed by `retailflow serve --print-default-config`.
const std::string& EmbeddedDefaultConfig();

// {"env": "NAME"} → the variable's value; a string → itself. Errors name `what`.
Result<std::string> ResolveSecret(const nlohmann::json& j, const std::string& what);

// Every string value of `j` that was written as {"env": ...} replaced by the variable's value.
Result<nlohmann::json> ResolveSecrets(const nlohmann::json& j, const std::string& what);

}  // namespace rf::server
