#include "connectors/resilience.h"

#include <algorithm>
#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <cmath>
#include <deque>
#include <mutex>
#include <set>
#include <vector>

#include "common/time_text.h"
#include "connectors/deadline.h"

namespace rf::connectors {

namespace asio = boost::asio;
using nlohmann::json;
using SteadyTime = std::chrono::steady_clock::time_point;
using std::chrono::milliseconds;

namespace {

Result<milliseconds> DurationSetting(const json& v, const std::string& where) {
  if (!v.is_string())
    return Status::InvalidArgument(where + " must be a duration text like \"10s\"");
  auto d = ParseDuration(v.get<std::string>());
  if (!d || d->ms <= 0)
    return Status::InvalidArgument(
        where + ": \"" + v.get<std::string>() +
        "\" is not a positive duration (e.g. \"250ms\", \"10s\", \"1m\")");
  return milliseconds(d->ms);
}

Result<size_t> CountSetting(const json& v, const std::string& where, bool allow_zero) {
  if (!v.is_number_integer() || v.get<std::int64_t>() < (allow_zero ? 0 : 1))
    return Status::InvalidArgument(where + " must be a whole number" +
                                   (allow_zero ? " (0 or more)" : " greater than 0"));
  return static_cast<size_t>(v.get<std::int64_t>());
}

// Runs closures queued by a connector's completion on the thread's outermost stack frame, so
// that a connector answering synchronously inside Invoke cannot make the queue recurse once per
// waiting call.
class Trampoline {
 public:
  static void Run(std::vector<std::function<void()>> work) {
    thread_local std::deque<std::function<void()>> pending;
    thread_local bool running = false;
    for (auto& w : work) pending.push_back(std::move(w));
    if (running) return;
    running = true;
    struct Reset {
      bool& flag;
      ~Reset() { flag = false; }
    } reset{running};
    while (!pending.empty()) {
      auto f = std::move(pending.front());
      pending.pop_front();
      f();
    }
  }
};

}  // namespace

Result<Limits> ParseLimits(const json& j) {
  Limits l;
  if (j.is_null()) return l;
  if (!j.is_object()) return Status::InvalidArgument("limits must be an object");
  static const std::set<std::string> kKnown = {"timeout",         "max_concurrency", "max_queue",
                                               "rate_per_second", "burst",           "breaker"};
  for (const auto& [key, _] : j.items())
    if (kKnown.count(key) == 0)
      return Status::InvalidArgument("limits: unknown setting \"" + key +
                                     "\" (known: timeout, max_concurrency, max_queue, "
                                     "rate_per_second, burst, breaker)");
  if (j.contains("timeout")) {
    auto t = DurationSetting(j["timeout"], "limits.timeout");
    if (!t.ok()) return t.status();
    l.timeout = *t;
  }
  if (j.contains("max_concurrency")) {
    auto n = CountSetting(j["max_concurrency"], "limits.max_concurrency", false);
    if (!n.ok()) return n.status();
    l.max_concurrency = *n;
  }
  if (j.contains("max_queue")) {
    auto n = CountSetting(j["max_queue"], "limits.max_queue", true);
    if (!n.ok()) return n.status();
    l.max_queue = *n;
  }
  if (j.contains("rate_per_second")) {
    const json& r = j["rate_per_second"];
    if (!r.is_number() || !(r.get<double>() > 0) || !std::isfinite(r.get<double>()))
      return Status::InvalidArgument("limits.rate_per_second must be a number greater than 0");
    l.rate_per_second = r.get<double>();
    l.burst = std::max(1.0, std::ceil(l.rate_per_second));
  }
  if (j.contains("burst")) {
    if (l.rate_per_second <= 0)
      return Status::InvalidArgument("limits.burst needs limits.rate_per_second");
    auto n = CountSetting(j["burst"], "limits.burst", false);
    if (!n.ok()) return n.status();
    l.burst = static_cast<double>(*n);
  }
  if (j.contains("breaker")) {
    const json& b = j["breaker"];
    if (!b.is_object()) return Status::InvalidArgument("limits.breaker must be an object");
    for (const auto& [key, _] : b.items())
      if (key != "failures" && key != "cool_down" && key != "when_open")
        return Status::InvalidArgument("limits.breaker: unknown setting \"" + key +
                                       "\" (known: failures, cool_down, when_open)");
    if (!b.contains("failures"))
      return Status::InvalidArgument(
          "limits.breaker needs \"failures\" (how many consecutive "
          "failures open it)");
    auto n = CountSetting(b["failures"], "limits.breaker.failures", false);
    if (!n.ok()) return n.status();
    l.breaker.failures = static_cast<int>(*n);
    if (b.contains("cool_down")) {
      auto t = DurationSetting(b["cool_down"], "limits.breaker.cool_down");
      if (!t.ok()) return t.status();
      l.breaker.cool_down = *t;
    }
    if (b.contains("when_open")) {
      const json& w = b["when_open"];
      if (!w.is_string() || (w != "fail" && w != "wait"))
        return Status::InvalidArgument("limits.breaker.when_open must be \"fail\" or \"wait\"");
      l.breaker.wait_when_open = w == "wait";
    }
  }
  return l;
}

// ---------------------------------------------------------------------------------------------

struct ResilientConnector::Core : std::enable_shared_from_this<ResilientConnector::Core> {
  enum class Breaker { kClosed, kOpen, kHalfOpen };

  struct Call {
    engine::Invocation inv;
    std::function<void(engine::CallResult)> done;
    SteadyTime received;                                  // on the clock's SteadyNow()
    std::chrono::steady_clock::time_point received_real;  // for the observer's elapsed time
    milliseconds budget{0};  // time allowed from `received`, for messages
    std::optional<std::chrono::steady_clock::time_point> due;  // real time, for the timer
    std::atomic<bool> finished{false};                         // set under mu; read anywhere
    bool dispatched = false;                                   // under mu
    bool probe = false;                                        // under mu
    std::unique_ptr<asio::steady_timer> timer;                 // strand only
  };
  using CallPtr = std::shared_ptr<Call>;
  using Work = std::vector<std::function<void()>>;

  Core(std::string n, std::unique_ptr<ConnectorInstance> c, Limits l, asio::io_context& io,
       ResilienceOptions o)
      : name(std::move(n)),
        inner(std::move(c)),
        limits(l),
        strand(asio::make_strand(io)),
        wake_timer(strand),
        options(std::move(o)),
        clock(ClockOrSystem(options.clock)) {
    tokens = limits.burst;
    last_refill = clock.SteadyNow();
  }

  // Wakes waiting calls when the clock jumps (see ArmWake). Called once, after construction.
  void WatchClock() {
    std::weak_ptr<Core> weak = weak_from_this();
    clock_watch = clock.WatchJumps([weak] {
      if (auto self = weak.lock()) asio::post(self->strand, [self] { self->OnClockJump(); });
    });
  }

  const std::string name;
  const std::unique_ptr<ConnectorInstance> inner;
  const Limits limits;
  asio::strand<asio::io_context::executor_type> strand;
  asio::steady_timer wake_timer;  // strand only
  ResilienceOptions options;
  const engine::Clock& clock;
  std::uint64_t clock_watch = 0;  // WatchJumps id; 0 = none

  mutable std::mutex mu;
  bool shut_down = false;
  std::deque<CallPtr> queue;
  std::set<std::string> running_keys;  // idempotency keys of attempts the connector still runs
  std::uint64_t in_flight = 0;
  double tokens = 0;
  SteadyTime last_refill;
  mutable Breaker breaker = Breaker::kClosed;
  int consecutive_failures = 0;
  SteadyTime opened_at;
  bool probe_in_flight = false;
  std::optional<std::chrono::steady_clock::time_point> wake_armed;  // real time
  ConnectorCounters counters;

  bool BreakerEnabled() const { return limits.breaker.failures > 0; }

  // Open → half_open once the cool-down has passed. Under mu.
  void RefreshBreaker(SteadyTime now) const {
    if (breaker == Breaker::kOpen && now >= opened_at + limits.breaker.cool_down)
      breaker = Breaker::kHalfOpen;
  }

  static const char* BreakerName(Breaker b) {
    switch (b) {
      case Breaker::kClosed:
        return "closed";
      case Breaker::kOpen:
        return "open";
      case Breaker::kHalfOpen:
        return "half_open";
    }
    return "closed";
  }

  // Marks `call` answered with `r` and queues its delivery. Under mu.
  void Finish(const CallPtr& call, engine::CallResult r, Work& work) {
    call->finished = true;
    if (r.ok) {
      ++counters.succeeded;
    } else {
      ++counters.errors[r.error_kind];
    }
    auto self = shared_from_this();
    if (call->due) {
      asio::post(strand, [call] {
        if (call->timer) call->timer->cancel();
      });
    }
    work.push_back([self, call, r = std::move(r)]() mutable {
      if (self->options.on_call) {
        self->options.on_call(call->inv, r,
                              std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  std::chrono::steady_clock::now() - call->received_real));
      }
      auto done = std::move(call->done);
      done(std::move(r));
    });
  }

  engine::CallResult CircuitOpen() const {
    return engine::CallResult::Failure("unavailable", "circuit open for " + name);
  }

  // Wakes Pump at `due` on the clock's SteadyNow(). The wait is a real timer of `due - now`:
  // right while the clock only follows real time. When the clock jumps (an operator advancing
  // the adjustable clock, a test moving a ManualClock), OnClockJump cancels the timer and pumps
  // at once, so a cool-down of "10 s of clock time" ends when the clock is moved 10 s, not 10
  // real seconds later. Every wake-up re-checks, so an early or spurious one only re-arms.
  // Under mu.
  void ArmWake(SteadyTime due, SteadyTime now) {
    auto delay = std::max<std::chrono::steady_clock::duration>(due - now, milliseconds(1));
    auto real_due = std::chrono::steady_clock::now() + delay;
    if (wake_armed && *wake_armed <= real_due) return;
    wake_armed = real_due;
    auto self = shared_from_this();
    asio::post(strand, [self, real_due] {
      self->wake_timer.expires_at(real_due);
      self->wake_timer.async_wait([self](const boost::system::error_code& ec) {
        if (ec) return;  // re-armed or shut down
        Work work;
        {
          std::lock_guard lock(self->mu);
          self->wake_armed.reset();
          self->Pump(work);
        }
        Trampoline::Run(std::move(work));
      });
    });
  }

  // The clock jumped: whatever waits for a wake-up is re-evaluated now. Strand only.
  void OnClockJump() {
    Work work;
    {
      std::lock_guard lock(mu);
      if (!wake_armed) return;
      wake_armed.reset();
      wake_timer.cancel();
      Pump(work);
    }
    Trampoline::Run(std::move(work));
  }

  // Starts as many queued calls as the limits allow, oldest first. Under mu.
  void Pump(Work& work) {
    if (shut_down) return;
    SteadyTime now = clock.SteadyNow();
    if (BreakerEnabled()) RefreshBreaker(now);
    while (!queue.empty()) {
      if (BreakerEnabled() &&
          (breaker == Breaker::kOpen || (breaker == Breaker::kHalfOpen && probe_in_flight))) {
        if (limits.breaker.wait_when_open) {
          if (breaker == Breaker::kOpen) ArmWake(opened_at + limits.breaker.cool_down, now);
        } else {
          while (!queue.empty()) {
            CallPtr c = queue.front();
            queue.pop_front();
            Finish(c, CircuitOpen(), work);
          }
        }
        break;
      }
      if (limits.max_concurrency > 0 && in_flight >= limits.max_concurrency) break;
      // One attempt per idempotency key at a time: a retry after a timeout waits until the
      // timed-out attempt has really answered, so two attempts of one effect never overlap
      // at the downstream (where "search for the key, then create" would race).
      auto next = std::find_if(queue.begin(), queue.end(), [this](const CallPtr& c) {
        return c->inv.idempotency_key.empty() || running_keys.count(c->inv.idempotency_key) == 0;
      });
      if (next == queue.end()) break;
      if (limits.rate_per_second > 0) {
        auto elapsed = std::chrono::duration<double>(now - last_refill).count();
        if (elapsed > 0) {
          tokens = std::min(limits.burst, tokens + elapsed * limits.rate_per_second);
          last_refill = now;
        }
        if (tokens < 1) {
          auto wait = std::chrono::duration<double>((1 - tokens) / limits.rate_per_second);
          ArmWake(now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(wait) +
                      std::chrono::microseconds(100),
                  now);
          break;
        }
        tokens -= 1;
      }
      CallPtr c = *next;
      queue.erase(next);
      c->dispatched = true;
      if (!c->inv.idempotency_key.empty()) running_keys.insert(c->inv.idempotency_key);
      ++in_flight;
      if (BreakerEnabled() && breaker == Breaker::kHalfOpen) {
        probe_in_flight = true;
        c->probe = true;
      }
      auto self = shared_from_this();
      work.push_back([self, c] {
        self->inner->Invoke(c->inv,
                            [self, c](engine::CallResult r) { self->OnAnswer(c, std::move(r)); });
      });
    }
    counters.queued = queue.size();
    counters.in_flight = in_flight;
  }

  // Breaker bookkeeping for an answered dispatched call. Under mu.
  void RecordOutcome(const CallPtr& call, const engine::CallResult& r) {
    if (!BreakerEnabled()) return;
    bool failure = !r.ok && (r.error_kind == "unavailable" || r.error_kind == "timeout");
    SteadyTime now = clock.SteadyNow();
    if (call->probe) {
      probe_in_flight = false;
      if (failure) {
        breaker = Breaker::kOpen;
        opened_at = now;
        ++counters.breaker_openings;
      } else {
        breaker = Breaker::kClosed;
        consecutive_failures = 0;
      }
      return;
    }
    if (breaker != Breaker::kClosed) return;  // an answer from before the circuit opened
    if (!failure) {
      consecutive_failures = 0;
      return;
    }
    if (++consecutive_failures >= limits.breaker.failures) {
      breaker = Breaker::kOpen;
      opened_at = now;
      consecutive_failures = 0;
      ++counters.breaker_openings;
    }
  }

  void OnAnswer(const CallPtr& call, engine::CallResult r) {
    Work work;
    {
      std::lock_guard lock(mu);
      if (!call->inv.idempotency_key.empty()) running_keys.erase(call->inv.idempotency_key);
      if (call->finished) {
        ++counters.late_answers;
        Pump(work);  // a repeat of the same effect may have been waiting for this answer
      } else {
        --in_flight;
        RecordOutcome(call, r);
        Finish(call, std::move(r), work);
        Pump(work);
        counters.in_flight = in_flight;
      }
    }
    Trampoline::Run(std::move(work));
  }

  void OnDeadline(const CallPtr& call) {
    Work work;
    bool cancel = false;
    {
      std::lock_guard lock(mu);
      if (call->finished) return;
      auto result = engine::CallResult::Failure(
          "timeout", "connector " + name + " did not answer " + call->inv.operation + " within " +
                         FormatDuration(Duration{call->budget.count()}));
      if (call->dispatched) {
        --in_flight;
        cancel = true;
        RecordOutcome(call, result);
      } else {
        queue.erase(std::remove(queue.begin(), queue.end(), call), queue.end());
        result.message = "connector " + name + ": " + call->inv.operation +
                         " waited in the queue past its deadline (" +
                         FormatDuration(Duration{call->budget.count()}) + ")";
      }
      Finish(call, std::move(result), work);
      Pump(work);
      counters.in_flight = in_flight;
      counters.queued = queue.size();
    }
    if (cancel) {
      auto self = shared_from_this();
      work.push_back([self, call] { self->inner->Cancel(call->inv.invocation_id); });
    }
    Trampoline::Run(std::move(work));
  }

  void Invoke(const engine::Invocation& inv, std::function<void(engine::CallResult)> done) {
    auto call = std::make_shared<Call>();
    call->inv = inv;
    call->done = std::move(done);
    call->received = clock.SteadyNow();
    call->received_real = std::chrono::steady_clock::now();
    Work work;
    {
      std::lock_guard lock(mu);
      ++counters.calls;
      if (shut_down) {
        Finish(call,
               engine::CallResult::Failure("unavailable", "connector " + name + " is shut down"),
               work);
      } else {
        std::optional<milliseconds> budget = limits.timeout;
        if (inv.deadline.ms > 0) {
          milliseconds left = Remaining(inv.deadline, clock);
          if (!budget || left < *budget) budget = left;
        }
        if (budget && budget->count() <= 0) {
          Finish(call,
                 engine::CallResult::Failure("timeout", "the deadline of " + inv.operation +
                                                            " passed before connector " + name +
                                                            " was called"),
                 work);
        } else {
          if (BreakerEnabled()) RefreshBreaker(call->received);
          bool open = BreakerEnabled() && (breaker == Breaker::kOpen ||
                                           (breaker == Breaker::kHalfOpen && probe_in_flight));
          if (open && !limits.breaker.wait_when_open) {
            Finish(call, CircuitOpen(), work);
          } else {
            if (budget) {  // real time from here: the budget is what the call may spend
              call->budget = *budget;
              call->due = call->received_real + *budget;
            }
            queue.push_back(call);
            Pump(work);
            if (!call->dispatched && queue.size() > limits.max_queue) {
              queue.pop_back();
              counters.queued = queue.size();
              Finish(call,
                     engine::CallResult::Failure(
                         "unavailable", "connector " + name +
                                            " is overloaded: " + std::to_string(limits.max_queue) +
                                            " calls are already waiting"),
                     work);
            } else if (call->due) {
              auto self = shared_from_this();
              auto due = *call->due;
              asio::post(strand, [self, call, due] {
                if (call->finished) return;
                call->timer = std::make_unique<asio::steady_timer>(self->strand, due);
                call->timer->async_wait([self, call](const boost::system::error_code& ec) {
                  if (!ec) self->OnDeadline(call);
                });
              });
            }
          }
        }
      }
    }
    Trampoline::Run(std::move(work));
  }

  void Shutdown() {
    Work work;
    {
      std::lock_guard lock(mu);
      if (shut_down) return;
      shut_down = true;
      while (!queue.empty()) {
        CallPtr c = queue.front();
        queue.pop_front();
        Finish(c, engine::CallResult::Failure("unavailable", "connector " + name + " shut down"),
               work);
      }
      counters.queued = 0;
    }
    clock.UnwatchJumps(clock_watch);
    Trampoline::Run(std::move(work));
    auto self = shared_from_this();
    asio::post(strand, [self] { self->wake_timer.cancel(); });
    inner->Shutdown();
  }
};

ResilientConnector::ResilientConnector(std::string name, std::unique_ptr<ConnectorInstance> inner,
                                       Limits limits, asio::io_context& io,
                                       ResilienceOptions options)
    : core_(std::make_shared<Core>(std::move(name), std::move(inner), limits, io,
                                   std::move(options))) {
  core_->WatchClock();
}

ResilientConnector::~ResilientConnector() { Shutdown(); }

void ResilientConnector::Invoke(const engine::Invocation& call,
                                std::function<void(engine::CallResult)> done) {
  core_->Invoke(call, std::move(done));
}

json ResilientConnector::Describe() const { return core_->inner->Describe(); }

void ResilientConnector::Shutdown() { core_->Shutdown(); }

void ResilientConnector::Cancel(const std::string& invocation_id) {
  core_->inner->Cancel(invocation_id);
}

ConnectorCounters ResilientConnector::Counters() const {
  std::lock_guard lock(core_->mu);
  if (core_->BreakerEnabled()) core_->RefreshBreaker(core_->clock.SteadyNow());
  ConnectorCounters c = core_->counters;
  c.in_flight = core_->in_flight;
  c.queued = core_->queue.size();
  c.breaker = Core::BreakerName(core_->breaker);
  return c;
}

const std::string& ResilientConnector::name() const { return core_->name; }
const Limits& ResilientConnector::limits() const { return core_->limits; }
ConnectorInstance* ResilientConnector::inner() { return core_->inner.get(); }

}  // namespace rf::connectors
