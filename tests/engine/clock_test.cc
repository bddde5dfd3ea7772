// The clocks' contracts that the connectors rely on (connectors/resilience.h): SteadyNow() moves
// with every forward jump and never goes back; jump watchers hear forward jumps only, and never
// after UnwatchJumps.
#include "engine/clock.h"

#include <gtest/gtest.h>

namespace rf::engine {
namespace {

using std::chrono::milliseconds;

TEST(ManualClock, SteadyNowMovesWithForwardMovesOnly) {
  ManualClock clock(Time{1'000'000});
  auto t0 = clock.SteadyNow();
  clock.Advance(Duration{30'000});
  EXPECT_EQ(milliseconds(30'000), clock.SteadyNow() - t0);
  clock.Set(Time{500});  // back: Now() follows, SteadyNow() stays
  EXPECT_EQ(500, clock.Now().ms);
  EXPECT_EQ(milliseconds(30'000), clock.SteadyNow() - t0);
  clock.Set(Time{1'500});
  EXPECT_EQ(milliseconds(31'000), clock.SteadyNow() - t0);
  clock.Advance(Duration{-200});
  EXPECT_EQ(milliseconds(31'000), clock.SteadyNow() - t0);
}

TEST(AdjustableClock, SteadyNowJumpsByTheAdvance) {
  AdjustableClock clock;
  auto before = clock.SteadyNow();
  clock.Advance(Duration{4 * 3600 * 1000});
  auto after = clock.SteadyNow();
  EXPECT_GE(after - before, std::chrono::hours(4));
  clock.Advance(Duration{-5});  // ignored: the offset only grows
  EXPECT_GE(clock.SteadyNow(), after);
}

template <typename C>
void WatchersHearForwardJumpsOnly(C& clock) {
  int heard = 0;
  auto id = clock.WatchJumps([&heard] { ++heard; });
  ASSERT_NE(0u, id);
  clock.Advance(Duration{10});
  clock.Advance(Duration{0});
  clock.Advance(Duration{-10});
  EXPECT_EQ(1, heard);
  clock.UnwatchJumps(id);
  clock.Advance(Duration{10});
  EXPECT_EQ(1, heard);
}

TEST(ManualClock, WatchersHearForwardJumpsOnly) {
  ManualClock clock(Time{0});
  WatchersHearForwardJumpsOnly(clock);
  int heard = 0;
  auto id = clock.WatchJumps([&heard] { ++heard; });
  clock.Set(Time{100});
  clock.Set(Time{50});
  EXPECT_EQ(1, heard);
  clock.UnwatchJumps(id);
}

TEST(AdjustableClock, WatchersHearForwardJumpsOnly) {
  AdjustableClock clock;
  WatchersHearForwardJumpsOnly(clock);
}

TEST(SystemClock, NeverJumps) {
  SystemClock clock;
  EXPECT_EQ(0u, clock.WatchJumps([] {}));
  clock.UnwatchJumps(0);  // ignored
}

}  // namespace
}  // namespace rf::engine
