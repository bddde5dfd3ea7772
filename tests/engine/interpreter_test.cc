// The pure interpreter, state by state: (instance, stimulus, now) -> transition, with no store,
// no strand and no clock. Each test feeds stimuli by hand and reads the transition.
#include <gtest/gtest.h>

#include <map>

#include "engine/src/interpreter.h"
#include "harness.h"
#include "state/keys.h"

namespace rf::engine {
namespace {

using testing::CompileFlow;
using testing::J;
using testing::T;
using testing::TextOf;

// Early events held in a map; records what the interpreter asked for.
class MapEvents : public EventSource {
 public:
  std::map<std::pair<std::string, std::string>, Value> early;
  std::vector<std::string> waits;
  std::optional<Taken> TakeOrWait(const std::string& event, const std::string& key, const std::string& id,
                                  std::int64_t thread, Time, std::vector<std::string>*) override {
    auto it = early.find({event, key});
    if (it == early.end()) {
      waits.push_back(event + "/" + key + "/" + id + "/" + std::to_string(thread));
      return std::nullopt;
    }
    Taken t{"evbuf/" + event + "/" + key + "/1", it->second};
    early.erase(it);
    return t;
  }
};

struct FlowRun {
  explicit FlowRun(const std::string& flow) {
    std::string errors;
    auto m = CompileFlow(flow, &errors);
    EXPECT_TRUE(m.has_value()) << errors;
    machine = std::make_shared<const ir::Machine>(std::move(*m));
  }
  Transition Start(const std::string& input, Time now) {
    auto checked = CheckInput(*machine, J(input));
    EXPECT_TRUE(checked.ok()) << checked.status().message();
    in = NewInstance(machine, NewInstanceRequest{"00-0000000000001-000001", "BK-1", "", *checked}, now);
    return Apply(stimulus::Started{}, now);
  }
  Transition Apply(const Stimulus& s, Time now) {
    auto tx = Interpret(in, s, now, options, events);
    EXPECT_TRUE(tx.ok()) << tx.status().message();
    return tx.ok() ? std::move(*tx) : Transition{};
  }
  std::vector<std::string> Types(const Transition& tx) {
    std::vector<std::string> out;
    for (const auto& h : tx.history) out.push_back(h.at("type").as_text());
    return out;
  }
  std::shared_ptr<const ir::Machine> machine;
  Instance in;
  InterpreterOptions options;
  MapEvents events;
};

const char* kTwoSteps = R"(workflow pay version 1
uses shop
input ref text, amount money
step reserve
  call shop.reserve with ref = input.ref
  save result as reservation
  undo call shop.release with ref = input.ref
step charge
  call shop.charge with amount = input.amount
  retry up to 3 times waiting 1s doubling
finish done "ok {reservation.id}"
)";

TEST(Interpreter, AStartIssuesTheFirstCallAndWritesNothingElse) {
  FlowRun r(kTwoSteps);
  Time now = T("2026-03-01T10:00:00Z");
  Transition tx = r.Start(R"({"ref": "R1", "amount": 10})", now);
  EXPECT_EQ((std::vector<std::string>{"instance_started", "step_started"}), r.Types(tx));
  ASSERT_EQ(1u, tx.calls.size());
  const Invocation& call = tx.calls[0].invocation;
  EXPECT_EQ("shop", call.connector);
  EXPECT_EQ("reserve", call.operation);
  EXPECT_EQ("R1", TextOf(call.input, "ref"));
  EXPECT_EQ(now.ms + 30000, call.deadline.ms);  // the default step timeout, from `now`
  EXPECT_TRUE(tx.timers_set.empty());
  EXPECT_EQ(InstanceStatus::kRunning, r.in.status);
  EXPECT_EQ(ThreadPhase::kCalling, r.in.threads[0].phase);
}

TEST(Interpreter, AnAnswerSavesTheResultOwesTheUndoAndMovesOn) {
  FlowRun r(kTwoSteps);
  Time now = T("2026-03-01T10:00:00Z");
  std::string inv = r.Start(R"({"ref": "R1", "amount": 10})", now).calls[0].invocation.invocation_id;
  Transition tx = r.Apply(stimulus::CallAnswered{inv, CallResult::Success(J(R"({"id": "RES-1"})"))}, now);
  EXPECT_EQ((std::vector<std::string>{"step_completed", "step_started"}), r.Types(tx));
  EXPECT_EQ((std::vector<std::string>{inv}), tx.calls_settled);
  ASSERT_EQ(1u, tx.calls.size());
  EXPECT_EQ("charge", tx.calls[0].invocation.operation);
  EXPECT_EQ("RES-1", TextOf(r.in.data.at("reservation"), "id"));
  ASSERT_EQ(1u, r.in.undo.size());
  EXPECT_EQ("release", r.in.undo[0].operation);
}

TEST(Interpreter, AStaleAnswerChangesNothing) {
  FlowRun r(kTwoSteps);
  Time now = T("2026-03-01T10:00:00Z");
  r.Start(R"({"ref": "R1", "amount": 10})", now);
  Transition tx = r.Apply(stimulus::CallAnswered{"9.9.9", CallResult::Success(Value())}, now);
  EXPECT_TRUE(tx.empty());
}

TEST(Interpreter, ARetryableFailureSetsATimerWithTheBackoffAndKeepsTheKey) {
  FlowRun r(kTwoSteps);
  Time now = T("2026-03-01T10:00:00Z");
  std::string inv = r.Start(R"({"ref": "R1", "amount": 10})", now).calls[0].invocation.invocation_id;
  Transition charge = r.Apply(stimulus::CallAnswered{inv, CallResult::Success(J(R"({"id": "X"})"))}, now);
  std::string key = charge.calls[0].invocation.idempotency_key;
  std::string charge_inv = charge.calls[0].invocation.invocation_id;
  Transition tx = r.Apply(stimulus::CallAnswered{charge_inv, CallResult::Failure("unavailable", "down")}, now);
  EXPECT_EQ((std::vector<std::string>{"attempt_failed"}), r.Types(tx));
  ASSERT_EQ(1u, tx.timers_set.size());
  auto timer = state::keys::ParseTimer(tx.timers_set[0].key);
  ASSERT_TRUE(timer.has_value());
  EXPECT_EQ(now.ms + 1000, timer->due.ms);  // first wait 1s
  EXPECT_TRUE(tx.calls.empty());
  EXPECT_EQ(ThreadPhase::kRetry, r.in.threads[0].phase);
  EXPECT_EQ(InstanceStatus::kRunning, r.in.status);
  // The timer fires: the second attempt, same idempotency key, a new invocation id.
  Transition again = r.Apply(stimulus::TimerFired{tx.timers_set[0].key}, Time{now.ms + 1000});
  EXPECT_EQ((std::vector<std::string>{tx.timers_set[0].key}), again.timers_cleared);
  ASSERT_EQ(1u, again.calls.size());
  EXPECT_EQ(key, again.calls[0].invocation.idempotency_key);
  EXPECT_NE(charge_inv, again.calls[0].invocation.invocation_id);
  EXPECT_EQ(2, again.calls[0].invocation.attempt);
}

TEST(Interpreter, AnUnhandledFailureRunsTheUndoChainThenFails) {
  FlowRun r(kTwoSteps);
  Time now = T("2026-03-01T10:00:00Z");
  std::string inv = r.Start(R"({"ref": "R1", "amount": 10})", now).calls[0].invocation.invocation_id;
  std::string charge = r.Apply(stimulus::CallAnswered{inv, CallResult::Success(J(R"({"id": "X"})"))}, now)
                           .calls[0].invocation.invocation_id;
  Transition tx = r.Apply(stimulus::CallAnswered{charge, CallResult::Failure("rejected", "card declined")}, now);
  EXPECT_EQ((std::vector<std::string>{"attempt_failed", "compensation_started", "undo_started"}), r.Types(tx));
  ASSERT_EQ(1u, tx.calls.size());
  EXPECT_EQ("release", tx.calls[0].invocation.operation);
  EXPECT_EQ(InstanceStatus::kCompensating, r.in.status);
  Transition undone = r.Apply(stimulus::CallAnswered{tx.calls[0].invocation.invocation_id, CallResult::Success(Value())}, now);
  EXPECT_EQ((std::vector<std::string>{"undo_completed", "instance_compensated"}), r.Types(undone));
  EXPECT_EQ(InstanceStatus::kCompensated, r.in.status);
  EXPECT_EQ(Transition::DeadLetter::kPut, undone.dead_letter);  // unhandled: an operator looks
}

TEST(Interpreter, CancelOfAFinishedInstanceIsRefusedAndChangesNothing) {
  FlowRun r(R"(workflow quick version 1
finish done "ok"
)");
  Time now = T("2026-03-01T10:00:00Z");
  r.Start("{}", now);
  ASSERT_EQ(InstanceStatus::kCompleted, r.in.status);
  std::int64_t seq = r.in.hist_seq;
  auto tx = Interpret(r.in, stimulus::CancelRequested{"because"}, now, r.options, r.events);
  ASSERT_FALSE(tx.ok());
  EXPECT_EQ(Status::Code::kFailedPrecondition, tx.status().code());
  EXPECT_EQ(seq, r.in.hist_seq);
  EXPECT_EQ(InstanceStatus::kCompleted, r.in.status);
}

const char* kPickup = R"(workflow pickup version 1
input order_ref text
wait for_pickup
  for event pickup where order_ref == input.order_ref within 2 days
  save event as pickup
  on timeout go to no_show
finish collected "by {pickup.who}"
fail no_show "no show"
)";

TEST(Interpreter, AnEventWaitSubscribesWithATimeoutTimer) {
  FlowRun r(kPickup);
  Time now = T("2026-03-01T10:00:00Z");
  Transition tx = r.Start(R"({"order_ref": "O/1"})", now);
  ASSERT_EQ(1u, tx.subscriptions_set.size());
  EXPECT_EQ(state::keys::Subscription("pickup", "O/1", r.in.id, 0), tx.subscriptions_set[0]);
  ASSERT_EQ(1u, tx.timers_set.size());
  EXPECT_EQ(now.ms + 2 * testing::kDay, state::keys::ParseTimer(tx.timers_set[0].key)->due.ms);
  EXPECT_EQ(1u, r.events.waits.size());
  EXPECT_EQ(InstanceStatus::kWaiting, r.in.status);
  Transition got = r.Apply(stimulus::EventDelivered{0, "pickup", "O/1", J(R"({"who": "Ann"})")}, now);
  EXPECT_EQ(tx.subscriptions_set, got.subscriptions_cleared);
  EXPECT_EQ(std::vector<std::string>{tx.timers_set[0].key}, got.timers_cleared);
  EXPECT_EQ(InstanceStatus::kCompleted, r.in.status);
  EXPECT_EQ("by Ann", r.in.outcome);
}

TEST(Interpreter, AnEarlyEventIsTakenAtOnceWithoutASubscription) {
  FlowRun r(kPickup);
  r.events.early[{"pickup", "O-2"}] = J(R"({"who": "Bo"})");
  Transition tx = r.Start(R"({"order_ref": "O-2"})", T("2026-03-01T10:00:00Z"));
  EXPECT_TRUE(tx.subscriptions_set.empty());
  EXPECT_TRUE(tx.timers_set.empty());
  EXPECT_EQ(std::vector<std::string>{"evbuf/pickup/O-2/1"}, tx.buffered_events_taken);
  EXPECT_EQ("by Bo", r.in.outcome);
}

TEST(Interpreter, AnEventForAThreadThatMovedOnIsStale) {
  FlowRun r(kPickup);
  Time now = T("2026-03-01T10:00:00Z");
  Transition tx = r.Start(R"({"order_ref": "O-3"})", now);
  r.Apply(stimulus::TimerFired{tx.timers_set[0].key}, Time{now.ms + 2 * testing::kDay});
  EXPECT_EQ(InstanceStatus::kFailed, r.in.status);
  EXPECT_TRUE(r.Apply(stimulus::EventDelivered{0, "pickup", "O-3", Value()}, now).empty());
}

TEST(Interpreter, AnApprovalOpensATaskAndADecisionClosesIt) {
  FlowRun r(R"(workflow refund version 1
input amount money
approval ok
  ask manager "Refund {input.amount}?"
  if nobody decides within 4h go to late
  if approved go to yes
  if rejected go to no
finish yes "approved by {ok.actor}"
finish late "late"
fail no "no"
)");
  Time now = T("2026-03-01T10:00:00Z");
  Transition tx = r.Start(R"({"amount": 5})", now);
  ASSERT_EQ(1u, tx.tasks_opened.size());
  EXPECT_EQ("manager", tx.tasks_opened[0].role);
  EXPECT_EQ("Refund 5?", TextOf(Value(tx.tasks_opened[0].task), "title"));
  std::string task = TextOf(Value(tx.tasks_opened[0].task), "id");
  auto refused = Interpret(r.in, stimulus::TaskDecided{"nope", Decision::kApprove, "ann", ""}, now, r.options, r.events);
  EXPECT_EQ(Status::Code::kNotFound, refused.status().code());
  Transition done = r.Apply(stimulus::TaskDecided{task, Decision::kApprove, "ann", "fine"}, now);
  ASSERT_EQ(1u, done.tasks_closed.size());
  EXPECT_EQ("approved", done.tasks_closed[0].status);
  EXPECT_EQ("ann", done.tasks_closed[0].actor);
  EXPECT_EQ(std::vector<std::string>{tx.timers_set[0].key}, done.timers_cleared);
  EXPECT_EQ("approved by ann", r.in.outcome);
}

TEST(Interpreter, KeysSetAndClearedInOneTransitionLeaveNoTrace) {
  // One branch waits for an event (subscription + timer) while the other fails at once: the
  // wait's keys are set and cleared within the same transition and must appear in neither list.
  FlowRun r(R"(workflow both version 1
input ref text
parallel both
  branch waiting
    wait w
      for event signal where ref == input.ref within 1h
      on timeout go to w_done
    finish w_done "x"
  branch failing
    fail bad "bad"
end
finish ok "ok"
)");
  Transition tx = r.Start(R"({"ref": "A"})", T("2026-03-01T10:00:00Z"));
  EXPECT_TRUE(tx.subscriptions_set.empty());
  EXPECT_TRUE(tx.subscriptions_cleared.empty());
  EXPECT_TRUE(tx.timers_set.empty());
  EXPECT_TRUE(tx.timers_cleared.empty());
  EXPECT_EQ(InstanceStatus::kFailed, r.in.status);
}

TEST(Interpreter, JitterIsDeterministicPerKeyAndWithinBounds) {
  ir::RetryPolicy p;
  p.first_wait = Duration{1000};
  p.jitter = true;
  Duration a = RetryWait(p, 1, "key-1");
  EXPECT_EQ(a.ms, RetryWait(p, 1, "key-1").ms);
  for (int i = 0; i < 50; ++i) {
    Duration d = RetryWait(p, 1, "key-" + std::to_string(i));
    EXPECT_GE(d.ms, 500);
    EXPECT_LE(d.ms, 1000);
  }
}

}  // namespace
}  // namespace rf::engine
