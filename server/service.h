// `retailflow serve`: the long-lived service. Owns the store (LevelDB in data_dir), the engine,
// the connectors, the workflow library, the HTTP server, metrics and logs, and wires them.
//
// Start order: logs → store → connectors → engine recovery → workflows from workflow_dirs →
// credentials (first start: admin token, generated webhook secrets) → HTTP. Ready (/readyz)
// once all of that succeeded. Shutdown (SIGTERM/SIGINT): not ready, stop accepting, let requests
// in progress finish, let the engine commit what it has, stop connectors; calls that were in
// flight stay in the outbox and are issued again, with the same idempotency key, on restart.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "server/config.h"

namespace rf::server {

class Service {
 public:
  // `exe_dir` resolves "{exe_dir}" in plugin_dirs (where the build puts the shipped plugins).
  Service(ServiceConfig config, std::string exe_dir);
  ~Service();

  Status Start();
  std::uint16_t port() const;
  bool ready() const;
  // First-start credentials, in clear, to print once (empty on later starts).
  const std::string& new_admin_token() const;
  const std::vector<std::pair<std::string, std::string>>& new_webhook_secrets() const;
  // Re-reads the workflow folders (SIGHUP, POST /v1/workflows/reload).
  void Reload();
  void Shutdown();
  // Start, print the banner, serve until SIGINT/SIGTERM, shut down. Returns the exit code.
  int Run();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Command-line settings that win over the configuration (empty = keep).
struct ServeOverrides {
  std::string listen;    // "host:port"; port 0 = any free port (the banner says which)
  std::string data_dir;
  std::vector<std::string> workflow_dirs;
  bool adjustable_clock = false;
};

// Entry point of `retailflow serve [--config FILE] [--listen H:P] [--data-dir D] [--workflows D]`.
int ServeMain(const std::string& config_file, const std::string& exe_dir, const ServeOverrides& overrides = {});

}  // namespace rf::server
