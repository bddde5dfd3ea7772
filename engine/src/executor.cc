#include "executor.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <chrono>

#include "snapshot_codec.h"
#include "state/keys.h"
#include "transition_writer.h"

namespace rf::engine {

namespace keys = state::keys;

namespace {
std::string Pad(std::int64_t v, int width) {
  std::string s = std::to_string(v < 0 ? 0 : v);
  if (static_cast<int>(s.size()) < width) s.insert(0, static_cast<size_t>(width) - s.size(), '0');
  return s;
}
}  // namespace

void EngineParts::Dropped(const char* what, const Status& s) {
  ++errors_dropped;
  if (options->on_dropped_error) options->on_dropped_error(what, s);
}

// What a transition leaves to do once its commit's outcome is known.
struct PartitionExecutor::Ticket {
  std::vector<std::function<void(const Status&)>> after;
  std::vector<Invocation> dispatch;
  std::vector<std::string> fired_timers, taken_events;
  std::optional<InstanceStatus> terminal;
  std::string workflow;
  std::shared_ptr<TransitionInfo> info;  // only with on_transition
  std::chrono::steady_clock::time_point submitted;
};

namespace {
InterpreterOptions InterpreterOptionsOf(const EngineOptions& o) {
  InterpreterOptions i;
  i.default_step_timeout = o.default_step_timeout;
  i.undo_max_attempts = o.undo_max_attempts;
  i.undo_first_wait = o.undo_first_wait;
  i.undo_max_wait = o.undo_max_wait;
  i.hold_failed_steps = o.hold_failed_steps;
  return i;
}
}  // namespace

EngineParts::EngineParts(state::StateStore* s, const Clock* c, ConnectorRegistry* r, EngineOptions o)
    : store(s), clock(c), connectors(r), options_storage(std::move(o)), interpreter(InterpreterOptionsOf(options_storage)) {
  committer_storage = std::make_unique<state::GroupCommitter>(store, options_storage.max_group_bytes);
  committer = committer_storage.get();
  hub = std::make_unique<EventHub>(store, committer, [this](const char* what, const Status& s) { Dropped(what, s); });
  events = hub.get();
}

PartitionExecutor::PartitionExecutor(boost::asio::io_context& io, int partition, std::shared_ptr<EngineParts> parts)
    : io_(io), strand_(boost::asio::make_strand(io)), partition_(partition), parts_(std::move(parts)) {}

void PartitionExecutor::Post(std::function<void()> f) {
  ++parts_->posted;
  boost::asio::post(strand_, [self = shared_from_this(), f = std::move(f)] {
    f();
    --self->parts_->posted;
  });
}

// ------------------------------------------------------------------------------ residency

Result<Instance*> PartitionExecutor::Load(const std::string& id) {
  auto it = resident_.find(id);
  if (it != resident_.end()) return &it->second.in;
  std::string key = keys::Instance(id), text;
  Status s = parts_->store->Get(key, &text);
  if (s.code() == Status::Code::kNotFound) return Status::NotFound("no instance with that id");
  if (!s.ok()) return s;
  auto in = DecodeSnapshot(text, key);
  if (!in.ok()) return in.status();
  in->machine = parts_->definitions->Find(in->workflow, in->version);
  if (!in->machine)
    return Status::Corruption("instance " + id + " runs " + in->workflow + " version " + std::to_string(in->version) +
                              ", which is not deployed");
  auto& r = resident_[id];
  r.in = std::move(*in);
  ++parts_->resident;
  return &r.in;
}

void PartitionExecutor::WithInstance(const std::string& id, std::function<void(Result<Instance*>)> f) {
  auto in = Load(id);
  if (!in.ok()) {
    f(in.status());
    return;
  }
  auto& r = resident_[id];
  if (r.commit_pending) {
    r.queued.push_back([this, id, f = std::move(f)] { WithInstance(id, f); });
    return;
  }
  f(*in);
  MaybeEvict(id);
}

void PartitionExecutor::MaybeEvict(const std::string& id) {
  auto it = resident_.find(id);
  if (it == resident_.end()) return;
  Resident& r = it->second;
  if (r.commit_pending || !r.queued.empty() || r.in.HasCallInFlight()) return;
  resident_.erase(it);
  --parts_->resident;
}

// ----------------------------------------------------------------------------- transitions

void PartitionExecutor::Apply(const std::string& id, Stimulus stimulus, Applied done) {
  WithInstance(id, [this, stimulus = std::move(stimulus), done = std::move(done)](Result<Instance*> r) mutable {
    if (!r.ok()) {
      done(r.status(), false);
      return;
    }
    Instance* in = *r;
    InstanceStatus old = in->status;
    auto tx = Interpret(*in, stimulus, parts_->clock->Now(), parts_->interpreter, *parts_->events);
    if (!tx.ok()) {
      done(tx.status(), false);
      return;
    }
    if (tx->empty()) {
      done(Status::Ok(), false);
      return;
    }
    auto ticket = std::make_shared<Ticket>();
    ticket->after.push_back([done](const Status& s) { done(s, true); });
    if (const auto* fired = std::get_if<stimulus::TimerFired>(&stimulus)) ticket->fired_timers.push_back(fired->timer_key);
    Advance(in, old, std::move(*tx), {}, std::move(ticket));
  });
}

void PartitionExecutor::Advance(Instance* in, std::optional<InstanceStatus> old, Transition tx, state::WriteBatch batch,
                                std::shared_ptr<Ticket> ticket) {
  Time now = parts_->clock->Now();
  in->updated_at = now;
  auto read_task = [this](const std::string& task_id) -> std::optional<Value> {
    std::string text;
    if (!parts_->store->Get(keys::Task(task_id), &text).ok()) return std::nullopt;
    auto v = Value::FromTaggedJson(text);
    return v.ok() ? std::optional<Value>(std::move(*v)) : std::nullopt;
  };
  WriteTransition(*in, old, tx, now, read_task, batch);
  if (IsTerminal(in->status) && !(old && IsTerminal(*old))) {
    ticket->terminal = in->status;
    ticket->workflow = in->workflow;
  }
  for (auto& c : tx.calls) ticket->dispatch.push_back(std::move(c.invocation));
  ticket->taken_events = std::move(tx.buffered_events_taken);
  if (parts_->options->on_transition) {
    auto info = std::make_shared<TransitionInfo>();
    info->instance_id = in->id;
    info->workflow = in->workflow;
    info->correlation_id = in->correlation_id.empty() ? in->id : in->correlation_id;
    info->business_key = in->business_key;
    info->old_status = old ? std::string(Name(*old)) : std::string();
    info->status = std::string(Name(in->status));
    for (const auto& h : tx.history) {
      auto type = h.find("type");
      auto state = h.find("state");
      info->events.emplace_back(type != h.end() && type->second.is_text() ? type->second.as_text() : std::string(),
                                state != h.end() && state->second.is_text() ? state->second.as_text() : std::string());
    }
    ticket->info = std::move(info);
    ticket->submitted = std::chrono::steady_clock::now();
  }
  if (parts_->stopping) return;  // shutting down: the store keeps the last durable state
  std::string id = in->id;
  resident_[id].commit_pending = true;
  ++parts_->pending_commits;
  ++parts_->transitions;
  parts_->committer->Submit(std::move(batch), [weak = weak_from_this(), id, ticket](const Status& s) {
    if (ticket->info)
      ticket->info->commit_seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - ticket->submitted).count();
    if (auto self = weak.lock()) self->Post([self, id, ticket, s] { self->Committed(id, *ticket, s); });
  });
}

void PartitionExecutor::Committed(const std::string& id, Ticket& t, const Status& s) {
  --parts_->pending_commits;
  parts_->events->Settled(id, t.taken_events);
  auto it = resident_.find(id);
  if (!s.ok()) {
    // The durable state is behind memory: forget the resident copy; the store is the truth.
    std::deque<std::function<void()>> queued;
    if (it != resident_.end()) {
      queued = std::move(it->second.queued);
      resident_.erase(it);
      --parts_->resident;
    }
    for (auto& f : t.after) f(s);
    for (const auto& k : t.fired_timers) firing_.erase(k);
    // Calls whose answers this transition would have recorded are in flight again as far as
    // the store knows: issue them again (same idempotency key), as recovery would.
    RedispatchOutbox(id);
    for (auto& q : queued) q();
    return;
  }
  for (auto& inv : t.dispatch) Dispatch(inv);
  for (auto& f : t.after) f(Status::Ok());
  if (t.info && parts_->options->on_transition) parts_->options->on_transition(*t.info);
  if (t.terminal) {
    if (*t.terminal == InstanceStatus::kCompleted) {
      ++parts_->completed;
    } else if (*t.terminal != InstanceStatus::kCancelled) {
      ++parts_->failed;
    }
    if (parts_->options->on_terminal) parts_->options->on_terminal(id, t.workflow, std::string(Name(*t.terminal)));
  }
  for (const auto& k : t.fired_timers) firing_.erase(k);
  if (it != resident_.end()) {
    it->second.commit_pending = false;
    auto queued = std::move(it->second.queued);
    for (auto& q : queued) q();
  }
  MaybeEvict(id);
}

// ----------------------------------------------------------------------------------- starts

std::string PartitionExecutor::NewInstanceId(Time now) {
  if (now.ms != last_id_ms_) {
    last_id_ms_ = now.ms;
    id_seq_ = 0;
  }
  for (;;) {
    std::string id = Pad(partition_, 2) + "-" + Pad(now.ms, 13) + "-" + Pad(++id_seq_, 6);
    std::string ignored;
    if (resident_.count(id) == 0 && !parts_->store->Get(keys::Instance(id), &ignored).ok()) return id;
  }
}

void PartitionExecutor::Start(StartRequest req, Callback<StartResult> done, state::WriteBatch extra) {
  auto machine = parts_->definitions->Find(req.workflow, req.version);
  if (!machine) {
    done(Status::NotFound("no workflow called " + req.workflow +
                          (req.version ? " version " + std::to_string(*req.version) : std::string()) + " is deployed"));
    return;
  }
  auto input = CheckInput(*machine, req.input);
  if (!input.ok()) {
    done(input.status());
    return;
  }
  std::string bk;
  if (!req.business_key.empty()) {
    bk = keys::BusinessKey(req.workflow, req.business_key);
    if (auto pending = pending_bkeys_.find(bk); pending != pending_bkeys_.end()) {
      // Answer once the original start is durable, so the caller never sees an id that a crash
      // could still take back.
      std::string existing = pending->second;
      WithInstance(existing, [this, existing, req, done, extra](Result<Instance*> found) mutable {
        if (found.ok()) {
          done(StartResult{existing, false});
        } else if (found.status().code() == Status::Code::kNotFound) {
          Start(std::move(req), std::move(done), std::move(extra));  // the first start never became durable
        } else {
          done(found.status());
        }
      });
      return;
    }
    std::string existing;
    Status s = parts_->store->Get(bk, &existing);
    if (s.ok()) {
      done(StartResult{existing, false});  // in the store, so durable
      return;
    }
    if (s.code() != Status::Code::kNotFound) {
      done(s);
      return;
    }
  }
  Time now = parts_->clock->Now();
  NewInstanceRequest nr{NewInstanceId(now), req.business_key, req.correlation_id, std::move(*input)};
  std::string id = nr.id;
  Resident& r = resident_[id];
  ++parts_->resident;
  r.in = NewInstance(std::move(machine), std::move(nr), now);
  auto tx = Interpret(r.in, stimulus::Started{}, now, parts_->interpreter, *parts_->events);
  if (!tx.ok()) {  // cannot happen for a start; never leave a half-made instance behind
    resident_.erase(id);
    --parts_->resident;
    done(tx.status());
    return;
  }
  state::WriteBatch batch = std::move(extra);
  auto ticket = std::make_shared<Ticket>();
  if (!bk.empty()) {
    batch.Put(bk, id);
    pending_bkeys_[bk] = id;
    ticket->after.push_back([this, bk](const Status&) { pending_bkeys_.erase(bk); });
  }
  batch.Put(keys::WorkflowIndex(req.workflow, id), "");
  ++parts_->started;
  ticket->after.push_back([id, done](const Status& s) {
    if (s.ok()) {
      done(StartResult{id, true});
    } else {
      done(s);
    }
  });
  Advance(&r.in, std::nullopt, std::move(*tx), std::move(batch), std::move(ticket));
}

// ------------------------------------------------------------------------------ invocations

void PartitionExecutor::Dispatch(const Invocation& inv) {
  Connector* c = parts_->connectors->Find(inv.connector);
  outstanding_.insert(inv.instance_id + "|" + inv.invocation_id);
  ++parts_->in_flight;
  ++parts_->invocations;
  // Answered calls leave their deadline behind until it is due; when those outnumber the calls
  // in flight, drop them so the heap stays proportional to the work in flight.
  if (deadlines_.size() > 2 * outstanding_.size() + 4096) {
    std::erase_if(deadlines_, [this](const Deadline& d) { return outstanding_.count(d.instance + "|" + d.invocation) == 0; });
    std::make_heap(deadlines_.begin(), deadlines_.end(), std::greater<>());
  }
  Time now = parts_->clock->Now();
  deadlines_.push_back({Time{std::max(inv.deadline.ms, now.ms)}, inv.instance_id, inv.invocation_id});
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

// A call's answer, or its deadline passing. Stale answers (already timed out, or for an attempt
// that is no longer current) are dropped.
void PartitionExecutor::CallFinished(const std::string& id, const std::string& inv_id, CallResult r) {
  if (outstanding_.erase(id + "|" + inv_id) == 0) return;  // answered (or timed out) already
  --parts_->in_flight;
  Apply(id, stimulus::CallAnswered{inv_id, std::move(r)}, [this, id](const Status& s, bool) {
    if (!s.ok() && s.code() != Status::Code::kNotFound && s.code() != Status::Code::kIOError) {
      parts_->Dropped("recording a call's answer", s);
    } else if (s.code() == Status::Code::kNotFound) {
      MaybeEvict(id);
    }
  });
}

// Before a re-dispatch the outbox entry takes the new attempt's deadline, committed before the
// call goes out, so that a process restarted during this attempt hands it on as the previous
// attempt's deadline. Best effort: a failed write leaves the older (earlier) deadline, and the
// call is issued anyway.
void PartitionExecutor::Redispatch(std::vector<Invocation> calls) {
  if (calls.empty()) return;
  state::WriteBatch b;
  for (const auto& inv : calls) {
    Duration timeout{inv.deadline.ms - parts_->clock->Now().ms};
    b.Put(keys::Outbox(inv.instance_id, inv.invocation_id), OutboxRecord(inv, timeout));
  }
  ++parts_->pending_commits;
  auto shared = std::make_shared<std::vector<Invocation>>(std::move(calls));
  parts_->committer->Submit(std::move(b), [weak = weak_from_this(), shared](const Status& s) {
    auto self = weak.lock();
    if (!self) return;
    self->Post([self, shared, s] {
      --self->parts_->pending_commits;
      if (!s.ok()) self->parts_->Dropped("recording a re-dispatch deadline", s);
      for (const auto& inv : *shared) self->Dispatch(inv);
    });
  });
}

void PartitionExecutor::Recover(std::vector<Value> entries) {
  std::vector<Invocation> calls;
  Time now = parts_->clock->Now();
  for (const auto& e : entries) {
    Invocation inv = InvocationFromOutbox(e, now, parts_->options->default_step_timeout);
    auto in = Load(inv.instance_id);  // resident, to receive the answer
    if (!in.ok()) {
      parts_->Dropped("recovering a call in flight", in.status());
      continue;
    }
    calls.push_back(std::move(inv));
  }
  Redispatch(std::move(calls));
}

// Re-issues every call of the instance that the store holds in its outbox and that is not
// already outstanding here.
void PartitionExecutor::RedispatchOutbox(const std::string& id) {
  std::vector<Value> entries;
  Status s = parts_->store->ScanPrefix(keys::OutboxPrefix(id), [&](std::string_view, std::string_view v) {
    auto e = Value::FromTaggedJson(v);
    if (e.ok()) entries.push_back(std::move(*e));
    return true;
  });
  if (!s.ok()) {
    parts_->Dropped("reading the outbox after a failed commit", s);
    return;
  }
  std::vector<Invocation> calls;
  Time now = parts_->clock->Now();
  for (const auto& e : entries) {
    Invocation inv = InvocationFromOutbox(e, now, parts_->options->default_step_timeout);
    if (outstanding_.count(inv.instance_id + "|" + inv.invocation_id) != 0) continue;
    if (!Load(inv.instance_id).ok()) continue;
    calls.push_back(std::move(inv));
  }
  Redispatch(std::move(calls));
}

// -------------------------------------------------------------------------------- timers

void PartitionExecutor::Tick(Time now, const std::vector<std::string>& due) {
  // Call deadlines (in memory: a restart re-dispatches with fresh deadlines).
  while (!deadlines_.empty() && deadlines_.front().due <= now) {
    std::pop_heap(deadlines_.begin(), deadlines_.end(), std::greater<>());
    auto d = deadlines_.back();
    deadlines_.pop_back();
    if (outstanding_.count(d.instance + "|" + d.invocation) != 0)
      CallFinished(d.instance, d.invocation, CallResult::Failure("timeout", "no answer before the deadline"));
  }
  for (const auto& k : due)
    if (firing_.insert(k).second) TimerFired(k);
}

void PartitionExecutor::TimerFired(const std::string& key) {
  auto parsed = keys::ParseTimer(key);
  std::string id = parsed ? parsed->instance_id : std::string();
  auto drop_timer = [this, key] {
    // No instance (or no definition): the timer alone goes.
    if (parts_->stopping) return;
    state::WriteBatch b;
    b.Delete(key);
    ++parts_->pending_commits;
    parts_->committer->Submit(std::move(b), [weak = weak_from_this(), key](const Status&) {
      auto self = weak.lock();
      if (!self) return;
      self->Post([self, key] {
        --self->parts_->pending_commits;
        self->firing_.erase(key);
      });
    });
  };
  if (id.empty()) {
    drop_timer();
    return;
  }
  Apply(id, stimulus::TimerFired{key}, [this, key, drop_timer](const Status& s, bool changed) {
    if (s.code() == Status::Code::kNotFound) {
      drop_timer();
    } else if (s.ok() && !changed) {
      firing_.erase(key);
    } else if (!s.ok() && !changed) {
      // Unreadable instance: counted; an I/O error is tried again on the next tick, a corrupt
      // snapshot stays parked until an operator acts (it would fail the same way every tick).
      parts_->Dropped("firing a timer", s);
      if (s.code() == Status::Code::kIOError) firing_.erase(key);
    }
  });
}

}  // namespace rf::engine
