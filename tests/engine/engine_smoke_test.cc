// First end-to-end checks of the engine: compile real .flow text, run it on a MemoryStore with a
// ManualClock and the in-process TestConnector.
#include "tests/engine/harness.h"

namespace rf::engine::testing {
namespace {

const char* kOrder = R"(workflow order version 1
uses shop
input order_ref text, amount money
step reserve
  call shop.reserve with ref = input.order_ref
  save result as reservation
  undo call shop.release with ref = input.order_ref
step charge
  call shop.charge with amount = input.amount
  retry up to 3 times waiting 1s doubling
  undo call shop.refund with amount = input.amount
decide big
  when input.amount > 100 go to check
  otherwise go to done
approval check
  ask manager "Charge {input.amount}?"
  if nobody decides within 4h go to declined
  if approved go to done
  if rejected go to declined
finish done "ok {input.order_ref}"
fail declined "declined"
)";

TEST(EngineSmoke, StepsRunToFinish) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kOrder);
  std::string id = h.Start("order", R"({"order_ref": "A1", "amount": 50})");
  EXPECT_EQ("completed", h.Status(id));
  EXPECT_EQ("ok A1", h.Instance(id).Find("outcome")->as_text());
  EXPECT_EQ(1, h.shop_.calls("reserve"));
  EXPECT_EQ(1, h.shop_.calls("charge"));
}

TEST(EngineSmoke, RetryThenApprovalThenRejectRunsUndoChainInReverse) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kOrder);
  h.shop_.FailNext("charge", "unavailable", 2);
  std::string id = h.Start("order", R"({"order_ref": "B2", "amount": 500})", "B2");
  EXPECT_EQ("running", h.Status(id));  // waiting for the retry timer (attempt 2 after 1s)
  h.Advance(Duration{1000});
  h.Advance(Duration{2000});
  EXPECT_EQ("waiting", h.Status(id));
  EXPECT_EQ(3, h.shop_.calls("charge"));
  auto tasks = h.engine_->ListOpenTasks("manager");
  ASSERT_TRUE(tasks.ok());
  ASSERT_EQ(1u, tasks->size());
  std::string task = (*tasks)[0].Find("id")->as_text();
  EXPECT_EQ("Charge 500?", (*tasks)[0].Find("title")->as_text());
  auto r = h.Decide(task, "reject");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ("compensated", h.Status(id));
  auto effects = h.shop_.effects();
  ASSERT_EQ(4u, effects.size());
  EXPECT_EQ(0u, effects[2].find("refund "));
  EXPECT_EQ(0u, effects[3].find("release "));
  auto again = h.Decide(task, "approve");
  EXPECT_FALSE(again.ok());
  // The same business key returns the same instance.
  EXPECT_EQ(id, h.Start("order", R"({"order_ref": "B2", "amount": 500})", "B2"));
}

TEST(EngineSmoke, ApprovalDeadlineEscalatesAfterAWeekOfVirtualTime) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kOrder);
  std::string id = h.Start("order", R"({"order_ref": "C3", "amount": 900})");
  EXPECT_EQ("waiting", h.Status(id));
  h.Advance(Duration{4 * 3600 * 1000 + 1});
  EXPECT_EQ("compensated", h.Status(id));
  const Value instance = h.Instance(id);
  const Value* check = instance.Find("data")->Find("check");
  ASSERT_TRUE(check != nullptr && check->is_record()) << instance.ToJson();
  EXPECT_EQ("none", check->Find("decision")->as_text());
  EXPECT_TRUE(check->Find("escalated")->as_bool());
}

TEST(EngineSmoke, EventBufferedBeforeTheWaitIsDelivered) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(R"(workflow pickup version 1
uses shop
input order_ref text
wait first
  for 1h
wait for_pickup
  for event pickup where order_ref == input.order_ref within 30 days
  save event as pickup
  on timeout go to no_show
finish collected "by {pickup.who}"
fail no_show "no show"
)");
  std::string id = h.Start("pickup", R"({"order_ref": "P1"})");
  EXPECT_EQ(0, h.Deliver("pickup", "P1", R"({"who": "Zoe"})"));  // nobody waits yet: buffered
  h.Advance(Duration{3600 * 1000});
  EXPECT_EQ("completed", h.Status(id));
  EXPECT_EQ("by Zoe", h.Instance(id).Find("outcome")->as_text());

  std::string late = h.Start("pickup", R"({"order_ref": "P2"})");
  h.Advance(Duration{3600 * 1000});
  EXPECT_EQ("waiting", h.Status(late));
  h.Advance(Duration{30LL * 86400 * 1000});
  EXPECT_EQ("failed", h.Status(late));
}

TEST(EngineSmoke, SecondEventArrivingWhileTheFirstIsSavedIsKeptForTheNextWait) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(R"(workflow scans version 1
uses shop
input ref text
wait first_scan
  for event scan where ref == input.ref within 1h
  save event as a
  on timeout go to late
step record
  call shop.lookup with ref = input.ref
wait second_scan
  for event scan where ref == input.ref within 1h
  save event as b
  on timeout go to late
finish done "{a.n} {b.n}"
fail late "late"
)");
  std::string id = h.Start("scans", R"({"ref": "R"})");
  std::promise<Result<int>> p1, p2;
  h.engine_->DeliverEvent("scan", "R", *Value::FromJson(R"({"n": 1})"), [&](Result<int> r) { p1.set_value(r); });
  h.engine_->DeliverEvent("scan", "R", *Value::FromJson(R"({"n": 2})"), [&](Result<int> r) { p2.set_value(r); });
  ASSERT_TRUE(p1.get_future().get().ok());
  ASSERT_TRUE(p2.get_future().get().ok());
  h.engine_->WaitIdle();
  EXPECT_EQ("completed", h.Status(id));
  EXPECT_EQ("1 2", h.Instance(id).Find("outcome")->as_text());
}

Result<bool> Wait(const std::function<void(Callback<bool>)>& call) {
  std::promise<Result<bool>> p;
  call([&](Result<bool> r) { p.set_value(std::move(r)); });
  return p.get_future().get();
}

const char* kHeldFlow = R"(workflow charge_order version 1
uses shop
input order_ref text, amount money
step reserve
  call shop.reserve with ref = input.order_ref
  undo call shop.release with ref = input.order_ref
step charge
  call shop.charge with amount = input.amount
finish done "charged {input.amount}"
)";

TEST(EngineRepair, HeldStepIsRetriedWithPatchedDataAndItsDeadLetterGoes) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.options_.hold_failed_steps = true;
  h.Restart();
  h.Deploy(kHeldFlow);
  h.shop_.FailNext("charge", "rejected");
  std::string id = h.Start("charge_order", R"({"order_ref": "H1", "amount": 10})");
  h.engine_->WaitIdle();
  EXPECT_EQ("held", h.Status(id));
  ASSERT_EQ(1u, h.engine_->ListDeadLetters()->size());
  EXPECT_EQ(0, h.shop_.calls("release")) << "held, not compensated";
  auto r = Wait([&](Callback<bool> cb) { h.engine_->RetryStep(id, *Value::FromJson(R"({"input": {"order_ref": "H1", "amount": 12}})"), cb); });
  ASSERT_TRUE(r.ok()) << r.status().message();
  h.engine_->WaitIdle();
  EXPECT_EQ("completed", h.Status(id));
  EXPECT_EQ("charged 12", h.Instance(id).Find("outcome")->as_text());
  EXPECT_TRUE(h.engine_->ListDeadLetters()->empty());
  EXPECT_FALSE(Wait([&](Callback<bool> cb) { h.engine_->SkipStep(id, cb); }).ok()) << "not held any more";
}

TEST(EngineRepair, HeldStepCanBeSkippedOrCancelled) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.options_.hold_failed_steps = true;
  h.Restart();
  h.Deploy(kHeldFlow);
  h.shop_.FailNext("charge", "rejected", 2);
  std::string skipped = h.Start("charge_order", R"({"order_ref": "S1", "amount": 10})");
  std::string cancelled = h.Start("charge_order", R"({"order_ref": "C1", "amount": 10})");
  h.engine_->WaitIdle();
  ASSERT_EQ("held", h.Status(skipped));
  ASSERT_EQ("held", h.Status(cancelled));
  ASSERT_TRUE(Wait([&](Callback<bool> cb) { h.engine_->SkipStep(skipped, cb); }).ok());
  ASSERT_TRUE(Wait([&](Callback<bool> cb) { h.engine_->Cancel(cancelled, "customer gave up", cb); }).ok());
  h.engine_->WaitIdle();
  EXPECT_EQ("completed", h.Status(skipped));
  EXPECT_EQ("cancelled", h.Status(cancelled));
  EXPECT_EQ(1, h.shop_.calls("release")) << "only the cancelled one is undone";
  EXPECT_TRUE(h.engine_->ListDeadLetters()->empty());
}

TEST(EngineSmoke, ParallelAndForEach) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(R"(workflow fan version 1
uses shop
input lines list
parallel both
  branch a
    step look_a
      call shop.lookup with x = 1
      save result as a
  branch b
    step look_b
      call shop.lookup with x = 2
      save result as b
end
for each line in input.lines as rounds at most 2 at a time
  step look
    call shop.lookup with sku = line.sku
    save result as found
  set doubled
    twice = line.qty * 2
end
finish done "{count(rounds)} rounds, first {rounds[0].twice}"
)");
  std::string id = h.Start("fan", R"({"lines": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 2}, {"sku": "C", "qty": 3}]})");
  EXPECT_EQ("completed", h.Status(id)) << h.Instance(id).ToJson();
  EXPECT_EQ("3 rounds, first 2", h.Instance(id).Find("outcome")->as_text());
  EXPECT_EQ(5, h.shop_.calls("lookup"));
}

TEST(EngineSmoke, RestartRedispatchesInFlightCallWithTheSameKey) {
  state::MemoryStore store;
  std::string id, key;
  {
    EngineHarness h(&store);
    h.Deploy(kOrder);
    h.shop_.Hold("charge");
    id = h.Start("order", R"({"order_ref": "R1", "amount": 10})");
    ASSERT_EQ(1u, h.shop_.held("charge"));
    key = h.shop_.invocations().back().idempotency_key;
  }  // the engine goes away with the call unanswered
  EngineHarness h2(&store);
  h2.engine_->WaitIdle();  // the re-dispatched call is answered by h2's connector
  EXPECT_EQ("completed", h2.Status(id));
  EXPECT_EQ(key, h2.shop_.invocations().back().idempotency_key);
}

}  // namespace
}  // namespace rf::engine::testing
