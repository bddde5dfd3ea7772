// The resilience layer over a connector that holds its calls: timeouts, concurrency limit and
// queue, token bucket, circuit breaker, counters. The bucket and breaker run on the injected
// deployment clock (a ManualClock or an AdjustableClock) where the test needs determinism:
// moving it moves them on, with no real waiting; timers are real and short.
#include "connectors/resilience.h"

#include <atomic>

#include "engine/clock.h"
#include "tests/connectors/test_util.h"

namespace rf::connectors::testing {
namespace {

using std::chrono::milliseconds;

constexpr std::int64_t kSecond = 1000;
constexpr std::int64_t kHour = 3600 * kSecond;

ResilienceOptions On(const engine::Clock& clock) {
  ResilienceOptions o;
  o.clock = &clock;
  return o;
}

Limits L(const nlohmann::json& j) {
  auto l = ParseLimits(j);
  EXPECT_TRUE(l.ok()) << l.status().message();
  return l.ok() ? *l : Limits{};
}

struct Fixture {
  explicit Fixture(const nlohmann::json& limits, ResilienceOptions options = {})
      : state(std::make_shared<HeldConnector::State>()),
        connector("inv", std::make_unique<HeldConnector>(state), L(limits), io.io(),
                  std::move(options)) {}
  void Call(int i, std::string op = "op") {
    connector.Invoke(MakeCall("c" + std::to_string(i), op), answers.Callback(i));
  }
  IoThread io;
  std::shared_ptr<HeldConnector::State> state;
  Answers answers;
  ResilientConnector connector;
};

TEST(Limits, ParseErrorsNameTheSetting) {
  auto bad = [](const nlohmann::json& j) {
    auto l = ParseLimits(j);
    EXPECT_FALSE(l.ok()) << j.dump();
    return l.ok() ? std::string() : l.status().message();
  };
  EXPECT_NE(bad({{"timeout", "10x"}}).find("limits.timeout"), std::string::npos);
  EXPECT_NE(bad({{"max_concurency", 3}}).find("unknown setting \"max_concurency\""),
            std::string::npos);
  EXPECT_NE(bad({{"max_concurrency", 0}}).find("limits.max_concurrency"), std::string::npos);
  EXPECT_NE(bad({{"burst", 3}}).find("needs limits.rate_per_second"), std::string::npos);
  EXPECT_NE(bad({{"rate_per_second", -1}}).find("limits.rate_per_second"), std::string::npos);
  EXPECT_NE(bad({{"breaker", {{"failures", 3}, {"when_open", "later"}}}}).find("when_open"),
            std::string::npos);
  EXPECT_NE(bad({{"breaker", {{"cool_down", "30s"}}}}).find("needs \"failures\""),
            std::string::npos);

  Limits l = L({{"timeout", "10s"},
                {"max_concurrency", 4},
                {"max_queue", 0},
                {"rate_per_second", 2.5},
                {"breaker", {{"failures", 5}, {"cool_down", "1m"}, {"when_open", "wait"}}}});
  EXPECT_EQ(milliseconds(10000), l.timeout);
  EXPECT_EQ(4u, l.max_concurrency);
  EXPECT_EQ(0u, l.max_queue);
  EXPECT_EQ(3.0, l.burst);  // defaults to the rate, rounded up
  EXPECT_EQ(milliseconds(60000), l.breaker.cool_down);
  EXPECT_TRUE(l.breaker.wait_when_open);
  EXPECT_TRUE(ParseLimits(nullptr).ok());
}

TEST(Resilience, NoLimitsPassesCallsThrough) {
  Fixture f(nullptr);
  f.Call(1);
  EXPECT_EQ(1u, f.state->held_count());
  ASSERT_TRUE(f.state->Answer(engine::CallResult::Success(Value(Record{}))));
  auto r = f.answers.Get(1);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok);
  auto c = f.connector.Counters();
  EXPECT_EQ(1u, c.calls);
  EXPECT_EQ(1u, c.succeeded);
  EXPECT_EQ(0u, c.in_flight);
}

TEST(Resilience, TimeoutAnswersAndDropsTheLateAnswer) {
  Fixture f(nlohmann::json{{"timeout", "20ms"}});
  f.Call(1);
  auto r = f.answers.Get(1);
  ASSERT_TRUE(r);
  EXPECT_EQ("timeout", r->error_kind);
  EXPECT_TRUE(WaitUntil([&] {
    std::lock_guard lock(f.state->mu);
    return f.state->cancelled.size() == 1;
  }));
  // The connector answers after all: dropped, counted, never delivered twice.
  ASSERT_TRUE(f.state->Answer(engine::CallResult::Success(Value(Record{}))));
  EXPECT_EQ(1, f.answers.Count(1));
  auto c = f.connector.Counters();
  EXPECT_EQ(1u, c.late_answers);
  EXPECT_EQ(1u, c.errors["timeout"]);
  EXPECT_EQ(0u, c.in_flight);
}

TEST(Resilience, ARetryWaitsForTheTimedOutAttemptOfTheSameEffect) {
  Fixture f(nlohmann::json{{"timeout", "300ms"}});
  auto first = MakeCall("a1");
  first.idempotency_key = "refund-R1";
  f.connector.Invoke(first, f.answers.Callback(1));
  auto r1 = f.answers.Get(1);
  ASSERT_TRUE(r1);
  EXPECT_EQ("timeout", r1->error_kind);
  // The engine retries the step (same key) while the first attempt still runs downstream:
  // the retry is not handed over until that attempt answers.
  auto retry = MakeCall("a2");
  retry.idempotency_key = "refund-R1";
  Fixture* fp = &f;
  f.connector.Invoke(retry, f.answers.Callback(2));
  auto other = MakeCall("b1");  // another effect is not held up
  f.connector.Invoke(other, f.answers.Callback(3));
  EXPECT_TRUE(WaitUntil([&] { return fp->state->started_count() == 2; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(2u, f.state->started_count()) << "the retry overlapped the running attempt";
  // The first attempt's late answer frees the key; the retry goes out.
  ASSERT_TRUE(f.state->Answer(engine::CallResult::Success(Value(Record{}))));
  EXPECT_TRUE(WaitUntil([&] { return fp->state->started_count() == 3; }));
}

TEST(Resilience, TheEarlierOfDeadlineAndTimeoutWins) {
  engine::ManualClock clock(Time{1'000'000});
  Fixture f(nlohmann::json{{"timeout", "10m"}}, On(clock));
  auto call = MakeCall("c1");
  call.deadline = Time{1'000'000 + 20};  // 20 ms from "now"
  f.connector.Invoke(call, f.answers.Callback(1));
  auto r = f.answers.Get(1);
  ASSERT_TRUE(r);
  EXPECT_EQ("timeout", r->error_kind);
  EXPECT_NE(r->message.find("within 20ms"), std::string::npos) << r->message;

  // A deadline already passed: not even handed to the connector.
  auto late = MakeCall("c2");
  late.deadline = Time{999'000};
  f.connector.Invoke(late, f.answers.Callback(2));
  auto r2 = f.answers.Get(2);
  ASSERT_TRUE(r2);
  EXPECT_EQ("timeout", r2->error_kind);
  EXPECT_EQ(1u, f.state->started_count());
}

TEST(Resilience, ConcurrencyLimitQueuesInArrivalOrder) {
  Fixture f(nlohmann::json{{"max_concurrency", 2}});
  for (int i = 1; i <= 5; ++i) f.Call(i);
  EXPECT_EQ(2u, f.state->held_count());
  auto c = f.connector.Counters();
  EXPECT_EQ(2u, c.in_flight);
  EXPECT_EQ(3u, c.queued);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(f.state->Answer(engine::CallResult::Success(Value(Record{})))) << i;
    EXPECT_LE(f.state->held_count(), 2u);
  }
  EXPECT_EQ((std::vector<std::string>{"c1", "c2", "c3", "c4", "c5"}), f.state->started_ids());
  EXPECT_EQ(5u, f.answers.size());
  c = f.connector.Counters();
  EXPECT_EQ(0u, c.queued);
  EXPECT_EQ(5u, c.succeeded);
}

TEST(Resilience, QueueOverflowIsUnavailable) {
  Fixture f(nlohmann::json{{"max_concurrency", 1}, {"max_queue", 2}});
  for (int i = 1; i <= 4; ++i) f.Call(i);
  auto r = f.answers.Get(4);
  ASSERT_TRUE(r);
  EXPECT_EQ("unavailable", r->error_kind);
  EXPECT_NE(r->message.find("overloaded"), std::string::npos) << r->message;
  EXPECT_EQ(1u, f.answers.size());
  EXPECT_EQ(2u, f.connector.Counters().queued);
  // The queued calls still run.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(f.state->Answer(engine::CallResult::Success(Value())));
  EXPECT_EQ(4u, f.answers.size());
}

TEST(Resilience, QueuedCallTimesOutWhileWaiting) {
  engine::ManualClock clock(Time{1'000'000});
  Fixture f(nlohmann::json{{"max_concurrency", 1}, {"timeout", "10m"}}, On(clock));
  f.Call(1);  // holds the only slot
  auto call = MakeCall("c2");
  call.deadline = Time{1'000'000 + 20};
  f.connector.Invoke(call, f.answers.Callback(2));
  auto r2 = f.answers.Get(2);
  ASSERT_TRUE(r2);
  EXPECT_EQ("timeout", r2->error_kind);
  EXPECT_NE(r2->message.find("waited in the queue"), std::string::npos) << r2->message;
  EXPECT_EQ(1u, f.state->started_count());  // c2 never reached the connector
  EXPECT_EQ(0u, f.connector.Counters().queued);
}

TEST(Resilience, TokenBucketMakesCallsWaitForTokens) {
  engine::ManualClock clock(Time{1'000'000});
  Fixture f(nlohmann::json{{"rate_per_second", 10}, {"burst", 2}}, On(clock));
  for (int i = 1; i <= 4; ++i) f.Call(i);
  EXPECT_EQ(2u, f.state->started_count());  // the burst
  EXPECT_EQ(2u, f.connector.Counters().queued);
  clock.Advance(Duration{100});  // one token
  ASSERT_TRUE(WaitUntil([&] { return f.state->started_count() == 3; }));
  EXPECT_EQ(1u, f.connector.Counters().queued);
  clock.Advance(Duration{100});
  ASSERT_TRUE(WaitUntil([&] { return f.state->started_count() == 4; }));
  EXPECT_EQ((std::vector<std::string>{"c1", "c2", "c3", "c4"}), f.state->started_ids());
}

TEST(Resilience, TokenBucketOnTheRealClockSpacesCalls) {
  Fixture f(nlohmann::json{{"rate_per_second", 50}, {"burst", 1}});
  f.state->SetAutoAnswer(engine::CallResult::Success(Value(Record{})));
  auto start = std::chrono::steady_clock::now();
  for (int i = 1; i <= 4; ++i) f.Call(i);
  for (int i = 1; i <= 4; ++i) ASSERT_TRUE(f.answers.Get(i));
  // Three waits of 1/50 s each: a lower bound only.
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(55));
}

TEST(Resilience, BreakerOpensFailsFastProbesAndCloses) {
  engine::ManualClock clock(Time{1'000'000});
  Fixture f(nlohmann::json{{"breaker", {{"failures", 3}, {"cool_down", "30s"}}}}, On(clock));
  f.state->SetAutoAnswer(engine::CallResult::Failure("unavailable", "down"));
  for (int i = 1; i <= 3; ++i) f.Call(i);
  auto c = f.connector.Counters();
  EXPECT_EQ("open", c.breaker);
  EXPECT_EQ(1u, c.breaker_openings);

  f.Call(4);  // fails fast, never reaches the connector
  auto r4 = f.answers.Get(4);
  ASSERT_TRUE(r4);
  EXPECT_EQ("unavailable", r4->error_kind);
  EXPECT_EQ("circuit open for inv", r4->message);
  EXPECT_EQ(3u, f.state->started_count());

  clock.Advance(Duration{30 * kSecond});
  EXPECT_EQ("half_open", f.connector.Counters().breaker);
  f.state->SetAutoAnswer(std::nullopt);  // hold the probe
  f.Call(5);                             // the probe
  f.Call(6);                             // fails fast while the probe is out
  EXPECT_EQ(4u, f.state->started_count());
  auto r6 = f.answers.Get(6);
  ASSERT_TRUE(r6);
  EXPECT_EQ("circuit open for inv", r6->message);
  ASSERT_TRUE(f.state->Answer(engine::CallResult::Success(Value(Record{}))));
  EXPECT_EQ("closed", f.connector.Counters().breaker);

  // Open again; a failing probe re-opens it.
  f.state->SetAutoAnswer(engine::CallResult::Failure("timeout", "slow"));
  for (int i = 7; i <= 9; ++i) f.Call(i);
  EXPECT_EQ("open", f.connector.Counters().breaker);
  clock.Advance(Duration{30 * kSecond});
  f.Call(10);  // probe, fails
  c = f.connector.Counters();
  EXPECT_EQ("open", c.breaker);
  EXPECT_EQ(3u, c.breaker_openings);
  f.Call(11);
  EXPECT_EQ("circuit open for inv", f.answers.Get(11)->message);
  EXPECT_EQ(8u, f.state->started_count());
}

TEST(Resilience, OnlyUnavailableAndTimeoutCountTowardsTheBreaker) {
  Fixture f(nlohmann::json{{"breaker", {{"failures", 2}}}});
  f.state->SetAutoAnswer(engine::CallResult::Failure("rejected", "bad request"));
  for (int i = 1; i <= 5; ++i) f.Call(i);
  EXPECT_EQ("closed", f.connector.Counters().breaker);
  // A success between failures resets the count.
  f.state->SetAutoAnswer(engine::CallResult::Failure("unavailable", "down"));
  f.Call(6);
  f.state->SetAutoAnswer(engine::CallResult::Success(Value(Record{})));
  f.Call(7);
  f.state->SetAutoAnswer(engine::CallResult::Failure("unavailable", "down"));
  f.Call(8);
  EXPECT_EQ("closed", f.connector.Counters().breaker);
  f.Call(9);
  EXPECT_EQ("open", f.connector.Counters().breaker);
  EXPECT_EQ(5u, f.connector.Counters().errors["rejected"]);
}

TEST(Resilience, BreakerWaitModeQueuesUntilTheProbeSucceeds) {
  Fixture f(
      nlohmann::json{{"breaker", {{"failures", 1}, {"cool_down", "40ms"}, {"when_open", "wait"}}}});
  f.state->SetAutoAnswer(engine::CallResult::Failure("unavailable", "down"));
  f.Call(1);
  EXPECT_EQ("open", f.connector.Counters().breaker);
  f.state->SetAutoAnswer(engine::CallResult::Success(Value(Record{})));
  f.Call(2);
  f.Call(3);
  EXPECT_EQ(1u, f.state->started_count());
  EXPECT_EQ(2u, f.connector.Counters().queued);
  auto r2 = f.answers.Get(2);
  ASSERT_TRUE(r2);
  EXPECT_TRUE(r2->ok) << r2->message;
  auto r3 = f.answers.Get(3);
  ASSERT_TRUE(r3);
  EXPECT_TRUE(r3->ok) << r3->message;
  EXPECT_EQ("closed", f.connector.Counters().breaker);
  EXPECT_EQ((std::vector<int>{1, 2, 3}), f.answers.Order());
}

TEST(Resilience, ShutdownFailsQueuedCallsAndShutsTheConnectorDown) {
  Fixture f(nlohmann::json{{"max_concurrency", 1}});
  f.Call(1);
  f.Call(2);
  f.connector.Shutdown();
  auto r2 = f.answers.Get(2);
  ASSERT_TRUE(r2);
  EXPECT_EQ("unavailable", r2->error_kind);
  EXPECT_TRUE(f.state->shut_down);
  f.Call(3);
  EXPECT_EQ("unavailable", f.answers.Get(3)->error_kind);
}

TEST(Resilience, ObserverSeesEveryAnswer) {
  std::mutex mu;
  std::vector<std::string> seen;
  ResilienceOptions o;
  o.on_call = [&](const engine::Invocation& call, const engine::CallResult& r,
                  std::chrono::nanoseconds elapsed) {
    std::lock_guard lock(mu);
    seen.push_back(call.invocation_id + ":" + (r.ok ? "ok" : r.error_kind) +
                   (elapsed.count() >= 0 ? "" : "!"));
  };
  Fixture f(nlohmann::json{{"max_concurrency", 1}, {"max_queue", 0}}, o);
  f.Call(1);
  f.Call(2);  // no room: unavailable
  ASSERT_TRUE(f.state->Answer(engine::CallResult::Success(Value(Record{}))));
  ASSERT_TRUE(f.answers.Get(1));
  std::lock_guard lock(mu);
  EXPECT_EQ((std::vector<std::string>{"c2:unavailable", "c1:ok"}), seen);
}

TEST(Resilience, SynchronousAnswersDoNotRecursePerQueuedCall) {
  Fixture f(nlohmann::json{{"max_concurrency", 1}, {"max_queue", 100000}});
  f.Call(0);  // held: everything after it queues
  for (int i = 1; i <= 20000; ++i) f.Call(i);
  f.state->SetAutoAnswer(engine::CallResult::Success(Value(Record{})));
  // Answering the first call drains the queue synchronously, without one stack frame per call.
  ASSERT_TRUE(f.state->Answer(engine::CallResult::Success(Value(Record{}))));
  EXPECT_EQ(20001u, f.answers.size());
  EXPECT_EQ(20001u, f.connector.Counters().succeeded);
}

// The deployment's clock moves the breaker on: a cool-down of an hour is over as soon as the
// clock has been moved an hour, and the next call is let through as the probe.
TEST(ResilienceOnTheDeploymentClock, MovingAManualClockPastTheCoolDownLetsTheNextCallThrough) {
  engine::ManualClock clock(Time{1'000'000});
  Fixture f(nlohmann::json{{"breaker", {{"failures", 2}, {"cool_down", "1h"}}}}, On(clock));
  f.state->SetAutoAnswer(engine::CallResult::Failure("unavailable", "down"));
  f.Call(1);
  f.Call(2);
  EXPECT_EQ("open", f.connector.Counters().breaker);
  f.Call(3);
  EXPECT_EQ("circuit open for inv", f.answers.Get(3)->message);
  clock.Advance(Duration{kHour - 1});
  f.Call(4);
  EXPECT_EQ("circuit open for inv", f.answers.Get(4)->message) << "the cool-down is not over";
  EXPECT_EQ(2u, f.state->started_count());

  clock.Advance(Duration{1});
  EXPECT_EQ("half_open", f.connector.Counters().breaker);
  f.state->SetAutoAnswer(engine::CallResult::Success(Value(Record{})));
  f.Call(5);
  auto r5 = f.answers.Get(5);
  ASSERT_TRUE(r5);
  EXPECT_TRUE(r5->ok) << r5->message;
  EXPECT_EQ(3u, f.state->started_count());
  EXPECT_EQ("closed", f.connector.Counters().breaker);
}

// Calls waiting for an open breaker (when_open = "wait") are woken by the clock's jump, not by
// a real timer: with a cool-down of an hour, only the jump can let them through in time.
TEST(ResilienceOnTheDeploymentClock, AJumpWakesCallsWaitingForTheBreaker) {
  engine::ManualClock clock(Time{1'000'000});
  Fixture f(
      nlohmann::json{{"breaker", {{"failures", 1}, {"cool_down", "1h"}, {"when_open", "wait"}}}},
      On(clock));
  f.state->SetAutoAnswer(engine::CallResult::Failure("unavailable", "down"));
  f.Call(1);
  EXPECT_EQ("open", f.connector.Counters().breaker);
  f.state->SetAutoAnswer(engine::CallResult::Success(Value(Record{})));
  f.Call(2);
  f.Call(3);
  EXPECT_EQ(2u, f.connector.Counters().queued);
  clock.Advance(Duration{kHour});
  auto r2 = f.answers.Get(2);
  ASSERT_TRUE(r2);
  EXPECT_TRUE(r2->ok) << r2->message;
  auto r3 = f.answers.Get(3);
  ASSERT_TRUE(r3);
  EXPECT_TRUE(r3->ok) << r3->message;
  EXPECT_EQ("closed", f.connector.Counters().breaker);
}

// The same for the token bucket: one call per 1000 s of clock time.
TEST(ResilienceOnTheDeploymentClock, AJumpWakesCallsWaitingForARateToken) {
  engine::ManualClock clock(Time{1'000'000});
  Fixture f(nlohmann::json{{"rate_per_second", 0.001}, {"burst", 1}}, On(clock));
  f.state->SetAutoAnswer(engine::CallResult::Success(Value(Record{})));
  f.Call(1);
  f.Call(2);
  ASSERT_TRUE(f.answers.Get(1));
  EXPECT_EQ(1u, f.connector.Counters().queued);
  clock.Advance(Duration{1000 * kSecond});
  auto r2 = f.answers.Get(2);
  ASSERT_TRUE(r2);
  EXPECT_TRUE(r2->ok) << r2->message;
}

// What the service runs on: the adjustable clock. An operator advancing it moves the breaker on.
TEST(ResilienceOnTheDeploymentClock, AdvancingTheAdjustableClockEndsTheCoolDown) {
  engine::AdjustableClock clock;
  Fixture f(
      nlohmann::json{{"breaker", {{"failures", 1}, {"cool_down", "1h"}, {"when_open", "wait"}}}},
      On(clock));
  f.state->SetAutoAnswer(engine::CallResult::Failure("unavailable", "down"));
  f.Call(1);
  EXPECT_EQ("open", f.connector.Counters().breaker);
  f.state->SetAutoAnswer(engine::CallResult::Success(Value(Record{})));
  f.Call(2);
  clock.Advance(Duration{kHour});
  auto r2 = f.answers.Get(2);
  ASSERT_TRUE(r2);
  EXPECT_TRUE(r2->ok) << r2->message;
  EXPECT_EQ("closed", f.connector.Counters().breaker);
}

// Nothing moves the adjustable clock: the cool-down passes in real time, as on the system clock.
TEST(ResilienceOnTheDeploymentClock, AnUnmovedAdjustableClockWaitsInRealTime) {
  engine::AdjustableClock clock;
  Fixture f(
      nlohmann::json{{"breaker", {{"failures", 1}, {"cool_down", "40ms"}, {"when_open", "wait"}}}},
      On(clock));
  f.state->SetAutoAnswer(engine::CallResult::Failure("unavailable", "down"));
  f.Call(1);
  f.state->SetAutoAnswer(engine::CallResult::Success(Value(Record{})));
  f.Call(2);
  auto r2 = f.answers.Get(2);
  ASSERT_TRUE(r2);
  EXPECT_TRUE(r2->ok) << r2->message;
  EXPECT_EQ("closed", f.connector.Counters().breaker);
}

// A deadline is measured on the deployment's clock, however far it is from the wall clock, and
// what is left of it is spent in real time: 4 h ahead, a 20 ms budget is still 20 ms.
TEST(ResilienceOnTheDeploymentClock, DeadlinesAreTheBudgetLeftOnTheClock) {
  engine::AdjustableClock clock;
  clock.Advance(Duration{4 * kHour});
  Fixture f(nlohmann::json::object(), On(clock));
  auto call = MakeCall("c1");
  call.deadline = Time{clock.Now().ms + 20};
  f.connector.Invoke(call, f.answers.Callback(1));
  auto r = f.answers.Get(1);
  ASSERT_TRUE(r);
  EXPECT_EQ("timeout", r->error_kind);
  EXPECT_NE(r->message.find("within 20ms"), std::string::npos) << r->message;
  // A deadline already behind the clock never reaches the connector.
  auto late = MakeCall("c2");
  late.deadline = Time{clock.Now().ms - 1};
  f.connector.Invoke(late, f.answers.Callback(2));
  ASSERT_TRUE(f.answers.Get(2));
  EXPECT_EQ("timeout", f.answers.Get(2)->error_kind);
  EXPECT_EQ(1u, f.state->started_count());
}

}  // namespace
}  // namespace rf::connectors::testing
