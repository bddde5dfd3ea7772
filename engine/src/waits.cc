// Waiting: durable timers (waits, retry waits, approval deadlines, event-wait timeouts), event
// subscriptions and early events, human tasks and their decisions.
#include <algorithm>

#include "common/time_text.h"
#include "interpretation.h"
#include "state/keys.h"

namespace rf::engine {

void Interpretation::AddTimer(Thread& t, Time due) {
  t.timer_key = state::keys::Timer(due, in_.id, in_.next_timer++);
  SetTimer(t.timer_key, t.id);
}

void Interpretation::SetTimer(const std::string& key, std::int64_t thread) {
  std::erase(tx_.timers_cleared, key);
  tx_.timers_set.push_back({key, thread});
}

void Interpretation::ClearTimer(const std::string& key) {
  auto n = std::erase_if(tx_.timers_set, [&](const Transition::TimerSet& t) { return t.key == key; });
  if (n == 0) tx_.timers_cleared.push_back(key);
}

void Interpretation::SetSubscription(const std::string& key) {
  std::erase(tx_.subscriptions_cleared, key);
  tx_.subscriptions_set.push_back(key);
}

void Interpretation::ClearSubscription(const std::string& key) {
  if (std::erase(tx_.subscriptions_set, key) == 0) tx_.subscriptions_cleared.push_back(key);
}

void Interpretation::EnterWait(Thread& t, const ir::State& s) {
  if (s.wait_kind == W::kEvent) {
    auto key = Eval(t, s.key_value);
    if (!key.ok()) {
      FailInstance("internal", "wait " + s.name + ": " + key.status().message(), t.state);
      return;
    }
    std::string k = key->ToDisplayString();
    if (auto early = events_.TakeOrWait(s.event, k, in_.id, t.id, now_, &tx_.buffered_events_taken)) {
      tx_.buffered_events_taken.push_back(early->key);
      Hist("event_received", t.id,
           Record{{"state", Value(s.name)}, {"event", Value(s.event)}, {"key", Value(k)}, {"buffered", Value(true)}});
      if (!s.save_event_as.empty()) Save(t, s.save_event_as, std::move(early->data));
      GoTo(t, s.next);
      return;
    }
    t.phase = P::kEvent;
    t.sub_event = s.event;
    t.sub_value = k;
    t.sub_key = state::keys::Subscription(s.event, k, in_.id, t.id);
    SetSubscription(t.sub_key);
    if (s.within) AddTimer(t, Time{now_.ms + s.within->ms});
    Hist("waiting_for_event", t.id, Record{{"state", Value(s.name)}, {"event", Value(s.event)}, {"key", Value(k)}});
    return;
  }
  Time due;
  if (s.wait_kind == W::kDuration) {
    due = Time{now_.ms + s.wait_for.ms};
  } else {
    auto v = Eval(t, s.until);
    std::optional<Time> when;
    if (v.ok() && v->is_time()) when = v->as_time();
    if (v.ok() && v->is_text()) when = ParseTime(v->as_text());
    if (!when) {
      FailInstance("internal", "wait " + s.name + ": `until` is not a time", t.state);
      return;
    }
    due = *when;
  }
  if (due <= now_) {
    GoTo(t, s.next);
    return;
  }
  t.phase = P::kTimer;
  AddTimer(t, due);
  Hist("waiting", t.id, Record{{"state", Value(s.name)}, {"until", Value(due)}});
}

void Interpretation::EnterApproval(Thread& t, const ir::State& s) {
  auto title = Eval(t, s.title);
  auto details = Eval(t, s.details);
  if (!title.ok() || !details.ok()) {
    FailInstance("internal", "approval " + s.name + ": " + (!title.ok() ? title.status() : details.status()).message(), t.state);
    return;
  }
  t.phase = P::kTask;
  t.task_id = in_.id + ":" + std::to_string(t.id) + "." + std::to_string(t.visit) + ":" + s.name;
  Record task;
  task["id"] = Value(t.task_id);
  task["instance"] = Value(in_.id);
  task["workflow"] = Value(in_.workflow);
  task["state"] = Value(s.name);
  task["role"] = Value(s.role);
  task["title"] = Value(title->ToDisplayString());
  task["details"] = Value(details->ToDisplayString());
  task["status"] = Value("open");
  task["created_at"] = Value(now_);
  if (s.deadline) {
    Time due{now_.ms + s.deadline->ms};
    task["deadline"] = Value(due);
    AddTimer(t, due);
  }
  tx_.tasks_opened.push_back({s.role, std::move(task)});
  Hist("task_created", t.id, Record{{"state", Value(s.name)}, {"task", Value(t.task_id)}, {"role", Value(s.role)}});
}

void Interpretation::TimerFired(const std::string& key) {
  ClearTimer(key);
  if (!in_.comp_timer.empty() && in_.comp_timer == key) {
    in_.comp_timer.clear();
    CompensateNext();
    return;
  }
  Thread* t = nullptr;
  for (auto& th : in_.threads)
    if (th.timer_key == key) t = &th;
  if (t == nullptr) return;  // stale timer: the transition only removes it
  t->timer_key.clear();
  const ir::State* s = StateOf(*t);
  if (s == nullptr) {
    FailInstance("internal", "state " + t->state + " does not exist in this version", t->state);
    return;
  }
  if (t->phase == P::kRetry) {
    DispatchStep(*t, *s);
  } else if (t->phase == P::kTimer) {
    Hist("wait_finished", t->id, Record{{"state", Value(t->state)}});
    GoTo(*t, s->next);
  } else if (t->phase == P::kEvent) {
    ClearSubscription(t->sub_key);
    t->sub_key.clear();
    Hist("event_timed_out", t->id, Record{{"state", Value(t->state)}, {"event", Value(t->sub_event)}});
    GoTo(*t, s->on_timeout);
  } else if (t->phase == P::kTask) {
    CloseTask(*t, "expired");
    Record decision;
    decision["decision"] = Value("none");
    decision["actor"] = Value();
    decision["comment"] = Value();
    decision["decided_at"] = Value(now_);
    decision["escalated"] = Value(true);
    Save(*t, s->save_decision_as.empty() ? s->name : s->save_decision_as, Value(std::move(decision)));
    Hist("approval_escalated", t->id, Record{{"state", Value(t->state)}, {"to", Value(s->escalate_to)}});
    GoTo(*t, s->escalate_to);
  }
  RunThreads({});
}

void Interpretation::EventDelivered(const stimulus::EventDelivered& e) {
  Thread* t = in_.FindThread(e.thread);
  if (t == nullptr || t->phase != P::kEvent || t->sub_event != e.event || t->sub_value != e.key) return;  // moved on
  const ir::State* s = StateOf(*t);
  ClearSubscription(t->sub_key);
  if (!t->timer_key.empty()) {
    ClearTimer(t->timer_key);
    t->timer_key.clear();
  }
  Hist("event_received", t->id, Record{{"state", Value(t->state)}, {"event", Value(t->sub_event)}, {"key", Value(t->sub_value)}});
  t->sub_key.clear();
  t->sub_event.clear();
  t->sub_value.clear();
  if (s && !s->save_event_as.empty()) Save(*t, s->save_event_as, e.data);
  GoTo(*t, s ? s->next : std::string());
  RunThreads({});
}

void Interpretation::CloseTask(Thread& t, const std::string& status, const stimulus::TaskDecided* decision) {
  const ir::State* s = StateOf(t);
  Transition::TaskClosed closed;
  closed.task_id = t.task_id;
  closed.role = s ? s->role : std::string();
  closed.status = status;
  closed.at = now_;
  if (decision) {
    closed.decided = true;
    closed.actor = decision->actor;
    closed.comment = decision->comment;
  }
  tx_.tasks_closed.push_back(std::move(closed));
  t.task_id.clear();
}

Status Interpretation::TaskDecided(const stimulus::TaskDecided& d) {
  Thread* t = nullptr;
  for (auto& th : in_.threads)
    if (th.task_id == d.task_id && th.phase == P::kTask) t = &th;
  if (t == nullptr) return Status::NotFound("no open task " + d.task_id);
  const ir::State* s = StateOf(*t);
  if (s == nullptr) return Status::NotFound("no open task " + d.task_id);
  if (!t->timer_key.empty()) {
    ClearTimer(t->timer_key);
    t->timer_key.clear();
  }
  const bool approved = d.decision == Decision::kApprove;
  CloseTask(*t, approved ? "approved" : "rejected", &d);
  Record decision;
  decision["decision"] = Value(std::string(Name(d.decision)));
  decision["actor"] = Value(d.actor);
  decision["comment"] = Value(d.comment);
  decision["decided_at"] = Value(now_);
  decision["escalated"] = Value(false);
  Save(*t, s->save_decision_as.empty() ? s->name : s->save_decision_as, Value(decision));
  Record ev = decision;
  ev["state"] = Value(s->name);
  ev["task"] = Value(d.task_id);
  Hist("task_completed", t->id, std::move(ev));
  GoTo(*t, approved ? s->on_approve : s->on_reject);
  RunThreads({});
  return Status::Ok();
}

}  // namespace rf::engine
