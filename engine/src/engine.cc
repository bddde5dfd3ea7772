// The engine's front: routes every request to the partition that owns the instance (its id's
// first two digits), fans ticks out to every partition, and keeps what spans partitions:
// definitions, early events (event_hub.h), schedules. See engine.h for the contract.
//
// Map of the engine (engine/src):
//   engine.cc             this front: routing, ticks, schedules, recovery, stats
//   executor.*            one partition: residency, ordering, commit, dispatch, call deadlines
//   interpreter.*         the pure interpreter; its parts: interpretation.h, step_calls.cc,
//                         waits.cc, compensation.cc
//   transition.h          what a transition changes; transition_writer.* turns it into a batch
//   instance.h            the instance model; snapshot_codec.* its stored form
//   definitions.*         deployed versions;  schedules.*  due schedule slots
//   event_hub.*           events and early events across partitions
//   reads.cc              the read API and its views (instance_view.*)
#include "engine/engine.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <cctype>
#include <future>
#include <thread>

#include "engine_impl.h"
#include "state/keys.h"

namespace rf::engine {

namespace keys = state::keys;

const std::vector<std::string>& StatusNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (int i = 0; i < kInstanceStatusCount; ++i) out.emplace_back(Name(static_cast<InstanceStatus>(i)));
    return out;
  }();
  return names;
}

bool IsTerminalStatus(const std::string& s) {
  auto status = ParseInstanceStatus(s);
  return status && IsTerminal(*status);
}

Engine::Impl::Impl(boost::asio::io_context& io, state::StateStore* store, const Clock* clock,
                   ConnectorRegistry* connectors, EngineOptions options)
    : io_(io),
      control_(boost::asio::make_strand(io)),
      parts_(std::make_shared<EngineParts>(store, clock, connectors, std::move(options))) {
  const EngineOptions& o = *parts_->options;
  int count = std::clamp(o.partitions, 1, 64 - std::clamp(o.partition, 0, 63));
  for (int p = 0; p < count; ++p)
    executors_.push_back(std::make_shared<PartitionExecutor>(io, std::clamp(o.partition, 0, 63) + p, parts_));
}

PartitionExecutor* Engine::Impl::Owner(std::string_view instance_id) const {
  if (instance_id.size() < 3 || instance_id[2] != '-' || !std::isdigit(static_cast<unsigned char>(instance_id[0])) ||
      !std::isdigit(static_cast<unsigned char>(instance_id[1])))
    return nullptr;
  // This node serves every partition number (LevelDB: one node). New instances are minted in
  // the executors' own numbers; an id from another count of partitions (the setting changed)
  // is served by the executor its number falls to, so no instance is ever orphaned.
  int n = (instance_id[0] - '0') * 10 + (instance_id[1] - '0');
  int count = static_cast<int>(executors_.size());
  int index = ((n - executors_.front()->partition()) % count + count) % count;
  return executors_[static_cast<size_t>(index)].get();
}

size_t Engine::Impl::Index(const PartitionExecutor* e) const {
  return static_cast<size_t>(e->partition() - executors_.front()->partition());
}

PartitionExecutor* Engine::Impl::ForStart(const StartRequest& r) {
  if (r.business_key.empty()) return executors_[next_start_++ % executors_.size()].get();
  size_t h = std::hash<std::string>{}(r.workflow + '\0' + r.business_key);
  return executors_[h % executors_.size()].get();
}

void Engine::Impl::OnControl(std::function<void()> f) {
  ++parts_->posted;
  boost::asio::post(control_, [self = shared_from_this(), f = std::move(f)] {
    f();
    --self->parts_->posted;
  });
}

// ------------------------------------------------------------------------------ recovery

Status Engine::Impl::Recover() {
  Status s = parts_->definitions->Load(parts_->store);
  if (!s.ok()) return s;
  s = parts_->store->ScanPrefix(keys::ScheduleSlotPrefix(), [&](std::string_view k, std::string_view v) {
    auto t = Value::FromTaggedJson(v);
    if (t.ok() && t->is_time()) sched_last_[std::string(k)] = t->as_time();
    return true;
  });
  if (!s.ok()) return s;
  std::vector<std::vector<Value>> outbox(executors_.size());
  s = parts_->store->ScanPrefix(keys::OutboxPrefix(), [&](std::string_view k, std::string_view v) {
    auto entry = Value::FromTaggedJson(v);
    if (!entry.ok()) {
      parts_->Dropped("reading an outbox entry", Status::Corruption("outbox entry " + std::string(k) + " is unreadable"));
      return true;
    }
    std::string_view id = k.substr(keys::OutboxPrefix().size());
    PartitionExecutor* owner = Owner(id);
    if (owner != nullptr) outbox[Index(owner)].push_back(std::move(*entry));
    return true;
  });
  if (!s.ok()) return s;
  std::vector<std::future<void>> done;
  for (size_t i = 0; i < executors_.size(); ++i) {
    auto p = std::make_shared<std::promise<void>>();
    done.push_back(p->get_future());
    executors_[i]->Post([e = executors_[i], entries = std::move(outbox[i]), p]() mutable {
      e->Recover(std::move(entries));
      p->set_value();
    });
  }
  for (auto& f : done) f.wait();
  ArmTicker();
  return Status::Ok();
}

// ---------------------------------------------------------------------------- stimuli

void Engine::Impl::Start(StartRequest req, Callback<StartResult> done) {
  PartitionExecutor* e = ForStart(req);
  e->Post([e, req = std::move(req), done = std::move(done)]() mutable { e->Start(std::move(req), std::move(done)); });
}

void Engine::Impl::ApplyTo(const std::string& id, Stimulus st, std::function<void(const Status&, bool)> done) {
  PartitionExecutor* e = Owner(id);
  if (e == nullptr) {
    done(Status::NotFound("no instance with that id"), false);
    return;
  }
  e->Post([e, id, st = std::move(st), done = std::move(done)]() mutable { e->Apply(id, std::move(st), std::move(done)); });
}

namespace {
std::function<void(const Status&, bool)> AnswerBool(Callback<bool> done) {
  return [done = std::move(done)](const Status& s, bool) {
    if (s.ok()) {
      done(true);
    } else {
      done(s);
    }
  };
}
}  // namespace

void Engine::Impl::Cancel(std::string id, std::string reason, Callback<bool> done) {
  ApplyTo(id, stimulus::CancelRequested{std::move(reason)}, AnswerBool(std::move(done)));
}

void Engine::Impl::Repair(std::string id, bool retry, Value patch, Callback<bool> done) {
  stimulus::RepairRequested r;
  r.action = retry ? stimulus::RepairRequested::Action::kRetry : stimulus::RepairRequested::Action::kSkip;
  r.patch = std::move(patch);
  ApplyTo(id, std::move(r), AnswerBool(std::move(done)));
}

void Engine::Impl::CompleteTask(TaskDecision d, Callback<bool> done) {
  auto decision = ParseDecision(d.decision);
  if (!decision) {
    done(Status::InvalidArgument("decision must be \"approve\" or \"reject\""));
    return;
  }
  // <instance id>:<thread>.<visit>:<state>
  size_t first = d.task_id.find(':');
  size_t last = d.task_id.rfind(':');
  if (first == std::string::npos || first == last) {
    done(Status::NotFound("no task " + d.task_id));
    return;
  }
  std::string id = d.task_id.substr(0, first);
  stimulus::TaskDecided st{d.task_id, *decision, d.actor, d.comment};
  ApplyTo(id, std::move(st), [this, task_id = d.task_id, done](const Status& s, bool) {
    if (s.ok()) {
      done(true);
      return;
    }
    if (s.code() != Status::Code::kNotFound) {
      done(s);
      return;
    }
    // Not open: closed already (say how), or never existed.
    auto task = GetTask(task_id);
    const Value* status = task.ok() ? task->Find("status") : nullptr;
    if (status != nullptr && status->is_text()) {
      done(Status::FailedPrecondition("task " + task_id + " is already " + status->as_text()));
    } else {
      done(Status::NotFound("no task " + task_id));
    }
  });
}

void Engine::Impl::DeliverEvent(std::string event, std::string key, Value data, Callback<int> done) {
  OnControl([this, event = std::move(event), key = std::move(key), data = std::move(data), done = std::move(done)] {
    Time now = parts_->clock->Now();
    Duration ttl = parts_->options->event_buffer_ttl;
    auto buffered = [done](const Status& s) {
      if (s.ok()) {
        done(0);
      } else {
        done(s);
      }
    };
    if (parts_->stopping) {
      done(Status::Unavailable("the engine is shutting down"));
      return;
    }
    auto targets = parts_->events->WaitersOrBuffer(event, key, data, now, ttl, buffered);
    if (!targets.ok()) {
      done(targets.status());
      return;
    }
    if (targets->empty()) return;  // buffered; `buffered` answers
    struct Tally {
      int remaining = 0, delivered = 0;
      Status failed;
    };
    auto tally = std::make_shared<Tally>();
    tally->remaining = static_cast<int>(targets->size());
    for (const auto& w : *targets) {
      stimulus::EventDelivered st{w.thread, event, key, data};
      ApplyTo(w.instance_id, std::move(st), [this, tally, done, event, key, data, buffered](const Status& s, bool changed) {
        if (!s.ok() && s.code() != Status::Code::kNotFound) tally->failed = s;
        if (s.ok() && changed) ++tally->delivered;
        if (--tally->remaining > 0) return;
        if (!tally->failed.ok()) {
          done(tally->failed);
        } else if (tally->delivered == 0) {
          // Every waiter moved on before the event reached it (an earlier event or its timeout
          // was being saved): keep the event for the next wait, never drop it.
          parts_->events->Buffer(event, key, data, parts_->clock->Now(), parts_->options->event_buffer_ttl, buffered);
        } else {
          done(tally->delivered);
        }
      });
    }
  });
}

// ------------------------------------------------------------------------------- ticks

void Engine::Impl::Tick() {
  OnControl([this] { DoTick(); });
}

void Engine::Impl::DoTick() {
  Time now = parts_->clock->Now();
  std::vector<std::vector<std::string>> due(executors_.size());
  size_t n = 0;
  Status s = parts_->store->Scan(keys::TimerPrefix(), keys::TimersDueBy(now), [&](std::string_view k, std::string_view) {
    auto t = keys::ParseTimer(k);
    PartitionExecutor* owner = t ? Owner(t->instance_id) : nullptr;
    if (owner != nullptr) due[Index(owner)].emplace_back(k);
    return ++n < 10000;
  });
  if (!s.ok()) parts_->Dropped("scanning due timers", s);
  for (size_t i = 0; i < executors_.size(); ++i)
    executors_[i]->Post([e = executors_[i], now, d = std::move(due[i])] { e->Tick(now, d); });
  FireSchedules(now);
  SweepExpiredEvents(now);
}

void Engine::Impl::FireSchedules(Time now) {
  for (auto& start : DueStarts(parts_->definitions->LatestWithSchedules(), sched_last_, now,
                               parts_->options->schedule_catch_up_all)) {
    std::string slot_id = start.slot_key + "|" + std::to_string(start.slot.ms);
    if (!in_flight_slots_.insert(slot_id).second) continue;  // its start is not answered yet
    state::WriteBatch marker;
    marker.Put(start.slot_key, Value(start.slot).ToTaggedJson());
    PartitionExecutor* e = ForStart(start.request);
    auto record = [this, key = start.slot_key, slot = start.slot, slot_id](Result<StartResult> r) {
      OnControl([this, key, slot, slot_id, r] {
        in_flight_slots_.erase(slot_id);
        // A failed start is tried again on the next tick (the business key keeps it to one
        // instance per slot); the slot counts as fired once its start is durable.
        if (!r.ok()) return;
        auto it = sched_last_.find(key);
        if (it != sched_last_.end() && it->second >= slot) return;
        sched_last_[key] = slot;
        if (!r->created) {  // started before (by an earlier process): the marker was not in a batch of ours
          state::WriteBatch b;
          b.Put(key, Value(slot).ToTaggedJson());
          ++parts_->pending_commits;
          parts_->committer->Submit(std::move(b), [parts = parts_](const Status& s) {
            if (!s.ok()) parts->Dropped("recording a schedule slot", s);
            --parts->pending_commits;
          });
        }
      });
    };
    e->Post([e, req = std::move(start.request), record, marker = std::move(marker)]() mutable {
      e->Start(std::move(req), record, std::move(marker));
    });
  }
}

// Early events nobody waited for are deleted once expired, so the buffer does not grow without
// bound (a POS that sends pickups for orders never started). At most once a minute.
void Engine::Impl::SweepExpiredEvents(Time now) {
  if (now.ms < next_event_sweep_.ms) return;
  next_event_sweep_ = Time{now.ms + 60000};
  ++parts_->pending_commits;
  parts_->events->SweepExpired(now, 10000, [parts = parts_](const Status& s, size_t) {
    if (!s.ok()) parts->Dropped("deleting expired early events", s);
    --parts->pending_commits;
  });
}

void Engine::Impl::ArmTicker() {
  if (parts_->options->tick_interval.ms <= 0) return;
  ticker_ = std::make_unique<boost::asio::steady_timer>(control_);
  ScheduleTick();
}

void Engine::Impl::ScheduleTick() {
  ticker_->expires_after(std::chrono::milliseconds(parts_->options->tick_interval.ms));
  ticker_->async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->parts_->stopping) return;
    self->DoTick();
    self->ScheduleTick();
  });
}

void Engine::Impl::Stop() {
  parts_->stopping = true;
  if (ticker_) {
    std::promise<void> p;
    auto f = p.get_future();
    boost::asio::post(control_, [this, &p] {
      ticker_->cancel();
      p.set_value();
    });
    if (!io_.stopped()) f.wait_for(std::chrono::seconds(2));
  }
}

bool Engine::Impl::Busy() const {
  return parts_->posted > 0 || parts_->pending_commits > 0 || parts_->in_flight > 0;
}

// -------------------------------------------------------------------------------- Engine

Engine::Engine(boost::asio::io_context& io, state::StateStore* store, const Clock* clock,
               ConnectorRegistry* connectors, EngineOptions options)
    : impl_(std::make_shared<Impl>(io, store, clock, connectors, std::move(options))) {}

Engine::~Engine() {
  impl_->Stop();
  // No new commits are submitted from here on; wait for the ones in flight so that no
  // group-commit callback ends up holding the last reference to the engine's internals (it
  // would then be destroyed on the writer thread, which cannot join itself).
  impl_->parts_->committer->Flush();
}

Status Engine::Recover() { return impl_->Recover(); }
Result<DeployResult> Engine::Deploy(const ir::Machine& m, const std::string& source) {
  return impl_->parts_->definitions->Deploy(m, source, impl_->parts_->clock->Now(), impl_->parts_->committer);
}
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
  impl_->Repair(std::move(id), true, std::move(patch), std::move(done));
}
void Engine::SkipStep(std::string id, Callback<bool> done) { impl_->Repair(std::move(id), false, Value(), std::move(done)); }
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
    quiet = (impl_->parts_->posted > 0 || impl_->parts_->pending_commits > 0) ? 0 : quiet + 1;
  }
}

EngineStats Engine::stats() const {
  const EngineParts& p = *impl_->parts_;
  EngineStats s;
  s.instances_started = p.started;
  s.instances_completed = p.completed;
  s.instances_failed = p.failed;
  s.transitions = p.transitions;
  s.commits = p.committer->stats().groups;
  s.invocations = p.invocations;
  s.in_flight_invocations = static_cast<size_t>(std::max<std::int64_t>(p.in_flight.load(), 0));
  s.resident_instances = static_cast<size_t>(std::max<std::int64_t>(p.resident.load(), 0));
  s.errors_dropped = p.errors_dropped;
  s.partitions = static_cast<int>(impl_->executors_.size());
  return s;
}

}  // namespace rf::engine
