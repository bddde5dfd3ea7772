// Per-connector resilience: a ConnectorInstance decorator that applies the `"limits"` of a
// connector's configuration entry, so that a slow or failing downstream system queues or fails
// its own calls without blocking the engine, the HTTP API or other connectors (DESIGN §4, §6).
//
//   "limits": {"timeout": "10s",          // answer `timeout` by min(call deadline, now + 10s)
//              "max_concurrency": 16,     // calls in flight at once; more wait in a FIFO queue
//              "max_queue": 1000,         // waiting calls beyond this fail with `unavailable`
//              "rate_per_second": 50,     // token bucket: calls started per second...
//              "burst": 10,               // ...and how many may start at once after a lull
//              "breaker": {"failures": 5, "cool_down": "30s", "when_open": "fail" | "wait"}}
//
// Every setting is optional; an absent one means "no limit" (max_queue defaults to 10000).
// The circuit breaker opens after `failures` consecutive `unavailable`/`timeout` results; while
// open, calls fail at once with `unavailable` ("circuit open for <name>") or, with
// when_open = "wait", wait in the queue. After `cool_down` one probe call goes through
// (half_open): success closes the circuit, an `unavailable`/`timeout` opens it again.
//
// Time: cool-downs and rate limits are measured on the deployment's clock (ResilienceOptions),
// so an operator moving an adjustable clock moves breakers on; timeouts are real time.
//
// Threads: Invoke, Cancel, Counters and Shutdown are thread-safe; the wrapped connector may
// answer on any thread. Timers run on the given io_context, which must outlive the connector and
// be run by at least one thread for timeouts, rate limiting and breaker waits to progress.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/status.h"
#include "connectors/connector_instance.h"
#include "engine/clock.h"

namespace rf::connectors {

struct BreakerLimits {
  int failures = 0;  // consecutive unavailable/timeout results that open it; 0 = no breaker
  std::chrono::milliseconds cool_down{30000};
  bool wait_when_open = false;  // when_open: "wait" (true) or "fail" (false, the default)
};

struct Limits {
  std::optional<std::chrono::milliseconds> timeout;
  size_t max_concurrency = 0;  // 0 = unlimited
  size_t max_queue = 10000;
  double rate_per_second = 0;  // 0 = unlimited
  double burst = 1;            // bucket size; defaults to max(1, rate_per_second)
  BreakerLimits breaker;
};

// Parses a "limits" object (null = no limits). Unknown settings are errors (a typo must not
// silently remove a limit). Errors start with "limits".
Result<Limits> ParseLimits(const nlohmann::json& limits);

struct ConnectorCounters {
  std::uint64_t calls = 0;      // calls received
  std::uint64_t succeeded = 0;  // calls answered with success
  std::uint64_t in_flight = 0;  // handed to the connector and not answered yet
  std::uint64_t queued = 0;     // waiting for a concurrency slot, a rate token or the breaker
  std::map<std::string, std::uint64_t> errors;  // failed calls by error kind
  std::string breaker = "closed";               // "closed", "open" or "half_open"
  std::uint64_t breaker_openings = 0;
  std::uint64_t late_answers = 0;  // answers dropped because the call had already timed out
};

// Called once per answered call (on the answering thread): the call, its result, and the real
// time from Invoke to the answer. Must be quick and thread-safe.
using CallObserver = std::function<void(const engine::Invocation&, const engine::CallResult&,
                                        std::chrono::nanoseconds)>;

struct ResilienceOptions {
  // The deployment's clock (null = the system clock). Invocation::deadline is measured on its
  // Now(); the token bucket and the breaker's cool-down run on its SteadyNow(), and a jump of
  // the clock wakes calls waiting for either, so moving a ManualClock or an AdjustableClock
  // moves them on without real waiting. Per-call timeouts are real time: the budget left on
  // the clock when the call arrives, spent in real time. Not owned; must outlive Shutdown().
  const engine::Clock* clock = nullptr;
  CallObserver on_call;
};

class ResilientConnector : public ConnectorInstance {
 public:
  ResilientConnector(std::string name, std::unique_ptr<ConnectorInstance> inner, Limits limits,
                     boost::asio::io_context& io, ResilienceOptions options = {});
  ~ResilientConnector() override;  // Shutdown()

  void Invoke(const engine::Invocation& call,
              std::function<void(engine::CallResult)> done) override;
  nlohmann::json Describe() const override;
  // Fails the queued calls with `unavailable`, then shuts the wrapped connector down (which
  // answers its calls in flight). Idempotent.
  void Shutdown() override;
  void Cancel(const std::string& invocation_id) override;

  ConnectorCounters Counters() const;
  const std::string& name() const;
  const Limits& limits() const;
  ConnectorInstance* inner();

  struct Core;

 private:
  std::shared_ptr<Core> core_;
};

}  // namespace rf::connectors
