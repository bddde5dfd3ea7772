// Recovery on a real LevelDB store (engine destroyed, store reopened, new engine, Recover), and
// store faults (FaultInjectingStore): failed commits, lost acks.
#include "state/keys.h"
#include "tests/engine/harness.h"

namespace rf::engine::testing {
namespace {

const char* kWaits = R"(workflow waits version 1
input ref text, kind text
decide which
  when input.kind == "timer" go to nap
  when input.kind == "event" go to for_scan
  otherwise go to ok
wait nap
  for 1 day
  then go to done
wait for_scan
  for event scan where ref == input.ref within 30 days
  save event as scan
  on timeout go to lost
  then go to done
approval ok
  ask manager "OK {input.ref}?"
  if nobody decides within 7 days go to lost
  if approved go to done
  if rejected go to lost
finish done "done {input.ref}"
fail lost "lost {input.ref}"
)";

const char* kPay = R"(workflow pay version 1
uses shop
input ref text
step reserve
  call shop.reserve with ref = input.ref
  undo call shop.release with ref = input.ref
step charge
  call shop.charge with ref = input.ref
  retry up to 3 times waiting 1m
  undo call shop.refund with ref = input.ref
finish done "paid {input.ref}"
)";

// Shuts the engine down, closes and reopens the LevelDB store, boots a new engine on it.
void Reopen(EngineHarness& h, std::unique_ptr<state::StateStore>& db, const TempDir& dir) {
  h.Shutdown();
  db.reset();
  db = OpenDb(dir.path());
  ASSERT_TRUE(db != nullptr);
  h.store_ = db.get();
  h.Boot();
}

TEST(EngineRecovery, WaitingInstancesSurviveARestartOnLevelDb) {
  TempDir dir;
  auto db = OpenDb(dir.path());
  ASSERT_TRUE(db);
  EngineHarness h(db.get());
  h.Deploy(kWaits);
  std::string timer = h.Start("waits", R"({"ref": "T", "kind": "timer"})");
  std::string event = h.Start("waits", R"({"ref": "E", "kind": "event"})");
  std::string task = h.Start("waits", R"({"ref": "A", "kind": "task"})");
  for (const auto& id : {timer, event, task}) ASSERT_EQ("waiting", h.Status(id));
  Reopen(h, db, dir);
  for (const auto& id : {timer, event, task}) EXPECT_EQ("waiting", h.Status(id));
  EXPECT_EQ(1, h.Deliver("scan", "E", R"({"by": "scanner"})"));
  EXPECT_EQ("done E", h.Outcome(event));
  auto tasks = h.OpenTasks("manager");
  ASSERT_EQ(1u, tasks.size());
  ASSERT_TRUE(h.Decide(TextOf(tasks[0], "id"), "approve").ok());
  EXPECT_EQ("done A", h.Outcome(task));
  EXPECT_EQ("waiting", h.Status(timer));
  h.AdvanceMs(kDay);
  EXPECT_EQ("done T", h.Outcome(timer));
  // And once more: terminal instances read back fine, nothing is left to do.
  Reopen(h, db, dir);
  for (const auto& id : {timer, event, task}) EXPECT_EQ("completed", h.Status(id));
  EXPECT_TRUE(h.Keys(state::keys::TimerPrefix()).empty());
  EXPECT_TRUE(h.Keys(state::keys::SubscriptionPrefix()).empty());
  EXPECT_TRUE(h.Keys(state::keys::OpenTaskPrefix()).empty());
}

TEST(EngineRecovery, OverdueTimersFireOnTheFirstTickAfterRestart) {
  TempDir dir;
  auto db = OpenDb(dir.path());
  ASSERT_TRUE(db);
  EngineHarness h(db.get());
  h.Deploy(kWaits);
  std::string timer = h.Start("waits", R"({"ref": "T", "kind": "timer"})");
  std::string event = h.Start("waits", R"({"ref": "E", "kind": "event"})");
  std::string task = h.Start("waits", R"({"ref": "A", "kind": "task"})");
  h.Shutdown();
  h.clock_.Advance(Duration{40 * kDay});  // the engine was down for 40 days
  db.reset();
  db = OpenDb(dir.path());
  h.store_ = db.get();
  h.Boot();
  for (const auto& id : {timer, event, task}) EXPECT_EQ("waiting", h.Status(id)) << "nothing fires before a Tick";
  h.TickNow();
  EXPECT_EQ("done T", h.Outcome(timer));
  EXPECT_EQ("failed", h.Status(event));
  EXPECT_EQ("lost E", h.Outcome(event));
  EXPECT_EQ("failed", h.Status(task));  // escalated to `lost`
  EXPECT_TRUE(h.OpenTasks("manager").empty());
}

TEST(EngineRecovery, OverdueRetryTimerFiresAfterRestart) {
  TempDir dir;
  auto db = OpenDb(dir.path());
  ASSERT_TRUE(db);
  EngineHarness h(db.get());
  h.Deploy(kPay);
  h.shop_.FailNext("charge", "unavailable", 1);
  std::string id = h.Start("pay", R"({"ref": "P"})");
  EXPECT_EQ(1, h.shop_.calls("charge"));
  h.Shutdown();
  h.clock_.Advance(Duration{kHour});
  db.reset();
  db = OpenDb(dir.path());
  h.store_ = db.get();
  h.Boot();
  EXPECT_EQ(1, h.shop_.calls("charge"));
  h.TickNow();
  EXPECT_EQ(2, h.shop_.calls("charge"));
  EXPECT_EQ("completed", h.Status(id));
  auto calls = h.Calls(h.shop_, "charge");
  EXPECT_EQ(calls[0].idempotency_key, calls[1].idempotency_key);
}

TEST(EngineRecovery, HeldCallIsRedispatchedWithTheSameKeyAndTheEffectHappensOnce) {
  TempDir dir;
  auto db = OpenDb(dir.path());
  ASSERT_TRUE(db);
  EngineHarness h(db.get());
  h.Deploy(kPay);
  h.shop_.Hold("charge");
  std::string id = h.Start("pay", R"({"ref": "H"})");
  ASSERT_TRUE(h.Eventually([&] { return h.shop_.held("charge") == 1; }));
  std::string key = h.Calls(h.shop_, "charge")[0].idempotency_key;
  EXPECT_EQ(1u, h.Keys(state::keys::OutboxPrefix(id)).size());
  Reopen(h, db, dir);  // the engine dies with the call unanswered
  ASSERT_TRUE(h.Eventually([&] { return h.shop_.held("charge") == 2; })) << "re-dispatched on Recover";
  auto calls = h.Calls(h.shop_, "charge");
  ASSERT_EQ(2u, calls.size());
  EXPECT_EQ(key, calls[1].idempotency_key);
  EXPECT_EQ(id, calls[1].instance_id);
  EXPECT_EQ("H", TextOf(calls[1].input, "ref"));
  // Both the old (orphaned) call and the new one answer: the downstream applies the effect once.
  h.shop_.Release("charge");
  h.Settle();
  EXPECT_EQ(1, h.shop_.EffectCount(key));
  ASSERT_EQ("completed", h.Status(id)) << h.Instance(id).ToJson();
  EXPECT_EQ(1, h.shop_.calls("reserve")) << "a completed step is not called again";
  EXPECT_TRUE(h.Keys(state::keys::OutboxPrefix()).empty());
}

// A re-dispatch after a restart carries the deadline of the attempt that was in flight, so a
// connector that cannot make its effect atomic downstream can wait it out (odoo's
// search_after_deadline); a second restart hands on the re-dispatched attempt's deadline.
TEST(EngineRecovery, RedispatchCarriesThePreviousAttemptsDeadline) {
  TempDir dir;
  auto db = OpenDb(dir.path());
  ASSERT_TRUE(db);
  EngineHarness h(db.get());
  h.Deploy(kPay);
  h.shop_.Hold("charge");
  std::string id = h.Start("pay", R"({"ref": "D"})");
  ASSERT_TRUE(h.Eventually([&] { return h.shop_.held("charge") == 1; }));
  Invocation first = h.Calls(h.shop_, "charge")[0];
  EXPECT_EQ(0, first.previous_attempt_deadline.ms) << "a first dispatch has no previous attempt";
  ASSERT_GT(first.deadline.ms, 0);
  Reopen(h, db, dir);
  ASSERT_TRUE(h.Eventually([&] { return h.shop_.held("charge") == 2; }));
  Invocation second = h.Calls(h.shop_, "charge")[1];
  EXPECT_EQ(first.deadline.ms, second.previous_attempt_deadline.ms);
  h.AdvanceMs(kSecond);  // the re-dispatched attempt's deadline is a later one
  Reopen(h, db, dir);
  ASSERT_TRUE(h.Eventually([&] { return h.shop_.held("charge") == 3; }));
  Invocation third = h.Calls(h.shop_, "charge")[2];
  EXPECT_EQ(second.deadline.ms, third.previous_attempt_deadline.ms);
  EXPECT_EQ(first.idempotency_key, third.idempotency_key);
  h.shop_.Release("charge");
  h.Settle();
  EXPECT_EQ("completed", h.Status(id));
}

TEST(EngineRecovery, RedispatchedCallStillTimesOut) {
  TempDir dir;
  auto db = OpenDb(dir.path());
  ASSERT_TRUE(db);
  EngineHarness h(db.get());
  h.Deploy(R"(workflow slowpoke version 1
uses shop
step query
  call shop.slow with x = 1
  timeout 10s
  on error timeout go to gave_up
finish done "answered"
finish gave_up "gave up"
)");
  h.shop_.Hold("slow");
  std::string id = h.Start("slowpoke", "{}");
  ASSERT_TRUE(h.Eventually([&] { return h.shop_.held("slow") == 1; }));
  Reopen(h, db, dir);
  ASSERT_TRUE(h.Eventually([&] { return h.shop_.held("slow") == 2; }));
  h.AdvanceMs(10 * kSecond);
  EXPECT_EQ("gave up", h.Outcome(id));
  h.shop_.Release("slow");
  h.Settle();
  EXPECT_EQ("gave up", h.Outcome(id));
}

TEST(EngineRecovery, CompensationInProgressResumesAfterRestart) {
  TempDir dir;
  auto db = OpenDb(dir.path());
  ASSERT_TRUE(db);
  EngineHarness h(db.get());
  h.Deploy(kPay);
  h.shop_.FailNext("charge", "rejected", 1);
  h.shop_.Hold("release");
  std::string id = h.Start("pay", R"({"ref": "C"})");
  ASSERT_TRUE(h.Eventually([&] { return h.shop_.held("release") == 1; }));
  EXPECT_EQ("compensating", h.Status(id));
  std::string key = h.Calls(h.shop_, "release")[0].idempotency_key;
  Reopen(h, db, dir);
  ASSERT_TRUE(h.Eventually([&] { return h.shop_.held("release") == 2; }));
  h.shop_.Release("release");
  h.Settle();
  EXPECT_EQ("compensated", h.Status(id));
  EXPECT_EQ(1, h.shop_.EffectCount(key));
  EXPECT_EQ(1u, h.DeadLetters().size());
}

// ------------------------------------------------------------------------------- faults

TEST(EngineFaults, FailedStartCommitReportsTheErrorAndChangesNothing) {
  state::MemoryStore mem;
  state::FaultInjectingStore faulty(&mem);
  EngineHarness h(&faulty);
  h.Deploy(kPay);
  auto before = h.Dump();
  faulty.FailCommitAfter(1);
  auto r = h.TryStart(EngineHarness::Req("pay", R"({"ref": "F"})", "F"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(rf::Status::Code::kIOError, r.status().code());
  EXPECT_EQ(before, h.Dump()) << "the store is unchanged";
  EXPECT_EQ(0, h.shop_.calls("reserve")) << "nothing is dispatched for a failed commit";
  // The next start (same key) works and creates the instance.
  auto again = h.TryStart(EngineHarness::Req("pay", R"({"ref": "F"})", "F"));
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_TRUE(again->created);
  EXPECT_EQ("completed", h.Status(again->instance_id));
  EXPECT_EQ(1, h.shop_.calls("reserve"));
}

TEST(EngineFaults, BrokenStoreRefusesEveryStimulusAndWorksAfterHeal) {
  state::MemoryStore mem;
  state::FaultInjectingStore faulty(&mem);
  EngineHarness h(&faulty);
  h.Deploy(kWaits);
  std::string event = h.Start("waits", R"({"ref": "E", "kind": "event"})");
  std::string task = h.Start("waits", R"({"ref": "A", "kind": "task"})");
  std::string task_id = TextOf(h.OpenTasks("manager")[0], "id");
  auto before = h.Dump();
  faulty.BreakCommits();
  auto s = h.TryStart(EngineHarness::Req("waits", R"({"ref": "X", "kind": "timer"})"));
  ASSERT_FALSE(s.ok());
  auto d = h.TryDeliver("scan", "E");
  ASSERT_FALSE(d.ok());
  auto b = h.TryDeliver("scan", "NOBODY");  // would be buffered
  ASSERT_FALSE(b.ok());
  auto t = h.Decide(task_id, "approve");
  ASSERT_FALSE(t.ok());
  auto c = h.Cancel(event);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(before, h.Dump()) << "nothing was written";
  EXPECT_EQ("waiting", h.Status(event));
  EXPECT_EQ("waiting", h.Status(task));
  faulty.Heal();
  // Everything works again, and the refused stimuli can be repeated.
  EXPECT_EQ(1, h.Deliver("scan", "E"));
  EXPECT_EQ("completed", h.Status(event));
  auto t2 = h.Decide(task_id, "approve");
  ASSERT_TRUE(t2.ok()) << t2.status().message();
  EXPECT_EQ("completed", h.Status(task));
  std::string x = h.Start("waits", R"({"ref": "X", "kind": "timer"})");
  EXPECT_EQ("waiting", h.Status(x));
  EXPECT_TRUE(h.Keys(state::keys::BufferedEventPrefix()).empty()) << "the refused event was not buffered";
}

TEST(EngineFaults, LostAckOnStartDoesNotDuplicateTheEffectAfterRestart) {
  state::MemoryStore mem;
  state::FaultInjectingStore faulty(&mem);
  EngineHarness h(&faulty);
  h.Deploy(kPay);
  faulty.LoseAckAfter(1);
  auto r = h.TryStart(EngineHarness::Req("pay", R"({"ref": "L"})", "L"));
  ASSERT_FALSE(r.ok()) << "the caller saw the error";
  // The write was applied: a retry of the start finds it, and starts nothing new.
  auto again = h.TryStart(EngineHarness::Req("pay", R"({"ref": "L"})", "L"));
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_FALSE(again->created);
  std::string id = again->instance_id;
  EXPECT_EQ(1u, h.Keys(state::keys::InstancePrefix()).size());
  h.Restart();
  h.Settle();
  EXPECT_EQ("completed", h.Status(id)) << h.Instance(id).ToJson();
  auto reserves = h.Calls(h.shop_, "reserve");
  ASSERT_FALSE(reserves.empty());
  EXPECT_EQ(1, h.shop_.EffectCount(reserves[0].idempotency_key));
  EXPECT_EQ(2u, h.shop_.effects().size()) << "reserve and charge, once each";
  auto charges = h.Calls(h.shop_, "charge");
  ASSERT_EQ(1u, charges.size());
  EXPECT_EQ(1, h.shop_.EffectCount(charges[0].idempotency_key));
}

TEST(EngineFaults, LostAckOnACallResultDoesNotDuplicateEffectsAfterRestart) {
  state::MemoryStore mem;
  state::FaultInjectingStore faulty(&mem);
  EngineHarness h(&faulty);
  h.Deploy(kPay);
  h.shop_.Hold("reserve");
  std::string id = h.Start("pay", R"({"ref": "L2"})");
  ASSERT_TRUE(h.Eventually([&] { return h.shop_.held("reserve") == 1; }));
  faulty.LoseAckAfter(1);  // the commit of reserve's result (and charge's outbox entry)
  h.shop_.Release("reserve");
  h.Settle();
  h.Restart();
  h.Settle();
  ASSERT_EQ("completed", h.Status(id)) << h.Instance(id).ToJson();
  EXPECT_EQ(1, h.shop_.calls("reserve")) << "the recorded result is not asked for again";
  for (const auto& inv : h.shop_.invocations()) EXPECT_EQ(1, h.shop_.EffectCount(inv.idempotency_key)) << inv.operation;
  EXPECT_EQ(2u, h.shop_.effects().size());
}

TEST(EngineFaults, InstanceMovesOnAfterHealWhenACallResultCouldNotBeCommitted) {
  state::MemoryStore mem;
  state::FaultInjectingStore faulty(&mem);
  EngineHarness h(&faulty);
  h.Deploy(R"(workflow once version 1
uses shop
step charge
  call shop.charge with x = 1
  timeout 10s
  retry up to 3 times waiting 1s
finish done "charged"
)");
  h.shop_.Hold("charge");
  std::string id = h.Start("once", "{}");
  ASSERT_TRUE(h.Eventually([&] { return h.shop_.held("charge") == 1; }));
  faulty.FailCommitAfter(1);  // the commit of charge's result fails
  h.shop_.Release("charge");
  h.Settle();
  // The store still says the call is outstanding. Without a restart, the engine must still
  // finish the instance (it re-dispatches the call with the same key), and the effect happens
  // once.
  for (int i = 0; i < 5 && h.Status(id) != "completed"; ++i) h.AdvanceMs(kMinute);
  EXPECT_EQ("completed", h.Status(id)) << "stuck after a failed commit: " << h.Instance(id).ToJson();
  for (const auto& inv : h.shop_.invocations()) EXPECT_EQ(1, h.shop_.EffectCount(inv.idempotency_key));
}

TEST(EngineFaults, SecondStartWaitingOnAFailedFirstStartGetsNoPhantomInstance) {
  state::MemoryStore mem;
  state::FaultInjectingStore faulty(&mem);
  GatedStore gated(&faulty);
  EngineHarness h(&gated);
  h.Deploy(kWaits);
  faulty.FailCommitAfter(1);
  gated.Close();
  auto first = h.StartAsync(EngineHarness::Req("waits", R"({"ref": "G", "kind": "timer"})", "G"));
  ASSERT_TRUE(h.Eventually([&] { return gated.waiting() == 1; }));
  auto second = h.StartAsync(EngineHarness::Req("waits", R"({"ref": "G", "kind": "timer"})", "G"));
  gated.Open();
  auto a = first.get();
  auto b = second.get();
  h.Settle();
  EXPECT_FALSE(a.ok()) << "the first start's commit failed";
  if (b.ok()) {
    // Either the second start created the instance itself, or it must not claim one exists.
    auto inst = h.engine().GetInstance(b->instance_id);
    EXPECT_TRUE(inst.ok()) << "Start returned instance " << b->instance_id << " (created=" << b->created
                           << ") which does not exist";
    EXPECT_TRUE(b->created) << "no instance with that key existed";
  }
}

}  // namespace
}  // namespace rf::engine::testing
