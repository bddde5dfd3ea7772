// Structured logs: one JSON object per line (spdlog), e.g.
//   {"ts":"2026-11-27T09:00:00.123Z","level":"info","msg":"request","request_id":"...",...}
// Callers pass only what may be logged: never a token, secret or API key.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"

namespace rf::server::log {

// level: trace, debug, info, warn, error. file: empty = stdout.
Status Init(const std::string& level, const std::string& file);
void Write(const std::string& level, const std::string& msg, nlohmann::json fields = nlohmann::json::object());
inline void Info(const std::string& msg, nlohmann::json f = nlohmann::json::object()) { Write("info", msg, std::move(f)); }
inline void Warn(const std::string& msg, nlohmann::json f = nlohmann::json::object()) { Write("warn", msg, std::move(f)); }
inline void Error(const std::string& msg, nlohmann::json f = nlohmann::json::object()) { Write("error", msg, std::move(f)); }
void Flush();

}  // namespace rf::server::log
