#include "testing/src/path.h"

#include <functional>
#include <map>

#include "common/time_text.h"

namespace rf::testing {
namespace {

std::string Text(const Value& v, std::string_view f) {
  const Value* x = v.Find(f);
  if (x == nullptr) return {};
  return x->is_text() ? x->as_text() : x->ToDisplayString();
}

std::string Edge(const std::string& a, const std::string& b) { return a + " -> " + b; }

// Every transition out of `s` (targets only; an empty target ends a region and is not counted).
std::vector<std::string> Targets(const ir::State& s) {
  std::vector<std::string> out;
  auto add = [&](const std::string& t) {
    if (!t.empty() && std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
  };
  using SK = ir::State::Kind;
  switch (s.kind) {
    case SK::kStep:
      add(s.next);
      for (const auto& e : s.on_error) add(e.target);
      break;
    case SK::kDecide:
      for (const auto& [_, t] : s.when) add(t);
      add(s.otherwise);
      break;
    case SK::kWait:
      add(s.next);
      add(s.on_timeout);
      break;
    case SK::kApproval:
      add(s.on_approve);
      add(s.on_reject);
      add(s.escalate_to);
      break;
    case SK::kParallel:
    case SK::kForEach:
    case SK::kSet: add(s.next); break;
    case SK::kFinish:
    case SK::kFail: break;
  }
  return out;
}

void EachRegion(const ir::Region& r, const std::function<void(const ir::Region&)>& f) {
  f(r);
  for (const auto& s : r.states) {
    for (const auto& [_, b] : s.branches) EachRegion(*b, f);
    if (s.body) EachRegion(*s.body, f);
  }
}

const ir::Region* RegionOf(const ir::Region& top, const std::string& state) {
  const ir::Region* found = nullptr;
  EachRegion(top, [&](const ir::Region& r) {
    if (found == nullptr && r.Find(state) != nullptr) found = &r;
  });
  return found;
}

}  // namespace

const ir::State* FindState(const ir::Region& r, const std::string& name) {
  const ir::Region* reg = RegionOf(r, name);
  return reg ? reg->Find(name) : nullptr;
}

Visits AllOf(const ir::Machine& flow) {
  Visits v;
  EachRegion(flow.main, [&](const ir::Region& r) {
    for (const auto& s : r.states) {
      v.states.insert(s.name);
      for (const auto& t : Targets(s)) v.transitions.insert(Edge(s.name, t));
      if (s.kind == ir::State::Kind::kStep && s.undo) v.undos.insert(s.name);
    }
  });
  return v;
}

Path PathOf(const ir::Machine& flow, const std::vector<Value>& history, const Value& instance) {
  Path p;
  std::map<std::int64_t, std::vector<std::string>> per_thread;
  std::int64_t last_thread = 0;
  std::vector<std::string> started;  // for-each and parallel states whose regions ran
  std::vector<std::pair<std::int64_t, size_t>> entries;  // (thread, index in its sequence), in order
  auto enter = [&](std::int64_t th, const std::string& st) {
    auto& seq = per_thread[th];
    if (!seq.empty() && seq.back() == st) return;
    seq.push_back(st);
    entries.emplace_back(th, seq.size() - 1);
  };
  std::map<std::pair<std::int64_t, size_t>, std::vector<std::string>> before;  // inferred set states
  std::map<std::string, std::vector<std::string>> region_sets;                  // after a for-each/parallel
  for (const auto& e : history) {
    std::string type = Text(e, "type");
    if (type == "undo_completed") p.undone.push_back(Text(e, "step"));
    const Value* th = e.Find("thread");
    std::string st = Text(e, "state");
    if (th == nullptr || !th->is_number() || st.empty()) continue;
    std::int64_t t = th->as_number().ToInt64().value_or(0);
    last_thread = t;
    enter(t, st);
    if (type == "instance_completed") p.final_state = st;
    if ((type == "for_each_started" && Text(e, "items") != "0") || type == "parallel_started") started.push_back(st);
  }
  if (const Value* err = instance.Find("error"); err != nullptr && Text(*err, "kind") == "fail") {
    p.final_state = Text(*err, "state");
    enter(last_thread, p.final_state);
  }
  // `set` states write no history: a hop from A to B through set states is inferred from the
  // machine (the only way from A to B is through them), and so is a region that starts with one.
  auto through_sets = [&](const ir::Region& reg, const std::string& from, const std::string& to,
                          std::vector<std::string>& via) {
    std::function<bool(const std::string&, int)> walk = [&](const std::string& at, int depth) {
      if (depth > 64) return false;
      const ir::State* s = reg.Find(at);
      if (s == nullptr) return false;
      for (const auto& t : Targets(*s)) {
        if (t == to) return true;
        const ir::State* n = reg.Find(t);
        if (n != nullptr && n->kind == ir::State::Kind::kSet) {
          via.push_back(t);
          if (walk(t, depth + 1)) return true;
          via.pop_back();
        }
      }
      return false;
    };
    return walk(from, 0);
  };
  for (const auto& [th, seq] : per_thread) {
    for (size_t i = 0; i < seq.size(); ++i) {
      p.visits.states.insert(seq[i]);
      if (i == 0) continue;
      const ir::Region* reg = RegionOf(flow.main, seq[i - 1]);
      std::vector<std::string> via;
      if (reg != nullptr && through_sets(*reg, seq[i - 1], seq[i], via) && !via.empty()) {
        std::string prev = seq[i - 1];
        for (const auto& v : via) {
          p.visits.states.insert(v);
          p.visits.transitions.insert(Edge(prev, v));
          prev = v;
        }
        p.visits.transitions.insert(Edge(prev, seq[i]));
        before[{th, i}] = via;
      } else {
        p.visits.transitions.insert(Edge(seq[i - 1], seq[i]));
      }
    }
  }
  for (const auto& st : started) {
    const ir::State* s = FindState(flow.main, st);
    if (s == nullptr) continue;
    std::vector<const ir::Region*> regions;
    if (s->body) regions.push_back(s->body.get());
    for (const auto& [_, b] : s->branches) regions.push_back(b.get());
    for (const ir::Region* r : regions) {
      std::string at = r->start;
      for (int k = 0; k < 64 && !at.empty(); ++k) {
        const ir::State* c = r->Find(at);
        if (c == nullptr || c->kind != ir::State::Kind::kSet) break;
        p.visits.states.insert(at);
        region_sets[st].push_back(at);
        if (!c->next.empty()) p.visits.transitions.insert(Edge(at, c->next));
        at = c->next;
      }
    }
  }
  for (const auto& e : entries) {
    if (auto b = before.find(e); b != before.end()) p.order.insert(p.order.end(), b->second.begin(), b->second.end());
    const std::string& st = per_thread[e.first][e.second];
    p.order.push_back(st);
    if (auto r = region_sets.find(st); r != region_sets.end()) {
      p.order.insert(p.order.end(), r->second.begin(), r->second.end());
      region_sets.erase(r);
    }
  }
  for (const auto& u : p.undone) p.visits.undos.insert(u);
  p.states = p.visits.states;
  return p;
}

std::vector<TraceLine> TraceOf(const std::vector<Value>& history, Time start) {
  std::vector<TraceLine> out;
  for (const auto& e : history) {
    std::string type = Text(e, "type"), st = Text(e, "state");
    const Value* at = e.Find("at");
    Duration d{at != nullptr && at->is_time() ? at->as_time().ms - start.ms : 0};
    std::string line;
    if (type == "instance_started") line = "started" + (Text(e, "business_key").empty() ? "" : " (key " + Text(e, "business_key") + ")");
    else if (type == "step_started") line = st + ": call";
    else if (type == "step_completed") line = st + ": answered (attempt " + Text(e, "attempt") + ")";
    else if (type == "attempt_failed") line = st + ": attempt " + Text(e, "attempt") + " failed: " + Text(e, "kind") + (Text(e, "message").empty() ? "" : " \"" + Text(e, "message") + "\"");
    else if (type == "error_handled") line = st + ": " + Text(e, "kind") + ", go to " + Text(e, "to");
    else if (type == "decided") line = st + ": go to " + Text(e, "to");
    else if (type == "waiting") line = st + ": waits until " + Text(e, "until");
    else if (type == "wait_finished") line = st + ": wait over";
    else if (type == "waiting_for_event") line = st + ": waits for event " + Text(e, "event") + " with key " + Text(e, "key");
    else if (type == "event_received") line = st + ": event " + Text(e, "event") + " received";
    else if (type == "event_timed_out") line = st + ": event " + Text(e, "event") + " did not come in time";
    else if (type == "task_created") line = st + ": asks a " + Text(e, "role");
    else if (type == "task_completed") line = st + ": " + (Text(e, "decision") == "approve" ? "approved" : "rejected") + " by " + Text(e, "actor") + (Text(e, "comment").empty() ? "" : " \"" + Text(e, "comment") + "\"");
    else if (type == "approval_escalated") line = st + ": nobody decided in time, escalated to " + Text(e, "to");
    else if (type == "for_each_started") line = st + ": for each of " + Text(e, "items") + " items";
    else if (type == "for_each_finished") line = st + ": all items done";
    else if (type == "parallel_started") line = st + ": branches start";
    else if (type == "parallel_joined") line = st + ": branches joined";
    else if (type == "compensation_started") line = "failing (" + Text(e, "kind") + "): " + Text(e, "message") + "; undo " + Text(e, "undo_actions") + " step(s)";
    else if (type == "undo_started") line = "undo " + Text(e, "step") + " (attempt " + Text(e, "attempt") + ")";
    else if (type == "undo_completed") line = "undo " + Text(e, "step") + " done" + (Text(e, "nothing_to_undo") == "true" ? " (nothing to undo)" : "");
    else if (type == "undo_failed") line = "undo " + Text(e, "step") + " failed";
    else if (type == "compensation_failed") line = "undo " + Text(e, "step") + " gave up: an operator must act";
    else if (type == "instance_completed") line = "completed in " + st + ": " + Text(e, "outcome");
    else if (type.rfind("instance_", 0) == 0) line = type.substr(9) + ": " + Text(e, "outcome");
    else line = type + (st.empty() ? "" : " " + st);
    out.push_back(TraceLine{d, line});
  }
  return out;
}

}  // namespace rf::testing
