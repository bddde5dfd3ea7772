// Time as the engine sees it. Tests use ManualClock to run a week of timers in milliseconds.
#pragma once

#include <atomic>
#include <chrono>

#include "common/value.h"

namespace rf::engine {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Time Now() const = 0;
};

class SystemClock : public Clock {
 public:
  Time Now() const override {
    return Time{std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count()};
  }
};

// The system clock plus an offset that only grows: lets an operator run a demo or an end-to-end
// test through hours of timers (approval deadlines, no-shows, nightly schedules) in seconds,
// with real I/O. Thread-safe. Only enabled by configuration (`"adjustable_clock": true`).
class AdjustableClock : public Clock {
 public:
  Time Now() const override { return Time{base_.Now().ms + offset_.load()}; }
  void Advance(Duration d) {
    if (d.ms > 0) offset_ += d.ms;
  }
  Duration offset() const { return Duration{offset_.load()}; }

 private:
  SystemClock base_;
  std::atomic<std::int64_t> offset_{0};
};

// Thread-safe; time only moves when a test moves it.
class ManualClock : public Clock {
 public:
  explicit ManualClock(Time start) : ms_(start.ms) {}
  Time Now() const override { return Time{ms_.load()}; }
  void Advance(Duration d) { ms_ += d.ms; }
  void Set(Time t) { ms_ = t.ms; }

 private:
  std::atomic<std::int64_t> ms_;
};

}  // namespace rf::engine
