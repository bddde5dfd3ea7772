// Steps: call input from expressions, save, per-step timeout, retry policy, error routes,
// history of every attempt, idempotency keys, and what an Invocation carries.
#include <set>

#include "state/keys.h"
#include "tests/engine/harness.h"

namespace rf::engine::testing {
namespace {

const char* kCalc = R"(workflow calc version 1
uses shop
input order_ref text, amount money, lines list
step reserve
  call shop.reserve with ref = "R-{input.order_ref}", total = input.amount * 2, n = count(input.lines), first = input.lines[0].sku
  save result as reservation
  timeout 10s
step charge
  call shop.charge with reservation = reservation.id, amount = input.amount
  save result as payment
finish done "paid {payment.status} for {reservation.id}"
)";

TEST(EngineSteps, InputIsBuiltFromExpressionsAndResultIsSaved) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kCalc);
  h.shop_.On("reserve", [](const Invocation&) { return CallResult::Success(J(R"({"id": "RES-7"})")); });
  h.shop_.On("charge", [](const Invocation&) { return CallResult::Success(J(R"({"status": "captured"})")); });
  std::string id = h.Start("calc", R"({"order_ref": "A1", "amount": 12.50, "lines": [{"sku": "S1"}, {"sku": "S2"}]})");
  ASSERT_EQ("completed", h.Status(id)) << h.Instance(id).ToJson();
  EXPECT_EQ("paid captured for RES-7", h.Outcome(id));

  auto reserve = h.Calls(h.shop_, "reserve");
  ASSERT_EQ(1u, reserve.size());
  const Value& in = reserve[0].input;
  EXPECT_EQ("R-A1", TextOf(in, "ref"));
  EXPECT_EQ(Value(Decimal::Parse("25").value()), *in.Find("total"));
  EXPECT_EQ(Value(2), *in.Find("n"));
  EXPECT_EQ("S1", TextOf(in, "first"));
  auto charge = h.Calls(h.shop_, "charge");
  ASSERT_EQ(1u, charge.size());
  EXPECT_EQ("RES-7", TextOf(charge[0].input, "reservation"));
  EXPECT_EQ(Value(Decimal::Parse("12.5").value()), *charge[0].input.Find("amount"));
  // Saved results are instance data.
  EXPECT_EQ("RES-7", TextOf(h.Data(id, "reservation"), "id"));
  EXPECT_EQ("captured", TextOf(h.Data(id, "payment"), "status"));
}

TEST(EngineSteps, InvocationCarriesCorrelationIdDeadlineAndAttempt) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kCalc);
  Time t0 = h.clock_.Now();
  StartRequest req = EngineHarness::Req("calc", R"({"order_ref": "A2", "amount": 1, "lines": [{"sku": "X"}]})");
  req.correlation_id = "corr-42";
  auto r = h.TryStart(req);
  ASSERT_TRUE(r.ok()) << r.status().message();
  auto reserve = h.Calls(h.shop_, "reserve");
  ASSERT_EQ(1u, reserve.size());
  EXPECT_EQ("corr-42", reserve[0].correlation_id);
  EXPECT_EQ(r->instance_id, reserve[0].instance_id);
  EXPECT_EQ("shop", reserve[0].connector);
  EXPECT_EQ(1, reserve[0].attempt);
  EXPECT_EQ(t0.ms + 10 * kSecond, reserve[0].deadline.ms);  // timeout 10s
  EXPECT_FALSE(reserve[0].idempotency_key.empty());
  auto charge = h.Calls(h.shop_, "charge");
  ASSERT_EQ(1u, charge.size());
  // No `timeout`: the engine default (30s).
  EXPECT_EQ(t0.ms + 30 * kSecond, charge[0].deadline.ms);
  EXPECT_NE(reserve[0].idempotency_key, charge[0].idempotency_key);

  // Without a correlation id the instance id is used.
  std::string id2 = h.Start("calc", R"({"order_ref": "A3", "amount": 1, "lines": [{"sku": "X"}]})");
  auto all = h.Calls(h.shop_, "reserve");
  ASSERT_EQ(2u, all.size());
  EXPECT_EQ(id2, all[1].correlation_id);
}

const char* kTimeoutRoute = R"(workflow slowpoke version 1
uses shop
step query
  call shop.slow with x = 1
  save result as answer
  timeout 10s
  on error timeout go to gave_up
finish done "got {answer.key}"
finish gave_up "gave up: {last_error.kind}"
)";

TEST(EngineSteps, HeldCallPastItsDeadlineIsATimeoutAndTheLateAnswerIsIgnored) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kTimeoutRoute);
  h.shop_.Hold("slow");
  std::string id = h.Start("slowpoke", "{}");
  ASSERT_TRUE(h.Eventually([&] { return h.shop_.held("slow") == 1; }));
  EXPECT_EQ("running", h.Status(id));
  h.AdvanceMs(10 * kSecond - 1);
  EXPECT_EQ("running", h.Status(id)) << "the deadline has not passed yet";
  h.AdvanceMs(1);
  ASSERT_EQ("completed", h.Status(id)) << h.Instance(id).ToJson();
  EXPECT_EQ("gave up: timeout", h.Outcome(id));
  EXPECT_EQ("timeout", TextOf(h.Data(id, "last_error"), "kind"));
  // The answer arrives late: it changes nothing.
  h.shop_.Release("slow");
  h.Settle();
  EXPECT_EQ("completed", h.Status(id));
  EXPECT_EQ("gave up: timeout", h.Outcome(id));
  EXPECT_TRUE(h.Data(id, "answer").is_null());
  EXPECT_EQ(0, h.CountHistory(id, "step_completed"));
  EXPECT_EQ(1, h.CountHistory(id, "attempt_failed"));
  EXPECT_EQ(1, h.CountHistory(id, "error_handled"));
}

TEST(EngineSteps, TimeoutIsRetriedWithTheSameIdempotencyKey) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(R"(workflow slowretry version 1
uses shop
step query
  call shop.slow with x = 1
  save result as answer
  timeout 10s
  retry up to 2 times waiting 1s on timeout
finish done "got {answer.key}"
)");
  h.shop_.Hold("slow");
  std::string id = h.Start("slowretry", "{}");
  ASSERT_TRUE(h.Eventually([&] { return h.shop_.held("slow") == 1; }));
  h.AdvanceMs(10 * kSecond);  // attempt 1 times out, retry timer for 1s
  EXPECT_EQ(1, h.shop_.calls("slow"));
  h.AdvanceMs(999);
  EXPECT_EQ(1, h.shop_.calls("slow"));
  h.AdvanceMs(1);
  ASSERT_TRUE(h.Eventually([&] { return h.shop_.held("slow") == 2; }));
  auto calls = h.Calls(h.shop_, "slow");
  ASSERT_EQ(2u, calls.size());
  EXPECT_EQ(calls[0].idempotency_key, calls[1].idempotency_key);
  EXPECT_NE(calls[0].invocation_id, calls[1].invocation_id);
  EXPECT_EQ(2, calls[1].attempt);
  // Both answers come now: the stale first attempt is ignored, the second completes the step.
  h.shop_.Release("slow");
  h.Settle();
  ASSERT_EQ("completed", h.Status(id)) << h.Instance(id).ToJson();
  EXPECT_EQ("got " + calls[0].idempotency_key, h.Outcome(id));
  EXPECT_EQ(1, h.shop_.EffectCount(calls[0].idempotency_key));
  EXPECT_EQ(1, h.CountHistory(id, "step_completed"));
  EXPECT_EQ(1, h.CountHistory(id, "attempt_failed"));
}

const char* kBackoff = R"(workflow backoff version 1
uses shop
step charge
  call shop.charge with amount = 1
  retry up to 4 times waiting 1s doubling up to 3s
finish done "ok"
)";

TEST(EngineSteps, RetryWaitsDoubleAndAreCappedExactly) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kBackoff);
  h.shop_.FailNext("charge", "unavailable", 3);
  std::string id = h.Start("backoff", "{}");
  EXPECT_EQ(1, h.shop_.calls("charge"));
  EXPECT_EQ("running", h.Status(id));
  // Waits: 1s, 2s, then 4s capped to 3s.
  for (std::int64_t wait : {1 * kSecond, 2 * kSecond, 3 * kSecond}) {
    int before = h.shop_.calls("charge");
    h.AdvanceMs(wait - 1);
    EXPECT_EQ(before, h.shop_.calls("charge")) << "retried before the " << wait << "ms wait was over";
    h.AdvanceMs(1);
    EXPECT_EQ(before + 1, h.shop_.calls("charge")) << "not retried when the " << wait << "ms wait was over";
  }
  EXPECT_EQ("completed", h.Status(id));
  EXPECT_EQ(4, h.shop_.calls("charge"));
  auto calls = h.Calls(h.shop_, "charge");
  for (size_t i = 0; i < calls.size(); ++i) {
    EXPECT_EQ(static_cast<int>(i) + 1, calls[i].attempt);
    EXPECT_EQ(calls[0].idempotency_key, calls[i].idempotency_key);
  }
  // Every attempt is in the history.
  std::vector<std::string> expected = {"instance_started", "step_started",   "attempt_failed", "attempt_failed",
                                       "attempt_failed",   "step_completed", "instance_completed"};
  EXPECT_EQ(expected, h.HistoryTypes(id));
  std::vector<std::int64_t> attempts;
  for (const auto& e : h.History(id))
    if (TextOf(e, "type") == "attempt_failed" || TextOf(e, "type") == "step_completed")
      attempts.push_back(IntOf(e.Find("attempt")));
  EXPECT_EQ((std::vector<std::int64_t>{1, 2, 3, 4}), attempts);
  for (const auto& e : h.History(id)) {
    if (TextOf(e, "type") == "attempt_failed") {
      EXPECT_EQ("unavailable", TextOf(e, "kind"));
    }
  }
}

TEST(EngineSteps, RetryMultiplierIsExactDecimal) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(R"(workflow mult version 1
uses shop
step charge
  call shop.charge with amount = 1
  retry up to 4 times waiting 2s multiplying by 1.5
finish done "ok"
)");
  h.shop_.FailNext("charge", "timeout", 3);
  std::string id = h.Start("mult", "{}");
  for (std::int64_t wait : {2000, 3000, 4500}) {
    int before = h.shop_.calls("charge");
    h.AdvanceMs(wait - 1);
    EXPECT_EQ(before, h.shop_.calls("charge")) << wait;
    h.AdvanceMs(1);
    EXPECT_EQ(before + 1, h.shop_.calls("charge")) << wait;
  }
  EXPECT_EQ("completed", h.Status(id));
}

TEST(EngineSteps, RetryWithoutWaitingUsesOneSecondConstant) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(R"(workflow plain version 1
uses shop
step charge
  call shop.charge with amount = 1
  retry up to 3 times
finish done "ok"
)");
  h.shop_.FailNext("charge", "unavailable", 2);
  std::string id = h.Start("plain", "{}");
  for (int i = 0; i < 2; ++i) {
    int before = h.shop_.calls("charge");
    h.AdvanceMs(999);
    EXPECT_EQ(before, h.shop_.calls("charge"));
    h.AdvanceMs(1);
    EXPECT_EQ(before + 1, h.shop_.calls("charge"));
  }
  EXPECT_EQ("completed", h.Status(id));
}

TEST(EngineSteps, ExhaustedRetriesFailTheInstanceAsUnhandled) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kBackoff);
  h.shop_.FailNext("charge", "unavailable", 10);
  std::string id = h.Start("backoff", "{}");
  for (int i = 0; i < 5; ++i) h.AdvanceMs(3 * kSecond);
  EXPECT_EQ(4, h.shop_.calls("charge"));
  EXPECT_EQ("failed", h.Status(id));
  Value err = *h.Instance(id).Find("error");
  EXPECT_EQ("unavailable", TextOf(err, "kind"));
  EXPECT_EQ(4, h.CountHistory(id, "attempt_failed"));
  auto dead = h.DeadLetters();
  ASSERT_EQ(1u, dead.size());
  EXPECT_EQ(id, TextOf(dead[0], "instance"));
}

TEST(EngineSteps, OnlyListedKindsAreRetried) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(R"(workflow listed version 1
uses shop
step charge
  call shop.charge with amount = 1
  retry up to 3 times waiting 1s on conflict
  on error go to other
finish done "ok"
finish other "routed {last_error.kind}"
)");
  // conflict is listed: retried.
  h.shop_.FailNext("charge", "conflict", 1);
  std::string a = h.Start("listed", "{}");
  h.AdvanceMs(kSecond);
  EXPECT_EQ(2, h.shop_.calls("charge"));
  EXPECT_EQ("ok", h.Outcome(a));
  // unavailable is not listed (a listed `on` replaces the default kinds): not retried.
  h.shop_.FailNext("charge", "unavailable", 1);
  std::string b = h.Start("listed", "{}");
  h.AdvanceMs(10 * kSecond);
  EXPECT_EQ(3, h.shop_.calls("charge"));
  EXPECT_EQ("routed unavailable", h.Outcome(b));
}

TEST(EngineSteps, DefaultRetryKindsAreTimeoutAndUnavailable) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(R"(workflow defaults version 1
uses shop
step charge
  call shop.charge with amount = 1
  retry up to 2 times waiting 1s
  on error go to other
finish done "ok"
finish other "routed {last_error.kind}"
)");
  int expected_calls = 0;
  for (const char* kind : {"timeout", "unavailable"}) {
    h.shop_.FailNext("charge", kind, 1);
    std::string id = h.Start("defaults", "{}");
    h.AdvanceMs(kSecond);
    expected_calls += 2;
    EXPECT_EQ(expected_calls, h.shop_.calls("charge")) << kind;
    EXPECT_EQ("ok", h.Outcome(id)) << kind;
  }
  for (const char* kind : {"rejected", "not_found", "conflict", "internal"}) {
    h.shop_.FailNext("charge", kind, 1);
    std::string id = h.Start("defaults", "{}");
    h.AdvanceMs(kSecond);
    expected_calls += 1;
    EXPECT_EQ(expected_calls, h.shop_.calls("charge")) << kind;
    EXPECT_EQ(std::string("routed ") + kind, h.Outcome(id)) << kind;
  }
}

TEST(EngineSteps, StepWithoutRetryIsTriedOnce) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(R"(workflow once version 1
uses shop
step charge
  call shop.charge with amount = 1
  on error go to other
finish done "ok"
finish other "routed {last_error.kind}"
)");
  h.shop_.FailNext("charge", "unavailable", 1);
  std::string id = h.Start("once", "{}");
  h.AdvanceMs(kMinute);
  EXPECT_EQ(1, h.shop_.calls("charge"));
  EXPECT_EQ("routed unavailable", h.Outcome(id));
}

const char* kRoutes = R"(workflow routes version 1
uses shop
input sku text
step look
  call shop.lookup with sku = input.sku
  save result as found
  on error not_found, conflict go to missing
  on error go to other
finish done "found"
finish missing "missing: {last_error.kind} {last_error.message}"
finish other "other: {last_error.kind}"
)";

TEST(EngineSteps, OnErrorRoutesByKindThenCatchAll) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kRoutes);
  h.shop_.FailNext("lookup", "not_found", 1);
  std::string a = h.Start("routes", R"({"sku": "A"})");
  EXPECT_EQ("missing: not_found injected not_found", h.Outcome(a));
  h.shop_.FailNext("lookup", "conflict", 1);
  std::string b = h.Start("routes", R"({"sku": "B"})");
  EXPECT_EQ("missing: conflict injected conflict", h.Outcome(b));
  h.shop_.FailNext("lookup", "rejected", 1);
  std::string c = h.Start("routes", R"({"sku": "C"})");
  EXPECT_EQ("other: rejected", h.Outcome(c));
  std::string d = h.Start("routes", R"({"sku": "D"})");
  EXPECT_EQ("found", h.Outcome(d));
  for (const auto& id : {a, b, c, d}) EXPECT_EQ("completed", h.Status(id));
  // Error routes are in the history.
  bool routed = false;
  for (const auto& e : h.History(c))
    if (TextOf(e, "type") == "error_handled") {
      routed = true;
      EXPECT_EQ("other", TextOf(e, "to"));
      EXPECT_EQ("rejected", TextOf(e, "kind"));
    }
  EXPECT_TRUE(routed);
  EXPECT_TRUE(h.DeadLetters().empty()) << "handled errors are no dead letters";
}

TEST(EngineSteps, UnknownConnectorFailsTheCallAsInternal) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kRoutes);
  h.Shutdown();
  h.registry_ = TestRegistry();
  h.registry_.Add("notify", &h.notify_);
  h.Boot();
  std::string id = h.Start("routes", R"({"sku": "A"})");
  EXPECT_EQ("other: internal", h.Outcome(id));
}

const char* kLoop = R"(workflow looper version 1
uses shop
input n number
set init
  counter = 0
step work
  call shop.charge with amount = counter
  retry up to 3 times waiting 1s
set bump
  counter = counter + 1
decide again
  when counter < input.n go to work
  otherwise go to done
finish done "{counter} rounds"
)";

TEST(EngineSteps, IdempotencyKeyStableAcrossRetriesAndNewPerVisit) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kLoop);
  h.shop_.FailNext("charge", "unavailable", 1);
  std::string id = h.Start("looper", R"({"n": 3})");
  h.AdvanceMs(kSecond);
  ASSERT_EQ("completed", h.Status(id)) << h.Instance(id).ToJson();
  EXPECT_EQ("3 rounds", h.Outcome(id));
  auto calls = h.Calls(h.shop_, "charge");
  ASSERT_EQ(4u, calls.size());
  // Visit 1: two attempts with one key; visits 2 and 3: new keys.
  EXPECT_EQ(calls[0].idempotency_key, calls[1].idempotency_key);
  std::set<std::string> keys = {calls[1].idempotency_key, calls[2].idempotency_key, calls[3].idempotency_key};
  EXPECT_EQ(3u, keys.size());
  std::set<std::string> invocation_ids;
  for (const auto& c : calls) invocation_ids.insert(c.invocation_id);
  EXPECT_EQ(4u, invocation_ids.size()) << "invocation ids are unique per attempt";
  EXPECT_EQ(1, calls[0].attempt);
  EXPECT_EQ(2, calls[1].attempt);
  EXPECT_EQ(1, calls[2].attempt);
  EXPECT_EQ(1, calls[3].attempt);
  // The loop counter went into the inputs.
  EXPECT_EQ(Value(0), *calls[1].input.Find("amount"));
  EXPECT_EQ(Value(1), *calls[2].input.Find("amount"));
  EXPECT_EQ(Value(2), *calls[3].input.Find("amount"));
  // Every effect was applied once.
  for (const auto& k : keys) EXPECT_EQ(1, h.shop_.EffectCount(k));
  EXPECT_EQ(3, h.CountHistory(id, "step_started"));
  // Keys are unique across instances too.
  std::string id2 = h.Start("looper", R"({"n": 1})");
  auto more = h.Calls(h.shop_, "charge");
  ASSERT_EQ(5u, more.size());
  EXPECT_EQ(0u, keys.count(more[4].idempotency_key));
}

TEST(EngineSteps, StartValidatesInputs) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kCalc);
  auto missing = h.TryStart(EngineHarness::Req("calc", R"({"order_ref": "A"})"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(rf::Status::Code::kInvalidArgument, missing.status().code());
  auto wrong = h.TryStart(EngineHarness::Req("calc", R"({"order_ref": 5, "amount": 1, "lines": []})"));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(rf::Status::Code::kInvalidArgument, wrong.status().code());
  auto unknown = h.TryStart(EngineHarness::Req("nope", "{}"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(rf::Status::Code::kNotFound, unknown.status().code());
  EXPECT_TRUE(h.Instances("running").empty());
  EXPECT_TRUE(h.Keys(state::keys::InstancePrefix()).empty());
}

TEST(EngineSteps, JitteredWaitStaysWithinHalfToFullWait) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(R"(workflow jitter version 1
uses shop
step charge
  call shop.charge with amount = 1
  retry up to 2 times waiting 10s with jitter
finish done "ok"
)");
  for (int i = 0; i < 5; ++i) {
    int before = h.shop_.calls("charge");
    h.shop_.FailNext("charge", "unavailable", 1);
    std::string id = h.Start("jitter", "{}");
    EXPECT_EQ(before + 1, h.shop_.calls("charge"));
    h.AdvanceMs(5 * kSecond - 1);
    EXPECT_EQ(before + 1, h.shop_.calls("charge")) << "a jittered wait is at least half the wait";
    h.AdvanceMs(5 * kSecond + 1);
    EXPECT_EQ(before + 2, h.shop_.calls("charge")) << "a jittered wait is at most the wait";
    EXPECT_EQ("completed", h.Status(id));
  }
}

TEST(EngineSteps, CancelDuringARetryWaitStopsTheRetries) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kBackoff);
  h.shop_.FailNext("charge", "unavailable", 1);
  std::string id = h.Start("backoff", "{}");
  EXPECT_EQ("running", h.Status(id));
  ASSERT_TRUE(h.Cancel(id).ok());
  EXPECT_EQ("cancelled", h.Status(id));
  h.AdvanceMs(kMinute);
  EXPECT_EQ(1, h.shop_.calls("charge"));
  EXPECT_TRUE(h.Keys(state::keys::TimerPrefix()).empty());
}

}  // namespace
}  // namespace rf::engine::testing
