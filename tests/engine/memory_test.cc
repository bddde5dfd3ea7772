// Memory: waiting instances live in the store, not in RAM; EngineStats reports it.
#include "state/keys.h"
#include "tests/engine/harness.h"

namespace rf::engine::testing {
namespace {

const char* kPark = R"(workflow park version 1
uses shop
input ref text
step look
  call shop.lookup with ref = input.ref
wait for_go
  for event resume where ref == input.ref within 30 days
  on timeout go to gone
finish done "done"
fail gone "gone"
)";

TEST(EngineMemory, WaitingInstancesAreNotResident) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kPark);
  const int n = 200;
  for (int i = 0; i < n; ++i) h.Start("park", R"({"ref": "R)" + std::to_string(i) + R"("})");
  h.Settle();
  EXPECT_EQ(static_cast<size_t>(n), h.Instances("waiting").size());
  EngineStats s = h.engine().stats();
  EXPECT_EQ(static_cast<std::uint64_t>(n), s.instances_started);
  EXPECT_EQ(0u, s.resident_instances);
  EXPECT_EQ(0u, s.in_flight_invocations);
  EXPECT_EQ(static_cast<std::uint64_t>(n), s.invocations);
  EXPECT_GE(s.transitions, static_cast<std::uint64_t>(2 * n));
  EXPECT_GE(s.commits, 1u);
  EXPECT_LE(s.commits, s.transitions + 1);  // + the deploy, which commits through the same path
  // They are loaded when their stimulus arrives, and leave RAM again.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(1, h.Deliver("resume", "R" + std::to_string(i)));
  s = h.engine().stats();
  EXPECT_EQ(10u, s.instances_completed);
  EXPECT_EQ(0u, s.resident_instances);
}

TEST(EngineMemory, StatsCountResidentInstancesAndCallsInFlight) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kPark);
  h.shop_.Hold("lookup");
  const int n = 10;
  for (int i = 0; i < n; ++i) h.Start("park", R"({"ref": "H)" + std::to_string(i) + R"("})");
  ASSERT_TRUE(h.Eventually([&] { return h.shop_.held("lookup") == static_cast<size_t>(n); }));
  EngineStats s = h.engine().stats();
  EXPECT_EQ(static_cast<size_t>(n), s.in_flight_invocations);
  // An instance with a call in flight must stay in RAM to receive the answer.
  EXPECT_EQ(static_cast<size_t>(n), s.resident_instances) << "EngineStats.resident_instances is never filled";
  EXPECT_TRUE(h.engine().Busy());
  h.shop_.Release("lookup");
  h.Settle();
  h.engine().WaitIdle();
  s = h.engine().stats();
  EXPECT_EQ(0u, s.in_flight_invocations);
  EXPECT_EQ(0u, s.resident_instances);
  EXPECT_FALSE(h.engine().Busy());
  EXPECT_EQ(static_cast<size_t>(n), h.Instances("waiting").size());
}

TEST(EngineMemory, ListingsUseTheStatusIndex) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kPark);
  for (int i = 0; i < 5; ++i) h.Start("park", R"({"ref": "L)" + std::to_string(i) + R"("})");
  EXPECT_EQ(5u, h.Instances("waiting").size());
  EXPECT_EQ(3u, h.Instances("waiting", 3).size());
  EXPECT_EQ(1, h.Deliver("resume", "L0"));
  EXPECT_EQ(4u, h.Instances("waiting").size());
  EXPECT_EQ(1u, h.Instances("completed").size());
  EXPECT_TRUE(h.Instances("running").empty());
  // Exactly one status index entry per instance.
  EXPECT_EQ(5u, h.Keys(state::keys::StatusIndexPrefix()).size());
}

}  // namespace
}  // namespace rf::engine::testing
