// One partition's executor: the instances whose ids carry its partition number live here. It owns
// their residency (only instances with work in progress are in memory), their order (one strand:
// a stimulus for an instance whose commit is in flight waits behind it), commit (through the
// shared group committer) and dispatch (calls are issued only once their transition is durable,
// each with a deadline). The interpreter (interpreter.h) decides; the executor carries it out.
// A partition is the unit of ownership, ordering and recovery.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "definitions.h"
#include "engine/engine.h"
#include "event_hub.h"
#include "instance.h"
#include "interpreter.h"
#include "state/group_commit.h"

namespace rf::engine {

// What every partition shares: the engine's parts and its counters. Held by shared_ptr by the
// engine and every executor, so work still queued on a strand never outlives it.
struct EngineParts {
  EngineParts(state::StateStore* s, const Clock* c, ConnectorRegistry* r, EngineOptions o);

  state::StateStore* const store;
  const Clock* const clock;
  ConnectorRegistry* const connectors;
  const EngineOptions options_storage;
  const EngineOptions* const options = &options_storage;
  const InterpreterOptions interpreter;
  DefinitionRegistry definitions_storage;
  DefinitionRegistry* const definitions = &definitions_storage;
  // Destroyed before the hub (declared after it): its destructor commits what is queued and runs
  // the callbacks, some of which are the hub's.
  std::unique_ptr<EventHub> hub;
  std::unique_ptr<state::GroupCommitter> committer_storage;
  state::GroupCommitter* committer = nullptr;
  EventHub* events = nullptr;

  std::atomic<std::int64_t> posted{0}, pending_commits{0}, in_flight{0};
  std::atomic<std::uint64_t> started{0}, completed{0}, failed{0}, transitions{0}, invocations{0}, errors_dropped{0};
  std::atomic<std::int64_t> resident{0};
  std::atomic<bool> stopping{false};

  // A Status that cannot be returned to anyone: counted, and reported to on_dropped_error.
  void Dropped(const char* what, const Status& s);
};

class PartitionExecutor : public std::enable_shared_from_this<PartitionExecutor> {
 public:
  PartitionExecutor(boost::asio::io_context& io, int partition, std::shared_ptr<EngineParts> parts);

  int partition() const { return partition_; }

  // Runs `f` on this partition's strand.
  void Post(std::function<void()> f);

  // On the strand: loads the instances of these outbox entries and issues their calls again.
  void Recover(std::vector<Value> outbox_entries);

  // On the strand. `extra` is written in the start's own batch (a schedule's fired slot).
  void Start(StartRequest request, Callback<StartResult> done, state::WriteBatch extra = {});
  // On the strand: applies a stimulus to one instance once its pending commit (if any) landed.
  // `done(status, changed)`: the commit's status, or the interpreter's refusal, or NotFound / the
  // read error; `changed` is false when the stimulus was stale (nothing written).
  using Applied = std::function<void(const Status&, bool changed)>;
  void Apply(const std::string& instance_id, Stimulus stimulus, Applied done);
  // On the strand: expired call deadlines, then these due timers.
  void Tick(Time now, const std::vector<std::string>& due_timers);

 private:
  struct Resident {
    Instance in;
    bool commit_pending = false;
    std::deque<std::function<void()>> queued;
  };

  Result<Instance*> Load(const std::string& id);
  void WithInstance(const std::string& id, std::function<void(Result<Instance*>)> f);
  void MaybeEvict(const std::string& id);
  // Interprets, writes and commits; `after` runs once the commit's outcome is known.
  struct Ticket;
  void Advance(Instance* in, std::optional<InstanceStatus> old_status, Transition tx, state::WriteBatch batch,
               std::shared_ptr<Ticket> ticket);
  void Committed(const std::string& id, Ticket& ticket, const Status& s);
  void Dispatch(const Invocation& inv);
  void CallFinished(const std::string& id, const std::string& inv_id, CallResult r);
  void RedispatchOutbox(const std::string& id);
  void Redispatch(std::vector<Invocation> calls);
  std::string NewInstanceId(Time now);
  void TimerFired(const std::string& key);

  boost::asio::io_context& io_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  const int partition_;
  const std::shared_ptr<EngineParts> parts_;

  // Strand-only state.
  std::unordered_map<std::string, Resident> resident_;
  std::map<std::string, std::string> pending_bkeys_;  // business-key key -> instance id, start not yet durable
  std::set<std::string> firing_;                      // timer keys whose transition is not yet durable
  std::set<std::string> outstanding_;                 // "instance|invocation" dispatched, not yet answered
  struct Deadline {
    Time due;
    std::string instance, invocation;
    bool operator>(const Deadline& o) const { return due > o.due; }
  };
  std::vector<Deadline> deadlines_;  // a min-heap on `due`
  std::int64_t last_id_ms_ = -1, id_seq_ = 0;
};

}  // namespace rf::engine
