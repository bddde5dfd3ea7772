// Schedules: `every "CRON" in "ZONE" with ...` starts one instance per slot, handles daylight
// saving time, does not burst after an outage, and does not start a slot twice across restarts.
#include "state/keys.h"
#include "tests/engine/harness.h"

namespace rf::engine::testing {
namespace {

const char* kNightly = R"(workflow nightly version 1
input store_id text
every "0 2 * * *" in "Europe/Paris" with store_id = "PAR-01"
finish done "ran for {input.store_id}"
)";

size_t Started(EngineHarness& h) { return h.Keys(state::keys::WorkflowIndexPrefix("nightly")).size(); }

std::vector<std::string> BusinessKeys(EngineHarness& h) {
  std::vector<std::string> out;
  for (const auto& k : h.Keys(state::keys::BusinessKeyPrefix("nightly")))
    if (auto bk = state::keys::ParseBusinessKey(k)) out.push_back(bk->business_key);
  return out;
}

TEST(EngineSchedules, OneStartPerSlotAtTwoInTheMorningParisTime) {
  state::MemoryStore store;
  EngineHarness h(&store, {}, T("2026-11-27T08:00:00Z"));  // 09:00 in Paris (CET, UTC+1)
  h.Deploy(kNightly);
  h.TickNow();
  EXPECT_EQ(0u, Started(h));
  h.SetTime(T("2026-11-28T00:59:59.999Z"));
  EXPECT_EQ(0u, Started(h)) << "01:59:59.999 in Paris";
  h.SetTime(T("2026-11-28T01:00:00Z"));
  ASSERT_EQ(1u, Started(h)) << "02:00 in Paris";
  auto done = h.Instances("completed");
  ASSERT_EQ(1u, done.size());
  EXPECT_EQ("ran for PAR-01", TextOf(done[0], "outcome"));
  // More ticks in the same slot start nothing.
  h.SetTime(T("2026-11-28T01:00:30Z"));
  h.SetTime(T("2026-11-28T12:00:00Z"));
  EXPECT_EQ(1u, Started(h));
  h.SetTime(T("2026-11-29T01:00:00Z"));
  EXPECT_EQ(2u, Started(h));
}

TEST(EngineSchedules, SpringForwardNightHasNoTwoOClockSlot) {
  // Paris, Sunday 28 March 2027: 02:00 CET jumps to 03:00 CEST; 02:00 does not exist that day.
  state::MemoryStore store;
  EngineHarness h(&store, {}, T("2027-03-26T12:00:00Z"));
  h.Deploy(kNightly);
  h.SetTime(T("2027-03-27T01:00:00Z"));  // Saturday 02:00 CET
  EXPECT_EQ(1u, Started(h));
  for (int hour = 0; hour < 24; ++hour) {
    h.SetTime(Time{T("2027-03-28T00:00:00Z").ms + hour * kHour});
    EXPECT_EQ(1u, Started(h)) << "no slot on the night of the change, UTC hour " << hour;
  }
  h.SetTime(T("2027-03-28T23:59:59Z"));
  EXPECT_EQ(1u, Started(h));
  h.SetTime(T("2027-03-29T00:00:00Z"));  // Monday 02:00 CEST
  EXPECT_EQ(2u, Started(h));
}

TEST(EngineSchedules, FallBackNightRunsOnceAtTheFirstTwoOClock) {
  // Paris, Sunday 25 October 2026: 03:00 CEST falls back to 02:00 CET; 02:00 happens twice
  // (00:00Z and 01:00Z). It runs once, at the first.
  state::MemoryStore store;
  EngineHarness h(&store, {}, T("2026-10-24T12:00:00Z"));
  h.Deploy(kNightly);
  h.SetTime(T("2026-10-24T23:59:59Z"));
  EXPECT_EQ(0u, Started(h));
  h.SetTime(T("2026-10-25T00:00:00Z"));
  EXPECT_EQ(1u, Started(h));
  h.SetTime(T("2026-10-25T01:00:00Z"));
  h.SetTime(T("2026-10-25T02:00:00Z"));
  EXPECT_EQ(1u, Started(h));
  h.SetTime(T("2026-10-26T00:59:59Z"));
  EXPECT_EQ(1u, Started(h));
  h.SetTime(T("2026-10-26T01:00:00Z"));  // Monday 02:00 CET
  EXPECT_EQ(2u, Started(h));
}

TEST(EngineSchedules, NoBurstAfterALongOutage) {
  state::MemoryStore store;
  EngineHarness h(&store, {}, T("2026-11-27T08:00:00Z"));
  h.Deploy(kNightly);
  h.AdvanceMs(10 * kDay);  // 10 slots passed while nobody ticked
  EXPECT_EQ(1u, Started(h));
  // The one start is for the most recent slot (2026-12-07 02:00 Paris).
  auto keys = BusinessKeys(h);
  ASSERT_EQ(1u, keys.size());
  EXPECT_NE(std::string::npos, keys[0].find("2026-12-07T01:00:00")) << keys[0];
  h.TickNow();
  EXPECT_EQ(1u, Started(h));
  h.SetTime(T("2026-12-08T01:00:00Z"));
  EXPECT_EQ(2u, Started(h));
}

TEST(EngineSchedules, CatchUpAllStartsEveryMissedSlotOnce) {
  state::MemoryStore store;
  EngineOptions o;
  o.schedule_catch_up_all = true;
  EngineHarness h(&store, o, T("2026-11-27T08:00:00Z"));
  h.Deploy(kNightly);
  h.AdvanceMs(10 * kDay);
  EXPECT_EQ(10u, Started(h));
  h.TickNow();
  EXPECT_EQ(10u, Started(h));
}

TEST(EngineSchedules, NoSecondStartForTheSameSlotAfterARestart) {
  state::MemoryStore store;
  EngineHarness h(&store, {}, T("2026-11-27T08:00:00Z"));
  h.Deploy(kNightly);
  h.SetTime(T("2026-11-28T01:00:00Z"));
  ASSERT_EQ(1u, Started(h));
  h.Restart();
  h.SetTime(T("2026-11-28T01:00:01Z"));
  EXPECT_EQ(1u, Started(h));
  h.Restart();
  h.SetTime(T("2026-11-28T23:00:00Z"));
  EXPECT_EQ(1u, Started(h));
  h.SetTime(T("2026-11-29T01:00:00Z"));
  EXPECT_EQ(2u, Started(h));
}

TEST(EngineSchedules, NoSecondStartAfterARestartOnLevelDb) {
  TempDir dir;
  auto db = OpenDb(dir.path());
  ASSERT_TRUE(db);
  EngineHarness h(db.get(), {}, T("2026-11-27T08:00:00Z"));
  h.Deploy(kNightly);
  h.SetTime(T("2026-11-28T01:00:00Z"));
  ASSERT_EQ(1u, Started(h));
  h.Shutdown();
  db.reset();
  db = OpenDb(dir.path());
  h.store_ = db.get();
  h.Boot();
  h.SetTime(T("2026-11-28T01:30:00Z"));
  EXPECT_EQ(1u, Started(h));
  std::string last;
  EXPECT_TRUE(db->Get(state::keys::ScheduleSlot("nightly", 0), &last).ok()) << "the last fired slot is stored";
}

}  // namespace
}  // namespace rf::engine::testing

namespace rf::engine::testing {
namespace {

TEST(EngineSchedules, ASlotWhoseStartCouldNotBeCommittedIsNotLost) {
  state::MemoryStore mem;
  state::FaultInjectingStore faulty(&mem);
  EngineHarness h(&faulty, {}, T("2026-11-27T08:00:00Z"));
  h.Deploy(kNightly);
  faulty.FailCommitAfter(1);  // the store hiccups exactly when the slot's start is committed
  h.SetTime(T("2026-11-28T01:00:00Z"));
  EXPECT_LE(Started(h), 1u);  // the failed start is retried on the next tick
  // The store is fine again; the slot (02:00 today) must have run, exactly once.
  h.SetTime(T("2026-11-28T01:05:00Z"));
  EXPECT_EQ(1u, Started(h)) << "the 2026-11-28 02:00 run was silently dropped";
  h.SetTime(T("2026-11-28T01:30:00Z"));
  EXPECT_EQ(1u, Started(h)) << "the slot ran twice";
}

TEST(EngineSchedules, InstanceIdsCarryThePartition) {
  state::MemoryStore store;
  EngineOptions o;
  o.partition = 7;
  EngineHarness h(&store, o, T("2026-11-27T08:00:00Z"));
  h.Deploy(kNightly);
  h.SetTime(T("2026-11-28T01:00:00Z"));
  auto done = h.Instances("completed");
  ASSERT_EQ(1u, done.size());
  std::string id = TextOf(done[0], "id");
  EXPECT_EQ(0u, id.find("07-")) << id;
  EXPECT_EQ(23u, id.size()) << "<partition:02d>-<created_ms:013d>-<seq:06d>: " << id;
}

}  // namespace
}  // namespace rf::engine::testing
