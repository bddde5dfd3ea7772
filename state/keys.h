// The storage format: every key of the store is built and parsed here, and nowhere else
// (state/FORMAT.md documents the layout). Like LevelDB's db/dbformat.h, this file owns the bytes.
//
// Variable parts (workflow names, business keys, event keys, roles, token names, webhook ids...)
// are escaped: '%' -> "%25", '/' -> "%2F", so a part never contains the separator and a prefix
// scan of one key never reaches into another's ("ev/a" and "ev" + "/a/..." cannot collide).
// Escaping keeps byte order among parts that contain neither character. Numbers are zero-padded
// decimal so that byte order is numeric order. Instance ids and task ids are built by the engine
// in a fixed alphabet and are not escaped (they never contain '/' or '%').
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "common/value.h"

namespace rf::state {
class StateStore;
}

namespace rf::state::keys {

// Format 1: the first edition (unescaped parts). Format 2: escaped variable parts.
inline constexpr int kFormatVersion = 2;

std::string Escape(std::string_view part);
// The inverse of Escape; nullopt for a malformed escape ("%", "%2", "%zz").
std::optional<std::string> Unescape(std::string_view part);

// Writes `meta/format` on a store that has none and holds no data; migrates a format-1 store (or
// one with data but no marker, which is format 1) to the current format in one atomic commit;
// accepts the current format; refuses a newer or unknown version with FailedPrecondition naming
// both versions ("the store was written by format 7; this binary reads format 2: upgrade retailflow").
// Every host calls it right after opening a store and before anything reads or writes.
Status PrepareFormat(StateStore* store);
std::string MetaFormat();

// The successor of a prefix: the smallest key greater than every key that starts with it.
std::string PrefixEnd(std::string_view prefix);

// ---- definitions
std::string Definition(std::string_view workflow, int version);  // def/<wf>/<version:08d>
std::string DefinitionPrefix();                                   // def/
std::string DefinitionLatest(std::string_view workflow);          // deflatest/<wf>

// ---- instances
std::string Instance(std::string_view instance_id);  // inst/<id>
std::string InstancePrefix();                        // inst/
std::string History(std::string_view instance_id, std::int64_t seq);  // hist/<id>/<seq:010d>
std::string HistoryPrefix(std::string_view instance_id);              // hist/<id>/
std::string BusinessKey(std::string_view workflow, std::string_view business_key);
std::string StatusIndex(std::string_view status, std::string_view instance_id);
std::string StatusIndexPrefix(std::string_view status);
std::string WorkflowIndex(std::string_view workflow, std::string_view instance_id);
std::string WorkflowIndexPrefix(std::string_view workflow);
// The instance id at the end of an index key under `prefix` (StatusIndexPrefix, WorkflowIndexPrefix).
std::string_view IndexedInstance(std::string_view key, std::string_view prefix);
std::string DeadLetter(std::string_view instance_id);  // dead/<id>
std::string DeadLetterPrefix();

// ---- timers: timer/<due_ms:015d>/<instance_id>/<n:06d>
std::string Timer(Time due, std::string_view instance_id, std::int64_t n);
std::string TimerPrefix();
std::string TimersDueBy(Time now);  // the end key of a scan of every timer due at or before `now`
struct TimerKey {
  Time due;
  std::string instance_id;
  std::int64_t n = 0;
};
std::optional<TimerKey> ParseTimer(std::string_view key);

// ---- outbox: outbox/<instance_id>/<invocation_id>
std::string Outbox(std::string_view instance_id, std::string_view invocation_id);
std::string OutboxPrefix();
std::string OutboxPrefix(std::string_view instance_id);

// ---- human tasks
std::string Task(std::string_view task_id);  // task/<task_id>
std::string TaskPrefix();
std::string OpenTask(std::string_view role, std::string_view task_id);  // taskopen/<role>/<task_id>
std::string OpenTaskPrefix();                                          // every role
std::string OpenTaskPrefix(std::string_view role);
std::optional<std::string> ParseOpenTask(std::string_view key);  // the task id

// ---- event subscriptions: sub/<event>/<key>/<instance_id>/<thread:06d>
std::string Subscription(std::string_view event, std::string_view key, std::string_view instance_id,
                         std::int64_t thread);
std::string SubscriptionPrefix(std::string_view event, std::string_view key);
struct SubscriptionKey {
  std::string instance_id;
  std::int64_t thread = 0;
};
std::optional<SubscriptionKey> ParseSubscription(std::string_view key);

// ---- early events: evbuf/<event>/<key>/<arrival_ms:013d>-<seq:06d>
std::string BufferedEvent(std::string_view event, std::string_view key, Time arrival, std::int64_t seq);
std::string BufferedEventPrefix();
std::string BufferedEventPrefix(std::string_view event, std::string_view key);

// ---- schedules: sched/<workflow>/<index>
std::string ScheduleSlot(std::string_view workflow, std::size_t index);
std::string ScheduleSlotPrefix();

// ---- the service's own records
std::string AuthToken(std::string_view name);  // auth/token/<name>
std::string AuthTokenPrefix();
std::optional<std::string> ParseAuthToken(std::string_view key);  // the token name
std::string WebhookDelivery(std::string_view source, std::string_view delivery_id);  // webhook/<source>/<id>
std::string WebhookDeliveryPrefix();

}  // namespace rf::state::keys
