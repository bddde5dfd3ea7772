// The durable engine. See engine.h for the contract and state/FORMAT.md for the key layout.
//
// Shape of the code: every stimulus (start, call result, timer, event, task decision, cancel)
// is handled on the strand against a resident Instance. Handling advances the instance's threads
// until each blocks, collecting one Tx: the writes (snapshot, history, timers, tasks,
// subscriptions, outbox) and the invocations to dispatch. The Tx is committed through the group
// committer; only when it is durable are invocations dispatched and callers answered. While an
// instance has a commit in flight, further stimuli for it queue behind it.
#include "engine/engine.h"

#include <algorithm>
#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <queue>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>

#include "common/cron.h"
#include "common/time_text.h"
#include "engine/ir/eval.h"
#include "state/group_commit.h"

namespace rf::engine {

const std::vector<std::string>& StatusNames() {
  static const std::vector<std::string> names = {"running",   "waiting",     "held",        "compensating",
                                                 "completed", "compensated", "failed",
                                                 "cancelled", "compensation_failed"};
  return names;
}

bool IsTerminalStatus(const std::string& s) {
  return s == "completed" || s == "compensated" || s == "failed" || s == "cancelled" ||
         s == "compensation_failed";
}

namespace {

using K = ir::State::Kind;
using W = ir::State::WaitKind;

std::string Pad(std::int64_t v, int width) {
  std::string s = std::to_string(v < 0 ? 0 : v);
  if (static_cast<int>(s.size()) < width) s.insert(0, static_cast<size_t>(width) - s.size(), '0');
  return s;
}

std::string InstKey(const std::string& id) { return "inst/" + id; }
std::string HistKey(const std::string& id, std::int64_t seq) { return "hist/" + id + "/" + Pad(seq, 10); }
std::string TimerKey(Time due, const std::string& id, std::int64_t n) {
  return "timer/" + Pad(due.ms, 15) + "/" + id + "/" + Pad(n, 6);
}
std::string OutboxKey(const std::string& id, const std::string& inv) { return "outbox/" + id + "/" + inv; }
std::string TaskKey(const std::string& task) { return "task/" + task; }
std::string TaskOpenKey(const std::string& role, const std::string& task) { return "taskopen/" + role + "/" + task; }
std::string SubKey(const std::string& ev, const std::string& key, const std::string& id, std::int64_t thread) {
  return "sub/" + ev + "/" + key + "/" + id + "/" + Pad(thread, 6);
}
std::string EvbufPrefix(const std::string& ev, const std::string& key) { return "evbuf/" + ev + "/" + key + "/"; }
std::string BkeyKey(const std::string& wf, const std::string& bk) { return "bkey/" + wf + "/" + bk; }
std::string IdxStatusKey(const std::string& st, const std::string& id) { return "idx/status/" + st + "/" + id; }
std::string IdxWorkflowKey(const std::string& wf, const std::string& id) { return "idx/workflow/" + wf + "/" + id; }
std::string DeadKey(const std::string& id) { return "dead/" + id; }
std::string DefKey(const std::string& wf, int v) { return "def/" + wf + "/" + Pad(v, 8); }
std::string SchedKey(const std::string& wf, size_t i) { return "sched/" + wf + "/" + std::to_string(i); }

Value ParseTagged(std::string_view text) {
  auto v = Value::FromTaggedJson(text);
  return v.ok() ? std::move(*v) : Value();
}

std::int64_t Int(const Value* v, std::int64_t fallback = 0) {
  if (v == nullptr || !v->is_number()) return fallback;
  return v->as_number().ToInt64().value_or(fallback);
}
std::string Text(const Value* v) { return v != nullptr && v->is_text() ? v->as_text() : std::string(); }

// ------------------------------------------------------------------------------ instance model

// A position in the machine: a thread runs one region. Thread 0 runs the top region; a parallel
// state spawns one child per branch; a for-each spawns one child per item (at most N at once).
struct Thread {
  std::int64_t id = 0;
  std::int64_t parent = -1;
  // Region path from the top: (state name, branch name or "#<item index>") pairs.
  std::vector<std::pair<std::string, std::string>> path;
  std::string state;
  std::string phase = "ready";  // ready calling retry timer event task joining done cancelled
  std::int64_t visit = 0;
  int attempt = 0;
  std::string invocation;       // in flight
  std::string idem_key;
  std::string timer_key;
  std::string task_id;
  std::string sub_key;
  std::string sub_event, sub_value;
  bool has_frame = false;       // a for-each round: saves go here
  Record frame;
  // for-each parent
  List items;
  std::int64_t next_item = 0, running = 0;
  List results;
  // parallel parent
  std::int64_t children_left = 0;
};

struct UndoEntry {
  std::string step, connector, operation, key;
  Value input;
};

struct Instance {
  std::string id, workflow, business_key, correlation_id, status = "running", outcome;
  int version = 0;
  Time created_at, updated_at;
  Record data;
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

  std::shared_ptr<const ir::Machine> machine;

  Thread* FindThread(std::int64_t tid) {
    for (auto& t : threads)
      if (t.id == tid) return &t;
    return nullptr;
  }
};

Value ThreadToValue(const Thread& t) {
  Record r;
  r["id"] = Value(t.id);
  r["parent"] = Value(t.parent);
  List path;
  for (const auto& [s, b] : t.path) path.push_back(Value(List{Value(s), Value(b)}));
  r["path"] = Value(std::move(path));
  r["state"] = Value(t.state);
  r["phase"] = Value(t.phase);
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

Thread ThreadFromValue(const Value& v) {
  Thread t;
  t.id = Int(v.Find("id"));
  t.parent = Int(v.Find("parent"), -1);
  if (const Value* p = v.Find("path"); p && p->is_list())
    for (const auto& pair : p->as_list())
      if (pair.is_list() && pair.as_list().size() == 2)
        t.path.emplace_back(Text(&pair.as_list()[0]), Text(&pair.as_list()[1]));
  t.state = Text(v.Find("state"));
  t.phase = Text(v.Find("phase"));
  t.visit = Int(v.Find("visit"));
  t.attempt = static_cast<int>(Int(v.Find("attempt")));
  t.invocation = Text(v.Find("invocation"));
  t.idem_key = Text(v.Find("idempotency_key"));
  t.timer_key = Text(v.Find("timer"));
  t.task_id = Text(v.Find("task"));
  t.sub_key = Text(v.Find("subscription"));
  t.sub_event = Text(v.Find("event"));
  t.sub_value = Text(v.Find("event_key"));
  if (const Value* f = v.Find("frame"); f && f->is_record()) {
    t.has_frame = true;
    t.frame = f->as_record();
  }
  if (const Value* i = v.Find("items"); i && i->is_list()) t.items = i->as_list();
  t.next_item = Int(v.Find("next_item"));
  t.running = Int(v.Find("running"));
  if (const Value* r = v.Find("results"); r && r->is_list()) t.results = r->as_list();
  t.children_left = Int(v.Find("children_left"));
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
  r["status"] = Value(in.status);
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

// The snapshot as tagged JSON. The data record (often the largest part) is appended in place,
// never copied into a temporary Value.
std::string SnapshotJson(const Instance& in) {
  std::string out;
  Value::AppendTaggedJson(out, SnapshotHeader(in));
  out.pop_back();  // the header's closing brace
  out += ",\"data\":";
  Value::AppendTaggedJson(out, in.data);
  out += ",\"threads\":[";
  for (size_t i = 0; i < in.threads.size(); ++i) {
    if (i > 0) out.push_back(',');
    ThreadToValue(in.threads[i]).AppendTaggedJson(out);
  }
  out += "]}";
  return out;
}

Instance InstanceFromValue(const Value& v) {
  Instance in;
  in.id = Text(v.Find("id"));
  in.workflow = Text(v.Find("workflow"));
  in.version = static_cast<int>(Int(v.Find("version")));
  in.business_key = Text(v.Find("business_key"));
  in.correlation_id = Text(v.Find("correlation_id"));
  in.status = Text(v.Find("status"));
  in.outcome = Text(v.Find("outcome"));
  if (const Value* t = v.Find("created_at"); t && t->is_time()) in.created_at = t->as_time();
  if (const Value* t = v.Find("updated_at"); t && t->is_time()) in.updated_at = t->as_time();
  if (const Value* d = v.Find("data"); d && d->is_record()) in.data = d->as_record();
  if (const Value* ts = v.Find("threads"); ts && ts->is_list())
    for (const auto& t : ts->as_list()) in.threads.push_back(ThreadFromValue(t));
  if (const Value* us = v.Find("undo"); us && us->is_list())
    for (const auto& u : us->as_list()) {
      UndoEntry e;
      e.step = Text(u.Find("step"));
      e.connector = Text(u.Find("connector"));
      e.operation = Text(u.Find("operation"));
      e.key = Text(u.Find("idempotency_key"));
      if (const Value* i = u.Find("input")) e.input = *i;
      in.undo.push_back(std::move(e));
    }
  if (const Value* e = v.Find("error"); e && e->is_record()) in.error = e->as_record();
  if (const Value* vi = v.Find("visits"); vi && vi->is_record()) in.visits = vi->as_record();
  in.hist_seq = Int(v.Find("hist_seq"));
  in.next_thread = Int(v.Find("next_thread"), 1);
  in.next_timer = Int(v.Find("next_timer"), 1);
  if (const Value* c = v.Find("compensation"); c && c->is_record()) {
    in.compensating = true;
    const Value* cancel = c->Find("cancel");
    in.cancel_requested = cancel && cancel->is_bool() && cancel->as_bool();
    const Value* unh = c->Find("unhandled_error");
    in.unhandled_error = unh && unh->is_bool() && unh->as_bool();
    in.undone = Int(c->Find("undone"));
    in.comp_attempt = static_cast<int>(Int(c->Find("attempt")));
    in.comp_invocation = Text(c->Find("invocation"));
    in.comp_timer = Text(c->Find("timer"));
  }
  return in;
}

// Every name a flow can save, so expressions see null (not "unknown name") before it is set.
void CollectSavedNames(const ir::Region& r, std::set<std::string>& out) {
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

// ------------------------------------------------------------------------------------- Impl

class Engine::Impl : public std::enable_shared_from_this<Engine::Impl> {
 public:
  Impl(boost::asio::io_context& io, state::StateStore* store, const Clock* clock,
       ConnectorRegistry* connectors, EngineOptions options)
      : io_(io),
        strand_(boost::asio::make_strand(io)),
        store_(store),
        clock_(clock),
        connectors_(connectors),
        options_(options),
        committer_(store, options.max_group_bytes) {}

  // -------------------------------------------------------------------------- plumbing

  // A transaction: what one stimulus changes, committed atomically.
  struct Tx {
    state::WriteBatch batch;
    std::vector<Invocation> dispatch;
    std::vector<std::function<void(const Status&)>> after;
    std::vector<std::string> fired_timers;  // to forget once durable
    std::string terminal_status, workflow;  // set when this commit ends the instance
    std::shared_ptr<TransitionInfo> info;   // only with options_.on_transition
  };

  template <typename F>
  void Post(F&& f) {
    ++posted_;
    boost::asio::post(strand_, [self = shared_from_this(), f = std::forward<F>(f)]() mutable {
      f();
      --self->posted_;
    });
  }

  bool Busy() const { return posted_ > 0 || pending_commits_ > 0 || in_flight_ > 0; }

  // ----------------------------------------------------------------------- definitions

  Status LoadDefinitions() {
    std::vector<std::pair<std::string, std::string>> defs;
    Status s = store_->ScanPrefix("def/", [&](std::string_view k, std::string_view v) {
      defs.emplace_back(std::string(k), std::string(v));
      return true;
    });
    if (!s.ok()) return s;
    for (const auto& [k, v] : defs) {
      Value d = ParseTagged(v);
      const Value* m = d.Find("machine");
      if (m == nullptr || !m->is_text()) return Status::Corruption("definition " + k + " has no machine");
      auto machine = ir::MachineFromJson(m->as_text());
      if (!machine.ok()) return Status::Corruption("definition " + k + ": " + machine.status().message());
      AddMachine(std::make_shared<const ir::Machine>(std::move(*machine)), Text(d.Find("source")),
                 d.Find("deployed_at") && d.Find("deployed_at")->is_time() ? d.Find("deployed_at")->as_time() : Time{});
    }
    return store_->ScanPrefix("sched/", [&](std::string_view k, std::string_view v) {
      Value t = ParseTagged(v);
      if (t.is_time()) sched_last_[std::string(k)] = t.as_time();
      return true;
    });
  }

  void AddMachine(std::shared_ptr<const ir::Machine> m, std::string source, Time deployed_at) {
    std::lock_guard lock(defs_mu_);
    auto key = std::make_pair(m->name, m->version);
    latest_[m->name] = std::max(latest_[m->name], m->version);
    deployed_at_[key] = deployed_at;
    sources_[key] = std::move(source);
    machines_[key] = std::move(m);
  }

  std::shared_ptr<const ir::Machine> FindMachine(const std::string& wf, std::optional<int> version) {
    std::lock_guard lock(defs_mu_);
    int v = version.value_or(0);
    if (!version) {
      auto it = latest_.find(wf);
      if (it == latest_.end()) return nullptr;
      v = it->second;
    }
    auto it = machines_.find({wf, v});
    return it == machines_.end() ? nullptr : it->second;
  }

  Result<DeployResult> Deploy(const ir::Machine& machine, const std::string& source) {
    {
      std::lock_guard lock(defs_mu_);
      auto it = sources_.find({machine.name, machine.version});
      if (it != sources_.end()) {
        if (it->second == source) return DeployResult{machine.name, machine.version, false};
        return Status::AlreadyExists("workflow " + machine.name + " version " + std::to_string(machine.version) +
                                     " is already deployed with a different source; raise the version");
      }
    }
    Time now = clock_->Now();
    Record d;
    d["name"] = Value(machine.name);
    d["version"] = Value(std::int64_t{machine.version});
    d["source"] = Value(source);
    std::string json = ir::ToJson(machine, false);
    d["machine"] = Value(json);
    d["deployed_at"] = Value(now);
    state::WriteBatch b;
    b.Put(DefKey(machine.name, machine.version), Value(std::move(d)).ToTaggedJson());
    int latest = machine.version;
    {
      std::lock_guard lock(defs_mu_);
      auto it = latest_.find(machine.name);
      if (it != latest_.end()) latest = std::max(latest, it->second);
    }
    b.Put("deflatest/" + machine.name, std::to_string(latest));
    Status s = store_->Commit(b);
    if (!s.ok()) return s;
    auto reloaded = ir::MachineFromJson(json);
    if (!reloaded.ok()) return reloaded.status();
    AddMachine(std::make_shared<const ir::Machine>(std::move(*reloaded)), source, now);
    return DeployResult{machine.name, machine.version, true};
  }

  // ------------------------------------------------------------------------- recovery

  Status Recover() {
    Status s = LoadDefinitions();
    if (!s.ok()) return s;
    std::vector<std::string> outbox;
    s = store_->ScanPrefix("outbox/", [&](std::string_view, std::string_view v) {
      outbox.emplace_back(v);
      return true;
    });
    if (!s.ok()) return s;
    std::promise<void> done;
    auto fut = done.get_future();
    Post([this, outbox = std::move(outbox), &done] {
      std::vector<Invocation> redispatch;
      state::WriteBatch deadlines;
      for (const auto& text : outbox) {
        Invocation inv = InvocationFromOutbox(text);
        // The instance must be resident to receive the result.
        Instance* in = Load(inv.instance_id);
        if (in == nullptr) continue;
        RecordRedispatch(inv, text, deadlines);
        redispatch.push_back(std::move(inv));
      }
      if (!redispatch.empty()) (void)store_->Commit(deadlines);
      for (const auto& inv : redispatch) Dispatch(inv, Duration{inv.deadline.ms - clock_->Now().ms});
      done.set_value();
    });
    fut.wait();
    ArmTicker();
    return Status::Ok();
  }

  // ------------------------------------------------------------------ resident instances

  struct Resident {
    Instance in;
    bool commit_pending = false;
    std::deque<std::function<void()>> queued;
  };

  Instance* Load(const std::string& id) {
    auto it = resident_.find(id);
    if (it != resident_.end()) return &it->second.in;
    std::string text;
    if (!store_->Get(InstKey(id), &text).ok()) return nullptr;
    Instance in = InstanceFromValue(ParseTagged(text));
    in.machine = FindMachine(in.workflow, in.version);
    if (!in.machine) return nullptr;
    auto& r = resident_[id];
    r.in = std::move(in);
    resident_size_ = resident_.size();
    return &r.in;
  }

  // Runs `f` against the instance now, or after its pending commit lands.
  void WithInstance(const std::string& id, std::function<void(Instance*)> f) {
    Instance* in = Load(id);
    if (in == nullptr) {
      f(nullptr);
      return;
    }
    auto& r = resident_[id];
    if (r.commit_pending) {
      r.queued.push_back([this, id, f = std::move(f)] { WithInstance(id, f); });
      return;
    }
    f(in);
    MaybeEvict(id);
  }

  void MaybeEvict(const std::string& id) {
    auto it = resident_.find(id);
    if (it == resident_.end()) return;
    Resident& r = it->second;
    if (r.commit_pending || !r.queued.empty()) return;
    for (const auto& t : r.in.threads)
      if (!t.invocation.empty()) return;
    if (!r.in.comp_invocation.empty()) return;
    resident_.erase(it);
    resident_size_ = resident_.size();
  }

  // Writes the snapshot and submits the transaction.
  void Persist(Instance* in, Tx tx, const std::string& old_status) {
    in->updated_at = clock_->Now();
    if (IsTerminalStatus(in->status) && !IsTerminalStatus(old_status)) {
      tx.terminal_status = in->status;
      tx.workflow = in->workflow;
    }
    if (in->status != old_status) {
      if (!old_status.empty()) tx.batch.Delete(IdxStatusKey(old_status, in->id));
      tx.batch.Put(IdxStatusKey(in->status, in->id), "");
    }
    tx.batch.Put(InstKey(in->id), SnapshotJson(*in));
    if (options_.on_transition) {
      if (!tx.info) tx.info = std::make_shared<TransitionInfo>();
      tx.info->instance_id = in->id;
      tx.info->workflow = in->workflow;
      tx.info->correlation_id = in->correlation_id.empty() ? in->id : in->correlation_id;
      tx.info->business_key = in->business_key;
      tx.info->old_status = old_status;
      tx.info->status = in->status;
    }
    std::string id = in->id;
    if (stopping_) return;  // shutting down: the store keeps the last durable state
    resident_[id].commit_pending = true;
    ++pending_commits_;
    ++transitions_;
    auto shared_tx = std::make_shared<Tx>(std::move(tx));
    state::WriteBatch batch = std::move(shared_tx->batch);
    auto submitted = shared_tx->info ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
    committer_.Submit(std::move(batch), [weak = weak_from_this(), id, shared_tx, submitted](const Status& s) {
      if (shared_tx->info)
        shared_tx->info->commit_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - submitted).count();
      if (auto self = weak.lock()) self->Post([self, id, shared_tx, s] { self->Committed(id, *shared_tx, s); });
    });
  }

  void Committed(const std::string& id, Tx& tx, const Status& s) {
    --pending_commits_;
    auto it = resident_.find(id);
    if (!s.ok()) {
      // The durable state is behind memory: forget the resident copy; the store is the truth.
      std::deque<std::function<void()>> queued;
      if (it != resident_.end()) {
        queued = std::move(it->second.queued);
        resident_.erase(it);
      }
      for (auto& f : tx.after) f(s);
      for (const auto& k : tx.fired_timers) firing_.erase(k);
      // Calls whose answers this transaction would have recorded are in flight again as far as
      // the store knows: issue them again (same idempotency key), as recovery would.
      RedispatchOutbox(id);
      for (auto& q : queued) q();
      return;
    }
    for (auto& inv : tx.dispatch) Dispatch(inv, Duration{inv.deadline.ms - clock_->Now().ms});
    for (auto& f : tx.after) f(Status::Ok());
    if (tx.info && options_.on_transition) options_.on_transition(*tx.info);
    if (!tx.terminal_status.empty() && options_.on_terminal) options_.on_terminal(id, tx.workflow, tx.terminal_status);
    for (const auto& k : tx.fired_timers) firing_.erase(k);
    if (it != resident_.end()) {
      it->second.commit_pending = false;
      auto queued = std::move(it->second.queued);
      for (auto& q : queued) q();
    }
    MaybeEvict(id);
  }

  // ------------------------------------------------------------------------ invocations

  void Dispatch(const Invocation& inv, Duration timeout) {
    Connector* c = connectors_->Find(inv.connector);
    outstanding_.insert(inv.instance_id + "|" + inv.invocation_id);
    ++in_flight_;
    ++invocations_;
    // Answered calls leave their deadline behind until it is due; when those outnumber the calls
    // in flight, drop them so the heap stays proportional to the work in flight.
    if (deadlines_.size() > 2 * outstanding_.size() + 4096) {
      std::erase_if(deadlines_, [this](const Deadline& d) { return outstanding_.count(d.instance + "|" + d.invocation) == 0; });
      std::make_heap(deadlines_.begin(), deadlines_.end(), std::greater<>());
    }
    deadlines_.push_back({Time{clock_->Now().ms + std::max<std::int64_t>(timeout.ms, 0)}, inv.instance_id, inv.invocation_id});
    std::push_heap(deadlines_.begin(), deadlines_.end(), std::greater<>());
    std::string id = inv.instance_id, inv_id = inv.invocation_id;
    if (c == nullptr) {
      Post([this, id, inv_id, name = inv.connector] {
        CallFinished(id, inv_id, CallResult::Failure("internal", "no connector called " + name + " is configured"));
      });
      return;
    }
    auto once = std::make_shared<std::atomic<bool>>(false);
    c->Invoke(inv, [weak = weak_from_this(), id, inv_id, once](CallResult r) {
      if (once->exchange(true)) return;  // a connector answered twice: the first answer counts
      auto self = weak.lock();
      if (!self) return;
      self->Post([self, id, inv_id, r = std::move(r)]() mutable { self->CallFinished(id, inv_id, std::move(r)); });
    });
  }

  // Re-issues every call of the instance that the store holds in its outbox and that is not
  // already outstanding here.
  void RedispatchOutbox(const std::string& id) {
    std::vector<std::string> entries;
    (void)store_->ScanPrefix("outbox/" + id + "/", [&](std::string_view, std::string_view v) {
      entries.emplace_back(v);
      return true;
    });
    std::vector<Invocation> redispatch;
    state::WriteBatch deadlines;
    for (const auto& text : entries) {
      Invocation inv = InvocationFromOutbox(text);
      if (outstanding_.count(inv.instance_id + "|" + inv.invocation_id) != 0) continue;
      if (Load(inv.instance_id) == nullptr) continue;
      RecordRedispatch(inv, text, deadlines);
      redispatch.push_back(std::move(inv));
    }
    if (!redispatch.empty()) (void)store_->Commit(deadlines);
    for (const auto& inv : redispatch) Dispatch(inv, Duration{inv.deadline.ms - clock_->Now().ms});
  }

  // Before a re-dispatch: the outbox entry takes the new attempt's deadline (committed before the
  // dispatch), so that a process restarted during this attempt hands it on as the previous
  // attempt's deadline. Best effort: a failed write leaves the older (earlier) deadline.
  void RecordRedispatch(const Invocation& inv, const std::string& text, state::WriteBatch& b) {
    b.Put(OutboxKey(inv.instance_id, inv.invocation_id),
          OutboxRecord(inv, Duration{Int(ParseTagged(text).Find("timeout_ms"), options_.default_step_timeout.ms)}));
  }

  Invocation InvocationFromOutbox(const std::string& text) {
    Value v = ParseTagged(text);
    Invocation inv;
    inv.instance_id = Text(v.Find("instance"));
    inv.invocation_id = Text(v.Find("invocation"));
    inv.idempotency_key = Text(v.Find("idempotency_key"));
    inv.correlation_id = Text(v.Find("correlation_id"));
    inv.connector = Text(v.Find("connector"));
    inv.operation = Text(v.Find("operation"));
    if (const Value* i = v.Find("input")) inv.input = *i;
    inv.attempt = static_cast<int>(Int(v.Find("attempt"), 1));
    inv.deadline = Time{clock_->Now().ms + Int(v.Find("timeout_ms"), options_.default_step_timeout.ms)};
    inv.previous_attempt_deadline = Time{Int(v.Find("deadline_ms"), 0)};
    return inv;
  }

  // A call's answer, or its deadline passing. Stale answers (already timed out, or for an
  // attempt that is no longer current) are dropped.
  void CallFinished(const std::string& id, const std::string& inv_id, CallResult r) {
    if (outstanding_.erase(id + "|" + inv_id) == 0) return;  // answered (or timed out) already
    --in_flight_;
    WithInstance(id, [this, inv_id, r = std::move(r)](Instance* in) mutable {
      if (in == nullptr) return;
      OnCallResult(in, inv_id, std::move(r));
    });
  }

  // ------------------------------------------------------------------------ entry points

  void Start(StartRequest req, Callback<StartResult> done) {
    Post([this, req = std::move(req), done = std::move(done)]() mutable { DoStart(std::move(req), std::move(done)); });
  }

  void DoStart(StartRequest req, Callback<StartResult> done) {
    auto machine = FindMachine(req.workflow, req.version);
    if (!machine) {
      done(Status::NotFound("no workflow called " + req.workflow +
                            (req.version ? " version " + std::to_string(*req.version) : std::string()) + " is deployed"));
      return;
    }
    if (!req.input.is_record() && !req.input.is_null()) {
      done(Status::InvalidArgument("input must be a JSON object"));
      return;
    }
    Record input = req.input.is_record() ? req.input.as_record() : Record{};
    // Validate inputs against the declared fields; times and durations given as text are converted.
    for (const auto& f : machine->inputs) {
      auto it = input.find(f.name);
      if (it == input.end() || it->second.is_null()) {
        if (!f.optional) {
          done(Status::InvalidArgument("input `" + f.name + "` (" + f.type + ") is required"));
          return;
        }
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
      if (!ok) {
        done(Status::InvalidArgument("input `" + f.name + "` must be " + f.type + ", got " +
                                     Value::KindName(v.kind())));
        return;
      }
    }
    if (!req.business_key.empty()) {
      std::string bk = BkeyKey(req.workflow, req.business_key);
      auto pending = pending_bkeys_.find(bk);
      std::string existing;
      if (pending != pending_bkeys_.end()) {
        existing = pending->second;
      } else {
        if (!store_->Get(bk, &existing).ok()) existing.clear();
      }
      if (!existing.empty()) {
        // Answer once the original start is durable, so the caller never sees an id that a crash
        // could still take back.
        WithInstance(existing, [this, existing, req, done](Instance* found) mutable {
          if (found == nullptr) {
            // The first start never became durable: this request starts the instance itself.
            DoStart(std::move(req), std::move(done));
            return;
          }
          done(StartResult{existing, false});
        });
        return;
      }
    }
    Instance& in = NewInstance(machine, std::move(input), req);
    Tx tx;
    if (!req.business_key.empty()) {
      std::string bk = BkeyKey(req.workflow, req.business_key);
      tx.batch.Put(bk, in.id);
      pending_bkeys_[bk] = in.id;
      tx.after.push_back([this, bk](const Status&) { pending_bkeys_.erase(bk); });
    }
    tx.batch.Put(IdxWorkflowKey(in.workflow, in.id), "");
    Record ev;
    ev["workflow"] = Value(in.workflow);
    ev["version"] = Value(std::int64_t{in.version});
    ev["business_key"] = Value(in.business_key);
    Hist(in, tx, "instance_started", 0, std::move(ev));
    ++started_;
    std::string id = in.id;
    tx.after.push_back([id, done](const Status& s) {
      if (s.ok()) {
        done(StartResult{id, true});
      } else {
        done(s);
      }
    });
    RunThreads(in, tx, {0});
    Persist(&in, std::move(tx), "");
  }

  Instance& NewInstance(const std::shared_ptr<const ir::Machine>& machine, Record input, const StartRequest& req) {
    Time now = clock_->Now();
    if (now.ms != last_id_ms_) {
      last_id_ms_ = now.ms;
      id_seq_ = 0;
    }
    std::string id;
    do {
      id = Pad(options_.partition, 2) + "-" + Pad(now.ms, 13) + "-" + Pad(++id_seq_, 6);
      std::string ignored;
      if (resident_.count(id) == 0 && !store_->Get(InstKey(id), &ignored).ok()) break;
    } while (true);
    Resident& r = resident_[id];
    resident_size_ = resident_.size();
    Instance& in = r.in;
    in.id = id;
    in.workflow = machine->name;
    in.version = machine->version;
    in.machine = machine;
    in.business_key = req.business_key;
    in.correlation_id = req.correlation_id.empty() ? id : req.correlation_id;
    in.created_at = now;
    std::set<std::string> names;
    CollectSavedNames(machine->main, names);
    for (const auto& n : names) in.data[n] = Value();
    in.data["input"] = Value(std::move(input));
    Record inst;
    inst["id"] = Value(id);
    inst["business_key"] = Value(req.business_key);
    inst["workflow"] = Value(machine->name);
    inst["version"] = Value(std::int64_t{machine->version});
    inst["started_at"] = Value(now);
    in.data["instance"] = Value(std::move(inst));
    in.data["last_error"] = Value();
    Thread t;
    t.id = 0;
    t.state = machine->main.start;
    in.threads.push_back(std::move(t));
    return in;
  }

  void DeliverEvent(std::string event, std::string key, Value data, Callback<int> done) {
    Post([this, event = std::move(event), key = std::move(key), data = std::move(data), done = std::move(done)]() mutable {
      // Waiters: committed subscriptions in the store, and resident ones not yet committed.
      std::set<std::pair<std::string, std::int64_t>> targets;
      std::string prefix = "sub/" + event + "/" + key + "/";
      (void)store_->ScanPrefix(prefix, [&](std::string_view k, std::string_view) {
        std::string rest(k.substr(prefix.size()));
        size_t slash = rest.rfind('/');
        if (slash != std::string::npos) {
          try {
            targets.emplace(rest.substr(0, slash), std::stoll(rest.substr(slash + 1)));
          } catch (...) {
          }
        }
        return true;
      });
      for (auto& [id, r] : resident_)
        for (const auto& t : r.in.threads)
          if (t.phase == "event" && t.sub_event == event && t.sub_value == key) targets.emplace(id, t.id);
      if (targets.empty()) {
        BufferEvent(event, key, std::move(data), std::move(done));
        return;
      }
      auto remaining = std::make_shared<int>(static_cast<int>(targets.size()));
      auto delivered = std::make_shared<int>(0);
      auto failed = std::make_shared<Status>();
      for (const auto& [id, tid] : targets) {
        WithInstance(id, [this, tid = tid, event, key, data, remaining, delivered, failed, done](Instance* in) {
          auto finish = [this, remaining, delivered, failed, done, event, key, data](const Status& s, bool counted) {
            if (!s.ok()) *failed = s;
            if (counted && s.ok()) ++*delivered;
            if (--*remaining == 0) {
              if (!failed->ok()) {
                done(*failed);
              } else if (*delivered == 0) {
                // Every waiter moved on before the event reached it (an earlier event or its
                // timeout was being saved): keep the event for the next wait, never drop it.
                BufferEvent(event, key, data, done);
              } else {
                done(*delivered);
              }
            }
          };
          Thread* t = in ? in->FindThread(tid) : nullptr;
          if (t == nullptr || t->phase != "event" || t->sub_event != event || t->sub_value != key) {
            finish(Status::Ok(), false);
            return;
          }
          Tx tx;
          tx.after.push_back([finish](const Status& s) { finish(s, true); });
          std::string old = in->status;
          EventArrived(*in, *t, data, tx);
          Persist(in, std::move(tx), old);
        });
      }
    });
  }

  void BufferEvent(const std::string& event, const std::string& key, Value data, Callback<int> done) {
    Record buffered;
    buffered["data"] = std::move(data);
    buffered["expires_at"] = Value(Time{clock_->Now().ms + options_.event_buffer_ttl.ms});
    std::string k, ignored;
    do {
      k = EvbufPrefix(event, key) + Pad(clock_->Now().ms, 13) + "-" + Pad(++buffer_seq_, 6);
    } while (pending_buffer_.count(k) != 0 || store_->Get(k, &ignored).ok());
    std::string text = Value(buffered).ToTaggedJson();
    if (stopping_) {
      done(Status::Unavailable("the engine is shutting down"));
      return;
    }
    pending_buffer_[k] = text;
    state::WriteBatch b;
    b.Put(k, text);
    ++pending_commits_;
    committer_.Submit(std::move(b), [weak = weak_from_this(), k, done](const Status& s) {
      auto self = weak.lock();
      if (!self) return;
      self->Post([self, k, s, done] {
        --self->pending_commits_;
        self->pending_buffer_.erase(k);
        if (s.ok()) {
          done(0);
        } else {
          done(s);
        }
      });
    });
  }

  // An event that arrived before anyone waited: the oldest unexpired one, consumed by `tx`.
  std::optional<Value> TakeBufferedEvent(const std::string& event, const std::string& key, Tx& tx) {
    std::string prefix = EvbufPrefix(event, key);
    std::optional<std::pair<std::string, std::string>> found;
    Time now = clock_->Now();
    auto consider = [&](const std::string& k, const std::string& v) {
      if (consumed_buffer_.count(k) != 0) return false;
      Value b = ParseTagged(v);
      const Value* exp = b.Find("expires_at");
      if (exp != nullptr && exp->is_time() && exp->as_time() <= now) {
        tx.batch.Delete(k);  // expired: clean up
        return false;
      }
      found = {k, v};
      return true;
    };
    (void)store_->ScanPrefix(prefix, [&](std::string_view k, std::string_view v) {
      return !consider(std::string(k), std::string(v));
    });
    if (!found) {
      for (auto it = pending_buffer_.lower_bound(prefix); it != pending_buffer_.end() && it->first.rfind(prefix, 0) == 0; ++it)
        if (consider(it->first, it->second)) break;
    }
    if (!found) return std::nullopt;
    tx.batch.Delete(found->first);
    consumed_buffer_.insert(found->first);
    tx.after.push_back([this, k = found->first](const Status&) { consumed_buffer_.erase(k); });
    Value b = ParseTagged(found->second);
    const Value* d = b.Find("data");
    return d ? *d : Value();
  }

  void CompleteTask(TaskDecision d, Callback<bool> done) {
    Post([this, d = std::move(d), done = std::move(done)]() mutable {
      if (d.decision != "approve" && d.decision != "reject") {
        done(Status::InvalidArgument("decision must be \"approve\" or \"reject\""));
        return;
      }
      size_t colon = d.task_id.rfind(':');
      size_t first = d.task_id.find(':');
      if (colon == std::string::npos || first == colon) {
        done(Status::NotFound("no task " + d.task_id));
        return;
      }
      std::string id = d.task_id.substr(0, first);
      WithInstance(id, [this, d, done](Instance* in) {
        if (in == nullptr) {
          done(Status::NotFound("no task " + d.task_id));
          return;
        }
        Thread* t = nullptr;
        for (auto& th : in->threads)
          if (th.task_id == d.task_id && th.phase == "task") t = &th;
        if (t == nullptr) {
          std::string text;
          if (store_->Get(TaskKey(d.task_id), &text).ok()) {
            done(Status::FailedPrecondition("task " + d.task_id + " is already " + Text(ParseTagged(text).Find("status"))));
          } else {
            done(Status::NotFound("no task " + d.task_id));
          }
          return;
        }
        Tx tx;
        tx.after.push_back(AnswerOnCommit(done));
        std::string old = in->status;
        TaskDecided(*in, *t, d, tx);
        Persist(in, std::move(tx), old);
      });
    });
  }

  // Answers `true` once the transaction is durable, or its commit error.
  static std::function<void(const Status&)> AnswerOnCommit(Callback<bool> done) {
    return [done = std::move(done)](const Status& s) {
      if (s.ok()) {
        done(true);
      } else {
        done(s);
      }
    };
  }

  void Cancel(std::string id, std::string reason, Callback<bool> done) {
    Post([this, id = std::move(id), reason = std::move(reason), done = std::move(done)]() mutable {
      WithInstance(id, [this, reason, done](Instance* in) {
        if (in == nullptr) {
          done(Status::NotFound("no instance with that id"));
          return;
        }
        if (IsTerminalStatus(in->status)) {
          done(Status::FailedPrecondition("the instance is already " + in->status));
          return;
        }
        if (in->compensating) {
          done(Status::FailedPrecondition("the instance is already running its undo chain"));
          return;
        }
        Tx tx;
        tx.after.push_back(AnswerOnCommit(done));
        std::string old = in->status;
        in->cancel_requested = true;
        if (old == "held") tx.batch.Delete(DeadKey(in->id));
        Record ev;
        ev["reason"] = Value(reason);
        Hist(*in, tx, "cancel_requested", -1, std::move(ev));
        BeginCompensation(*in, tx, "cancelled", "Cancelled by an operator: " + reason, false);
        Persist(in, std::move(tx), old);
      });
    });
  }

  // ------------------------------------------------------------------------------ timers

  void Tick() {
    Post([this] { DoTick(); });
  }

  void DoTick() {
    Time now = clock_->Now();
    // Invocation deadlines (in memory: a restart re-dispatches with fresh deadlines).
    while (!deadlines_.empty() && deadlines_.front().due <= now) {
      std::pop_heap(deadlines_.begin(), deadlines_.end(), std::greater<>());
      auto d = deadlines_.back();
      deadlines_.pop_back();
      if (outstanding_.count(d.instance + "|" + d.invocation) != 0)
        CallFinished(d.instance, d.invocation, CallResult::Failure("timeout", "no answer before the deadline"));
    }
    // Durable timers due by now.
    std::string end = "timer/" + Pad(now.ms + 1, 15);
    std::vector<std::string> due;
    (void)store_->Scan("timer/", end, [&](std::string_view k, std::string_view) {
      due.emplace_back(k);
      return due.size() < 10000;
    });
    for (const auto& k : due) {
      if (!firing_.insert(k).second) continue;
      // timer/<due>/<id>/<n>
      size_t a = k.find('/', 6);
      size_t b = k.rfind('/');
      std::string id = k.substr(a + 1, b - a - 1);
      WithInstance(id, [this, k](Instance* in) { TimerFired(in, k); });
    }
    FireSchedules(now);
    SweepExpiredEvents(now);
  }

  // Buffered events nobody waited for are deleted once expired, so the buffer does not grow
  // without bound (a POS that sends pickups for orders never started). At most once a minute.
  void SweepExpiredEvents(Time now) {
    if (now.ms < next_event_sweep_.ms) return;
    next_event_sweep_ = Time{now.ms + 60000};
    state::WriteBatch batch;
    size_t n = 0;
    (void)store_->ScanPrefix("evbuf/", [&](std::string_view k, std::string_view v) {
      if (pending_buffer_.count(std::string(k)) != 0) return true;
      Value b = ParseTagged(v);
      const Value* exp = b.Find("expires_at");
      if (exp && exp->is_time() && exp->as_time().ms <= now.ms) {
        batch.Delete(std::string(k));
        ++n;
      }
      return n < 10000;
    });
    if (n == 0) return;
    ++pending_commits_;
    committer_.Submit(std::move(batch), [weak = weak_from_this()](const Status&) {
      if (auto self = weak.lock()) self->Post([self] { --self->pending_commits_; });
    });
  }

  void TimerFired(Instance* in, const std::string& key) {
    Tx tx;
    tx.fired_timers.push_back(key);
    tx.batch.Delete(key);
    if (in == nullptr) {
      // No instance (or no definition): drop the timer.
      if (stopping_) return;
      ++pending_commits_;
      committer_.Submit(tx.batch, [weak = weak_from_this(), key](const Status&) {
        auto self = weak.lock();
        if (!self) return;
        self->Post([self, key] {
          --self->pending_commits_;
          self->firing_.erase(key);
        });
      });
      return;
    }
    std::string old = in->status;
    if (in->comp_timer == key) {
      in->comp_timer.clear();
      CompensateNext(*in, tx);
      Persist(in, std::move(tx), old);
      return;
    }
    Thread* t = nullptr;
    for (auto& th : in->threads)
      if (th.timer_key == key) t = &th;
    if (t == nullptr) {
      Persist(in, std::move(tx), old);  // stale timer: just remove it
      return;
    }
    t->timer_key.clear();
    const ir::State* s = StateOf(*in, *t);
    if (t->phase == "retry") {
      DispatchStep(*in, *t, *s, tx);
    } else if (t->phase == "timer") {
      Hist(*in, tx, "wait_finished", t->id, Record{{"state", Value(t->state)}});
      GoTo(*in, *t, s->next, tx);
    } else if (t->phase == "event") {
      tx.batch.Delete(t->sub_key);
      t->sub_key.clear();
      Hist(*in, tx, "event_timed_out", t->id, Record{{"state", Value(t->state)}, {"event", Value(t->sub_event)}});
      GoTo(*in, *t, s->on_timeout, tx);
    } else if (t->phase == "task") {
      CloseTask(*in, *t, "expired", tx);
      Record decision;
      decision["decision"] = Value("none");
      decision["actor"] = Value();
      decision["comment"] = Value();
      decision["decided_at"] = Value(clock_->Now());
      decision["escalated"] = Value(true);
      Save(*in, *t, s->save_decision_as.empty() ? s->name : s->save_decision_as, Value(std::move(decision)));
      Hist(*in, tx, "approval_escalated", t->id, Record{{"state", Value(t->state)}, {"to", Value(s->escalate_to)}});
      GoTo(*in, *t, s->escalate_to, tx);
    }
    RunThreads(*in, tx, {});
    Persist(in, std::move(tx), old);
  }

  void ArmTicker() {
    if (options_.tick_interval.ms <= 0) return;
    ticker_ = std::make_unique<boost::asio::steady_timer>(strand_);
    ScheduleTick();
  }
  void ScheduleTick() {
    ticker_->expires_after(std::chrono::milliseconds(options_.tick_interval.ms));
    ticker_->async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->stopping_) return;
      self->DoTick();
      self->ScheduleTick();
    });
  }

  // ------------------------------------------------------------------------- schedules

  void FireSchedules(Time now) {
    std::vector<std::shared_ptr<const ir::Machine>> machines;
    {
      std::lock_guard lock(defs_mu_);
      for (const auto& [wf, v] : latest_) {
        auto m = machines_[{wf, v}];
        if (m && !m->schedules.empty()) machines.push_back(m);
      }
    }
    for (const auto& m : machines) {
      for (size_t i = 0; i < m->schedules.size(); ++i) {
        const auto& sc = m->schedules[i];
        auto cron = CronSchedule::Parse(sc.cron, sc.time_zone);
        if (!cron.ok()) continue;
        std::string key = SchedKey(m->name, i);
        Time last;
        auto it = sched_last_.find(key);
        if (it != sched_last_.end()) {
          last = it->second;
        } else {
          std::lock_guard lock(defs_mu_);
          last = deployed_at_[{m->name, m->version}];
        }
        Time slot = cron->NextAfter(last);
        if (slot > now) continue;
        // Catch-up policy: by default only the most recent missed slot fires.
        std::vector<Time> slots = {slot};
        for (int guard = 0; guard < 100000; ++guard) {
          Time n = cron->NextAfter(slots.back());
          if (n > now) break;
          if (options_.schedule_catch_up_all) {
            slots.push_back(n);
          } else {
            slots.back() = n;
          }
        }
        for (Time s : slots) {
          StartRequest req;
          req.workflow = m->name;
          req.version = m->version;
          Record input;
          ir::Scope scope;
          scope.now = now;
          for (const auto& [name, expr] : sc.input) {
            auto v = ir::Evaluate(expr, scope);
            input[name] = v.ok() ? *v : Value();
          }
          req.input = Value(std::move(input));
          req.business_key = "schedule-" + std::to_string(i) + "-" + FormatTime(s);
          std::string text = Value(s).ToTaggedJson();
          // The slot counts as fired only once its start is durable; a failed start is tried
          // again on the next tick (the business key keeps it to one instance per slot).
          DoStart(std::move(req), [this, key, text, s](Result<StartResult> r) {
            if (!r.ok()) return;
            auto it = sched_last_.find(key);
            if (it != sched_last_.end() && it->second >= s) return;
            sched_last_[key] = s;
            state::WriteBatch b;
            b.Put(key, text);
            (void)store_->Commit(b);
          });
        }
      }
    }
  }

  // ------------------------------------------------------------------------ the machine

  const ir::Region* RegionOf(const Instance& in, const Thread& t) const {
    const ir::Region* r = &in.machine->main;
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
    return r;
  }

  const ir::State* StateOf(const Instance& in, const Thread& t) const {
    const ir::Region* r = RegionOf(in, t);
    return r ? r->Find(t.state) : nullptr;
  }

  std::string StatePath(const Thread& t) const {
    std::string p;
    for (const auto& [s, b] : t.path) p += s + "[" + b + "]/";
    return p + t.state;
  }

  // Evaluation scope: instance data, then the for-each frames from outermost to innermost.
  ir::Scope ScopeFor(const Instance& in, const Thread& t, std::vector<const Record*>& frames) const {
    frames.clear();
    frames.push_back(&in.data);
    std::vector<const Thread*> chain;
    for (const Thread* c = &t; c != nullptr;) {
      chain.push_back(c);
      const Thread* parent = nullptr;
      for (const auto& th : in.threads)
        if (th.id == c->parent) parent = &th;
      c = parent;
    }
    for (auto it = chain.rbegin(); it != chain.rend(); ++it)
      if ((*it)->has_frame) frames.push_back(&(*it)->frame);
    ir::Scope scope;
    scope.frames = frames;
    scope.now = clock_->Now();
    return scope;
  }

  Result<Value> Eval(const Instance& in, const Thread& t, const ir::ExprPtr& e) const {
    if (!e) return Value();
    std::vector<const Record*> frames;
    ir::Scope scope = ScopeFor(in, t, frames);
    return ir::Evaluate(e, scope);
  }

  // Saves into the innermost for-each frame, or the instance data.
  void Save(Instance& in, Thread& t, const std::string& name, Value v) {
    for (Thread* c = &t; c != nullptr; c = in.FindThread(c->parent)) {
      if (c->has_frame) {
        c->frame[name] = std::move(v);
        return;
      }
      if (c->parent < 0) break;
    }
    in.data[name] = std::move(v);
  }

  void Hist(Instance& in, Tx& tx, const std::string& type, std::int64_t thread, Record fields) {
    fields["type"] = Value(type);
    fields["at"] = Value(clock_->Now());
    fields["seq"] = Value(++in.hist_seq);
    if (thread >= 0) fields["thread"] = Value(thread);
    if (options_.on_transition) {
      if (!tx.info) tx.info = std::make_shared<TransitionInfo>();
      const Value* st = fields.count("state") ? &fields["state"] : nullptr;
      tx.info->events.emplace_back(type, st && st->is_text() ? st->as_text() : std::string());
    }
    tx.batch.Put(HistKey(in.id, in.hist_seq), Value(std::move(fields)).ToTaggedJson());
  }

  void GoTo(Instance& in, Thread& t, const std::string& target, Tx& tx) {
    if (target.empty()) {
      RegionDone(in, t, tx);
      return;
    }
    t.state = target;
    t.phase = "ready";
    t.attempt = 0;
    ready_queue_.push_back(t.id);
  }

  // Advances every ready thread until it blocks; `start` lists threads to begin with.
  void RunThreads(Instance& in, Tx& tx, std::vector<std::int64_t> start) {
    for (auto id : start) ready_queue_.push_back(id);
    int guard = 0;
    while (!ready_queue_.empty()) {
      std::int64_t id = ready_queue_.front();
      ready_queue_.pop_front();
      Thread* t = in.FindThread(id);
      if (t == nullptr || t->phase != "ready" || in.compensating) continue;
      if (++guard > 100000) {
        FailInstance(in, tx, "internal", "the flow looped more than 100000 times without waiting", t->state);
        break;
      }
      Enter(in, *t, tx);
    }
    ready_queue_.clear();
    UpdateStatus(in);
  }

  void UpdateStatus(Instance& in) {
    if (IsTerminalStatus(in.status)) return;
    if (in.compensating) {
      in.status = "compensating";
      return;
    }
    bool calling = false, held = false;
    for (const auto& t : in.threads) {
      if (t.phase == "calling" || t.phase == "ready" || t.phase == "retry") calling = true;
      if (t.phase == "held") held = true;
    }
    in.status = calling ? "running" : held ? "held" : "waiting";
  }

  void FailThread(Instance& in, Thread& t, const std::string& kind, const std::string& message, Tx& tx) {
    FailInstance(in, tx, kind, message, t.state);
  }

  void Enter(Instance& in, Thread& t, Tx& tx) {
    const ir::State* s = StateOf(in, t);
    if (s == nullptr) {
      FailThread(in, t, "internal", "state " + t.state + " does not exist in this version", tx);
      return;
    }
    std::string vkey = StatePath(t);
    std::int64_t visit = Int(in.visits.count(vkey) ? &in.visits[vkey] : nullptr) + 1;
    in.visits[vkey] = Value(visit);
    t.visit = visit;
    switch (s->kind) {
      case K::kStep: {
        t.attempt = 0;
        t.idem_key = in.id + ":" + vkey + ":" + std::to_string(visit);
        Hist(in, tx, "step_started", t.id, Record{{"state", Value(s->name)}, {"visit", Value(visit)}});
        DispatchStep(in, t, *s, tx);
        return;
      }
      case K::kDecide: {
        for (const auto& [cond, target] : s->when) {
          auto v = Eval(in, t, cond);
          if (!v.ok()) {
            FailThread(in, t, "internal", "decide " + s->name + ": " + v.status().message(), tx);
            return;
          }
          if (v->is_bool() && v->as_bool()) {
            Hist(in, tx, "decided", t.id, Record{{"state", Value(s->name)}, {"to", Value(target)}});
            GoTo(in, t, target, tx);
            return;
          }
          if (!v->is_bool()) {
            FailThread(in, t, "internal", "decide " + s->name + ": condition " + ir::ExprToText(cond) + " is not true or false", tx);
            return;
          }
        }
        Hist(in, tx, "decided", t.id, Record{{"state", Value(s->name)}, {"to", Value(s->otherwise)}});
        GoTo(in, t, s->otherwise, tx);
        return;
      }
      case K::kSet: {
        for (const auto& [name, expr] : s->assignments) {
          auto v = Eval(in, t, expr);
          if (!v.ok()) {
            FailThread(in, t, "internal", "set " + s->name + ": " + v.status().message(), tx);
            return;
          }
          Save(in, t, name, std::move(*v));
        }
        GoTo(in, t, s->next, tx);
        return;
      }
      case K::kWait: {
        if (s->wait_kind == W::kEvent) {
          auto key = Eval(in, t, s->key_value);
          if (!key.ok()) {
            FailThread(in, t, "internal", "wait " + s->name + ": " + key.status().message(), tx);
            return;
          }
          std::string k = key->ToDisplayString();
          if (auto buffered = TakeBufferedEvent(s->event, k, tx)) {
            Hist(in, tx, "event_received", t.id, Record{{"state", Value(s->name)}, {"event", Value(s->event)}, {"key", Value(k)}, {"buffered", Value(true)}});
            if (!s->save_event_as.empty()) Save(in, t, s->save_event_as, std::move(*buffered));
            GoTo(in, t, s->next, tx);
            return;
          }
          t.phase = "event";
          t.sub_event = s->event;
          t.sub_value = k;
          t.sub_key = SubKey(s->event, k, in.id, t.id);
          tx.batch.Put(t.sub_key, "");
          if (s->within) AddTimer(in, t, Time{clock_->Now().ms + s->within->ms}, tx);
          Hist(in, tx, "waiting_for_event", t.id, Record{{"state", Value(s->name)}, {"event", Value(s->event)}, {"key", Value(k)}});
          return;
        }
        Time due;
        if (s->wait_kind == W::kDuration) {
          due = Time{clock_->Now().ms + s->wait_for.ms};
        } else {
          auto v = Eval(in, t, s->until);
          std::optional<Time> when;
          if (v.ok() && v->is_time()) when = v->as_time();
          if (v.ok() && v->is_text()) when = ParseTime(v->as_text());
          if (!when) {
            FailThread(in, t, "internal", "wait " + s->name + ": `until` is not a time", tx);
            return;
          }
          due = *when;
        }
        if (due <= clock_->Now()) {
          GoTo(in, t, s->next, tx);
          return;
        }
        t.phase = "timer";
        AddTimer(in, t, due, tx);
        Hist(in, tx, "waiting", t.id, Record{{"state", Value(s->name)}, {"until", Value(due)}});
        return;
      }
      case K::kApproval: {
        auto title = Eval(in, t, s->title);
        auto details = Eval(in, t, s->details);
        if (!title.ok() || !details.ok()) {
          FailThread(in, t, "internal", "approval " + s->name + ": " + (!title.ok() ? title.status() : details.status()).message(), tx);
          return;
        }
        t.phase = "task";
        t.task_id = in.id + ":" + std::to_string(t.id) + "." + std::to_string(visit) + ":" + s->name;
        Record task;
        task["id"] = Value(t.task_id);
        task["instance"] = Value(in.id);
        task["workflow"] = Value(in.workflow);
        task["state"] = Value(s->name);
        task["role"] = Value(s->role);
        task["title"] = Value(title->ToDisplayString());
        task["details"] = Value(details->ToDisplayString());
        task["status"] = Value("open");
        task["created_at"] = Value(clock_->Now());
        if (s->deadline) {
          Time due{clock_->Now().ms + s->deadline->ms};
          task["deadline"] = Value(due);
          AddTimer(in, t, due, tx);
        }
        tx.batch.Put(TaskKey(t.task_id), Value(std::move(task)).ToTaggedJson());
        tx.batch.Put(TaskOpenKey(s->role, t.task_id), "");
        Hist(in, tx, "task_created", t.id, Record{{"state", Value(s->name)}, {"task", Value(t.task_id)}, {"role", Value(s->role)}});
        return;
      }
      case K::kParallel: {
        t.phase = "joining";
        t.children_left = static_cast<std::int64_t>(s->branches.size());
        const std::int64_t parent_id = t.id;
        const auto parent_path = t.path;
        Hist(in, tx, "parallel_started", parent_id, Record{{"state", Value(s->name)}});
        for (const auto& [bname, region] : s->branches) {
          Thread c;
          c.id = in.next_thread++;
          c.parent = parent_id;
          c.path = parent_path;
          c.path.emplace_back(s->name, bname);
          c.state = region->start;
          in.threads.push_back(std::move(c));
          ready_queue_.push_back(in.threads.back().id);
        }
        return;
      }
      case K::kForEach: {
        auto list = Eval(in, t, s->list);
        if (!list.ok() || !(list->is_list() || list->is_null())) {
          FailThread(in, t, "internal", "for each " + s->name + ": " + (list.ok() ? std::string("not a list") : list.status().message()), tx);
          return;
        }
        Thread* self = &t;
        self->items = list->is_list() ? list->as_list() : List{};
        self->results.assign(self->items.size(), Value());
        self->next_item = 0;
        self->running = 0;
        self->phase = "joining";
        Hist(in, tx, "for_each_started", t.id, Record{{"state", Value(s->name)}, {"items", Value(static_cast<std::int64_t>(self->items.size()))}});
        if (self->items.empty()) {
          Save(in, *self, s->name, Value(List{}));
          GoTo(in, *self, s->next, tx);
          return;
        }
        SpawnItems(in, t.id, *s);
        return;
      }
      case K::kFinish: {
        if (t.parent >= 0) {
          RegionDone(in, t, tx);
          return;
        }
        auto msg = Eval(in, t, s->message);
        in.outcome = msg.ok() ? msg->ToDisplayString() : std::string();
        in.status = "completed";
        t.phase = "done";
        ++completed_;
        Hist(in, tx, "instance_completed", t.id, Record{{"state", Value(s->name)}, {"outcome", Value(in.outcome)}});
        return;
      }
      case K::kFail: {
        auto msg = Eval(in, t, s->message);
        FailInstance(in, tx, "fail", msg.ok() ? msg->ToDisplayString() : s->name, s->name);
        return;
      }
    }
  }

  void SpawnItems(Instance& in, std::int64_t parent_id, const ir::State& s) {
    Thread* p = in.FindThread(parent_id);
    if (p == nullptr) return;
    while (p->next_item < static_cast<std::int64_t>(p->items.size()) && p->running < std::max(1, s.concurrency)) {
      std::int64_t index = p->next_item++;
      ++p->running;
      Thread c;
      c.id = in.next_thread++;
      c.parent = p->id;
      c.path = p->path;
      c.path.emplace_back(s.name, "#" + std::to_string(index));
      c.state = s.body->start;
      c.has_frame = true;
      c.frame[s.item] = p->items[static_cast<size_t>(index)];
      c.frame["item_index"] = Value(index);
      in.threads.push_back(std::move(c));
      ready_queue_.push_back(in.threads.back().id);
      p = in.FindThread(parent_id);  // the vector may have grown
      if (p == nullptr) return;
    }
  }

  // A thread ran off the end of its (nested) region.
  void RegionDone(Instance& in, Thread& t, Tx& tx) {
    if (t.parent < 0) {
      FailThread(in, t, "internal", "the flow ran off its end", tx);
      return;
    }
    t.phase = "done";
    std::int64_t parent_id = t.parent;
    Thread* p = in.FindThread(parent_id);
    if (p == nullptr) return;
    const ir::State* ps = StateOf(in, *p);
    if (ps == nullptr) return;
    if (ps->kind == K::kParallel) {
      if (--p->children_left == 0) {
        RemoveChildren(in, parent_id);
        p = in.FindThread(parent_id);
        if (p == nullptr) return;
        Hist(in, tx, "parallel_joined", p->id, Record{{"state", Value(ps->name)}});
        GoTo(in, *p, ps->next, tx);
      }
      return;
    }
    // for each: keep what the round saved (without the item itself).
    std::string branch = t.path.back().second;
    auto index = static_cast<size_t>(std::stoll(branch.substr(1)));
    Record result = t.frame;
    result.erase(ps->item);
    result.erase("item_index");
    p->results[index] = Value(std::move(result));
    --p->running;
    std::int64_t child_id = t.id;
    in.threads.erase(std::remove_if(in.threads.begin(), in.threads.end(), [&](const Thread& x) { return x.id == child_id; }),
                     in.threads.end());
    p = in.FindThread(parent_id);
    if (p == nullptr) return;
    if (p->next_item < static_cast<std::int64_t>(p->items.size())) {
      SpawnItems(in, parent_id, *ps);
      return;
    }
    if (p->running == 0) {
      Value results(std::move(p->results));
      p->items.clear();
      p->results.clear();
      p->next_item = 0;
      Save(in, *p, ps->name, std::move(results));
      Hist(in, tx, "for_each_finished", p->id, Record{{"state", Value(ps->name)}});
      GoTo(in, *p, ps->next, tx);
    }
  }

  void RemoveChildren(Instance& in, std::int64_t parent_id) {
    std::set<std::int64_t> doomed;
    bool grew = true;
    while (grew) {
      grew = false;
      for (const auto& th : in.threads)
        if ((th.parent == parent_id || doomed.count(th.parent)) && doomed.insert(th.id).second) grew = true;
    }
    in.threads.erase(std::remove_if(in.threads.begin(), in.threads.end(), [&](const Thread& x) { return doomed.count(x.id) != 0; }),
                     in.threads.end());
  }

  void AddTimer(Instance& in, Thread& t, Time due, Tx& tx) {
    t.timer_key = TimerKey(due, in.id, in.next_timer++);
    Record v;
    v["thread"] = Value(t.id);
    tx.batch.Put(t.timer_key, Value(std::move(v)).ToTaggedJson());
  }

  // ------------------------------------------------------------------------------ steps

  void DispatchStep(Instance& in, Thread& t, const ir::State& s, Tx& tx) {
    Record input;
    for (const auto& [name, expr] : s.call.args) {
      auto v = Eval(in, t, expr);
      if (!v.ok()) {
        FailThread(in, t, "internal", "step " + s.name + ", input " + name + ": " + v.status().message(), tx);
        return;
      }
      input[name] = std::move(*v);
    }
    ++t.attempt;
    Duration timeout = s.timeout.value_or(options_.default_step_timeout);
    Invocation inv;
    inv.instance_id = in.id;
    inv.invocation_id = std::to_string(t.id) + "." + std::to_string(t.visit) + "." + std::to_string(t.attempt);
    inv.idempotency_key = t.idem_key;
    inv.correlation_id = in.correlation_id;
    inv.connector = s.call.connector;
    inv.operation = s.call.operation;
    inv.input = Value(std::move(input));
    inv.deadline = Time{clock_->Now().ms + timeout.ms};
    inv.attempt = t.attempt;
    t.phase = "calling";
    t.invocation = inv.invocation_id;
    tx.batch.Put(OutboxKey(in.id, inv.invocation_id), OutboxRecord(inv, timeout));
    tx.dispatch.push_back(inv);
  }

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

  void OnCallResult(Instance* in, const std::string& inv_id, CallResult r) {
    std::string old = in->status;
    Tx tx;
    // An undo action of the compensation chain.
    if (in->comp_invocation == inv_id) {
      tx.batch.Delete(OutboxKey(in->id, inv_id));
      in->comp_invocation.clear();
      UndoResult(*in, std::move(r), tx);
      Persist(in, std::move(tx), old);
      return;
    }
    Thread* t = nullptr;
    for (auto& th : in->threads)
      if (th.invocation == inv_id) t = &th;
    if (t == nullptr) {
      MaybeEvict(in->id);
      return;  // stale: a later attempt is current, or the call timed out already
    }
    tx.batch.Delete(OutboxKey(in->id, inv_id));
    t->invocation.clear();
    const ir::State* s = StateOf(*in, *t);
    if (t->phase == "cancelled") {
      // The instance is compensating; a call that succeeded anyway still gets undone.
      if (r.ok && s && s->undo) PushUndo(*in, *t, *s);
      t->phase = "done";
      Hist(*in, tx, r.ok ? "step_completed_after_cancel" : "step_failed_after_cancel", t->id, Record{{"state", Value(t->state)}});
      MaybeStartUndo(*in, tx);
      Persist(in, std::move(tx), old);
      return;
    }
    if (r.ok) {
      Hist(*in, tx, "step_completed", t->id, Record{{"state", Value(s->name)}, {"attempt", Value(std::int64_t{t->attempt})}});
      if (!s->save_as.empty()) Save(*in, *t, s->save_as, std::move(r.output));
      if (s->undo) PushUndo(*in, *t, *s);
      GoTo(*in, *t, s->next, tx);
      RunThreads(*in, tx, {});
      Persist(in, std::move(tx), old);
      return;
    }
    Record failure;
    failure["state"] = Value(s->name);
    failure["attempt"] = Value(std::int64_t{t->attempt});
    failure["kind"] = Value(r.error_kind);
    failure["message"] = Value(r.message);
    Hist(*in, tx, "attempt_failed", t->id, std::move(failure));
    const auto& kinds = s->retry.on_kinds;
    bool retryable = std::find(kinds.begin(), kinds.end(), r.error_kind) != kinds.end();
    if (retryable && t->attempt < s->retry.max_attempts) {
      Duration wait = RetryWait(s->retry, t->attempt);
      if (wait.ms <= 0) {
        DispatchStep(*in, *t, *s, tx);
      } else {
        t->phase = "retry";
        AddTimer(*in, *t, Time{clock_->Now().ms + wait.ms}, tx);
      }
      UpdateStatus(*in);
      Persist(in, std::move(tx), old);
      return;
    }
    Record err;
    err["kind"] = Value(r.error_kind);
    err["message"] = Value(r.message);
    err["step"] = Value(s->name);
    in->data["last_error"] = Value(err);
    const ir::ErrorRoute* route = nullptr;
    for (const auto& e : s->on_error)
      if (std::find(e.kinds.begin(), e.kinds.end(), r.error_kind) != e.kinds.end()) route = &e;
    if (route == nullptr)
      for (const auto& e : s->on_error)
        if (e.kinds.empty()) route = &e;
    if (route != nullptr) {
      Hist(*in, tx, "error_handled", t->id, Record{{"state", Value(s->name)}, {"kind", Value(r.error_kind)}, {"to", Value(route->target)}});
      GoTo(*in, *t, route->target, tx);
      RunThreads(*in, tx, {});
    } else {
      if (options_.hold_failed_steps) {
        HoldStep(*in, *t, r, tx);
        UpdateStatus(*in);
      } else {
        FailInstance(*in, tx, r.error_kind, r.message, s->name);
      }
    }
    Persist(in, std::move(tx), old);
  }

  Duration RetryWait(const ir::RetryPolicy& p, int attempt) {
    // first_wait × multiplier^(attempt-1), capped; exact decimal math, then whole milliseconds.
    Decimal wait(p.first_wait.ms);
    Decimal mult = Decimal::Parse(p.multiplier).value_or(Decimal(1));
    for (int i = 1; i < attempt && i < 64; ++i) {
      wait = wait * mult;
      if (p.max_wait && wait > Decimal(p.max_wait->ms)) break;
    }
    std::int64_t ms = wait.Round(0).ToInt64().value_or(INT64_MAX / 4);
    if (p.max_wait) ms = std::min(ms, p.max_wait->ms);
    if (p.jitter) {
      std::uniform_int_distribution<std::int64_t> d(ms / 2, std::max<std::int64_t>(ms / 2, ms));
      ms = d(rng_);
    }
    return Duration{ms};
  }

  // The step's error is parked for an operator instead of failing the instance.
  void HoldStep(Instance& in, Thread& t, const CallResult& r, Tx& tx) {
    t.phase = "held";
    in.error["kind"] = Value(r.error_kind);
    in.error["message"] = Value(r.message);
    in.error["state"] = Value(t.state);
    in.error["held"] = Value(true);
    Hist(in, tx, "step_held", t.id, Record{{"state", Value(t.state)}, {"kind", Value(r.error_kind)}, {"message", Value(r.message)}});
    in.status = "held";
    tx.batch.Put(DeadKey(in.id), DeadLetter(in));
  }

  void Repair(std::string id, std::string action, Value patch, Callback<bool> done) {
    Post([this, id = std::move(id), action = std::move(action), patch = std::move(patch), done = std::move(done)]() mutable {
      WithInstance(id, [this, action, patch, done](Instance* in) {
        if (in == nullptr) {
          done(Status::NotFound("no instance with that id"));
          return;
        }
        Thread* t = nullptr;
        for (auto& th : in->threads)
          if (th.phase == "held") t = &th;
        if (t == nullptr) {
          done(Status::FailedPrecondition("the instance is " + in->status + ", not held at a failed step"));
          return;
        }
        if (!patch.is_null() && !patch.is_record()) {
          done(Status::InvalidArgument("the data patch must be a JSON object"));
          return;
        }
        const ir::State* s = StateOf(*in, *t);
        Tx tx;
        tx.after.push_back(AnswerOnCommit(done));
        std::string old = in->status;
        if (patch.is_record())
          for (const auto& [k, v] : patch.as_record()) Save(*in, *t, k, v);
        in->error.clear();
        tx.batch.Delete(DeadKey(in->id));
        Hist(*in, tx, action == "retry" ? "step_retried_by_operator" : "step_skipped_by_operator", t->id,
             Record{{"state", Value(t->state)}, {"patched", Value(patch.is_record())}});
        if (action == "retry") {
          t->phase = "ready";  // a new visit: a new idempotency key for the (possibly patched) request
          ready_queue_.push_back(t->id);
        } else {
          GoTo(*in, *t, s->next, tx);
        }
        RunThreads(*in, tx, {});
        Persist(in, std::move(tx), old);
      });
    });
  }

  void PushUndo(Instance& in, Thread& t, const ir::State& s) {
    Record input;
    for (const auto& [name, expr] : s.undo->args) {
      auto v = Eval(in, t, expr);
      input[name] = v.ok() ? std::move(*v) : Value();
    }
    UndoEntry u;
    u.step = s.name;
    u.connector = s.undo->connector;
    u.operation = s.undo->operation;
    u.key = t.idem_key + ":undo";
    u.input = Value(std::move(input));
    in.undo.push_back(std::move(u));
  }

  // ------------------------------------------------------------------------ events, tasks

  void EventArrived(Instance& in, Thread& t, const Value& data, Tx& tx) {
    const ir::State* s = StateOf(in, t);
    tx.batch.Delete(t.sub_key);
    if (!t.timer_key.empty()) {
      tx.batch.Delete(t.timer_key);
      t.timer_key.clear();
    }
    Hist(in, tx, "event_received", t.id, Record{{"state", Value(t.state)}, {"event", Value(t.sub_event)}, {"key", Value(t.sub_value)}});
    t.sub_key.clear();
    t.sub_event.clear();
    t.sub_value.clear();
    if (!s->save_event_as.empty()) Save(in, t, s->save_event_as, data);
    GoTo(in, t, s->next, tx);
    RunThreads(in, tx, {});
  }

  void CloseTask(const Instance& in, Thread& t, const std::string& status, Tx& tx,
                 const TaskDecision* decision = nullptr) {
    const ir::State* s = StateOf(in, t);
    std::string text;
    Value task;
    if (store_->Get(TaskKey(t.task_id), &text).ok()) task = ParseTagged(text);
    if (!task.is_record()) task = Value(Record{});
    task.Set("status", Value(status));
    task.Set("closed_at", Value(clock_->Now()));
    if (decision) {
      task.Set("actor", Value(decision->actor));
      task.Set("comment", Value(decision->comment));
    }
    tx.batch.Put(TaskKey(t.task_id), task.ToTaggedJson());
    tx.batch.Delete(TaskOpenKey(s ? s->role : Text(task.Find("role")), t.task_id));
    t.task_id.clear();
  }

  void TaskDecided(Instance& in, Thread& t, const TaskDecision& d, Tx& tx) {
    const ir::State* s = StateOf(in, t);
    if (!t.timer_key.empty()) {
      tx.batch.Delete(t.timer_key);
      t.timer_key.clear();
    }
    std::string task_id = t.task_id;
    CloseTask(in, t, d.decision == "approve" ? "approved" : "rejected", tx, &d);
    Record decision;
    decision["decision"] = Value(d.decision);
    decision["actor"] = Value(d.actor);
    decision["comment"] = Value(d.comment);
    decision["decided_at"] = Value(clock_->Now());
    decision["escalated"] = Value(false);
    Save(in, t, s->save_decision_as.empty() ? s->name : s->save_decision_as, Value(decision));
    Record ev = decision;
    ev["state"] = Value(s->name);
    ev["task"] = Value(task_id);
    Hist(in, tx, "task_completed", t.id, std::move(ev));
    GoTo(in, t, d.decision == "approve" ? s->on_approve : s->on_reject, tx);
    RunThreads(in, tx, {});
  }

  // ---------------------------------------------------------------------- compensation

  // Stops every thread, then runs the undo chain once no call is in flight.
  void FailInstance(Instance& in, Tx& tx, const std::string& kind, const std::string& message, const std::string& state) {
    if (in.compensating) return;
    bool unhandled = kind != "fail";
    BeginCompensation(in, tx, kind, message, unhandled);
    in.error["state"] = Value(state);
  }

  void BeginCompensation(Instance& in, Tx& tx, const std::string& kind, const std::string& message, bool unhandled) {
    in.compensating = true;
    in.unhandled_error = unhandled;
    in.outcome = message;
    in.error["kind"] = Value(kind);
    in.error["message"] = Value(message);
    ready_queue_.clear();
    for (auto& t : in.threads) {
      if (!t.timer_key.empty()) tx.batch.Delete(t.timer_key);
      t.timer_key.clear();
      if (!t.sub_key.empty()) tx.batch.Delete(t.sub_key);
      t.sub_key.clear();
      if (!t.task_id.empty()) CloseTask(in, t, "cancelled", tx);
      t.phase = t.invocation.empty() ? "done" : "cancelled";
    }
    Hist(in, tx, "compensation_started", -1, Record{{"kind", Value(kind)}, {"message", Value(message)}, {"undo_actions", Value(static_cast<std::int64_t>(in.undo.size()))}});
    in.status = "compensating";
    MaybeStartUndo(in, tx);
  }

  void MaybeStartUndo(Instance& in, Tx& tx) {
    for (const auto& t : in.threads)
      if (!t.invocation.empty()) return;  // wait for in-flight calls to settle
    if (in.comp_invocation.empty() && in.comp_timer.empty()) {
      in.comp_attempt = 0;
      CompensateNext(in, tx);
    }
  }

  void CompensateNext(Instance& in, Tx& tx) {
    if (in.undo.empty()) {
      FinishCompensation(in, tx);
      return;
    }
    const UndoEntry& u = in.undo.back();
    ++in.comp_attempt;
    Invocation inv;
    inv.instance_id = in.id;
    inv.invocation_id = "undo." + std::to_string(in.undo.size()) + "." + std::to_string(in.comp_attempt);
    inv.idempotency_key = u.key;
    inv.correlation_id = in.correlation_id;
    inv.connector = u.connector;
    inv.operation = u.operation;
    inv.input = u.input;
    inv.deadline = Time{clock_->Now().ms + options_.default_step_timeout.ms};
    inv.attempt = in.comp_attempt;
    in.comp_invocation = inv.invocation_id;
    tx.batch.Put(OutboxKey(in.id, inv.invocation_id), OutboxRecord(inv, options_.default_step_timeout));
    tx.dispatch.push_back(inv);
    Hist(in, tx, "undo_started", -1, Record{{"step", Value(u.step)}, {"attempt", Value(std::int64_t{in.comp_attempt})}});
  }

  void UndoResult(Instance& in, CallResult r, Tx& tx) {
    const UndoEntry& u = in.undo.back();
    if (r.ok) {
      Hist(in, tx, "undo_completed", -1, Record{{"step", Value(u.step)}});
      in.undo.pop_back();
      ++in.undone;
      in.comp_attempt = 0;
      CompensateNext(in, tx);
      return;
    }
    if (r.error_kind == "not_found") {
      // What the undo would take back does not exist (any more): there is nothing left to undo.
      Hist(in, tx, "undo_completed", -1, Record{{"step", Value(u.step)}, {"nothing_to_undo", Value(true)}, {"message", Value(r.message)}});
      in.undo.pop_back();
      ++in.undone;
      in.comp_attempt = 0;
      CompensateNext(in, tx);
      return;
    }
    Hist(in, tx, "undo_failed", -1, Record{{"step", Value(u.step)}, {"kind", Value(r.error_kind)}, {"message", Value(r.message)}, {"attempt", Value(std::int64_t{in.comp_attempt})}});
    // The system refused the undo (`rejected`, `conflict`): asking again changes nothing, so an
    // operator is called at once. Transient failures are retried with backoff.
    bool transient = r.error_kind != "rejected" && r.error_kind != "conflict";
    if (transient && in.comp_attempt < options_.undo_max_attempts) {
      ir::RetryPolicy p;
      p.first_wait = options_.undo_first_wait;
      p.max_wait = options_.undo_max_wait;
      Duration wait = RetryWait(p, in.comp_attempt);
      in.comp_timer = TimerKey(Time{clock_->Now().ms + wait.ms}, in.id, in.next_timer++);
      tx.batch.Put(in.comp_timer, "{}");
      return;
    }
    in.status = "compensation_failed";
    in.error["undo_step"] = Value(u.step);
    in.error["undo_error"] = Value(r.message);
    ++failed_;
    tx.batch.Put(DeadKey(in.id), DeadLetter(in));
    Hist(in, tx, "compensation_failed", -1, Record{{"step", Value(u.step)}});
  }

  std::string DeadLetter(const Instance& in) {
    Record d;
    d["instance"] = Value(in.id);
    d["workflow"] = Value(in.workflow);
    d["version"] = Value(std::int64_t{in.version});
    d["business_key"] = Value(in.business_key);
    d["status"] = Value(in.status);
    d["error"] = Value(in.error);
    d["at"] = Value(clock_->Now());
    return Value(std::move(d)).ToTaggedJson();
  }

  void FinishCompensation(Instance& in, Tx& tx) {
    if (in.cancel_requested) {
      in.status = "cancelled";
    } else {
      in.status = in.undone > 0 ? "compensated" : "failed";
      ++failed_;
    }
    in.threads.clear();
    if (in.unhandled_error) tx.batch.Put(DeadKey(in.id), DeadLetter(in));
    Hist(in, tx, "instance_" + in.status, -1, Record{{"outcome", Value(in.outcome)}, {"undone", Value(in.undone)}});
  }

  // ------------------------------------------------------------------------------ reads

  Result<Value> Get(const std::string& key) const {
    std::string text;
    Status s = store_->Get(key, &text);
    if (!s.ok()) return s;
    return Value::FromTaggedJson(text);
  }

  Result<std::vector<Value>> ScanValues(const std::string& prefix, size_t limit,
                                        const std::function<std::string(std::string_view)>& key_of) const {
    std::vector<Value> out;
    std::vector<std::string> keys;
    Status s = store_->ScanPrefix(prefix, [&](std::string_view k, std::string_view v) {
      if (key_of) {
        keys.push_back(key_of(k));
      } else {
        out.push_back(ParseTagged(v));
      }
      return keys.size() + out.size() < limit;
    });
    if (!s.ok()) return s;
    for (const auto& k : keys) {
      auto v = Get(k);
      if (v.ok()) out.push_back(std::move(*v));
    }
    return out;
  }

  boost::asio::io_context& io_;
  Time next_event_sweep_{0};
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  state::StateStore* store_;
  const Clock* clock_;
  ConnectorRegistry* connectors_;
  EngineOptions options_;
  state::GroupCommitter committer_;

  mutable std::mutex defs_mu_;
  std::map<std::pair<std::string, int>, std::shared_ptr<const ir::Machine>> machines_;
  std::map<std::pair<std::string, int>, std::string> sources_;
  std::map<std::pair<std::string, int>, Time> deployed_at_;
  std::map<std::string, int> latest_;
  std::map<std::string, Time> sched_last_;

  // Strand-only state.
  std::unordered_map<std::string, Resident> resident_;
  std::deque<std::int64_t> ready_queue_;
  std::map<std::string, std::string> pending_bkeys_;
  std::map<std::string, std::string> pending_buffer_;
  std::set<std::string> consumed_buffer_;
  std::set<std::string> firing_;
  std::set<std::string> outstanding_;  // "instance|invocation" dispatched and not yet answered
  struct Deadline {
    Time due;
    std::string instance, invocation;
    bool operator>(const Deadline& o) const { return due > o.due; }
  };
  std::vector<Deadline> deadlines_;  // a min-heap on `due`
  std::int64_t last_id_ms_ = -1, id_seq_ = 0, buffer_seq_ = 0;
  std::mt19937_64 rng_{42};
  std::unique_ptr<boost::asio::steady_timer> ticker_;

 public:
  std::atomic<std::int64_t> posted_{0}, pending_commits_{0}, in_flight_{0};
  std::atomic<std::uint64_t> started_{0}, completed_{0}, failed_{0}, transitions_{0}, invocations_{0};
  std::atomic<size_t> resident_size_{0};
  std::atomic<bool> stopping_{false};

  const state::GroupCommitter& committer() const { return committer_; }
  void FlushCommits() { committer_.Flush(); }

  void Stop() {
    stopping_ = true;
    if (ticker_) {
      std::promise<void> p;
      auto f = p.get_future();
      boost::asio::post(strand_, [this, &p] {
        ticker_->cancel();
        p.set_value();
      });
      if (!io_.stopped()) f.wait_for(std::chrono::seconds(2));
    }
  }
};

// -------------------------------------------------------------------------------- Engine

Engine::Engine(boost::asio::io_context& io, state::StateStore* store, const Clock* clock,
               ConnectorRegistry* connectors, EngineOptions options)
    : impl_(std::make_shared<Impl>(io, store, clock, connectors, options)) {}

Engine::~Engine() {
  impl_->Stop();
  // No new commits are submitted from here on; wait for the ones in flight so that no
  // group-commit callback ends up holding the last reference to the engine's internals (it
  // would then be destroyed on the writer thread, which cannot join itself).
  impl_->FlushCommits();
}

Status Engine::Recover() { return impl_->Recover(); }
Result<DeployResult> Engine::Deploy(const ir::Machine& m, const std::string& source) { return impl_->Deploy(m, source); }
void Engine::Start(StartRequest r, Callback<StartResult> done) { impl_->Start(std::move(r), std::move(done)); }
void Engine::DeliverEvent(std::string e, std::string k, Value d, Callback<int> done) {
  impl_->DeliverEvent(std::move(e), std::move(k), std::move(d), std::move(done));
}
void Engine::CompleteTask(TaskDecision d, Callback<bool> done) { impl_->CompleteTask(std::move(d), std::move(done)); }
void Engine::Cancel(std::string id, std::string reason, Callback<bool> done) {
  impl_->Cancel(std::move(id), std::move(reason), std::move(done));
}
void Engine::Tick() { impl_->Tick(); }
void Engine::RetryStep(std::string id, Value patch, Callback<bool> done) {
  impl_->Repair(std::move(id), "retry", std::move(patch), std::move(done));
}
void Engine::SkipStep(std::string id, Callback<bool> done) { impl_->Repair(std::move(id), "skip", Value(), std::move(done)); }
bool Engine::Busy() const { return impl_->Busy(); }

void Engine::WaitIdle() {
  int quiet = 0;
  while (quiet < 3) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    quiet = impl_->Busy() ? 0 : quiet + 1;
  }
}

void Engine::WaitSettled() {
  int quiet = 0;
  while (quiet < 3) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    quiet = (impl_->posted_ > 0 || impl_->pending_commits_ > 0) ? 0 : quiet + 1;
  }
}

EngineStats Engine::stats() const {
  EngineStats s;
  s.instances_started = impl_->started_;
  s.instances_completed = impl_->completed_;
  s.instances_failed = impl_->failed_;
  s.transitions = impl_->transitions_;
  s.commits = impl_->committer().stats().groups;
  s.invocations = impl_->invocations_;
  s.in_flight_invocations = static_cast<size_t>(impl_->in_flight_.load());
  s.resident_instances = impl_->resident_size_.load();
  return s;
}

Result<Value> Engine::GetInstance(const std::string& id) const { return impl_->Get(InstKey(id)); }

Result<std::vector<Value>> Engine::GetHistory(const std::string& id) const {
  return impl_->ScanValues("hist/" + id + "/", SIZE_MAX, nullptr);
}

Result<std::vector<Value>> Engine::ListInstances(const std::string& status, size_t limit) const {
  std::string prefix = "idx/status/" + status + "/";
  return impl_->ScanValues(prefix, limit, [prefix](std::string_view k) { return InstKey(std::string(k.substr(prefix.size()))); });
}

Result<std::vector<Value>> Engine::ListOpenTasks(const std::string& role) const {
  std::string prefix = "taskopen/" + (role.empty() ? std::string() : role + "/");
  return impl_->ScanValues(prefix, SIZE_MAX, [](std::string_view k) {
    size_t slash = k.find('/', 9);
    return TaskKey(std::string(k.substr(slash + 1)));
  });
}

Result<std::vector<Value>> Engine::ListDeadLetters() const { return impl_->ScanValues("dead/", SIZE_MAX, nullptr); }

Result<std::vector<Value>> Engine::ListDefinitions() const { return impl_->ScanValues("def/", SIZE_MAX, nullptr); }

Result<InstancePage> Engine::QueryInstances(const InstanceQuery& q) const {
  InstancePage page;
  size_t limit = std::clamp<size_t>(q.limit, 1, 1000);
  auto matches = [&](const Value& v) {
    if (!q.workflow.empty() && Text(v.Find("workflow")) != q.workflow) return false;
    if (!q.status.empty() && Text(v.Find("status")) != q.status) return false;
    if (!q.business_key.empty() && Text(v.Find("business_key")) != q.business_key) return false;
    return true;
  };
  if (!q.business_key.empty()) {
    if (q.workflow.empty()) return Status::InvalidArgument("business_key needs workflow");
    std::string id;
    Status s = impl_->store_->Get(BkeyKey(q.workflow, q.business_key), &id);
    if (s.code() == Status::Code::kNotFound) return page;
    if (!s.ok()) return s;
    if (!q.after.empty() && id <= q.after) return page;
    auto v = GetInstance(id);
    if (v.ok() && matches(*v)) page.items.push_back(std::move(*v));
    return page;
  }
  // The narrowest index the filters allow; every candidate is still checked against all filters.
  std::string prefix = !q.status.empty()     ? "idx/status/" + q.status + "/"
                       : !q.workflow.empty() ? "idx/workflow/" + q.workflow + "/"
                                             : "inst/";
  std::string begin = q.after.empty() ? prefix : prefix + q.after + std::string(1, '\0');
  std::string end = prefix;
  end.back() = static_cast<char>(end.back() + 1);
  std::vector<std::string> ids;
  bool more = false;
  Status s = impl_->store_->Scan(begin, end, [&](std::string_view k, std::string_view) {
    if (ids.size() == limit) {
      more = true;
      return false;
    }
    ids.emplace_back(k.substr(prefix.size()));
    return true;
  });
  if (!s.ok()) return s;
  for (const auto& id : ids) {
    auto v = GetInstance(id);
    if (v.ok() && matches(*v)) page.items.push_back(std::move(*v));
  }
  if (more && !ids.empty()) page.next_cursor = ids.back();
  return page;
}

Result<Value> Engine::GetTask(const std::string& task_id) const { return impl_->Get(TaskKey(task_id)); }

Result<std::vector<Value>> Engine::ListTasks(const std::string& role, const std::string& status,
                                             size_t limit) const {
  if (status == "open") {
    auto open = ListOpenTasks(role);
    if (open.ok() && open->size() > limit) open->resize(limit);
    return open;
  }
  std::vector<Value> out;
  Status s = impl_->store_->ScanPrefix("task/", [&](std::string_view, std::string_view v) {
    Value t = ParseTagged(v);
    std::string st = Text(t.Find("status"));
    bool status_ok = status.empty() || (status == "closed" ? st != "open" : st == status);
    if (status_ok && (role.empty() || Text(t.Find("role")) == role)) out.push_back(std::move(t));
    return out.size() < limit;
  });
  if (!s.ok()) return s;
  return out;
}

Result<Value> Engine::GetDefinition(const std::string& workflow, int version) const {
  if (version <= 0) {
    std::string latest;
    Status s = impl_->store_->Get("deflatest/" + workflow, &latest);
    if (!s.ok()) return s.code() == Status::Code::kNotFound ? Status::NotFound("no workflow " + workflow) : s;
    version = std::atoi(latest.c_str());
  }
  auto v = impl_->Get(DefKey(workflow, version));
  if (!v.ok() && v.status().code() == Status::Code::kNotFound)
    return Status::NotFound("no version " + std::to_string(version) + " of workflow " + workflow);
  return v;
}

}  // namespace rf::engine
