// The instance model the interpreter works on: what a snapshot holds, typed. Private to engine/.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/value.h"
#include "instance_data.h"
#include "engine/ir/machine.h"
#include "engine/status.h"

namespace rf::engine {

// Where a thread stands.
//   ready      about to enter its state        calling   a step's call is in flight
//   retry      waiting for a retry timer        timer     in a `wait` for a duration/time
//   event      waiting for an event             task      waiting for a human decision
//   joining    a parallel/for-each parent       held      a failed step waits for an operator
//   done       finished its region              cancelled stopped while its call was in flight
enum class ThreadPhase { kReady, kCalling, kRetry, kTimer, kEvent, kTask, kJoining, kHeld, kDone, kCancelled };
std::string_view Name(ThreadPhase p);
std::optional<ThreadPhase> ParseThreadPhase(std::string_view text);

// A position in the machine: a thread runs one region. Thread 0 runs the top region; a parallel
// state spawns one child per branch; a for-each spawns one child per item (at most N at once).
struct Thread {
  std::int64_t id = 0;
  std::int64_t parent = -1;
  // Region path from the top: (state name, branch name or "#<item index>") pairs.
  std::vector<std::pair<std::string, std::string>> path;
  std::string state;
  ThreadPhase phase = ThreadPhase::kReady;
  std::int64_t visit = 0;
  int attempt = 0;
  std::string invocation;  // in flight
  std::string idem_key;
  std::string timer_key;
  std::string task_id;
  std::string sub_key;
  std::string sub_event, sub_value;
  bool has_frame = false;  // a for-each round: saves go here
  Record frame;
  // for-each parent
  List items;
  std::int64_t next_item = 0, running = 0;
  List results;
  // parallel parent
  std::int64_t children_left = 0;
};

// An undo action owed for a completed step, run in reverse order by compensation.
struct UndoEntry {
  std::string step, connector, operation, key;
  Value input;
};

struct Instance {
  std::string id, workflow, business_key, correlation_id, outcome;
  InstanceStatus status = InstanceStatus::kRunning;
  int version = 0;
  Time created_at, updated_at;
  InstanceData data;
  std::vector<Thread> threads;
  std::vector<UndoEntry> undo;
  Record error;
  Record visits;  // state path → visits
  std::int64_t hist_seq = 0, next_thread = 1, next_timer = 1;
  // compensation
  bool compensating = false, cancel_requested = false, unhandled_error = false;
  std::int64_t undone = 0;
  int comp_attempt = 0;
  std::string comp_invocation, comp_timer;

  std::shared_ptr<const ir::Machine> machine;  // the pinned version; not part of the snapshot

  Thread* FindThread(std::int64_t tid) {
    for (auto& t : threads)
      if (t.id == tid) return &t;
    return nullptr;
  }
  const Thread* FindThread(std::int64_t tid) const {
    for (const auto& t : threads)
      if (t.id == tid) return &t;
    return nullptr;
  }
  // True while a call of this instance is in flight: it must stay resident to receive it.
  bool HasCallInFlight() const {
    if (!comp_invocation.empty()) return true;
    for (const auto& t : threads)
      if (!t.invocation.empty()) return true;
    return false;
  }
};

}  // namespace rf::engine
