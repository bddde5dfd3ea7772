#include "instance_view.h"

#include "snapshot_codec.h"

namespace rf::engine {

namespace {
Value ThreadView(const Thread& t) {
  Record r;
  r["id"] = Value(t.id);
  r["parent"] = Value(t.parent);
  r["path"] = PathToValue(t);
  r["state"] = Value(t.state);
  r["phase"] = Value(std::string(Name(t.phase)));
  r["visit"] = Value(t.visit);
  r["attempt"] = Value(std::int64_t{t.attempt});
  if (!t.task_id.empty()) r["task"] = Value(t.task_id);
  if (!t.sub_event.empty()) {
    r["event"] = Value(t.sub_event);
    r["event_key"] = Value(t.sub_value);
  }
  if (t.has_frame) r["frame"] = Value(t.frame);
  if (!t.items.empty()) {
    r["items"] = Value(static_cast<std::int64_t>(t.items.size()));
    r["next_item"] = Value(t.next_item);
    r["running"] = Value(t.running);
  }
  return Value(std::move(r));
}
}  // namespace

Value InstanceView(const Instance& in) {
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
  r["data"] = Value(in.data.record());
  List threads;
  for (const auto& t : in.threads) threads.push_back(ThreadView(t));
  r["threads"] = Value(std::move(threads));
  List undo;
  for (const auto& u : in.undo)
    undo.push_back(Value(Record{{"step", Value(u.step)}, {"connector", Value(u.connector)}, {"operation", Value(u.operation)}}));
  r["undo"] = Value(std::move(undo));
  if (!in.error.empty()) r["error"] = Value(in.error);
  if (in.compensating) {
    Record c;
    c["cancel"] = Value(in.cancel_requested);
    c["undone"] = Value(in.undone);
    c["attempt"] = Value(std::int64_t{in.comp_attempt});
    r["compensation"] = Value(std::move(c));
  }
  return Value(std::move(r));
}

}  // namespace rf::engine
