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
