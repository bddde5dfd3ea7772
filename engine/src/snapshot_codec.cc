#include "snapshot_codec.h"

#include <array>

#include "value_fields.h"
namespace rf::engine {

namespace {

constexpr std::array<std::string_view, 10> kPhaseNames = {"ready", "calling", "retry", "timer", "event",
                                                          "task",  "joining", "held",  "done",  "cancelled"};


Result<Thread> ThreadFromValue(const Value& v) {
  if (!v.is_record()) return Status::Corruption("a thread is not a record");
  Thread t;
  t.id = IntField(v.Find("id"));
  t.parent = IntField(v.Find("parent"), -1);
  if (const Value* p = v.Find("path"); p && p->is_list())
    for (const auto& pair : p->as_list())
      if (pair.is_list() && pair.as_list().size() == 2)
        t.path.emplace_back(TextField(&pair.as_list()[0]), TextField(&pair.as_list()[1]));
  t.state = TextField(v.Find("state"));
  auto phase = ParseThreadPhase(TextField(v.Find("phase")));
  if (!phase) return Status::Corruption("thread " + std::to_string(t.id) + " has an unknown phase");
  t.phase = *phase;
  t.visit = IntField(v.Find("visit"));
  t.attempt = static_cast<int>(IntField(v.Find("attempt")));
  t.invocation = TextField(v.Find("invocation"));
  t.idem_key = TextField(v.Find("idempotency_key"));
  t.timer_key = TextField(v.Find("timer"));
  t.task_id = TextField(v.Find("task"));
  t.sub_key = TextField(v.Find("subscription"));
  t.sub_event = TextField(v.Find("event"));
  t.sub_value = TextField(v.Find("event_key"));
  if (const Value* f = v.Find("frame"); f && f->is_record()) {
    t.has_frame = true;
    t.frame = f->as_record();
  }
  if (const Value* i = v.Find("items"); i && i->is_list()) t.items = i->as_list();
  t.next_item = IntField(v.Find("next_item"));
  t.running = IntField(v.Find("running"));
  if (const Value* r = v.Find("results"); r && r->is_list()) t.results = r->as_list();
  t.children_left = IntField(v.Find("children_left"));
  return t;
}

// Everything in a snapshot but its data and threads: small fields, built as a record.
Record SnapshotHeader(const Instance& in) {
  Record r;
  r["id"] = Value(in.id);
  r["workflow"] = Value(in.workflow);
  r["version"] = Value(std::int64_t{in.version});
  r["business_key"] = Value(in.business_key);
  r["correlation_id"] = Value(in.correlation_id);
  r["status"] = Value(std::string(Name(in.status)));
  if (!in.outcome.empty()) r["outcome"] = Value(in.outcome);
  r["created_at"] = Value(in.created_at);
  r["updated_at"] = Value(in.updated_at);
  List undo;
  for (const auto& u : in.undo) {
    Record e;
    e["step"] = Value(u.step);
    e["connector"] = Value(u.connector);
    e["operation"] = Value(u.operation);
    e["idempotency_key"] = Value(u.key);
    e["input"] = u.input;
    undo.push_back(Value(std::move(e)));
  }
  r["undo"] = Value(std::move(undo));
  if (!in.error.empty()) r["error"] = Value(in.error);
  r["visits"] = Value(in.visits);
  r["hist_seq"] = Value(in.hist_seq);
  r["next_thread"] = Value(in.next_thread);
  r["next_timer"] = Value(in.next_timer);
  if (in.compensating) {
    Record c;
    c["cancel"] = Value(in.cancel_requested);
    c["unhandled_error"] = Value(in.unhandled_error);
    c["undone"] = Value(in.undone);
    c["attempt"] = Value(std::int64_t{in.comp_attempt});
    if (!in.comp_invocation.empty()) c["invocation"] = Value(in.comp_invocation);
    if (!in.comp_timer.empty()) c["timer"] = Value(in.comp_timer);
    r["compensation"] = Value(std::move(c));
  }
  return r;
}

}  // namespace

std::string_view Name(ThreadPhase p) { return kPhaseNames[static_cast<size_t>(p)]; }

std::optional<ThreadPhase> ParseThreadPhase(std::string_view text) {
  for (size_t i = 0; i < kPhaseNames.size(); ++i)
    if (kPhaseNames[i] == text) return static_cast<ThreadPhase>(i);
  return std::nullopt;
}

Value PathToValue(const Thread& t) {
  List path;
  for (const auto& [s, b] : t.path) path.push_back(Value(List{Value(s), Value(b)}));
  return Value(std::move(path));
}

Value ThreadToValue(const Thread& t) {
  Record r;
  r["id"] = Value(t.id);
  r["parent"] = Value(t.parent);
  r["path"] = PathToValue(t);
  r["state"] = Value(t.state);
  r["phase"] = Value(std::string(Name(t.phase)));
  r["visit"] = Value(t.visit);
  r["attempt"] = Value(std::int64_t{t.attempt});
  if (!t.invocation.empty()) r["invocation"] = Value(t.invocation);
  if (!t.idem_key.empty()) r["idempotency_key"] = Value(t.idem_key);
  if (!t.timer_key.empty()) r["timer"] = Value(t.timer_key);
  if (!t.task_id.empty()) r["task"] = Value(t.task_id);
  if (!t.sub_key.empty()) {
    r["subscription"] = Value(t.sub_key);
    r["event"] = Value(t.sub_event);
    r["event_key"] = Value(t.sub_value);
  }
  if (t.has_frame) r["frame"] = Value(t.frame);
  if (!t.items.empty() || t.next_item > 0) {
    r["items"] = Value(t.items);
    r["next_item"] = Value(t.next_item);
    r["running"] = Value(t.running);
    r["results"] = Value(t.results);
  }
  if (t.children_left > 0) r["children_left"] = Value(t.children_left);
  return Value(std::move(r));
}

// The data record (often the largest part) is appended in place, never copied into a temporary.
std::string EncodeSnapshot(const Instance& in) {
  std::string out;
  Value::AppendTaggedJson(out, SnapshotHeader(in));
  out.pop_back();  // the header's closing brace
  out += ",\"data\":";
  in.data.AppendTaggedJson(out);
  out += ",\"threads\":[";
  for (size_t i = 0; i < in.threads.size(); ++i) {
    if (i > 0) out.push_back(',');
    ThreadToValue(in.threads[i]).AppendTaggedJson(out);
  }
  out += "]}";
  return out;
}

Result<Instance> DecodeSnapshot(std::string_view text, std::string_view key) {
  auto corrupt = [&](const std::string& why) {
    return Status::Corruption("instance snapshot " + std::string(key) + ": " + why);
  };
  auto parsed = Value::FromTaggedJson(text);
  if (!parsed.ok()) return corrupt(parsed.status().message());
  const Value& v = *parsed;
  if (!v.is_record()) return corrupt("not a record");
  Instance in;
  in.id = TextField(v.Find("id"));
  in.workflow = TextField(v.Find("workflow"));
  in.version = static_cast<int>(IntField(v.Find("version")));
  if (in.id.empty() || in.workflow.empty() || in.version <= 0) return corrupt("no id, workflow or version");
  auto status = ParseInstanceStatus(TextField(v.Find("status")));
  if (!status) return corrupt("unknown status");
  in.status = *status;
  in.business_key = TextField(v.Find("business_key"));
  in.correlation_id = TextField(v.Find("correlation_id"));
  in.outcome = TextField(v.Find("outcome"));
  if (const Value* t = v.Find("created_at"); t && t->is_time()) in.created_at = t->as_time();
  if (const Value* t = v.Find("updated_at"); t && t->is_time()) in.updated_at = t->as_time();
  if (const Value* d = v.Find("data"); d && d->is_record()) in.data.Assign(d->as_record());
  if (const Value* ts = v.Find("threads"); ts && ts->is_list())
    for (const auto& t : ts->as_list()) {
      auto thread = ThreadFromValue(t);
      if (!thread.ok()) return corrupt(thread.status().message());
      in.threads.push_back(std::move(*thread));
    }
  if (const Value* us = v.Find("undo"); us && us->is_list())
    for (const auto& u : us->as_list()) {
      UndoEntry e;
      e.step = TextField(u.Find("step"));
      e.connector = TextField(u.Find("connector"));
      e.operation = TextField(u.Find("operation"));
      e.key = TextField(u.Find("idempotency_key"));
      if (const Value* i = u.Find("input")) e.input = *i;
      in.undo.push_back(std::move(e));
    }
  if (const Value* e = v.Find("error"); e && e->is_record()) in.error = e->as_record();
  if (const Value* vi = v.Find("visits"); vi && vi->is_record()) in.visits = vi->as_record();
  in.hist_seq = IntField(v.Find("hist_seq"));
  in.next_thread = IntField(v.Find("next_thread"), 1);
  in.next_timer = IntField(v.Find("next_timer"), 1);
  if (const Value* c = v.Find("compensation"); c && c->is_record()) {
    in.compensating = true;
    in.cancel_requested = FlagField(c->Find("cancel"));
    in.unhandled_error = FlagField(c->Find("unhandled_error"));
    in.undone = IntField(c->Find("undone"));
    in.comp_attempt = static_cast<int>(IntField(c->Find("attempt")));
    in.comp_invocation = TextField(c->Find("invocation"));
    in.comp_timer = TextField(c->Find("timer"));
  }
  return in;
}

}  // namespace rf::engine
