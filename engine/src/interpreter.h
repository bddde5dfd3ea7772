// The pure interpreter: (instance, stimulus, now) -> transition. No store, no strand, no clock:
// everything it needs is in its arguments, so each state kind is unit-testable on its own
// (tests/engine/interpreter_test.cc). The executor (executor.h) owns residency, ordering,
// commit and dispatch around it.
//
// Interpret() advances the instance in place and describes what changed. On a refused stimulus
// (cancel of a finished instance, a decision on a closed task, a repair of an instance that is not
// held) it returns the error and leaves the instance untouched.
#pragma once

#include <optional>
#include <string>
#include <variant>

#include "common/status.h"
#include "engine/connector.h"
#include "engine/ir/machine.h"
#include "engine/status.h"
#include "instance.h"
#include "transition.h"

namespace rf::engine {

struct InterpreterOptions {
  Duration default_step_timeout{30000};
  int undo_max_attempts = 10;
  Duration undo_first_wait{1000};
  Duration undo_max_wait{300000};
  bool hold_failed_steps = false;
};

// Early events: an event that arrived before its instance waited for it. The executor provides
// this view over the store and what is being committed. Take() hands out the oldest unexpired
// event for (event, key) at most once, or registers that the thread now waits for one, in one
// step, so that an event arriving meanwhile either is taken here or finds the waiter. Keys of
// expired events it passes over go to `expired` for the transition to delete.
class EventSource {
 public:
  virtual ~EventSource() = default;
  struct Taken {
    std::string key;
    Value data;
  };
  virtual std::optional<Taken> TakeOrWait(const std::string& event, const std::string& key,
                                          const std::string& instance_id, std::int64_t thread, Time now,
                                          std::vector<std::string>* expired) = 0;
};

namespace stimulus {
struct Started {};  // a new instance (NewInstance), to run from its start state
struct CallAnswered {
  std::string invocation_id;
  CallResult result;
};
struct TimerFired {
  std::string timer_key;
};
struct EventDelivered {
  std::int64_t thread = 0;
  std::string event, key;
  Value data;
};
struct TaskDecided {
  std::string task_id;
  Decision decision = Decision::kApprove;
  std::string actor, comment;
};
struct CancelRequested {
  std::string reason;
};
struct RepairRequested {
  enum class Action { kRetry, kSkip } action = Action::kRetry;
  Value patch;  // a record or null (retry only)
};
}  // namespace stimulus

using Stimulus = std::variant<stimulus::Started, stimulus::CallAnswered, stimulus::TimerFired,
                              stimulus::EventDelivered, stimulus::TaskDecided, stimulus::CancelRequested,
                              stimulus::RepairRequested>;

// A new instance of `machine`, not yet started: the data record holds every name the flow can
// save (null until saved), `input` and `instance`; one thread at the start state.
struct NewInstanceRequest {
  std::string id, business_key, correlation_id;
  Record input;  // already checked by CheckInput
};
Instance NewInstance(std::shared_ptr<const ir::Machine> machine, NewInstanceRequest request, Time now);

// Checks a start request's input against the machine's declared inputs; converts times and
// durations given as text. InvalidArgument names the field and what it must be.
Result<Record> CheckInput(const ir::Machine& machine, const Value& input);

Result<Transition> Interpret(Instance& instance, const Stimulus& stimulus, Time now,
                             const InterpreterOptions& options, EventSource& events);

// The wait before retry `attempt` + 1: first_wait x multiplier^(attempt-1), capped; with jitter,
// drawn deterministically from `seed` (the step's idempotency key), so a replay is identical.
Duration RetryWait(const ir::RetryPolicy& policy, int attempt, std::string_view seed);

}  // namespace rf::engine
