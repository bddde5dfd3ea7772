// Scenarios run on the real engine: each expectation passes when it holds and fails, located at
// its own line, when it does not.
#include "scenario_support.h"

namespace rf::scenario_test {
namespace {

const std::string kSmall =
    "  given input {order_id = \"A-1\", amount = 20}\n"             // 3
    "  answer shop.reserve with {id = \"R-1\"}\n"                   // 4
    "  answer shop.charge with {id = \"P-1\"}\n";                   // 5

// Runs kSmall + `tail`; `tail`'s first line is line 6.
testing::ScenarioResult Small(const std::string& tail) { return RunOne(Scenario(kSmall + tail)); }

void ExpectFailsAt(const testing::ScenarioResult& r, int line, const std::string& part) {
  ASSERT_FALSE(r.passed);
  ASSERT_TRUE(r.failure.has_value());
  EXPECT_EQ(r.failure->loc.line, line) << r.failure->message;
  EXPECT_EQ(r.failure->loc.column, 3) << r.failure->message;
  EXPECT_NE(r.failure->message.find(part), std::string::npos) << r.failure->message;
}

TEST(ScenarioRunner, HappyPathPassesEveryKindOfExpectation) {
  auto r = Small(
      "  expect waits at for_pickup\n"
      "  event picked key \"A-1\" with {desk = 4}\n"
      "  expect ends in done\n"
      "  expect status is completed\n"
      "  expect passes through reserve then big then charge then for_pickup then done\n"
      "  expect never reaches approve_it\n"
      "  expect shop.charge is called once with amount = 20, order = \"A-1\"\n"
      "  expect shop.reserve is called 1 times\n"
      "  expect payment.id is \"P-1\"\n"
      "  expect pickup.desk is 4\n"
      "  expect outcome is \"Order A-1 paid as P-1.\"\n");
  EXPECT_TRUE(r.passed) << (r.failure ? r.failure->message : "");
  EXPECT_EQ(r.expectations, 10);
  EXPECT_EQ(r.status, "completed");
  EXPECT_TRUE(r.visits.transitions.count("for_pickup -> done"));
}

TEST(ScenarioRunner, WrongEndFailsAtItsLine) {
  ExpectFailsAt(Small("  event picked key \"A-1\"\n  expect ends in declined\n"), 7, "it ended in done (completed)");
}
TEST(ScenarioRunner, WrongWaitFailsAtItsLine) {
  ExpectFailsAt(Small("  expect waits at approve_it\n"), 6, "the instance is waiting at for_pickup");
}
TEST(ScenarioRunner, WrongPathFailsAtItsLine) {
  ExpectFailsAt(Small("  expect passes through charge then reserve\n"), 6, "did not pass through reserve after charge");
}
TEST(ScenarioRunner, NeverReachesFailsAtItsLine) {
  ExpectFailsAt(Small("  expect never reaches charge\n"), 6, "it reached charge");
}
TEST(ScenarioRunner, CallCountFailsAtItsLine) {
  ExpectFailsAt(Small("  expect shop.charge is called 2 times\n"), 6, "it was called 1 time");
  ExpectFailsAt(Small("  expect shop.charge is called once with amount = 21\n"), 6, "it was called 0 times");
  ExpectFailsAt(Small("  expect shop.charge is not called\n"), 6, "it was called 1 time");
}
TEST(ScenarioRunner, DataAndTextsFailAtTheirLines) {
  ExpectFailsAt(Small("  expect payment.id is \"P-2\"\n"), 6, "payment.id is \"P-1\"");
  ExpectFailsAt(Small("  expect payment.nothing is 1\n"), 6, "payment.nothing is not set");
  ExpectFailsAt(Small("  event picked key \"A-1\"\n  expect outcome is \"paid\"\n"), 7, "the outcome is \"Order A-1 paid as P-1.\"");
  ExpectFailsAt(Small("  expect status is completed\n"), 6, "the status is waiting");
  ExpectFailsAt(Small("  expect is compensated\n"), 6, "the instance is waiting");
  ExpectFailsAt(Small("  expect shop.reserve is undone\n"), 6, "nothing was undone");
}

TEST(ScenarioRunner, RetriesRunOnTheVirtualClock) {
  auto r = RunOne(Scenario(
      "  given input {order_id = \"A-2\", amount = 20}\n"
      "  answer shop.reserve unavailable 2 times then timeout then with {id = \"R-2\"}\n"
      "  answer shop.charge with {id = \"P-2\"}\n"
      "  expect shop.reserve is called 4 times\n"
      "  expect waits at for_pickup\n"));
  EXPECT_TRUE(r.passed) << (r.failure ? r.failure->message : "");
  EXPECT_EQ(r.virtual_time.ms, 7000);  // waits of 1s, 2s and 4s
}

TEST(ScenarioRunner, ApprovalsWithActorAndDeadline) {
  const std::string big =
      "  given input {order_id = \"B-1\", amount = 500}\n"
      "  answer shop.reserve with {id = \"R-9\"}\n"
      "  answer shop.charge with {id = \"P-9\"}\n";
  auto ok = RunOne(Scenario(big +
                            "  expect task approve_it title is \"Approve order B-1 of 500?\"\n"
                            "  expect task approve_it details is \"Reserved as R-9.\"\n"
                            "  approve approve_it by \"ann\" saying \"fine\"\n"
                            "  expect approve_it.actor is \"ann\"\n"
                            "  expect approve_it.comment is \"fine\"\n"
                            "  expect waits at for_pickup\n"));
  EXPECT_TRUE(ok.passed) << (ok.failure ? ok.failure->message : "");
  auto late = RunOne(Scenario(big + "  nobody decides approve_it\n  expect fails with declined\n  expect is compensated\n"
                                    "  expect shop.reserve is undone\n"));
  EXPECT_TRUE(late.passed) << (late.failure ? late.failure->message : "");
  EXPECT_EQ(late.virtual_time.ms, 4 * 3600 * 1000);
  auto wrong = RunOne(Scenario(big + "  expect task approve_it title is \"Approve?\"\n"));
  ExpectFailsAt(wrong, 6, "it is \"Approve order B-1 of 500?\"");
  // Deciding where nobody is asked fails at the state's name.
  auto none = Small("  approve approve_it by \"ann\"\n");
  ASSERT_FALSE(none.passed);
  EXPECT_EQ(none.failure->loc.line, 6);
  EXPECT_EQ(none.failure->loc.column, 11);
  EXPECT_NE(none.failure->message.find("nobody is asked to decide at approve_it now"), std::string::npos);
}

TEST(ScenarioRunner, ErrorRoutesAndPerInputAnswers) {
  auto r = RunOne(Scenario(
      "  given input {order_id = \"C-1\", amount = 20}\n"
      "  answer shop.reserve with {id = \"R-3\"}\n"
      "  answer shop.charge for order = \"C-1\" rejected \"card declined\"\n"
      "  answer shop.charge with {id = \"never\"}\n"
      "  expect fails with declined\n"
      "  expect shop.release is called 0 times\n"
      "  expect shop.reserve is undone\n"
      "  expect outcome is \"Order C-1 declined.\"\n"));
  EXPECT_TRUE(r.passed) << (r.failure ? r.failure->message : "");
}

TEST(ScenarioRunner, AnUnansweredStepWithoutDeclaredOutputsIsNamed) {
  auto r = RunOne(Scenario("  given input {order_id = \"D-1\", amount = 20}\n  answer shop.reserve with {id = \"R\"}\n"));
  ASSERT_FALSE(r.passed);
  EXPECT_NE(r.failure->message.find("shop.charge"), std::string::npos) << r.failure->message;
  // shop.reserve declares its outputs: without an answer it gets a default one.
  auto d = RunOne(Scenario("  given input {order_id = \"D-2\", amount = 20}\n  answer shop.charge with {id = \"P\"}\n"
                           "  expect reservation.id is \"id\"\n"));
  EXPECT_TRUE(d.passed) << (d.failure ? d.failure->message : "");
}

TEST(ScenarioRunner, ThirtyDayWaitAndTenRetries) {
  auto r = RunOne(Scenario(
      "  given input {order_id = \"E-1\", amount = 20}\n"
      "  answer shop.reserve unavailable 10 times then with {id = \"R-5\"}\n"
      "  answer shop.charge with {id = \"P-5\"}\n"
      "  after 30d\n"
      "  expect shop.reserve is called 11 times\n"
      "  expect passes through for_pickup then done\n"
      "  expect ends in done\n"));
  EXPECT_TRUE(r.passed) << (r.failure ? r.failure->message : "");
  EXPECT_GE(r.virtual_time.ms, 30LL * 86400 * 1000);
  bool saw_tenth = false;
  for (const auto& t : r.trace) saw_tenth |= t.text.find("attempt 10 failed") != std::string::npos;
  EXPECT_TRUE(saw_tenth);
}

}  // namespace
}  // namespace rf::scenario_test

namespace rf::scenario_test {
namespace {

const char* kPollFlow = R"(workflow poll version 1
uses shop
input
  order_id text
step look
  call shop.lookup with order = input.order_id
  save result as seen
decide ready
  when seen.ready == true go to done
  otherwise go to pause
wait pause
  for 1m
  then go to look
finish done "ok"
)";

testing::ScenarioResult RunPoll(const std::string& body) {
  dsl::Diagnostics d;
  auto m = dsl::CompileSource(kPollFlow, Shared().catalog, d);
  EXPECT_TRUE(m.has_value());
  std::string text = "tests for poll\nscenario \"p\"\n  given input {order_id = \"P-1\"}\n" + body + "end\n";
  testing::ScenarioFile f = testing::ParseScenarios(text, d);
  if (m) testing::CheckScenarios(f, *m, Shared().catalog, d);
  EXPECT_FALSE(d.HasErrors());
  if (!m || d.HasErrors() || f.scenarios.size() != 1) return {};
  return testing::RunScenario(*m, kPollFlow, f.scenarios[0], Shared().catalog);
}

TEST(ScenarioRunner, WaitStatesRunOnTheVirtualClock) {
  auto r = RunPoll("  answer shop.lookup with {ready = false} 3 times then with {ready = true}\n"
                   "  expect shop.lookup is called 4 times\n  expect ends in done\n");
  EXPECT_TRUE(r.passed) << (r.failure ? r.failure->message : "");
  EXPECT_EQ(r.virtual_time.ms, 3 * 60 * 1000);
}

TEST(ScenarioRunner, AFlowThatNeverStopsIsStoppedWithAMessage) {
  auto r = RunPoll("  answer shop.lookup with {ready = false}\n  expect ends in done\n");
  ASSERT_FALSE(r.passed);
  EXPECT_EQ(r.failure->loc.line, 2);
  EXPECT_NE(r.failure->message.find("kept running on its own"), std::string::npos) << r.failure->message;
}

}  // namespace
}  // namespace rf::scenario_test

namespace rf::scenario_test {
namespace {

TEST(ScenarioRunner, EscalationTiming) {
  const std::string big =
      "  given input {order_id = \"B-2\", amount = 500}\n"
      "  answer shop.reserve with {id = \"R-2\"}\n";
  auto ok = RunOne(Scenario(big + "  nobody decides approve_it\n  expect approve_it escalates to declined after 4h\n"));
  EXPECT_TRUE(ok.passed) << (ok.failure ? ok.failure->message : "");
  ExpectFailsAt(RunOne(Scenario(big + "  nobody decides approve_it\n  expect approve_it escalates to declined after 3h\n")), 6,
                "it escalated after 4h");
  ExpectFailsAt(RunOne(Scenario(big + "  after 1h\n  expect approve_it escalates to declined after 4h\n")), 6,
                "approve_it did not escalate: the instance is waiting at approve_it");
  std::string d = Diagnose(Scenario(big + "  expect approve_it escalates to done after 4h\n"));
  EXPECT_NE(d.find("order.tests:5:34: error: the deadline of approve_it does not go to done"), std::string::npos) << d;
}

}  // namespace
}  // namespace rf::scenario_test
