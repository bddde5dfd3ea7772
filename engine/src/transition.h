// What one stimulus changes: the interpreter's output, pure data. The executor writes it to the
// store in one atomic batch (transition_writer.h) and, once durable, issues its calls.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/value.h"
#include "engine/connector.h"

namespace rf::engine {

// Changes are net: a key set and cleared within one transition appears in neither list, one
// cleared and set again appears only as set, so the lists are disjoint and order-free.
struct Transition {
  // History events, complete (type, at, seq, thread and their fields), in order.
  std::vector<Record> history;

  struct TimerSet {
    std::string key;
    std::int64_t thread = -1;  // -1: the compensation chain's retry wait
  };
  std::vector<TimerSet> timers_set;
  std::vector<std::string> timers_cleared;  // keys

  std::vector<std::string> subscriptions_set, subscriptions_cleared;  // keys
  std::vector<std::string> buffered_events_taken;                     // keys (consumed or expired)

  struct TaskOpened {
    std::string role;
    Record task;  // the task record, status "open"
  };
  struct TaskClosed {
    std::string task_id, role, status;  // status: approved rejected expired cancelled
    Time at;
    bool decided = false;  // actor and comment are set
    std::string actor, comment;
  };
  std::vector<TaskOpened> tasks_opened;
  std::vector<TaskClosed> tasks_closed;

  // Calls to record in the outbox, then issue once the transition is durable.
  struct Call {
    Invocation invocation;
    Duration timeout;
  };
  std::vector<Call> calls;
  std::vector<std::string> calls_settled;  // invocation ids whose outbox entries go

  enum class DeadLetter { kUnchanged, kPut, kRemove };
  DeadLetter dead_letter = DeadLetter::kUnchanged;

  // Nothing to write: a stale stimulus (an answer for an attempt that is no longer current, an
  // event for a thread that moved on). The snapshot is unchanged too.
  bool empty() const {
    return history.empty() && timers_set.empty() && timers_cleared.empty() && subscriptions_set.empty() &&
           subscriptions_cleared.empty() && buffered_events_taken.empty() && tasks_opened.empty() &&
           tasks_closed.empty() && calls.empty() && calls_settled.empty() &&
           dead_letter == DeadLetter::kUnchanged;
  }
};

}  // namespace rf::engine
