// Steps: building a call, its answer, retries with backoff, `on error` routes, holding a failed
// step for an operator and the operator's repair (retry with a data patch, or skip).
#include <algorithm>

#include "interpretation.h"
#include "state/keys.h"

namespace rf::engine {

void Interpretation::DispatchStep(Thread& t, const ir::State& s) {
  Record input;
  for (const auto& [name, expr] : s.call.args) {
    auto v = Eval(t, expr);
    if (!v.ok()) {
      FailInstance("internal", "step " + s.name + ", input " + name + ": " + v.status().message(), t.state);
      return;
    }
    input[name] = std::move(*v);
  }
  ++t.attempt;
  Duration timeout = s.timeout.value_or(options_.default_step_timeout);
  Transition::Call call;
  Invocation& inv = call.invocation;
  inv.instance_id = in_.id;
  inv.invocation_id = std::to_string(t.id) + "." + std::to_string(t.visit) + "." + std::to_string(t.attempt);
  inv.idempotency_key = t.idem_key;
  inv.correlation_id = in_.correlation_id;
  inv.connector = s.call.connector;
  inv.operation = s.call.operation;
  inv.input = Value(std::move(input));
  inv.deadline = Time{now_.ms + timeout.ms};
  inv.attempt = t.attempt;
  call.timeout = timeout;
  t.phase = P::kCalling;
  t.invocation = inv.invocation_id;
  tx_.calls.push_back(std::move(call));
}

void Interpretation::CallAnswered(const stimulus::CallAnswered& a) {
  const std::string& inv_id = a.invocation_id;
  const CallResult& r = a.result;
  if (!in_.comp_invocation.empty() && in_.comp_invocation == inv_id) {  // an undo action
    tx_.calls_settled.push_back(inv_id);
    in_.comp_invocation.clear();
    UndoAnswered(r);
    return;
  }
  Thread* t = nullptr;
  for (auto& th : in_.threads)
    if (th.invocation == inv_id) t = &th;
  if (t == nullptr) return;  // stale: a later attempt is current, or the call timed out already
  tx_.calls_settled.push_back(inv_id);
  t->invocation.clear();
  const ir::State* s = StateOf(*t);
  if (t->phase == P::kCancelled) {
    // The instance is compensating; a call that succeeded anyway still gets undone.
    if (r.ok && s && s->undo) PushUndo(*t, *s);
    t->phase = P::kDone;
    Hist(r.ok ? "step_completed_after_cancel" : "step_failed_after_cancel", t->id, Record{{"state", Value(t->state)}});
    MaybeStartUndo();
    return;
  }
  if (r.ok) {
    Hist("step_completed", t->id, Record{{"state", Value(s->name)}, {"attempt", Value(std::int64_t{t->attempt})}});
    if (!s->save_as.empty()) Save(*t, s->save_as, r.output);
    if (s->undo) PushUndo(*t, *s);
    GoTo(*t, s->next);
    RunThreads({});
    return;
  }
  StepFailed(*t, *s, r);
}

void Interpretation::StepFailed(Thread& t, const ir::State& s, const CallResult& r) {
  Record failure;
  failure["state"] = Value(s.name);
  failure["attempt"] = Value(std::int64_t{t.attempt});
  failure["kind"] = Value(r.error_kind);
  failure["message"] = Value(r.message);
  Hist("attempt_failed", t.id, std::move(failure));
  const auto& kinds = s.retry.on_kinds;
  bool retryable = std::find(kinds.begin(), kinds.end(), r.error_kind) != kinds.end();
  if (retryable && t.attempt < s.retry.max_attempts) {
    Duration wait = RetryWait(s.retry, t.attempt, t.idem_key);
    if (wait.ms <= 0) {
      DispatchStep(t, s);
    } else {
      t.phase = P::kRetry;
      AddTimer(t, Time{now_.ms + wait.ms});
    }
    UpdateStatus();
    return;
  }
  Record err;
  err["kind"] = Value(r.error_kind);
  err["message"] = Value(r.message);
  err["step"] = Value(s.name);
  in_.data.Set("last_error", Value(err));
  const ir::ErrorRoute* route = nullptr;
  for (const auto& e : s.on_error)
    if (std::find(e.kinds.begin(), e.kinds.end(), r.error_kind) != e.kinds.end()) route = &e;
  if (route == nullptr)
    for (const auto& e : s.on_error)
      if (e.kinds.empty()) route = &e;
  if (route != nullptr) {
    Hist("error_handled", t.id, Record{{"state", Value(s.name)}, {"kind", Value(r.error_kind)}, {"to", Value(route->target)}});
    GoTo(t, route->target);
    RunThreads({});
  } else if (options_.hold_failed_steps) {
    HoldStep(t, r);
    UpdateStatus();
  } else {
    FailInstance(r.error_kind, r.message, s.name);
  }
}

// The step's error is parked for an operator instead of failing the instance.
void Interpretation::HoldStep(Thread& t, const CallResult& r) {
  t.phase = P::kHeld;
  in_.error["kind"] = Value(r.error_kind);
  in_.error["message"] = Value(r.message);
  in_.error["state"] = Value(t.state);
  in_.error["held"] = Value(true);
  Hist("step_held", t.id, Record{{"state", Value(t.state)}, {"kind", Value(r.error_kind)}, {"message", Value(r.message)}});
  in_.status = InstanceStatus::kHeld;
  tx_.dead_letter = Transition::DeadLetter::kPut;
}

Status Interpretation::Repair(const stimulus::RepairRequested& r) {
  Thread* t = nullptr;
  for (auto& th : in_.threads)
    if (th.phase == P::kHeld) t = &th;
  if (t == nullptr)
    return Status::FailedPrecondition("the instance is " + std::string(Name(in_.status)) + ", not held at a failed step");
  const bool retry = r.action == stimulus::RepairRequested::Action::kRetry;
  if (!r.patch.is_null() && !r.patch.is_record()) return Status::InvalidArgument("the data patch must be a JSON object");
  const ir::State* s = StateOf(*t);
  if (r.patch.is_record())
    for (const auto& [k, v] : r.patch.as_record()) Save(*t, k, v);
  in_.error.clear();
  tx_.dead_letter = Transition::DeadLetter::kRemove;
  Hist(retry ? "step_retried_by_operator" : "step_skipped_by_operator", t->id,
       Record{{"state", Value(t->state)}, {"patched", Value(r.patch.is_record())}});
  if (retry) {
    t->phase = P::kReady;  // a new visit: a new idempotency key for the (possibly patched) request
    ready_.push_back(t->id);
  } else {
    GoTo(*t, s->next);
  }
  RunThreads({});
  return Status::Ok();
}

void Interpretation::PushUndo(Thread& t, const ir::State& s) {
  Record input;
  for (const auto& [name, expr] : s.undo->args) {
    auto v = Eval(t, expr);
    input[name] = v.ok() ? std::move(*v) : Value();
  }
  UndoEntry u;
  u.step = s.name;
  u.connector = s.undo->connector;
  u.operation = s.undo->operation;
  u.key = t.idem_key + ":undo";
  u.input = Value(std::move(input));
  in_.undo.push_back(std::move(u));
}

}  // namespace rf::engine
