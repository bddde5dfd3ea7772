// Signed webhook ingress (POST /v1/webhooks/{source}): Standard Webhooks verification, replay
// protection by webhook-id, and the source's routes (start a workflow with a business key, or
// deliver an event with a key).
//
// Exactly-once on the retailflow side: a webhook-id is recorded (in the StateStore, under
// `webhook/<source>/<id>`) only after its action is durable, and its action is itself
// idempotent (business-key start, keyed event), so a sender's retry after a lost answer acts once.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>

#include "engine/engine.h"
#include "server/api.h"
#include "server/config.h"
#include "server/metrics.h"
#include "state/state_store.h"

namespace rf::server {

class WebhookIngress {
 public:
  WebhookIngress(std::map<std::string, WebhookSource> sources, state::StateStore* store,
                 engine::Engine* engine, Metrics* metrics);

  // `now_seconds` is Unix time. Responds 200 {"status":"accepted"|"duplicate"|"ignored", ...},
  // 401 (unknown source, bad or missing signature, stale timestamp), 400 (not JSON), 409
  // in_progress with Retry-After: 1 (the same webhook-id is being acted on by a concurrent copy;
  // once the first is durable the retry answers duplicate), 422 (the route's key is missing, the
  // workflow refused the input), 503 (not durable yet: retry).
  void Handle(const std::string& source, const HttpRequest& request, std::int64_t now_seconds,
              Respond respond);

  bool HasSource(const std::string& source) const { return sources_.count(source) > 0; }

  // Forgets delivery ids older than twice their source's tolerance: a replay that old is refused
  // by its timestamp anyway. Returns how many were removed. The service calls it periodically.
  Result<size_t> SweepOldDeliveries(std::int64_t now_seconds);

 private:
  std::map<std::string, WebhookSource> sources_;
  state::StateStore* store_;
  engine::Engine* engine_;
  Metrics* metrics_;
  std::mutex mu_;
  std::set<std::string> in_progress_;  // "<source>/<id>" being acted on

  void Reject(const std::string& source, const std::string& reason, int status,
              const std::string& message, const Respond& respond);
};

}  // namespace rf::server
