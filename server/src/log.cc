#include "server/log.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <mutex>

namespace rf::server::log {

namespace {

std::shared_ptr<spdlog::logger>& Logger() {
  static std::shared_ptr<spdlog::logger> logger;
  return logger;
}

std::string Now() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

}  // namespace

Status Init(const std::string& level, const std::string& file) {
  try {
    std::shared_ptr<spdlog::logger> logger =
        file.empty() ? std::make_shared<spdlog::logger>("retailflow", std::make_shared<spdlog::sinks::stdout_sink_mt>())
                     : std::make_shared<spdlog::logger>("retailflow",
                                                        std::make_shared<spdlog::sinks::basic_file_sink_mt>(file));
    logger->set_pattern("%v");
    auto lvl = spdlog::level::from_str(level);
    if (lvl == spdlog::level::off && level != "off") return Status::InvalidArgument("unknown log level " + level);
    logger->set_level(lvl);
    logger->flush_on(spdlog::level::warn);
    // Lines below warn reach the file within a second (one write per line would cost too much
    // under load); Flush() at shutdown writes the rest.
    spdlog::drop("retailflow");
    spdlog::register_logger(logger);
    spdlog::flush_every(std::chrono::seconds(1));
    Logger() = logger;
  } catch (const spdlog::spdlog_ex& e) {
    return Status::IOError(std::string("cannot open log: ") + e.what());
  }
  return Status::Ok();
}

void Write(const std::string& level, const std::string& msg, nlohmann::json fields) {
  auto& logger = Logger();
  if (!logger) return;
  auto lvl = spdlog::level::from_str(level);
  if (!logger->should_log(lvl)) return;
  nlohmann::json line{{"ts", Now()}, {"level", level}, {"msg", msg}};
  if (fields.is_object())
    for (auto it = fields.begin(); it != fields.end(); ++it) line[it.key()] = it.value();
  logger->log(lvl, "{}", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void Flush() {
  if (Logger()) Logger()->flush();
}

}  // namespace rf::server::log
