// The undo chain: a failure (a `fail` state or an unhandled step error) or an operator's cancel
// stops every thread, waits for calls in flight to settle, then runs the undo actions of the
// completed steps in reverse order, each retried with backoff; a refused undo stops the chain
// at `compensation_failed`, a dead letter for an operator.
#include "interpretation.h"
#include "state/keys.h"

namespace rf::engine {

Status Interpretation::Cancel(const std::string& reason) {
  if (IsTerminal(in_.status))
    return Status::FailedPrecondition("the instance is already " + std::string(Name(in_.status)));
  if (in_.compensating) return Status::FailedPrecondition("the instance is already running its undo chain");
  in_.cancel_requested = true;
  if (in_.status == InstanceStatus::kHeld) tx_.dead_letter = Transition::DeadLetter::kRemove;
  Record ev;
  ev["reason"] = Value(reason);
  Hist("cancel_requested", -1, std::move(ev));
  BeginCompensation("cancelled", "Cancelled by an operator: " + reason, false);
  return Status::Ok();
}

void Interpretation::FailInstance(const std::string& kind, const std::string& message, const std::string& state) {
  if (in_.compensating) return;
  BeginCompensation(kind, message, kind != "fail");
  in_.error["state"] = Value(state);
}

void Interpretation::BeginCompensation(const std::string& kind, const std::string& message, bool unhandled) {
  in_.compensating = true;
  in_.unhandled_error = unhandled;
  in_.outcome = message;
  in_.error["kind"] = Value(kind);
  in_.error["message"] = Value(message);
  ready_.clear();
  for (auto& t : in_.threads) {
    if (!t.timer_key.empty()) ClearTimer(t.timer_key);
    t.timer_key.clear();
    if (!t.sub_key.empty()) ClearSubscription(t.sub_key);
    t.sub_key.clear();
    if (!t.task_id.empty()) CloseTask(t, "cancelled");
    t.phase = t.invocation.empty() ? P::kDone : P::kCancelled;
  }
  Hist("compensation_started", -1,
       Record{{"kind", Value(kind)}, {"message", Value(message)}, {"undo_actions", Value(static_cast<std::int64_t>(in_.undo.size()))}});
  in_.status = InstanceStatus::kCompensating;
  MaybeStartUndo();
}

void Interpretation::MaybeStartUndo() {
  for (const auto& t : in_.threads)
    if (!t.invocation.empty()) return;  // wait for in-flight calls to settle
  if (in_.comp_invocation.empty() && in_.comp_timer.empty()) {
    in_.comp_attempt = 0;
    CompensateNext();
  }
}

void Interpretation::CompensateNext() {
  if (in_.undo.empty()) {
    FinishCompensation();
    return;
  }
  const UndoEntry& u = in_.undo.back();
  ++in_.comp_attempt;
  Transition::Call call;
  Invocation& inv = call.invocation;
  inv.instance_id = in_.id;
  inv.invocation_id = "undo." + std::to_string(in_.undo.size()) + "." + std::to_string(in_.comp_attempt);
  inv.idempotency_key = u.key;
  inv.correlation_id = in_.correlation_id;
  inv.connector = u.connector;
  inv.operation = u.operation;
  inv.input = u.input;
  inv.deadline = Time{now_.ms + options_.default_step_timeout.ms};
  inv.attempt = in_.comp_attempt;
  call.timeout = options_.default_step_timeout;
  in_.comp_invocation = inv.invocation_id;
  tx_.calls.push_back(std::move(call));
  Hist("undo_started", -1, Record{{"step", Value(u.step)}, {"attempt", Value(std::int64_t{in_.comp_attempt})}});
}

void Interpretation::UndoAnswered(const CallResult& r) {
  const UndoEntry& u = in_.undo.back();
  // not_found: what the undo would take back does not exist (any more): nothing left to undo.
  if (r.ok || r.error_kind == "not_found") {
    Record ev{{"step", Value(u.step)}};
    if (!r.ok) {
      ev["nothing_to_undo"] = Value(true);
      ev["message"] = Value(r.message);
    }
    Hist("undo_completed", -1, std::move(ev));
    in_.undo.pop_back();
    ++in_.undone;
    in_.comp_attempt = 0;
    CompensateNext();
    return;
  }
  Hist("undo_failed", -1,
       Record{{"step", Value(u.step)}, {"kind", Value(r.error_kind)}, {"message", Value(r.message)},
              {"attempt", Value(std::int64_t{in_.comp_attempt})}});
  // The system refused the undo (`rejected`, `conflict`): asking again changes nothing, so an
  // operator is called at once. Transient failures are retried with backoff.
  bool transient = r.error_kind != "rejected" && r.error_kind != "conflict";
  if (transient && in_.comp_attempt < options_.undo_max_attempts) {
    ir::RetryPolicy p;
    p.first_wait = options_.undo_first_wait;
    p.max_wait = options_.undo_max_wait;
    Duration wait = RetryWait(p, in_.comp_attempt, u.key);
    in_.comp_timer = state::keys::Timer(Time{now_.ms + wait.ms}, in_.id, in_.next_timer++);
    SetTimer(in_.comp_timer, -1);
    return;
  }
  in_.status = InstanceStatus::kCompensationFailed;
  in_.error["undo_step"] = Value(u.step);
  in_.error["undo_error"] = Value(r.message);
  tx_.dead_letter = Transition::DeadLetter::kPut;
  Hist("compensation_failed", -1, Record{{"step", Value(u.step)}});
}

void Interpretation::FinishCompensation() {
  if (in_.cancel_requested) {
    in_.status = InstanceStatus::kCancelled;
  } else {
    in_.status = in_.undone > 0 ? InstanceStatus::kCompensated : InstanceStatus::kFailed;
  }
  in_.threads.clear();
  if (in_.unhandled_error) tx_.dead_letter = Transition::DeadLetter::kPut;
  Hist("instance_" + std::string(Name(in_.status)), -1, Record{{"outcome", Value(in_.outcome)}, {"undone", Value(in_.undone)}});
}

}  // namespace rf::engine
