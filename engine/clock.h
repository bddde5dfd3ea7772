// Time as the engine sees it. Tests use ManualClock to run a week of timers in milliseconds.
//
// One deployment has one Clock: the engine computes deadlines and timers on it, and the
// connectors (connectors/deadline.h, connectors/resilience.h) turn its deadlines into real ones
// and run their cool-downs and rate limits on its SteadyNow(), so that moving the clock moves
// everything that waits on time.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>

#include "common/value.h"

namespace rf::engine {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Time Now() const = 0;

  // A monotonic reading for measuring intervals (circuit-breaker cool-downs, rate limits): it
  // never goes back, it follows real time as Now() does, and it moves forward by as much as
  // Now() jumps forward (an operator advancing an AdjustableClock, a test moving a
  // ManualClock). What waits "30 s of this clock" is over once the clock was moved 30 s.
  // Default: the real steady clock (for a clock that never jumps).
  virtual std::chrono::steady_clock::time_point SteadyNow() const {
    return std::chrono::steady_clock::now();
  }

  // Registers `on_jump`, called after every forward jump of the clock (not for the passing of
  // real time), on the thread that moved it, while a lock of the clock is held: it must be
  // quick (post work elsewhere) and must not call WatchJumps/UnwatchJumps/Advance. Returns an id
  // for UnwatchJumps; 0 = this clock never jumps (nothing will be called). Thread-safe; const
  // because watching does not change the time.
  virtual std::uint64_t WatchJumps(std::function<void()> on_jump) const {
    (void)on_jump;
    return 0;
  }
  // After it returns, the watcher is not running and is never called again. Unknown ids and 0
  // are ignored. Thread-safe.
  virtual void UnwatchJumps(std::uint64_t id) const { (void)id; }
};

// The watchers of a clock that can jump. Thread-safe.
class JumpWatchers {
 public:
  std::uint64_t Add(std::function<void()> f) {
    std::lock_guard lock(mu_);
    watchers_.emplace(next_, std::move(f));
    return next_++;
  }
  void Remove(std::uint64_t id) {
    std::lock_guard lock(mu_);
    watchers_.erase(id);
  }
  void Notify() {
    std::lock_guard lock(mu_);
    for (auto& [id, f] : watchers_) f();
  }

 private:
  std::mutex mu_;
  std::uint64_t next_ = 1;
  std::map<std::uint64_t, std::function<void()>> watchers_;
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
// test through hours of timers (approval deadlines, no-shows, nightly schedules) and breaker
// cool-downs in seconds, with real I/O. Thread-safe. Only enabled by configuration
// (`"adjustable_clock": true`).
class AdjustableClock : public Clock {
 public:
  Time Now() const override { return Time{base_.Now().ms + offset_.load()}; }
  std::chrono::steady_clock::time_point SteadyNow() const override {
    return std::chrono::steady_clock::now() + std::chrono::milliseconds(offset_.load());
  }
  void Advance(Duration d) {
    if (d.ms <= 0) return;
    offset_ += d.ms;
    watchers_.Notify();
  }
  Duration offset() const { return Duration{offset_.load()}; }
  std::uint64_t WatchJumps(std::function<void()> on_jump) const override {
    return watchers_.Add(std::move(on_jump));
  }
  void UnwatchJumps(std::uint64_t id) const override { watchers_.Remove(id); }

 private:
  SystemClock base_;
  std::atomic<std::int64_t> offset_{0};
  mutable JumpWatchers watchers_;  // watching does not change the time
};

// Thread-safe; time only moves when a test moves it. SteadyNow() moves with every forward move
// and stays put when Set() or a negative Advance() moves Now() back.
class ManualClock : public Clock {
 public:
  explicit ManualClock(Time start) : ms_(start.ms) {}
  Time Now() const override { return Time{ms_.load()}; }
  std::chrono::steady_clock::time_point SteadyNow() const override {
    return std::chrono::steady_clock::time_point(std::chrono::milliseconds(steady_ms_.load()));
  }
  void Advance(Duration d) {
    ms_ += d.ms;
    if (d.ms > 0) Jumped(d.ms);
  }
  void Set(Time t) {
    std::int64_t before = ms_.exchange(t.ms);
    if (t.ms > before) Jumped(t.ms - before);
  }
  std::uint64_t WatchJumps(std::function<void()> on_jump) const override {
    return watchers_.Add(std::move(on_jump));
  }
  void UnwatchJumps(std::uint64_t id) const override { watchers_.Remove(id); }

 private:
  void Jumped(std::int64_t ms) {
    steady_ms_ += ms;
    watchers_.Notify();
  }
  std::atomic<std::int64_t> ms_;
  // Starts one hour in, so that "now - cool_down" never underflows the steady epoch.
  std::atomic<std::int64_t> steady_ms_{3'600'000};
  mutable JumpWatchers watchers_;  // watching does not change the time
};

}  // namespace rf::engine
