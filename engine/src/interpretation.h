// One run of the interpreter over one instance and one stimulus (interpreter.h). Private to the
// interpreter's files: interpreter.cc (stimuli, threads, the state kinds), step_calls.cc (calls,
// retries, holds, repairs), waits.cc (timers, events, approvals), compensation.cc (the undo chain).
#pragma once

#include <deque>
#include <string>
#include <vector>

#include "interpreter.h"

namespace rf::engine {

class Interpretation {
 public:
  Interpretation(Instance& in, Time now, const InterpreterOptions& options, EventSource& events)
      : in_(in), now_(now), options_(options), events_(events) {}

  Status Apply(const Stimulus& s);
  Transition& transition() { return tx_; }

 private:
  using K = ir::State::Kind;
  using W = ir::State::WaitKind;
  using P = ThreadPhase;

  // interpreter.cc
  void RunThreads(std::vector<std::int64_t> start);
  void UpdateStatus();
  void Enter(Thread& t);
  void EnterWait(Thread& t, const ir::State& s);
  void EnterApproval(Thread& t, const ir::State& s);
  void EnterParallel(Thread& t, const ir::State& s);
  void EnterForEach(Thread& t, const ir::State& s);
  void SpawnItems(std::int64_t parent_id, const ir::State& s);
  void RegionDone(Thread& t);
  void RemoveChildren(std::int64_t parent_id);
  void GoTo(Thread& t, const std::string& target);
  void Hist(const std::string& type, std::int64_t thread, Record fields);
  const ir::State* StateOf(const Thread& t) const;
  Result<Value> Eval(const Thread& t, const ir::ExprPtr& e) const;
  void Save(Thread& t, const std::string& name, Value v);
  static std::string StatePath(const Thread& t);

  // step_calls.cc
  void DispatchStep(Thread& t, const ir::State& s);
  void CallAnswered(const stimulus::CallAnswered& a);
  void StepFailed(Thread& t, const ir::State& s, const CallResult& r);
  void HoldStep(Thread& t, const CallResult& r);
  Status Repair(const stimulus::RepairRequested& r);
  void PushUndo(Thread& t, const ir::State& s);

  // waits.cc
  void AddTimer(Thread& t, Time due);
  void SetTimer(const std::string& key, std::int64_t thread);
  void ClearTimer(const std::string& key);
  void SetSubscription(const std::string& key);
  void ClearSubscription(const std::string& key);
  void TimerFired(const std::string& key);
  void EventDelivered(const stimulus::EventDelivered& e);
  Status TaskDecided(const stimulus::TaskDecided& d);
  void CloseTask(Thread& t, const std::string& status, const stimulus::TaskDecided* decision = nullptr);

  // compensation.cc
  Status Cancel(const std::string& reason);
  void FailInstance(const std::string& kind, const std::string& message, const std::string& state);
  void BeginCompensation(const std::string& kind, const std::string& message, bool unhandled);
  void MaybeStartUndo();
  void CompensateNext();
  void UndoAnswered(const CallResult& r);
  void FinishCompensation();

  Instance& in_;
  const Time now_;
  const InterpreterOptions& options_;
  EventSource& events_;
  Transition tx_;
  std::deque<std::int64_t> ready_;
};

}  // namespace rf::engine
