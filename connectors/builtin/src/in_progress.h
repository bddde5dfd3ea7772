// "Still being processed": how a REST server tells that an earlier request with the same
// idempotency key is in flight, and how long the http and webhook connectors wait before asking
// again. The IETF Idempotency-Key draft (draft-ietf-httpapi-idempotency-key-header, "Error
// Scenarios") answers such a retry 409 Conflict with an application/problem+json body; a plain
// 409 is also a business conflict ("not enough stock"), so the status alone is not the signal.
//
// Settings (`"in_progress"` of an http or webhook connector; `false` turns the rule off):
//   {"status": 409,
//    "problem_types": ["https://api.example.com/problems/request-in-progress"],
//    "first_wait": "100ms", "max_wait": "2s"}
// An answer is "in progress" when its status is `status` and its body is a JSON object whose
// "type" is one of `problem_types` (default: the type the retailflow simulators use) or whose
// "title" is the draft's "A request is outstanding for this Idempotency-Key" (any case). Only a
// request that carried an idempotency key (Idempotency-Key, or webhook-id) can get this answer.
// Waits double from `first_wait` up to `max_wait`; a Retry-After of N seconds is honoured up to
// `max_wait`.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "common/status.h"
#include "connectors/builtin/http_client.h"
#include "connectors/builtin/src/connector_settings.h"

namespace rf::connectors {

// The type URI of the simulators' "request outstanding" problem (examples/sim/inflight.py).
inline constexpr const char* kSimulatorInProgressType =
    "https://retailflow.example/problems/idempotency-request-outstanding";
inline constexpr const char* kDraftInProgressTitle =
    "A request is outstanding for this Idempotency-Key";

class InProgressRule {
 public:
  // Reads settings["in_progress"] (defaults when absent). Immutable afterwards.
  static Result<InProgressRule> Read(settings::Reader& in);

  bool enabled() const { return enabled_; }
  // True when `r` says that an earlier request with the same key is still being processed.
  bool Matches(const http::Response& r) const;
  // How long to wait after the `answers`-th "in progress" answer (1 = the first).
  std::chrono::milliseconds WaitAfter(int answers, const http::Response& r) const;

 private:
  bool enabled_ = true;
  int status_ = 409;
  std::set<std::string> problem_types_ = {kSimulatorInProgressType};
  std::chrono::milliseconds first_wait_{100};
  std::chrono::milliseconds max_wait_{2000};
};

}  // namespace rf::connectors
