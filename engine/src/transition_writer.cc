#include "transition_writer.h"

#include <map>

#include "snapshot_codec.h"
#include "state/keys.h"
#include "value_fields.h"

namespace rf::engine {

namespace keys = state::keys;


std::string OutboxRecord(const Invocation& inv, Duration timeout) {
  Record r;
  r["instance"] = Value(inv.instance_id);
  r["invocation"] = Value(inv.invocation_id);
  r["idempotency_key"] = Value(inv.idempotency_key);
  r["correlation_id"] = Value(inv.correlation_id);
  r["connector"] = Value(inv.connector);
  r["operation"] = Value(inv.operation);
  r["input"] = inv.input;
  r["attempt"] = Value(std::int64_t{inv.attempt});
  r["timeout_ms"] = Value(timeout.ms);
  r["deadline_ms"] = Value(inv.deadline.ms);  // handed to the next process as the previous deadline
  return Value(std::move(r)).ToTaggedJson();
}

Invocation InvocationFromOutbox(const Value& v, Time now, Duration default_timeout) {
  Invocation inv;
  inv.instance_id = TextField(v.Find("instance"));
  inv.invocation_id = TextField(v.Find("invocation"));
  inv.idempotency_key = TextField(v.Find("idempotency_key"));
  inv.correlation_id = TextField(v.Find("correlation_id"));
  inv.connector = TextField(v.Find("connector"));
  inv.operation = TextField(v.Find("operation"));
  if (const Value* i = v.Find("input")) inv.input = *i;
  inv.attempt = static_cast<int>(IntField(v.Find("attempt"), 1));
  inv.deadline = Time{now.ms + IntField(v.Find("timeout_ms"), default_timeout.ms)};
  inv.previous_attempt_deadline = Time{IntField(v.Find("deadline_ms"), 0)};
  return inv;
}

std::string DeadLetterRecord(const Instance& in, Time now) {
  Record d;
  d["instance"] = Value(in.id);
  d["workflow"] = Value(in.workflow);
  d["version"] = Value(std::int64_t{in.version});
  d["business_key"] = Value(in.business_key);
  d["status"] = Value(std::string(Name(in.status)));
  d["error"] = Value(in.error);
  d["at"] = Value(now);
  return Value(std::move(d)).ToTaggedJson();
}

void WriteTransition(const Instance& in, std::optional<InstanceStatus> old_status, const Transition& tx, Time now,
                     const TaskReader& read_task, state::WriteBatch& b) {
  for (const auto& h : tx.history) {
    auto it = h.find("seq");
    b.Put(keys::History(in.id, IntField(it == h.end() ? nullptr : &it->second)), Value(h).ToTaggedJson());
  }
  for (const auto& k : tx.buffered_events_taken) b.Delete(k);
  for (const auto& k : tx.timers_cleared) b.Delete(k);
  for (const auto& t : tx.timers_set) {
    Record v;
    if (t.thread >= 0) v["thread"] = Value(t.thread);
    b.Put(t.key, Value(std::move(v)).ToTaggedJson());
  }
  for (const auto& k : tx.subscriptions_cleared) b.Delete(k);
  for (const auto& k : tx.subscriptions_set) b.Put(k, "");
  // A task may open and close in one transition (a sibling branch failed at once): merge with it.
  std::map<std::string, const Record*> opened;
  for (const auto& t : tx.tasks_opened) {
    const std::string id = TextField(&t.task.at("id"));
    opened[id] = &t.task;
    b.Put(keys::Task(id), Value(t.task).ToTaggedJson());
    b.Put(keys::OpenTask(t.role, id), "");
  }
  for (const auto& c : tx.tasks_closed) {
    Value task;
    if (auto it = opened.find(c.task_id); it != opened.end()) {
      task = Value(*it->second);
    } else if (auto stored = read_task(c.task_id)) {
      task = std::move(*stored);
    }
    if (!task.is_record()) task = Value(Record{});
    task.Set("status", Value(c.status));
    task.Set("closed_at", Value(c.at));
    if (c.decided) {
      task.Set("actor", Value(c.actor));
      task.Set("comment", Value(c.comment));
    }
    b.Put(keys::Task(c.task_id), task.ToTaggedJson());
    b.Delete(keys::OpenTask(c.role.empty() ? TextField(task.Find("role")) : c.role, c.task_id));
  }
  for (const auto& inv : tx.calls_settled) b.Delete(keys::Outbox(in.id, inv));
  for (const auto& c : tx.calls) b.Put(keys::Outbox(in.id, c.invocation.invocation_id), OutboxRecord(c.invocation, c.timeout));
  if (tx.dead_letter == Transition::DeadLetter::kPut) b.Put(keys::DeadLetter(in.id), DeadLetterRecord(in, now));
  if (tx.dead_letter == Transition::DeadLetter::kRemove) b.Delete(keys::DeadLetter(in.id));
  if (!old_status || *old_status != in.status) {
    if (old_status) b.Delete(keys::StatusIndex(Name(*old_status), in.id));
    b.Put(keys::StatusIndex(Name(in.status), in.id), "");
  }
  b.Put(keys::Instance(in.id), EncodeSnapshot(in));
}

}  // namespace rf::engine
