// The storage format: every key of the store is built and parsed here, and nowhere else
// (state/FORMAT.md documents the layout). Like LevelDB's db/dbformat.h, this file owns the bytes.
//
// Every part of a key between the fixed words is escaped: '%' -> "%25", '/' -> "%2F", so a part
// never contains the separator and a prefix scan of one key never reaches into another's
// ("sub/ev/a/" cannot match the subscription of key "a/b", which is "sub/ev/a%2Fb/..."). Escaping
// changes nothing in a part that holds neither character (instance ids, task ids, invocation ids,
// identifiers), so those keep their bytes, and it keeps byte order among such parts. Numbers are
// zero-padded decimal so that byte order is numeric order (a number wider than its padding is
// written in full and still parsed). Parsers return nullopt for anything this module would not
// have built: another prefix, a missing or extra part, a malformed escape, a non-digit number.
#pragma once

#include <cstddef>
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
// The inverse of Escape; nullopt for what Escape never writes: a '/', or a '%' not followed by
// "25" or "2F" ("%", "%2", "%zz", "%2f").
std::optional<std::string> Unescape(std::string_view part);

// Writes `meta/format` on a store that has none and holds no data; migrates a format-1 store (or
// one with data but no marker, which is format 1) to the current format in one atomic commit;
// accepts the current format; refuses a newer or unknown version with FailedPrecondition naming
// both versions ("the store was written by format 7; this binary reads format 2: upgrade retailflow").
// Every host calls it right after opening a store and before anything reads or writes; it is not
// safe to run while another writer uses the store.
struct FormatChange {
  int from = 0;  // the format found (0: refused; == to: nothing to do)
  int to = 0;    // the format written (0: none)
  std::size_t keys_rewritten = 0;       // keys moved to their format-2 spelling
  std::size_t snapshots_rewritten = 0;  // inst/ snapshots whose subscription keys were rewritten
};
Status PrepareFormat(StateStore* store, FormatChange* change = nullptr);
std::string MetaFormat();  // meta/format

// The format-2 spelling of a key written by format 1 (what PrepareFormat's migration does to
// each key); a key of no known shape keeps its bytes.
std::string Format1KeyToFormat2(std::string_view key);

// The successor of a prefix: the smallest key greater than every key that starts with it. Empty
// (Scan's "to the end of the key space") for an empty prefix or one made only of 0xff bytes.
std::string PrefixEnd(std::string_view prefix);

// ---- definitions
std::string Definition(std::string_view workflow, int version);  // def/<wf>/<version:08d>
std::string DefinitionPrefix();                                   // def/
std::string DefinitionPrefix(std::string_view workflow);          // def/<wf>/
struct DefinitionKey {
  std::string workflow;
  int version = 0;
};
std::optional<DefinitionKey> ParseDefinition(std::string_view key);
std::string DefinitionLatest(std::string_view workflow);  // deflatest/<wf>

// ---- instances
std::string Instance(std::string_view instance_id);  // inst/<id>
std::string InstancePrefix();                        // inst/
std::optional<std::string> ParseInstance(std::string_view key);  // the instance id
std::string History(std::string_view instance_id, std::int64_t seq);  // hist/<id>/<seq:010d>
std::string HistoryPrefix(std::string_view instance_id);              // hist/<id>/
std::string BusinessKey(std::string_view workflow, std::string_view business_key);  // bkey/<wf>/<key>
std::string BusinessKeyPrefix(std::string_view workflow);                           // bkey/<wf>/
struct BusinessKeyKey {
  std::string workflow, business_key;
};
std::optional<BusinessKeyKey> ParseBusinessKey(std::string_view key);
std::string StatusIndex(std::string_view status, std::string_view instance_id);  // idx/status/<st>/<id>
std::string StatusIndexPrefix();                                                 // idx/status/
std::string StatusIndexPrefix(std::string_view status);                          // idx/status/<st>/
std::string WorkflowIndex(std::string_view workflow, std::string_view instance_id);  // idx/workflow/<wf>/<id>
std::string WorkflowIndexPrefix(std::string_view workflow);                          // idx/workflow/<wf>/
// The instance id of an index key under `prefix` (a StatusIndexPrefix or WorkflowIndexPrefix with
// its part); nullopt when the key is not directly under it.
std::optional<std::string> IndexedInstance(std::string_view key, std::string_view prefix);
std::string DeadLetter(std::string_view instance_id);  // dead/<id>
std::string DeadLetterPrefix();                        // dead/
std::optional<std::string> ParseDeadLetter(std::string_view key);  // the instance id

// ---- timers: timer/<due_ms:015d>/<instance_id>/<n:06d>
std::string Timer(Time due, std::string_view instance_id, std::int64_t n);
std::string TimerPrefix();
std::string TimersDueBy(Time now);  // the (exclusive) end key of a scan of every timer due at or before `now`
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
struct OpenTaskKey {
  std::string role, task_id;
};
std::optional<OpenTaskKey> ParseOpenTask(std::string_view key);

// ---- event subscriptions: sub/<event>/<key>/<instance_id>/<thread:06d>
std::string Subscription(std::string_view event, std::string_view key, std::string_view instance_id,
                         std::int64_t thread);
std::string SubscriptionPrefix();                         // sub/
std::string SubscriptionPrefix(std::string_view event);  // sub/<event>/ (every key)
std::string SubscriptionPrefix(std::string_view event, std::string_view key);
struct SubscriptionKey {
  std::string event, key, instance_id;
  std::int64_t thread = 0;
};
std::optional<SubscriptionKey> ParseSubscription(std::string_view key);

// ---- early events: evbuf/<event>/<key>/<arrival_ms:013d>-<seq:06d>
std::string BufferedEvent(std::string_view event, std::string_view key, Time arrival, std::int64_t seq);
std::string BufferedEventPrefix();
std::string BufferedEventPrefix(std::string_view event, std::string_view key);
struct BufferedEventKey {
  std::string event, key;
  Time arrival;
  std::int64_t seq = 0;
};
std::optional<BufferedEventKey> ParseBufferedEvent(std::string_view key);

// ---- schedules: sched/<workflow>/<index> (plain decimal)
std::string ScheduleSlot(std::string_view workflow, std::size_t index);
std::string ScheduleSlotPrefix();
struct ScheduleSlotKey {
  std::string workflow;
  std::size_t index = 0;
};
std::optional<ScheduleSlotKey> ParseScheduleSlot(std::string_view key);

// ---- the service's own records
// auth/token/<sha256 hex of the token>: the value holds the token's name and roles.
std::string AuthToken(std::string_view token_hash);
std::string AuthTokenPrefix();
std::optional<std::string> ParseAuthToken(std::string_view key);  // the token hash
// webhook/<source>/<webhook-id>: a delivery seen, for refusing replays.
std::string WebhookDelivery(std::string_view source, std::string_view delivery_id);
std::string WebhookDeliveryPrefix();
struct WebhookDeliveryKey {
  std::string source, delivery_id;
};
std::optional<WebhookDeliveryKey> ParseWebhookDelivery(std::string_view key);

}  // namespace rf::state::keys
