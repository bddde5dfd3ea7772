// finish, fail, the undo chain, dead letters, compensation failures and operator cancel.
#include "state/keys.h"
#include "tests/engine/harness.h"

namespace rf::engine::testing {
namespace {

const char* kOrder = R"(workflow order version 1
uses shop, notify
input ref text, decline bool
step reserve
  call shop.reserve with ref = input.ref
  save result as reservation
  undo call shop.release with ref = input.ref, key = reservation.key
step charge
  call shop.charge with ref = input.ref
  undo call shop.refund with ref = input.ref
step tell
  call notify.send with ref = input.ref
decide check
  when input.decline go to bad
  otherwise go to cool
wait cool
  for 1 day
finish done "ok {input.ref}"
fail bad "declined {input.ref}"
)";

std::vector<std::string> Ops(const std::vector<std::string>& effects) {
  std::vector<std::string> ops;
  for (const auto& e : effects) ops.push_back(e.substr(0, e.find(' ')));
  return ops;
}

TEST(EngineCompensation, FinishCompletesWithItsMessage) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kOrder);
  std::string id = h.Start("order", R"({"ref": "F1", "decline": false})");
  EXPECT_EQ("waiting", h.Status(id));
  h.AdvanceMs(kDay);
  EXPECT_EQ("completed", h.Status(id));
  EXPECT_EQ("ok F1", h.Outcome(id));
  EXPECT_EQ(0, h.shop_.calls("release"));
  EXPECT_EQ(0, h.shop_.calls("refund"));
  EXPECT_TRUE(h.DeadLetters().empty());
  EXPECT_EQ("instance_completed", h.HistoryTypes(id).back());
  EXPECT_EQ(1u, h.engine().stats().instances_completed);
  EXPECT_EQ(1u, h.engine().stats().instances_started);
}

TEST(EngineCompensation, FailRunsTheUndoChainNewestFirst) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kOrder);
  std::string id = h.Start("order", R"({"ref": "F2", "decline": true})");
  ASSERT_EQ("compensated", h.Status(id)) << h.Instance(id).ToJson();
  EXPECT_EQ("declined F2", h.Outcome(id));
  EXPECT_EQ((std::vector<std::string>{"reserve", "charge", "refund", "release"}), Ops(h.shop_.effects()));
  // The undo call sees the step's saved result, and has its own stable key.
  auto reserve = h.Calls(h.shop_, "reserve");
  auto release = h.Calls(h.shop_, "release");
  ASSERT_EQ(1u, release.size());
  EXPECT_EQ(reserve[0].idempotency_key, TextOf(release[0].input, "key"));
  EXPECT_EQ("F2", TextOf(release[0].input, "ref"));
  EXPECT_NE(reserve[0].idempotency_key, release[0].idempotency_key);
  EXPECT_EQ(id, release[0].correlation_id);
  // `fail` is a handled end: no dead letter.
  EXPECT_TRUE(h.DeadLetters().empty());
  auto types = h.HistoryTypes(id);
  EXPECT_EQ(1, std::count(types.begin(), types.end(), "compensation_started"));
  EXPECT_EQ(2, std::count(types.begin(), types.end(), "undo_started"));
  EXPECT_EQ(2, std::count(types.begin(), types.end(), "undo_completed"));
  EXPECT_EQ("instance_compensated", types.back());
  Value err = *h.Instance(id).Find("error");
  EXPECT_EQ("fail", TextOf(err, "kind"));
  EXPECT_EQ("bad", TextOf(err, "state"));
  EXPECT_EQ(1u, h.engine().stats().instances_failed);
  EXPECT_TRUE(h.Keys(state::keys::OutboxPrefix()).empty());
}

TEST(EngineCompensation, FailWithNothingToUndoIsFailed) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(R"(workflow nothing version 1
uses notify
input ref text
step tell
  call notify.send with ref = input.ref
fail bad "nope {input.ref}"
)");
  std::string id = h.Start("nothing", R"({"ref": "N1"})");
  EXPECT_EQ("failed", h.Status(id));
  EXPECT_EQ("nope N1", h.Outcome(id));
  EXPECT_TRUE(h.DeadLetters().empty());
  EXPECT_EQ(1u, h.Instances("failed").size());
}

TEST(EngineCompensation, UnhandledErrorRunsTheUndoChainAndLeavesADeadLetter) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kOrder);
  h.shop_.FailNext("charge", "rejected", 1);
  std::string id = h.Start("order", R"({"ref": "U1", "decline": false})");
  ASSERT_EQ("compensated", h.Status(id)) << h.Instance(id).ToJson();
  EXPECT_EQ((std::vector<std::string>{"reserve", "release"}), Ops(h.shop_.effects()));
  EXPECT_EQ(0, h.notify_.calls("send"));
  auto dead = h.DeadLetters();
  ASSERT_EQ(1u, dead.size());
  EXPECT_EQ(id, TextOf(dead[0], "instance"));
  EXPECT_EQ("order", TextOf(dead[0], "workflow"));
  Value err = *dead[0].Find("error");
  EXPECT_EQ("rejected", TextOf(err, "kind"));
  EXPECT_EQ("charge", TextOf(err, "state"));
  EXPECT_TRUE(h.HasKey(state::keys::DeadLetter(id)));
}

TEST(EngineCompensation, UndoRetriedWithBackoffThenSucceeds) {
  state::MemoryStore store;
  EngineHarness h(&store);  // undo: 10 attempts, first wait 1s, doubling
  h.Deploy(kOrder);
  h.shop_.FailNext("release", "unavailable", 2);
  std::string id = h.Start("order", R"({"ref": "B1", "decline": true})");
  EXPECT_EQ("compensating", h.Status(id));
  EXPECT_EQ(1, h.shop_.calls("release"));
  h.AdvanceMs(999);
  EXPECT_EQ(1, h.shop_.calls("release"));
  h.AdvanceMs(1);
  EXPECT_EQ(2, h.shop_.calls("release"));
  h.AdvanceMs(1999);
  EXPECT_EQ(2, h.shop_.calls("release"));
  h.AdvanceMs(1);
  EXPECT_EQ(3, h.shop_.calls("release"));
  ASSERT_EQ("compensated", h.Status(id)) << h.Instance(id).ToJson();
  auto release = h.Calls(h.shop_, "release");
  EXPECT_EQ(release[0].idempotency_key, release[2].idempotency_key);
  EXPECT_EQ(3, release[2].attempt);
  EXPECT_EQ(2, h.CountHistory(id, "undo_failed"));
  EXPECT_TRUE(h.DeadLetters().empty());
}

TEST(EngineCompensation, UndoFailingRepeatedlyIsCompensationFailedAndADeadLetter) {
  state::MemoryStore store;
  EngineOptions o;
  o.undo_max_attempts = 3;
  o.undo_first_wait = Duration{kSecond};
  o.undo_max_wait = Duration{kMinute};
  EngineHarness h(&store, o);
  h.Deploy(kOrder);
  h.shop_.FailNext("release", "internal", 100);
  std::string id = h.Start("order", R"({"ref": "C1", "decline": true})");
  h.AdvanceMs(kSecond);
  h.AdvanceMs(2 * kSecond);
  EXPECT_EQ(3, h.shop_.calls("release"));
  ASSERT_EQ("compensation_failed", h.Status(id)) << h.Instance(id).ToJson();
  h.AdvanceMs(kHour);
  EXPECT_EQ(3, h.shop_.calls("release")) << "no attempt beyond undo_max_attempts";
  // The refund (newer) was undone; the release is what is stuck.
  EXPECT_EQ(1, h.shop_.calls("refund"));
  auto dead = h.DeadLetters();
  ASSERT_EQ(1u, dead.size()) << "never silently dropped";
  EXPECT_EQ(id, TextOf(dead[0], "instance"));
  EXPECT_EQ("compensation_failed", TextOf(dead[0], "status"));
  EXPECT_EQ("reserve", TextOf(*dead[0].Find("error"), "undo_step"));
  EXPECT_EQ(1u, h.Instances("compensation_failed").size());
  EXPECT_TRUE(h.Instances("compensating").empty());
  EXPECT_EQ(3, h.CountHistory(id, "undo_failed"));
  EXPECT_EQ(1, h.CountHistory(id, "compensation_failed"));
  auto cancel = h.Cancel(id);
  ASSERT_FALSE(cancel.ok());
  EXPECT_EQ(rf::Status::Code::kFailedPrecondition, cancel.status().code());
  EXPECT_TRUE(h.Keys(state::keys::TimerPrefix()).empty());
  EXPECT_TRUE(h.Keys(state::keys::OutboxPrefix()).empty());
}

TEST(EngineCompensation, RefusedUndoCallsAnOperatorAtOnce) {
  state::MemoryStore store;
  EngineOptions o;
  o.undo_first_wait = Duration{kSecond};
  EngineHarness h(&store, o);
  h.Deploy(kOrder);
  h.shop_.FailNext("release", "conflict", 100);
  std::string id = h.Start("order", R"({"ref": "C2", "decline": true})");
  ASSERT_EQ("compensation_failed", h.Status(id)) << h.Instance(id).ToJson();
  h.AdvanceMs(kHour);
  EXPECT_EQ(1, h.shop_.calls("release")) << "a refused undo is not asked again";
  EXPECT_EQ(1u, h.DeadLetters().size());
}

TEST(EngineCompensation, UndoOfSomethingAlreadyGoneCountsAsDone) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kOrder);
  h.shop_.FailNext("release", "not_found", 1);
  std::string id = h.Start("order", R"({"ref": "C3", "decline": true})");
  EXPECT_EQ("compensated", h.Status(id)) << h.Instance(id).ToJson();
  EXPECT_EQ(1, h.shop_.calls("release"));
  EXPECT_EQ(2, h.CountHistory(id, "undo_completed"));
  EXPECT_TRUE(h.DeadLetters().empty());
}

TEST(EngineCompensation, HeldUndoCallTimesOutAndIsRetried) {
  state::MemoryStore store;
  EngineOptions o;
  o.default_step_timeout = Duration{5 * kSecond};
  EngineHarness h(&store, o);
  h.Deploy(kOrder);
  h.shop_.Hold("release");
  std::string id = h.Start("order", R"({"ref": "H1", "decline": true})");
  ASSERT_TRUE(h.Eventually([&] { return h.shop_.held("release") == 1; }));
  h.AdvanceMs(5 * kSecond);  // the undo call times out; retry after 1s
  EXPECT_EQ("compensating", h.Status(id));
  EXPECT_EQ(1, h.CountHistory(id, "undo_failed"));
  h.AdvanceMs(kSecond);
  ASSERT_TRUE(h.Eventually([&] { return h.shop_.held("release") == 2; }));
  h.shop_.Release("release");
  h.Settle();
  EXPECT_EQ("compensated", h.Status(id));
  auto release = h.Calls(h.shop_, "release");
  ASSERT_EQ(2u, release.size());
  EXPECT_EQ(1, h.shop_.EffectCount(release[0].idempotency_key));
}

TEST(EngineCompensation, CancelRunsTheUndoChainAndEndsCancelled) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kOrder);
  std::string id = h.Start("order", R"({"ref": "X1", "decline": false})");
  EXPECT_EQ("waiting", h.Status(id));
  auto r = h.Cancel(id, "customer called");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ("cancelled", h.Status(id)) << h.Instance(id).ToJson();
  EXPECT_EQ((std::vector<std::string>{"reserve", "charge", "refund", "release"}), Ops(h.shop_.effects()));
  EXPECT_TRUE(h.DeadLetters().empty()) << "an operator's cancel is no dead letter";
  EXPECT_TRUE(h.Keys(state::keys::TimerPrefix()).empty());
  EXPECT_EQ(1, h.CountHistory(id, "cancel_requested"));
  EXPECT_EQ("instance_cancelled", h.HistoryTypes(id).back());
  // The timer it was waiting on does not resurrect it.
  h.AdvanceMs(2 * kDay);
  EXPECT_EQ("cancelled", h.Status(id));
  // Terminal: cancel again is refused.
  auto again = h.Cancel(id);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(rf::Status::Code::kFailedPrecondition, again.status().code());
  auto unknown = h.Cancel("00-0000000000000-000099");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(rf::Status::Code::kNotFound, unknown.status().code());
}

TEST(EngineCompensation, CancelOnEveryTerminalStatusIsRefused) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kOrder);
  std::string completed = h.Start("order", R"({"ref": "T1", "decline": false})");
  h.AdvanceMs(kDay);
  std::string compensated = h.Start("order", R"({"ref": "T2", "decline": true})");
  ASSERT_EQ("completed", h.Status(completed));
  ASSERT_EQ("compensated", h.Status(compensated));
  for (const auto& id : {completed, compensated}) {
    auto r = h.Cancel(id);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(rf::Status::Code::kFailedPrecondition, r.status().code());
  }
  EXPECT_EQ("completed", h.Status(completed));
  EXPECT_EQ("compensated", h.Status(compensated));
}

TEST(EngineCompensation, CancelWhileACallIsInFlightUndoesItOnceItSucceeds) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kOrder);
  h.shop_.Hold("charge");
  std::string id = h.Start("order", R"({"ref": "X2", "decline": false})");
  ASSERT_TRUE(h.Eventually([&] { return h.shop_.held("charge") == 1; }));
  ASSERT_TRUE(h.Cancel(id).ok());
  EXPECT_EQ("compensating", h.Status(id));
  h.shop_.Release("charge");
  h.Settle();
  ASSERT_EQ("cancelled", h.Status(id)) << h.Instance(id).ToJson();
  EXPECT_EQ((std::vector<std::string>{"reserve", "charge", "refund", "release"}), Ops(h.shop_.effects()));
  EXPECT_EQ(0, h.notify_.calls("send")) << "the flow does not go on after a cancel";
}

}  // namespace
}  // namespace rf::engine::testing
