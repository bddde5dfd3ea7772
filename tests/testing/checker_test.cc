// Scenario files that are wrong are refused with located errors and hints, all at once, and
// nothing runs.
#include "scenario_support.h"

namespace rf::scenario_test {
namespace {

const char* kInput = "  given input {order_id = \"A-1\", amount = 20}\n";

TEST(ScenarioChecker, CleanFileHasNoDiagnostics) {
  EXPECT_EQ(Diagnose(Scenario(std::string(kInput) +
                              "  answer shop.charge with {id = \"P-1\"}\n"
                              "  expect ends in done\n")),
            "");
}

TEST(ScenarioChecker, SyntaxErrorIsLocatedWithCaret) {
  std::string d = Diagnose(Scenario(std::string(kInput) + "  expect ends done\n"));
  EXPECT_NE(d.find("order.tests:4:15: error: unexpected `done`"), std::string::npos) << d;
  EXPECT_NE(d.find("^"), std::string::npos) << d;
}

TEST(ScenarioChecker, MissingHeaderIsAnError) {
  std::string d = Diagnose("scenario \"x\"\nend\n");
  EXPECT_NE(d.find("order.tests:1:1: error:"), std::string::npos) << d;
  EXPECT_NE(d.find("tests for"), std::string::npos) << d;
}

TEST(ScenarioChecker, UnknownNamesAreReportedAllAtOnceWithNearestNames) {
  std::string d = Diagnose(Scenario(std::string(kInput) +
                                    "  answer shop.chrage with {id = \"P-1\"}\n"      // 4
                                    "  answer shop.charge unavailabel\n"              // 5
                                    "  approve aprove_it by \"ann\"\n"                // 6
                                    "  event pickd key \"A-1\"\n"                     // 7
                                    "  expect ends in dnoe\n"                         // 8
                                    "  expect never reaches resreve\n"                // 9
                                    "  expect shop.release is undone\n"               // 10
                                    "  expect fails with done\n"                      // 11
                                    "  expect status is finished\n"));               // 12
  EXPECT_NE(d.find("order.tests:4:10: error: the flow order calls no operation shop.chrage"), std::string::npos) << d;
  EXPECT_NE(d.find("did you mean `shop.charge`?"), std::string::npos) << d;
  EXPECT_NE(d.find("order.tests:5:22: error: `unavailabel` is not an error kind"), std::string::npos) << d;
  EXPECT_NE(d.find("did you mean `unavailable`?"), std::string::npos) << d;
  EXPECT_NE(d.find("order.tests:6:11: error: the flow order has no state `aprove_it`"), std::string::npos) << d;
  EXPECT_NE(d.find("did you mean `approve_it`?"), std::string::npos) << d;
  EXPECT_NE(d.find("order.tests:7:9: error: the flow order waits for no event `pickd`"), std::string::npos) << d;
  EXPECT_NE(d.find("did you mean `picked`?"), std::string::npos) << d;
  EXPECT_NE(d.find("order.tests:8:18: error: the flow order has no state `dnoe`"), std::string::npos) << d;
  EXPECT_NE(d.find("order.tests:9:24: error: the flow order has no state `resreve`"), std::string::npos) << d;
  EXPECT_NE(d.find("order.tests:10:10: error: no step of order calls shop.release with an undo"), std::string::npos) << d;
  EXPECT_NE(d.find("order.tests:11:21: error: `done` is a finish state, not a fail state"), std::string::npos) << d;
  EXPECT_NE(d.find("order.tests:12:20: error: `finished` is not a status"), std::string::npos) << d;
}

TEST(ScenarioChecker, InputFieldsAreCheckedAgainstTheFlow) {
  std::string d = Diagnose(Scenario("  given input {order_idd = \"A-1\"}\n  expect ends in done\n"));
  EXPECT_NE(d.find("the flow order has no input `order_idd`"), std::string::npos) << d;
  EXPECT_NE(d.find("did you mean `order_id`?"), std::string::npos) << d;
  EXPECT_NE(d.find("the input has no `amount`"), std::string::npos) << d;
  EXPECT_NE(Diagnose(Scenario("  expect ends in done\n")).find("gives no input"), std::string::npos);
}

TEST(ScenarioChecker, OperationTheFlowNeverCalls) {
  std::string d = Diagnose(Scenario(std::string(kInput) + "  answer shop.lookup with {}\n"));
  EXPECT_NE(d.find("order.tests:4:10: error: the flow order never calls shop.lookup"), std::string::npos) << d;
}

TEST(ScenarioChecker, WrongFlowNameAndBadValues) {
  std::string d = Diagnose("tests for ordr\nscenario \"s\"\n" + std::string(kInput) + "end\n");
  EXPECT_NE(d.find("order.tests:1:11: error: these scenarios test `ordr`, but the flow is `order`"), std::string::npos) << d;
  d = Diagnose(Scenario(std::string(kInput) + "  after 0s\n"));
  EXPECT_NE(d.find("order.tests:4:9: error: `0s` is not a duration"), std::string::npos) << d;
}

TEST(ScenarioChecker, DeepNestingIsRefusedBeforeParsing) {
  std::string deep(5000, '[');
  std::string d = Diagnose(Scenario("  given input {order_id = " + deep + "}\n"));
  EXPECT_NE(d.find("nested more than"), std::string::npos) << d;
}

}  // namespace
}  // namespace rf::scenario_test
