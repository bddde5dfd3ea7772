// The durable engine: runs compiled machines (engine/ir) as instances whose every transition is
// one atomic commit to a StateStore (snapshot + history + timers/tasks/subscriptions + outbox),
// with invocations dispatched only after the commit is durable (DESIGN §4, state/FORMAT.md).
//
// The engine does no I/O of its own: it is given a StateStore, a Clock and a ConnectorRegistry.
//
// Partitions: instances are spread over `partitions` executors (engine/src/executor.h), each with
// its own strand of the given io_context, so a context run by several threads uses several cores.
// An instance keeps its partition number for life (it is part of its id); a start with a business
// key always goes to the same partition, so the key stays unique. The engine serves every
// partition number it finds in the store, so changing `partitions` orphans nothing. Every public method
// is thread-safe; the asynchronous ones post to a strand and call their callback from it. Reads
// (Get*/List*) go straight to the store and see committed state only.
//
// Memory: only instances with work in progress are held in RAM; an instance that waits (timer,
// event, approval) lives in the store and is loaded when its stimulus arrives.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/value.h"
#include "engine/clock.h"
#include "engine/connector.h"
#include "engine/ir/machine.h"
#include "engine/status.h"
#include "state/state_store.h"

namespace rf::engine {

struct TransitionInfo {
  std::string instance_id, workflow, correlation_id, business_key;
  std::string old_status, status;
  std::vector<std::pair<std::string, std::string>> events;  // (type, state)
  double commit_seconds = 0;  // from submitting the batch to its durable commit
};

struct EngineOptions {
  int partition = 0;   // the first partition number, 0..63; part of every instance id
  int partitions = 1;  // executors: partition .. partition + partitions - 1 (at most 64 in all)
  Duration event_buffer_ttl{7 * 86400000LL};  // how long an early event waits for its instance
  Duration default_step_timeout{30000};       // a step without `timeout`
  // Undo actions are retried with this policy; when it is exhausted the instance becomes
  // compensation_failed (a dead letter), never silently dropped.
  int undo_max_attempts = 10;
  Duration undo_first_wait{1000};
  Duration undo_max_wait{300000};
  // A step whose error is not handled (retries exhausted, no `on error` route) fails the instance
  // and runs its undo chain — the contract's default. With hold_failed_steps the instance is
  // `held` at that step instead, listed as a dead letter, until an operator repairs it:
  // RetryStep (optionally patching data), SkipStep, or Cancel (which runs the undo chain).
  bool hold_failed_steps = false;
  // Schedules: after an outage, fire only the most recent missed slot (no burst of catch-up
  // starts) unless this is true, in which case every missed slot fires once.
  bool schedule_catch_up_all = false;
  size_t max_group_bytes = 4 << 20;
  // Called on the engine's strand once an instance's terminal state is durable (metrics, demo
  // summaries, benchmarks). Must be quick and must not call back into the engine synchronously.
  std::function<void(const std::string& instance_id, const std::string& workflow,
                     const std::string& status)>
      on_terminal;
  // Called on the engine's strand after each transition is durable (structured logs, metrics):
  // the instance, its status before and after, and the history events the transition wrote
  // (type and the state they concern, if any). Same rules as on_terminal.
  std::function<void(const struct TransitionInfo&)> on_transition;
  // Called when an error has no caller to go back to (a re-dispatch deadline that could not be
  // recorded, an unreadable instance whose timer fired...): for the host's log. Counted in
  // EngineStats::errors_dropped either way. Any thread; must be quick.
  std::function<void(const char* what, const Status&)> on_dropped_error;
  // How often the engine ticks itself (timers, deadlines, schedules); 0 = never, the host calls
  // Tick() (tests with a ManualClock do).
  Duration tick_interval{0};
};

// Instance statuses as text (engine/status.h has the typed vocabulary and what each means).
const std::vector<std::string>& StatusNames();
bool IsTerminalStatus(const std::string& status);

struct StartRequest {
  std::string workflow;
  Value input;                 // a record
  std::string business_key;    // optional; the same key again returns the same instance
  std::string correlation_id;  // optional; defaults to the instance id
  std::optional<int> version;  // default: the latest deployed version
};

struct StartResult {
  std::string instance_id;
  bool created = true;  // false: an instance with that business key already existed
};

struct DeployResult {
  std::string workflow;
  int version = 0;
  bool created = true;  // false: the identical version was already deployed
};

struct TaskDecision {
  std::string task_id;
  std::string decision;  // "approve" | "reject"
  std::string actor;
  std::string comment;
};

struct EngineStats {
  std::uint64_t instances_started = 0;
  std::uint64_t instances_completed = 0;
  std::uint64_t instances_failed = 0;  // failed + compensated + compensation_failed
  std::uint64_t transitions = 0;       // committed transitions
  std::uint64_t commits = 0;           // commit groups written
  std::uint64_t invocations = 0;
  size_t resident_instances = 0;
  size_t in_flight_invocations = 0;
  std::uint64_t errors_dropped = 0;  // see EngineOptions::on_dropped_error
  int partitions = 1;
};

// A page of GET /v1/instances. Filters combine (and); `after` is the cursor returned as
// `next_cursor` by the previous page (an instance id; pages are in id order, oldest first).
struct InstanceQuery {
  std::string workflow;
  std::string status;
  std::string business_key;  // needs `workflow` (business keys are unique per workflow)
  std::string after;
  size_t limit = 100;
};
struct InstancePage {
  std::vector<Value> items;  // instance views
  std::string next_cursor;   // empty on the last page
};

template <typename T>
using Callback = std::function<void(Result<T>)>;

class Engine {
 public:
  Engine(boost::asio::io_context& io, state::StateStore* store, const Clock* clock,
         ConnectorRegistry* connectors, EngineOptions options = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Loads deployed definitions, re-dispatches invocations that were committed but not
  // acknowledged (same idempotency key), and arms timers (overdue ones fire on the next Tick).
  // Call once, before anything else; blocks until done.
  Status Recover();

  // Stores a compiled definition. Deploying the same name and version again is accepted only if
  // the source is identical (created = false); a different source for an existing version is
  // refused (AlreadyExists). Running instances stay on the version they started on.
  Result<DeployResult> Deploy(const ir::Machine& machine, const std::string& source);

  void Start(StartRequest request, Callback<StartResult> done);
  // Delivers to every instance waiting for (event, key); when none waits, buffers it for
  // event_buffer_ttl. The result counts the instances it was delivered to (0 = buffered).
  void DeliverEvent(std::string event, std::string key, Value data, Callback<int> done);
  // A task can be completed once; afterwards FailedPrecondition.
  void CompleteTask(TaskDecision decision, Callback<bool> done);
  // Runs the undo chain, then `cancelled`. FailedPrecondition on a terminal instance.
  void Cancel(std::string instance_id, std::string reason, Callback<bool> done);

  // Operator repair of an instance `held` at a failed step (hold_failed_steps). RetryStep merges
  // `patch` (a record, or null) into the instance data and runs the step again as a new visit
  // (a new idempotency key, since the request may have changed); SkipStep continues with the
  // step's next state without a result. Both remove the dead letter. FailedPrecondition when the
  // instance is not held.
  void RetryStep(std::string instance_id, Value patch, Callback<bool> done);
  void SkipStep(std::string instance_id, Callback<bool> done);

  // Fires due timers, deadlines, expired invocations and schedules at the clock's time. The
  // engine calls it itself with a real clock; tests call it after moving a ManualClock.
  void Tick();

  // True while commits, invocations or posted work are outstanding.
  bool Busy() const;
  // Blocks the calling thread (not the strand!) until nothing is outstanding.
  void WaitIdle();
  // Like WaitIdle, but connector calls may still be in flight (a test holding a call).
  void WaitSettled();
  EngineStats stats() const;

  // Reads of committed state (thread-safe). The instance view (docs/engine.md) is a read model of
  // the snapshot: id, workflow, version, keys, status, outcome, times, data, threads, undo, error,
  // compensation; it leaves out the engine's bookkeeping, so the stored form can change freely.
  Result<Value> GetInstance(const std::string& instance_id) const;
  Result<std::vector<Value>> GetHistory(const std::string& instance_id) const;
  Result<std::vector<Value>> ListInstances(const std::string& status, size_t limit) const;
  Result<std::vector<Value>> ListOpenTasks(const std::string& role) const;
  Result<std::vector<Value>> ListDeadLetters() const;
  Result<std::vector<Value>> ListDefinitions() const;
  Result<InstancePage> QueryInstances(const InstanceQuery& query) const;
  // One human task (approval): id, instance, workflow, state, role, title, details, status
  // ("open" or the decision), deadline, actor, comment. NotFound when unknown.
  Result<Value> GetTask(const std::string& task_id) const;
  // Tasks by role ("" = any) and status ("open", "closed" = any but open, "" = all).
  Result<std::vector<Value>> ListTasks(const std::string& role, const std::string& status,
                                       size_t limit) const;
  // One deployed version ({name, version, source, machine, deployed_at}); version 0 = latest.
  Result<Value> GetDefinition(const std::string& workflow, int version) const;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace rf::engine
