// What the engine needs from connectors: look one up by name, invoke an operation asynchronously.
// connectors/ implements this over plugins and built-ins; tests use engine/test_connector.h.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/value.h"

namespace rf::engine {

// One execution attempt of a step (or of an undo action).
struct Invocation {
  std::string instance_id;
  std::string invocation_id;    // unique per attempt
  std::string idempotency_key;  // stable across retries of one step execution (and re-dispatch
                                // after a crash); different for a new visit of the same step
  std::string correlation_id;   // = instance id unless the start request gave one
  std::string connector;
  std::string operation;
  Value input;                  // a record
  Time deadline;                // the connector should give up by then
  int attempt = 1;
  // Set only when the engine re-dispatches a call after a restart: the deadline of the attempt
  // that was in flight when the previous process stopped (that attempt may still be running at
  // the downstream system until then). 0 = a first dispatch.
  Time previous_attempt_deadline;
};

// The outcome of an invocation. `error_kind` is one of ir::ErrorKinds() when !ok.
struct CallResult {
  bool ok = true;
  Value output;
  std::string error_kind;
  std::string message;

  static CallResult Success(Value v) { return {true, std::move(v), {}, {}}; }
  static CallResult Failure(std::string kind, std::string message) {
    return {false, Value(), std::move(kind), std::move(message)};
  }
};

class Connector {
 public:
  virtual ~Connector() = default;
  // Must call `done` exactly once, from any thread, possibly before returning. Must not block.
  virtual void Invoke(const Invocation& call, std::function<void(CallResult)> done) = 0;
};

class ConnectorRegistry {
 public:
  virtual ~ConnectorRegistry() = default;
  // nullptr when unknown: the engine fails the call with kind `internal`.
  virtual Connector* Find(const std::string& name) = 0;
};

}  // namespace rf::engine
