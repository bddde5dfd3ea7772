// Turns a transition into the writes of one atomic batch (state/FORMAT.md): the snapshot, the
// status index, history, timers, subscriptions, early events taken, tasks, outbox, dead letter.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "common/value.h"
#include "instance.h"
#include "state/state_store.h"
#include "transition.h"

namespace rf::engine {

// The stored task record, if any (tasks are read-merged when they close).
using TaskReader = std::function<std::optional<Value>(const std::string& task_id)>;

// `old_status` is nullopt for a new instance.
void WriteTransition(const Instance& in, std::optional<InstanceStatus> old_status, const Transition& tx, Time now,
                     const TaskReader& read_task, state::WriteBatch& batch);

// The outbox entry of a call: what a restarted engine needs to issue it again (same key).
std::string OutboxRecord(const Invocation& inv, Duration timeout);
Invocation InvocationFromOutbox(const Value& record, Time now, Duration default_timeout);
std::string DeadLetterRecord(const Instance& in, Time now);

}  // namespace rf::engine
