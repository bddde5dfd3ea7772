// parallel (join, failure cancels the other branches) and for each (concurrency bound, results
// in item order, empty list, a failing round).
#include "state/keys.h"
#include "tests/engine/harness.h"

namespace rf::engine::testing {
namespace {

const char* kFan = R"(workflow fan version 1
uses shop
parallel both
  branch a
    step do_a
      call shop.reserve with x = 1
      save result as ra
      undo call shop.release with x = 1
  branch b
    step do_b
      call shop.charge with x = 2
      save result as rb
      undo call shop.refund with x = 2
    step do_b2
      call shop.ship with x = 3
      undo call shop.unship with x = 3
end
finish done "joined {ra.ok} {rb.ok}"
)";

std::vector<std::string> Ops(const std::vector<std::string>& effects) {
  std::vector<std::string> ops;
  for (const auto& e : effects) ops.push_back(e.substr(0, e.find(' ')));
  return ops;
}

TEST(EngineParallel, JoinWaitsForEveryBranch) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kFan);
  h.shop_.Hold("reserve");
  std::string id = h.Start("fan", "{}");
  ASSERT_TRUE(h.Eventually([&] { return h.shop_.held("reserve") == 1; }));
  // Branch b is done (both steps), branch a still runs: no join yet.
  EXPECT_EQ(1, h.shop_.calls("charge"));
  EXPECT_EQ(1, h.shop_.calls("ship"));
  EXPECT_EQ("running", h.Status(id));
  EXPECT_EQ(0, h.CountHistory(id, "parallel_joined"));
  h.shop_.Release("reserve");
  h.Settle();
  ASSERT_EQ("completed", h.Status(id)) << h.Instance(id).ToJson();
  EXPECT_EQ("joined true true", h.Outcome(id));
  EXPECT_EQ(1, h.CountHistory(id, "parallel_started"));
  EXPECT_EQ(1, h.CountHistory(id, "parallel_joined"));
  // The join comes after the last branch's step.
  auto types = h.HistoryTypes(id);
  auto joined = std::find(types.begin(), types.end(), "parallel_joined");
  EXPECT_EQ(3, std::count(types.begin(), joined, "step_completed"));
}

TEST(EngineParallel, FailingBranchCancelsTheOthersAndTheirLateSuccessIsUndone) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kFan);
  h.shop_.Hold("reserve");
  h.shop_.FailNext("ship", "rejected", 1);
  std::string id = h.Start("fan", "{}");
  ASSERT_TRUE(h.Eventually([&] { return h.shop_.held("reserve") == 1; }));
  // Branch b failed while branch a's call is in flight: the instance is compensating.
  EXPECT_EQ("compensating", h.Status(id));
  EXPECT_FALSE(IsTerminalStatus(h.Status(id)));
  // The held call succeeds after all: its effect must be undone too.
  h.shop_.Release("reserve");
  h.Settle();
  ASSERT_EQ("compensated", h.Status(id)) << h.Instance(id).ToJson();
  // charge completed first, then reserve: undo newest first = release, then refund.
  auto ops = Ops(h.shop_.effects());
  std::vector<std::string> undo(ops.end() - 2, ops.end());
  EXPECT_EQ((std::vector<std::string>{"release", "refund"}), undo) << ::testing::PrintToString(ops);
  EXPECT_EQ(0, h.shop_.calls("unship")) << "the failed step has nothing to undo";
  EXPECT_EQ(1, h.CountHistory(id, "step_completed_after_cancel"));
  EXPECT_EQ(2, h.CountHistory(id, "undo_completed"));
  // An unhandled error: dead letter with the error.
  auto dead = h.DeadLetters();
  ASSERT_EQ(1u, dead.size());
  EXPECT_EQ(id, TextOf(dead[0], "instance"));
  EXPECT_EQ("rejected", TextOf(*dead[0].Find("error"), "kind"));
  EXPECT_TRUE(h.Keys(state::keys::OutboxPrefix()).empty());
}

TEST(EngineParallel, FailingBranchCancelsAWaitingBranch) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(R"(workflow fanwait version 1
uses shop
input ref text
parallel both
  branch a
    wait for_ok
      for event ok where ref == input.ref within 1 day
      on timeout go to gone
    wait gone
      for 1s
  branch b
    step do_b
      call shop.charge with x = 2
      undo call shop.refund with x = 2
    step do_b2
      call shop.ship with x = 3
end
finish done "done"
)");
  h.shop_.FailNext("ship", "conflict", 1);
  std::string id = h.Start("fanwait", R"({"ref": "W1"})");
  ASSERT_EQ("compensated", h.Status(id)) << h.Instance(id).ToJson();
  EXPECT_TRUE(h.Keys(state::keys::SubscriptionPrefix()).empty()) << "the other branch's subscription is removed";
  EXPECT_TRUE(h.Keys(state::keys::TimerPrefix()).empty()) << "the other branch's timer is removed";
  EXPECT_EQ(0, h.Deliver("ok", "W1"));
  EXPECT_EQ(1, h.shop_.calls("refund"));
}

const char* kLines = R"(workflow lines version 1
uses shop
input lines list
for each line in input.lines as rounds at most 2 at a time
  step look
    call shop.lookup with sku = line.sku
    save result as found
  set doubled
    twice = line.qty * 2
end
finish done "{count(rounds)} rounds, total {sum(rounds, item.twice)}"
)";

TEST(EngineForEach, ConcurrencyBoundIsRespectedAndResultsAreInItemOrder) {
  state::MemoryStore store;
  EngineHarness h(&store);
  GateConnector gate;
  h.registry_.Add("shop", &gate);  // before any call: the engine is idle
  h.Deploy(kLines);
  std::string id = h.Start("lines", R"({"lines": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 2},
      {"sku": "C", "qty": 3}, {"sku": "D", "qty": 4}, {"sku": "E", "qty": 5}]})");
  ASSERT_TRUE(h.Eventually([&] { return gate.pending() == 2; }));
  h.Settle();
  EXPECT_EQ(2u, gate.pending()) << "at most 2 at a time";
  // Answer the newest call first each time, so rounds finish out of item order.
  int released = 0;
  while (released < 5) {
    size_t before_total = gate.all().size();
    ASSERT_TRUE(gate.ReleaseAt(-1));
    ++released;
    h.Settle();
    EXPECT_LE(gate.pending(), 2u);
    if (before_total < 5) {
      ASSERT_TRUE(h.Eventually([&] { return gate.all().size() == before_total + 1; }));
      h.Settle();
      EXPECT_EQ(2u, gate.pending()) << "a finished round makes room for exactly one more";
    }
  }
  h.Settle();
  EXPECT_EQ(2u, gate.max_pending());
  EXPECT_EQ(5u, gate.all().size());
  ASSERT_EQ("completed", h.Status(id)) << h.Instance(id).ToJson();
  EXPECT_EQ("5 rounds, total 30", h.Outcome(id));
  Value rounds = h.Data(id, "rounds");
  ASSERT_TRUE(rounds.is_list());
  ASSERT_EQ(5u, rounds.as_list().size());
  const char* skus[] = {"A", "B", "C", "D", "E"};
  for (size_t i = 0; i < 5; ++i) {
    const Value& r = rounds.as_list()[i];
    EXPECT_EQ(Value(static_cast<std::int64_t>(2 * (i + 1))), *r.Find("twice")) << i;
    const Value* found = r.Find("found");
    ASSERT_TRUE(found != nullptr) << r.ToJson();
    EXPECT_EQ(skus[i], TextOf(*found->Find("echo"), "sku")) << i;
    EXPECT_EQ(nullptr, r.Find("line")) << "the item itself is not part of the result";
  }
}

TEST(EngineForEach, WithoutAtMostItemsRunOneAfterTheOther) {
  state::MemoryStore store;
  EngineHarness h(&store);
  GateConnector gate;
  h.registry_.Add("shop", &gate);
  h.Deploy(R"(workflow seq version 1
uses shop
input lines list
for each line in input.lines as rounds
  step look
    call shop.lookup with sku = line.sku
    save result as found
end
finish done "{count(rounds)}"
)");
  std::string id = h.Start("seq", R"({"lines": [{"sku": "A"}, {"sku": "B"}, {"sku": "C"}]})");
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(h.Eventually([&] { return gate.pending() == 1; }));
    h.Settle();
    EXPECT_EQ(1u, gate.pending());
    auto pending = gate.pending_calls();
    ASSERT_EQ(1u, pending.size());
    EXPECT_EQ(std::string(1, static_cast<char>('A' + i)), TextOf(pending[0].input, "sku"));
    ASSERT_TRUE(gate.ReleaseAt(0));
    h.Settle();
  }
  EXPECT_EQ(1u, gate.max_pending());
  EXPECT_EQ("completed", h.Status(id));
  EXPECT_EQ("3", h.Outcome(id));
}

TEST(EngineForEach, EmptyListGivesAnEmptyResultsList) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kLines);
  std::string id = h.Start("lines", R"({"lines": []})");
  ASSERT_EQ("completed", h.Status(id)) << h.Instance(id).ToJson();
  EXPECT_EQ("0 rounds, total 0", h.Outcome(id));
  Value rounds = h.Data(id, "rounds");
  ASSERT_TRUE(rounds.is_list());
  EXPECT_TRUE(rounds.as_list().empty());
  EXPECT_EQ(0, h.shop_.calls("lookup"));
}

TEST(EngineForEach, EachRoundGetsItsOwnIdempotencyKey) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kLines);
  std::string id = h.Start("lines", R"({"lines": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 1}, {"sku": "C", "qty": 1}]})");
  ASSERT_EQ("completed", h.Status(id));
  auto calls = h.Calls(h.shop_, "lookup");
  ASSERT_EQ(3u, calls.size());
  std::set<std::string> keys;
  for (const auto& c : calls) keys.insert(c.idempotency_key);
  EXPECT_EQ(3u, keys.size());
}

TEST(EngineForEach, AFailingRoundFailsTheBlockAndUndoesCompletedRounds) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(R"(workflow reserve_all version 1
uses shop
input lines list
for each line in input.lines as reserved
  step reserve_line
    call shop.reserve with sku = line.sku
    undo call shop.release with sku = line.sku
end
finish done "{count(reserved)}"
)");
  h.shop_.On("reserve", [](const Invocation& c) {
    if (TextOf(c.input, "sku") == "BAD") return CallResult::Failure("conflict", "no stock");
    Record r;
    r["ok"] = Value(true);
    return CallResult::Success(Value(std::move(r)));
  });
  std::string id = h.Start("reserve_all", R"({"lines": [{"sku": "A"}, {"sku": "B"}, {"sku": "BAD"}, {"sku": "D"}]})");
  ASSERT_EQ("compensated", h.Status(id)) << h.Instance(id).ToJson();
  EXPECT_EQ(3, h.shop_.calls("reserve")) << "D never starts";
  auto releases = h.Calls(h.shop_, "release");
  ASSERT_EQ(2u, releases.size());
  EXPECT_EQ("B", TextOf(releases[0].input, "sku"));
  EXPECT_EQ("A", TextOf(releases[1].input, "sku"));
  EXPECT_EQ(1u, h.DeadLetters().size());
}

}  // namespace
}  // namespace rf::engine::testing
