// The interpreter's entry point, its threads and the state kinds that need no outside answer
// (decide, set, finish, fail, parallel, for each; the waits begin here and end in waits.cc).
#include <algorithm>
#include <functional>
#include <set>

#include "common/time_text.h"
#include "engine/ir/eval.h"
#include "interpretation.h"
#include "state/keys.h"
#include "value_fields.h"

namespace rf::engine {

namespace {

// Every name a flow can save, so expressions see null (not "unknown name") before it is set.
void CollectSavedNames(const ir::Region& r, std::set<std::string>& out) {
  using K = ir::State::Kind;
  for (const auto& s : r.states) {
    if (!s.save_as.empty()) out.insert(s.save_as);
    if (!s.save_event_as.empty()) out.insert(s.save_event_as);
    if (s.kind == K::kApproval) out.insert(s.save_decision_as.empty() ? s.name : s.save_decision_as);
    for (const auto& [n, _] : s.assignments) out.insert(n);
    if (s.kind == K::kForEach) out.insert(s.name);
    for (const auto& [_, b] : s.branches)
      if (b) CollectSavedNames(*b, out);
    if (s.body) CollectSavedNames(*s.body, out);
  }
}


}  // namespace

Instance NewInstance(std::shared_ptr<const ir::Machine> machine, NewInstanceRequest req, Time now) {
  Instance in;
  in.id = std::move(req.id);
  in.workflow = machine->name;
  in.version = machine->version;
  in.business_key = std::move(req.business_key);
  in.correlation_id = req.correlation_id.empty() ? in.id : std::move(req.correlation_id);
  in.created_at = now;
  std::set<std::string> names;
  CollectSavedNames(machine->main, names);
  for (const auto& n : names) in.data.Set(n, Value());
  in.data.Set("input", Value(std::move(req.input)));
  Record inst;
  inst["id"] = Value(in.id);
  inst["business_key"] = Value(in.business_key);
  inst["workflow"] = Value(machine->name);
  inst["version"] = Value(std::int64_t{machine->version});
  inst["started_at"] = Value(now);
  in.data.Set("instance", Value(std::move(inst)));
  in.data.Set("last_error", Value());
  Thread t;
  t.id = 0;
  t.state = machine->main.start;
  in.threads.push_back(std::move(t));
  in.machine = std::move(machine);
  return in;
}

Result<Record> CheckInput(const ir::Machine& machine, const Value& given) {
  if (!given.is_record() && !given.is_null()) return Status::InvalidArgument("input must be a JSON object");
  Record input = given.is_record() ? given.as_record() : Record{};
  for (const auto& f : machine.inputs) {
    auto it = input.find(f.name);
    if (it == input.end() || it->second.is_null()) {
      if (!f.optional) return Status::InvalidArgument("input `" + f.name + "` (" + f.type + ") is required");
      input[f.name] = Value();
      continue;
    }
    Value& v = it->second;
    bool ok = true;
    if (f.type == "text") ok = v.is_text();
    else if (f.type == "number" || f.type == "money") ok = v.is_number();
    else if (f.type == "bool") ok = v.is_bool();
    else if (f.type == "list") ok = v.is_list();
    else if (f.type == "record") ok = v.is_record();
    else if (f.type == "time") {
      if (v.is_text()) {
        auto t = ParseTime(v.as_text());
        ok = t.has_value();
        if (ok) v = Value(*t);
      } else {
        ok = v.is_time();
      }
    } else if (f.type == "duration") {
      if (v.is_text()) {
        auto d = ParseDuration(v.as_text());
        ok = d.has_value();
        if (ok) v = Value(*d);
      } else {
        ok = v.is_duration();
      }
    }
    if (!ok)
      return Status::InvalidArgument("input `" + f.name + "` must be " + f.type + ", got " + Value::KindName(v.kind()));
  }
  return input;
}

Duration RetryWait(const ir::RetryPolicy& p, int attempt, std::string_view seed) {
  // first_wait × multiplier^(attempt-1), capped; exact decimal math, then whole milliseconds.
  Decimal wait(p.first_wait.ms);
  Decimal mult = Decimal::Parse(p.multiplier).value_or(Decimal(1));
  for (int i = 1; i < attempt && i < 64; ++i) {
    wait = wait * mult;
    if (p.max_wait && wait > Decimal(p.max_wait->ms)) break;
  }
  std::int64_t ms = wait.Round(0).ToInt64().value_or(INT64_MAX / 4);
  if (p.max_wait) ms = std::min(ms, p.max_wait->ms);
  if (p.jitter && ms > 1) {
    // Uniform in [ms/2, ms], from a hash of the step's key and attempt: deterministic per replay.
    std::uint64_t h = std::hash<std::string_view>{}(seed) ^ (0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(attempt));
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    std::int64_t lo = ms / 2;
    ms = lo + static_cast<std::int64_t>(h % static_cast<std::uint64_t>(ms - lo + 1));
  }
  return Duration{ms};
}

Result<Transition> Interpret(Instance& in, const Stimulus& s, Time now, const InterpreterOptions& options,
                             EventSource& events) {
  // Refusable stimuli check every precondition before they change anything, so a refusal
  // leaves the instance as it was.
  Interpretation run(in, now, options, events);
  Status status = run.Apply(s);
  if (!status.ok()) return status;
  return std::move(run.transition());
}

Status Interpretation::Apply(const Stimulus& s) {
  return std::visit(
      [this](const auto& st) -> Status {
        using T = std::decay_t<decltype(st)>;
        if constexpr (std::is_same_v<T, stimulus::Started>) {
          Record ev;
          ev["workflow"] = Value(in_.workflow);
          ev["version"] = Value(std::int64_t{in_.version});
          ev["business_key"] = Value(in_.business_key);
          Hist("instance_started", 0, std::move(ev));
          RunThreads({0});
        } else if constexpr (std::is_same_v<T, stimulus::CallAnswered>) {
          CallAnswered(st);
        } else if constexpr (std::is_same_v<T, stimulus::TimerFired>) {
          TimerFired(st.timer_key);
        } else if constexpr (std::is_same_v<T, stimulus::EventDelivered>) {
          EventDelivered(st);
        } else if constexpr (std::is_same_v<T, stimulus::TaskDecided>) {
          return TaskDecided(st);
        } else if constexpr (std::is_same_v<T, stimulus::CancelRequested>) {
          return Cancel(st.reason);
        } else if constexpr (std::is_same_v<T, stimulus::RepairRequested>) {
          return Repair(st);
        }
        return Status::Ok();
      },
      s);
}

// ------------------------------------------------------------------------------ threads

void Interpretation::Hist(const std::string& type, std::int64_t thread, Record fields) {
  fields["type"] = Value(type);
  fields["at"] = Value(now_);
  fields["seq"] = Value(++in_.hist_seq);
  if (thread >= 0) fields["thread"] = Value(thread);
  tx_.history.push_back(std::move(fields));
}

void Interpretation::GoTo(Thread& t, const std::string& target) {
  if (target.empty()) {
    RegionDone(t);
    return;
  }
  t.state = target;
  t.phase = P::kReady;
  t.attempt = 0;
  ready_.push_back(t.id);
}

// Advances every ready thread until it blocks; `start` lists threads to begin with.
void Interpretation::RunThreads(std::vector<std::int64_t> start) {
  for (auto id : start) ready_.push_back(id);
  int guard = 0;
  while (!ready_.empty()) {
    std::int64_t id = ready_.front();
    ready_.pop_front();
    Thread* t = in_.FindThread(id);
    if (t == nullptr || t->phase != P::kReady || in_.compensating) continue;
    if (++guard > 100000) {
      FailInstance("internal", "the flow looped more than 100000 times without waiting", t->state);
      break;
    }
    Enter(*t);
  }
  ready_.clear();
  UpdateStatus();
}

void Interpretation::UpdateStatus() {
  if (IsTerminal(in_.status)) return;
  if (in_.compensating) {
    in_.status = InstanceStatus::kCompensating;
    return;
  }
  bool calling = false, held = false;
  for (const auto& t : in_.threads) {
    if (t.phase == P::kCalling || t.phase == P::kReady || t.phase == P::kRetry) calling = true;
    if (t.phase == P::kHeld) held = true;
  }
  in_.status = calling ? InstanceStatus::kRunning : held ? InstanceStatus::kHeld : InstanceStatus::kWaiting;
}

const ir::State* Interpretation::StateOf(const Thread& t) const {
  const ir::Region* r = &in_.machine->main;
  for (const auto& [state, branch] : t.path) {
    const ir::State* s = r->Find(state);
    if (s == nullptr) return nullptr;
    if (s->kind == K::kForEach) {
      r = s->body.get();
    } else {
      const ir::Region* next = nullptr;
      for (const auto& [name, region] : s->branches)
        if (name == branch) next = region.get();
      r = next;
    }
    if (r == nullptr) return nullptr;
  }
  return r->Find(t.state);
}

std::string Interpretation::StatePath(const Thread& t) {
  std::string p;
  for (const auto& [s, b] : t.path) p += s + "[" + b + "]/";
  return p + t.state;
}

// Evaluation scope: instance data, then the for-each frames from outermost to innermost.
Result<Value> Interpretation::Eval(const Thread& t, const ir::ExprPtr& e) const {
  if (!e) return Value();
  std::vector<const Record*> frames{&in_.data.record()};
  std::vector<const Thread*> chain;
  for (const Thread* c = &t; c != nullptr; c = c->parent >= 0 ? in_.FindThread(c->parent) : nullptr)
    chain.push_back(c);
  for (auto it = chain.rbegin(); it != chain.rend(); ++it)
    if ((*it)->has_frame) frames.push_back(&(*it)->frame);
  ir::Scope scope;
  scope.frames = frames;
  scope.now = now_;
  return ir::Evaluate(e, scope);
}

// Saves into the innermost for-each frame, or the instance data.
void Interpretation::Save(Thread& t, const std::string& name, Value v) {
  for (Thread* c = &t; c != nullptr; c = in_.FindThread(c->parent)) {
    if (c->has_frame) {
      c->frame[name] = std::move(v);
      return;
    }
    if (c->parent < 0) break;
  }
  in_.data.Set(name, std::move(v));
}

// ------------------------------------------------------------------------ the state kinds

void Interpretation::Enter(Thread& t) {
  const ir::State* s = StateOf(t);
  if (s == nullptr) {
    FailInstance("internal", "state " + t.state + " does not exist in this version", t.state);
    return;
  }
  std::string vkey = StatePath(t);
  std::int64_t visit = IntField(in_.visits.count(vkey) ? &in_.visits[vkey] : nullptr) + 1;
  in_.visits[vkey] = Value(visit);
  t.visit = visit;
  switch (s->kind) {
    case K::kStep:
      t.attempt = 0;
      t.idem_key = in_.id + ":" + vkey + ":" + std::to_string(visit);
      Hist("step_started", t.id, Record{{"state", Value(s->name)}, {"visit", Value(visit)}});
      DispatchStep(t, *s);
      return;
    case K::kDecide: {
      for (const auto& [cond, target] : s->when) {
        auto v = Eval(t, cond);
        if (!v.ok()) {
          FailInstance("internal", "decide " + s->name + ": " + v.status().message(), t.state);
          return;
        }
        if (v->is_bool() && v->as_bool()) {
          Hist("decided", t.id, Record{{"state", Value(s->name)}, {"to", Value(target)}});
          GoTo(t, target);
          return;
        }
        if (!v->is_bool()) {
          FailInstance("internal", "decide " + s->name + ": condition " + ir::ExprToText(cond) + " is not true or false",
                       t.state);
          return;
        }
      }
      Hist("decided", t.id, Record{{"state", Value(s->name)}, {"to", Value(s->otherwise)}});
      GoTo(t, s->otherwise);
      return;
    }
    case K::kSet:
      for (const auto& [name, expr] : s->assignments) {
        auto v = Eval(t, expr);
        if (!v.ok()) {
          FailInstance("internal", "set " + s->name + ": " + v.status().message(), t.state);
          return;
        }
        Save(t, name, std::move(*v));
      }
      GoTo(t, s->next);
      return;
    case K::kWait:
      EnterWait(t, *s);
      return;
    case K::kApproval:
      EnterApproval(t, *s);
      return;
    case K::kParallel:
      EnterParallel(t, *s);
      return;
    case K::kForEach:
      EnterForEach(t, *s);
      return;
    case K::kFinish: {
      if (t.parent >= 0) {
        RegionDone(t);
        return;
      }
      auto msg = Eval(t, s->message);
      in_.outcome = msg.ok() ? msg->ToDisplayString() : std::string();
      in_.status = InstanceStatus::kCompleted;
      t.phase = P::kDone;
      Hist("instance_completed", t.id, Record{{"state", Value(s->name)}, {"outcome", Value(in_.outcome)}});
      return;
    }
    case K::kFail: {
      auto msg = Eval(t, s->message);
      FailInstance("fail", msg.ok() ? msg->ToDisplayString() : s->name, s->name);
      return;
    }
  }
}

void Interpretation::EnterParallel(Thread& t, const ir::State& s) {
  t.phase = P::kJoining;
  t.children_left = static_cast<std::int64_t>(s.branches.size());
  const std::int64_t parent_id = t.id;
  const auto parent_path = t.path;
  Hist("parallel_started", parent_id, Record{{"state", Value(s.name)}});
  for (const auto& [bname, region] : s.branches) {
    Thread c;
    c.id = in_.next_thread++;
    c.parent = parent_id;
    c.path = parent_path;
    c.path.emplace_back(s.name, bname);
    c.state = region->start;
    in_.threads.push_back(std::move(c));  // `t` may dangle from here on
    ready_.push_back(in_.threads.back().id);
  }
}

void Interpretation::EnterForEach(Thread& t, const ir::State& s) {
  auto list = Eval(t, s.list);
  if (!list.ok() || !(list->is_list() || list->is_null())) {
    FailInstance("internal", "for each " + s.name + ": " + (list.ok() ? std::string("not a list") : list.status().message()),
                 t.state);
    return;
  }
  t.items = list->is_list() ? list->as_list() : List{};
  t.results.assign(t.items.size(), Value());
  t.next_item = 0;
  t.running = 0;
  t.phase = P::kJoining;
  Hist("for_each_started", t.id, Record{{"state", Value(s.name)}, {"items", Value(static_cast<std::int64_t>(t.items.size()))}});
  if (t.items.empty()) {
    Save(t, s.name, Value(List{}));
    GoTo(t, s.next);
    return;
  }
  SpawnItems(t.id, s);
}

void Interpretation::SpawnItems(std::int64_t parent_id, const ir::State& s) {
  Thread* p = in_.FindThread(parent_id);
  if (p == nullptr) return;
  while (p->next_item < static_cast<std::int64_t>(p->items.size()) && p->running < std::max(1, s.concurrency)) {
    std::int64_t index = p->next_item++;
    ++p->running;
    Thread c;
    c.id = in_.next_thread++;
    c.parent = p->id;
    c.path = p->path;
    c.path.emplace_back(s.name, "#" + std::to_string(index));
    c.state = s.body->start;
    c.has_frame = true;
    c.frame[s.item] = p->items[static_cast<size_t>(index)];
    c.frame["item_index"] = Value(index);
    in_.threads.push_back(std::move(c));
    ready_.push_back(in_.threads.back().id);
    p = in_.FindThread(parent_id);  // the vector may have grown
    if (p == nullptr) return;
  }
}

// A thread ran off the end of its (nested) region.
void Interpretation::RegionDone(Thread& t) {
  if (t.parent < 0) {
    FailInstance("internal", "the flow ran off its end", t.state);
    return;
  }
  t.phase = P::kDone;
  std::int64_t parent_id = t.parent;
  Thread* p = in_.FindThread(parent_id);
  if (p == nullptr) return;
  const ir::State* ps = StateOf(*p);
  if (ps == nullptr) return;
  if (ps->kind == K::kParallel) {
    if (--p->children_left == 0) {
      RemoveChildren(parent_id);
      p = in_.FindThread(parent_id);
      if (p == nullptr) return;
      Hist("parallel_joined", p->id, Record{{"state", Value(ps->name)}});
      GoTo(*p, ps->next);
    }
    return;
  }
  // for each: keep what the round saved (without the item itself).
  const std::string& branch = t.path.back().second;
  auto index = static_cast<size_t>(std::stoll(branch.substr(1)));
  Record result = t.frame;
  result.erase(ps->item);
  result.erase("item_index");
  p->results[index] = Value(std::move(result));
  --p->running;
  std::int64_t child_id = t.id;
  std::erase_if(in_.threads, [&](const Thread& x) { return x.id == child_id; });
  p = in_.FindThread(parent_id);
  if (p == nullptr) return;
  if (p->next_item < static_cast<std::int64_t>(p->items.size())) {
    SpawnItems(parent_id, *ps);
    return;
  }
  if (p->running == 0) {
    Value results(std::move(p->results));
    p->items.clear();
    p->results.clear();
    p->next_item = 0;
    Save(*p, ps->name, std::move(results));
    Hist("for_each_finished", p->id, Record{{"state", Value(ps->name)}});
    GoTo(*p, ps->next);
  }
}

void Interpretation::RemoveChildren(std::int64_t parent_id) {
  std::set<std::int64_t> doomed;
  bool grew = true;
  while (grew) {
    grew = false;
    for (const auto& th : in_.threads)
      if ((th.parent == parent_id || doomed.count(th.parent)) && doomed.insert(th.id).second) grew = true;
  }
  std::erase_if(in_.threads, [&](const Thread& x) { return doomed.count(x.id) != 0; });
}

}  // namespace rf::engine
