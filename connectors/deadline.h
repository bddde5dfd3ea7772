// The engine's deadlines made real. An Invocation's `deadline` is a time on the deployment's
// Clock (engine/clock.h), which may be a virtual or adjustable clock hours away from the wall
// clock; what a connector may spend on a call is the budget left on that clock when the call
// starts, spent in real time from then on. Every connector converts through these functions,
// never through std::chrono::system_clock.
#pragma once

#include <chrono>
#include <cstdint>

#include "common/value.h"
#include "engine/clock.h"

namespace rf::connectors {

// `clock`, or the system clock when it is null (a host that does not say: real time).
inline const engine::Clock& ClockOrSystem(const engine::Clock* clock) {
  static const engine::SystemClock system{};
  return clock != nullptr ? *clock : system;
}

// What is left of `deadline` on `clock` now; may be zero or negative (the deadline passed).
inline std::chrono::milliseconds Remaining(Time deadline, const engine::Clock& clock) {
  return std::chrono::milliseconds(deadline.ms - clock.Now().ms);
}

// The real instant by which a call that starts at `start` (real steady time) must give up:
// `start` + what is left of `deadline` on `clock`.
inline std::chrono::steady_clock::time_point RealDeadline(
    Time deadline, const engine::Clock& clock,
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now()) {
  return start + Remaining(deadline, clock);
}

// The same instant as Unix-epoch milliseconds on the system's wall clock, for those who only
// speak wall-clock time (the plugin ABI's `deadline_ms`). 0 (no deadline) stays 0.
inline std::int64_t WallClockDeadlineMs(Time deadline, const engine::Clock& clock) {
  if (deadline.ms == 0) return 0;
  return engine::SystemClock().Now().ms + Remaining(deadline, clock).count();
}

}  // namespace rf::connectors
