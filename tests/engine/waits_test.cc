// decide, set, and the three kinds of wait (duration, point in time, event with correlation).
#include "state/keys.h"
#include "tests/engine/harness.h"

namespace rf::engine::testing {
namespace {

const char* kRouter = R"(workflow router version 1
input amount number, tier text
set compute
  doubled = input.amount * 2,
  label = "T-{input.tier}"
decide route
  when doubled > 100 and input.tier == "gold" go to big_gold
  when doubled > 100 go to big
  otherwise go to small
finish big_gold "big gold {label} {doubled}"
finish big "big {label}"
finish small "small {label}"
)";

TEST(EngineWaits, SetComputesValuesAndDecideTakesTheFirstTrueBranch) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kRouter);
  std::string a = h.Start("router", R"({"amount": 60, "tier": "gold"})");
  std::string b = h.Start("router", R"({"amount": 60, "tier": "silver"})");
  std::string c = h.Start("router", R"({"amount": 50, "tier": "gold"})");
  EXPECT_EQ("big gold T-gold 120", h.Outcome(a));
  EXPECT_EQ("big T-silver", h.Outcome(b));
  EXPECT_EQ("small T-gold", h.Outcome(c));  // 100 is not > 100
  EXPECT_EQ(Value(120), h.Data(a, "doubled"));
  EXPECT_EQ("T-gold", h.Data(a, "label").as_text());
  for (const auto& id : {a, b, c}) EXPECT_EQ("completed", h.Status(id));
  bool decided = false;
  for (const auto& e : h.History(b))
    if (TextOf(e, "type") == "decided") {
      decided = true;
      EXPECT_EQ("big", TextOf(e, "to"));
    }
  EXPECT_TRUE(decided);
  EXPECT_EQ(3u, h.Instances("completed").size());
}

TEST(EngineWaits, WaitForADurationFiresExactlyAtItsEnd) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(R"(workflow pause version 1
wait cool
  for 2h
finish done "done"
)");
  std::string id = h.Start("pause", "{}");
  EXPECT_EQ("waiting", h.Status(id));
  EXPECT_EQ(1u, h.Keys(state::keys::TimerPrefix()).size());
  h.AdvanceMs(2 * kHour - 1);
  EXPECT_EQ("waiting", h.Status(id));
  h.AdvanceMs(1);
  EXPECT_EQ("completed", h.Status(id));
  EXPECT_TRUE(h.Keys(state::keys::TimerPrefix()).empty());
  EXPECT_EQ(1, h.CountHistory(id, "waiting"));
  EXPECT_EQ(1, h.CountHistory(id, "wait_finished"));
}

const char* kUntil = R"(workflow hold_until version 1
input at time
wait hold
  until input.at
finish done "done"
)";

TEST(EngineWaits, WaitUntilAPointInTime) {
  state::MemoryStore store;
  EngineHarness h(&store, {}, T("2026-11-27T08:00:00Z"));
  h.Deploy(kUntil);
  std::string id = h.Start("hold_until", R"({"at": "2026-11-27T18:00:00+01:00"})");  // 17:00Z
  EXPECT_EQ("waiting", h.Status(id));
  h.SetTime(T("2026-11-27T16:59:59.999Z"));
  EXPECT_EQ("waiting", h.Status(id));
  h.SetTime(T("2026-11-27T17:00:00Z"));
  EXPECT_EQ("completed", h.Status(id));
  // A time already past does not wait.
  std::string past = h.Start("hold_until", R"({"at": "2026-01-01T00:00:00Z"})");
  EXPECT_EQ("completed", h.Status(past));
}

const char* kPickup = R"(workflow pickup version 1
input order_ref text
wait for_pickup
  for event pickup where order_ref == input.order_ref within 30 days
  save event as pickup
  on timeout go to no_show
finish collected "by {pickup.who}"
fail no_show "no show"
)";

TEST(EngineWaits, EventGoesToTheInstanceWithThatKeyOnly) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kPickup);
  std::string p1 = h.Start("pickup", R"({"order_ref": "P1"})");
  std::string p2 = h.Start("pickup", R"({"order_ref": "P2"})");
  EXPECT_EQ("waiting", h.Status(p1));
  EXPECT_EQ("waiting", h.Status(p2));
  EXPECT_EQ(2u, h.Keys(state::keys::SubscriptionPrefix("pickup")).size());
  EXPECT_EQ(1, h.Deliver("pickup", "P2", R"({"who": "Zoe"})"));
  EXPECT_EQ("waiting", h.Status(p1));
  EXPECT_EQ("completed", h.Status(p2));
  EXPECT_EQ("by Zoe", h.Outcome(p2));
  EXPECT_EQ("Zoe", TextOf(h.Data(p2, "pickup"), "who"));
  EXPECT_TRUE(h.Data(p1, "pickup").is_null());
  // The delivered instance's subscription and timeout timer are gone; the other's remain.
  EXPECT_EQ(1u, h.Keys(state::keys::SubscriptionPrefix("pickup")).size());
  EXPECT_EQ(1u, h.Keys(state::keys::TimerPrefix()).size());
  // An event of another name with the same key does not count.
  EXPECT_EQ(0, h.Deliver("dropoff", "P1", R"({"who": "Max"})"));
  EXPECT_EQ("waiting", h.Status(p1));
  EXPECT_EQ(1, h.Deliver("pickup", "P1", R"({"who": "Ann"})"));
  EXPECT_EQ("by Ann", h.Outcome(p1));
  EXPECT_TRUE(h.Keys(state::keys::SubscriptionPrefix()).empty());
  EXPECT_TRUE(h.Keys(state::keys::TimerPrefix()).empty());
}

TEST(EngineWaits, EventGoesToEveryInstanceWaitingWithThatKey) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kPickup);
  std::string a = h.Start("pickup", R"({"order_ref": "SAME"})");
  std::string b = h.Start("pickup", R"({"order_ref": "SAME"})");
  EXPECT_EQ(2, h.Deliver("pickup", "SAME", R"({"who": "Both"})"));
  EXPECT_EQ("completed", h.Status(a));
  EXPECT_EQ("completed", h.Status(b));
  // Delivered events are not buffered for later waiters.
  std::string c = h.Start("pickup", R"({"order_ref": "SAME"})");
  EXPECT_EQ("waiting", h.Status(c));
}

TEST(EngineWaits, BufferedEventIsDeliveredWhenTheWaitBeginsAndOnlyOnce) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kPickup);
  EXPECT_EQ(0, h.Deliver("pickup", "EARLY", R"({"who": "Early"})"));
  EXPECT_EQ(1u, h.Keys(state::keys::BufferedEventPrefix("pickup", "EARLY")).size());
  h.AdvanceMs(kHour);
  std::string id = h.Start("pickup", R"({"order_ref": "EARLY"})");
  ASSERT_EQ("completed", h.Status(id)) << h.Instance(id).ToJson();
  EXPECT_EQ("by Early", h.Outcome(id));
  EXPECT_TRUE(h.Keys(state::keys::BufferedEventPrefix()).empty()) << "a consumed buffered event is removed";
  std::string second = h.Start("pickup", R"({"order_ref": "EARLY"})");
  EXPECT_EQ("waiting", h.Status(second)) << "a buffered event is consumed once";
}

TEST(EngineWaits, BufferedEventsAreConsumedOldestFirst) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kPickup);
  EXPECT_EQ(0, h.Deliver("pickup", "Q", R"({"who": "first"})"));
  h.AdvanceMs(1);
  EXPECT_EQ(0, h.Deliver("pickup", "Q", R"({"who": "second"})"));
  std::string a = h.Start("pickup", R"({"order_ref": "Q"})");
  std::string b = h.Start("pickup", R"({"order_ref": "Q"})");
  EXPECT_EQ("by first", h.Outcome(a));
  EXPECT_EQ("by second", h.Outcome(b));
}

TEST(EngineWaits, ExpiredBufferedEventIsNotDelivered) {
  state::MemoryStore store;
  EngineOptions o;
  o.event_buffer_ttl = Duration{kHour};
  EngineHarness h(&store, o);
  h.Deploy(kPickup);
  EXPECT_EQ(0, h.Deliver("pickup", "OLD", R"({"who": "Ghost"})"));
  h.AdvanceMs(kHour - 1);
  EXPECT_EQ(0, h.Deliver("pickup", "FRESH", R"({"who": "Fresh"})"));
  h.AdvanceMs(1);  // OLD is now exactly as old as the TTL: expired
  std::string old = h.Start("pickup", R"({"order_ref": "OLD"})");
  EXPECT_EQ("waiting", h.Status(old));
  EXPECT_TRUE(h.Data(old, "pickup").is_null());
  std::string fresh = h.Start("pickup", R"({"order_ref": "FRESH"})");
  EXPECT_EQ("by Fresh", h.Outcome(fresh));
  // The waiting instance still gets a new event.
  EXPECT_EQ(1, h.Deliver("pickup", "OLD", R"({"who": "Real"})"));
  EXPECT_EQ("by Real", h.Outcome(old));
}

TEST(EngineWaits, ExpiredBufferedEventsAreSweptAway) {
  state::MemoryStore store;
  EngineOptions o;
  o.event_buffer_ttl = Duration{kHour};
  EngineHarness h(&store, o);
  h.Deploy(kPickup);
  EXPECT_EQ(0, h.Deliver("pickup", "NEVER-STARTED", R"({"who": "Ghost"})"));
  h.AdvanceMs(kHour / 2);
  EXPECT_EQ(0, h.Deliver("pickup", "LATER", R"({"who": "Late"})"));
  EXPECT_EQ(2u, h.Keys(state::keys::BufferedEventPrefix()).size());
  h.AdvanceMs(kHour / 2 + 60000);  // the first has expired, the second has not
  EXPECT_EQ(1u, h.Keys(state::keys::BufferedEventPrefix()).size());
  EXPECT_EQ(1u, h.Keys(state::keys::BufferedEventPrefix("pickup", "LATER")).size());
  h.AdvanceMs(kHour);
  EXPECT_TRUE(h.Keys(state::keys::BufferedEventPrefix()).empty());
}

TEST(EngineWaits, ThirtyDayEventWaitTimesOutInVirtualTime) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kPickup);
  std::string id = h.Start("pickup", R"({"order_ref": "LATE"})");
  std::string ontime = h.Start("pickup", R"({"order_ref": "ONTIME"})");
  h.AdvanceMs(29 * kDay);
  EXPECT_EQ(1, h.Deliver("pickup", "ONTIME", R"({"who": "Kim"})"));
  EXPECT_EQ("by Kim", h.Outcome(ontime));
  h.AdvanceMs(kDay - 1);
  EXPECT_EQ("waiting", h.Status(id));
  h.AdvanceMs(1);
  EXPECT_EQ("failed", h.Status(id)) << "the timeout path leads to `fail`, nothing to undo";
  EXPECT_EQ("no show", h.Outcome(id));
  EXPECT_EQ(1, h.CountHistory(id, "event_timed_out"));
  EXPECT_TRUE(h.Keys(state::keys::SubscriptionPrefix()).empty());
  // Too late: the event is buffered, the instance does not move.
  EXPECT_EQ(0, h.Deliver("pickup", "LATE", R"({"who": "Late"})"));
  EXPECT_EQ("failed", h.Status(id));
  EXPECT_TRUE(h.Data(id, "pickup").is_null());
  // `fail` is handled: no dead letter.
  EXPECT_TRUE(h.DeadLetters().empty());
}

TEST(EngineWaits, EventTimeoutRoutesToTheTimeoutState) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(R"(workflow remind version 1
input order_ref text
wait for_pickup
  for event pickup where order_ref == input.order_ref within 2 days
  save event as pickup
  on timeout go to reminder
  then go to collected
wait reminder
  for event pickup where order_ref == input.order_ref within 1 day
  save event as pickup
  on timeout go to no_show
  then go to collected
finish collected "collected by {pickup.who}"
fail no_show "no show"
)");
  std::string id = h.Start("remind", R"({"order_ref": "R1"})");
  h.AdvanceMs(2 * kDay);
  EXPECT_EQ("waiting", h.Status(id));
  EXPECT_EQ(1, h.CountHistory(id, "event_timed_out"));
  EXPECT_EQ(1, h.Deliver("pickup", "R1", R"({"who": "Lee"})"));
  EXPECT_EQ("collected by Lee", h.Outcome(id));
}

TEST(EngineWaits, EventKeyFromANumberUsesItsText) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(R"(workflow numkey version 1
input ticket number
wait for_scan
  for event scan where ticket == input.ticket within 1 day
  on timeout go to lost
finish done "scanned"
fail lost "lost"
)");
  std::string id = h.Start("numkey", R"({"ticket": 1234})");
  EXPECT_EQ(1, h.Deliver("scan", "1234"));
  EXPECT_EQ("completed", h.Status(id));
}

}  // namespace
}  // namespace rf::engine::testing

namespace rf::engine::testing {
namespace {

TEST(EngineWaits, BufferedEventsSurviveARestartWithoutOverwritingEachOther) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kPickup);
  EXPECT_EQ(0, h.Deliver("pickup", "TWO", R"({"who": "first"})"));
  h.Restart();  // the clock has not moved
  EXPECT_EQ(0, h.Deliver("pickup", "TWO", R"({"who": "second"})"));
  EXPECT_EQ(2u, h.Keys(state::keys::BufferedEventPrefix("pickup", "TWO")).size()) << "the second buffered event replaced the first";
  std::string a = h.Start("pickup", R"({"order_ref": "TWO"})");
  std::string b = h.Start("pickup", R"({"order_ref": "TWO"})");
  EXPECT_EQ("by first", h.Outcome(a));
  EXPECT_EQ("by second", h.Outcome(b));
}

}  // namespace
}  // namespace rf::engine::testing
