// The settings of the `http` and `webhook` connectors, parsed once at creation into an immutable
// RestShared (see http_connector.h and webhook_connector.h for the documents). Private to
// rf_connectors_builtin.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "connectors/builtin/http_client.h"
#include "connectors/builtin/src/connector_settings.h"
#include "connectors/builtin/src/in_progress.h"
#include "connectors/builtin/template.h"
#include "connectors/connector_instance.h"

namespace rf::connectors {

enum class RestMode { kHttp, kWebhook };

struct RestOperation {
  std::string name;
  std::string method;
  tmpl::TextTemplate path;
  std::vector<std::pair<std::string, tmpl::TextTemplate>> query;
  std::vector<std::pair<std::string, tmpl::TextTemplate>> headers;
  std::optional<tmpl::JsonTemplate> body;  // nullopt: the whole input (or none for GET/DELETE)
  std::optional<std::vector<std::pair<std::string, std::string>>> response;  // field → pointer
  std::map<int, std::string> statuses;                                       // status → kind
  std::string event_type;                                                    // webhook only
  nlohmann::json describe;                                                   // the catalog entry
};

// A wait between two attempts of one call whose key is still in progress at the server.
struct PendingWait {
  std::string invocation_id;
  std::shared_ptr<boost::asio::steady_timer> timer;
  std::shared_ptr<std::atomic<bool>> cancelled;  // set by Cancel() before the timer is cancelled
};

// Everything a call needs; shared by the connector and the callbacks of its calls in flight.
// Immutable after creation except `shut_down` and `waits` (guarded by `waits_mu`).
struct RestShared {
  RestMode mode = RestMode::kHttp;
  std::string name;
  std::string base_url;
  std::vector<std::pair<std::string, std::string>> headers;  // static + auth
  settings::Secrets secrets;                                 // redacted from every message
  std::string webhook_secret;
  std::string default_event_type;
  std::set<int> retryable;
  InProgressRule in_progress;
  std::chrono::milliseconds default_timeout{30000};
  std::map<std::string, RestOperation, std::less<>> operations;
  nlohmann::json describe;
  boost::asio::io_context* io = nullptr;
  const engine::Clock* clock = nullptr;  // the deployment's; deadlines are on it (deadline.h)
  std::unique_ptr<http::Client> client;
  std::atomic<bool> shut_down{false};

  std::mutex waits_mu;
  std::map<const boost::asio::steady_timer*, PendingWait> waits;

  std::string Redact(std::string text) const { return secrets.Redact(std::move(text)); }
};

Result<std::shared_ptr<RestShared>> ParseRestSettings(const InstanceConfig& config,
                                                      boost::asio::io_context& io, RestMode mode);

}  // namespace rf::connectors
