// `retailflow test` as an analyst uses it: exit codes 0/1/2, located failures, JSON and JUnit.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "scenario_support.h"

namespace rf::scenario_test {
namespace {

namespace fs = std::filesystem;

struct CliRun {
  int exit_code;
  std::string out;
};

CliRun Cli(const std::string& args) {
  std::string cmd = std::string(RF_CLI_PATH) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// A folder with order.flow, its catalog in connectors/, and the given order.tests.
class Workspace {
 public:
  explicit Workspace(const std::string& tests, const std::string& flow = kFlow) {
    static int counter = 0;
    dir_ = fs::temp_directory_path() / ("rf-test-cli-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::create_directories(dir_ / "connectors");
    Write("order.flow", flow);
    Write("connectors/shop.json", kCatalog);
    Write("order.tests", tests);
  }
  ~Workspace() { fs::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) const { std::ofstream(dir_ / name) << text; }
  std::string Path(const std::string& name = "order.tests") const { return (dir_ / name).string(); }

 private:
  fs::path dir_;
};

const std::string kGood =
    "  given input {order_id = \"A-1\", amount = 20}\n"
    "  answer shop.reserve with {id = \"R-1\"}\n"
    "  answer shop.charge with {id = \"P-1\"}\n"
    "  event picked key \"A-1\"\n"
    "  expect ends in done\n";

TEST(ScenarioCli, AllPassExitsZeroWithTraceAndCoverage) {
  Workspace w(Scenario(kGood));
  auto r = Cli("test " + w.Path() + " --coverage");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("PASS order: s"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("for_pickup: event picked received"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("coverage order: states 5/7"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("not reached: state approve_it"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 passed, 0 failed"), std::string::npos) << r.out;
}

TEST(ScenarioCli, FolderIsSearched) {
  Workspace w(Scenario(kGood));
  auto r = Cli("test " + fs::path(w.Path()).parent_path().string());
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("1 passed"), std::string::npos) << r.out;
}

TEST(ScenarioCli, AFailingExpectationExitsOneLocated) {
  Workspace w(Scenario(kGood + "  expect outcome is \"nope\"\n"));
  auto r = Cli("test " + w.Path());
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("FAIL order: s"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(w.Path() + ":8:3: error: expected outcome is \"nope\", but the outcome is \"Order A-1 paid as P-1.\""),
            std::string::npos) << r.out;
}

TEST(ScenarioCli, AnInvalidScenarioFileExitsTwoAndRunsNothing) {
  Workspace w(Scenario(kGood + "  expect ends in dnoe\n"));
  auto r = Cli("test " + w.Path());
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find(w.Path() + ":8:18: error: the flow order has no state `dnoe`"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("PASS"), std::string::npos) << r.out;
}

TEST(ScenarioCli, AnInvalidFlowExitsTwo) {
  std::string broken = kFlow;
  broken.replace(broken.find("go to declined"), 14, "go to declinedd");
  Workspace w(Scenario(kGood), broken);
  auto r = Cli("test " + w.Path());
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("order.flow:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("did not run"), std::string::npos) << r.out;
}

TEST(ScenarioCli, MissingFilesAndFlowsExitTwo) {
  EXPECT_EQ(Cli("test /nonexistent/x.tests").exit_code, 2);
  Workspace w("tests for other\nscenario \"s\"\nend\n");
  auto r = Cli("test " + w.Path());
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("no flow file other.flow"), std::string::npos) << r.out;
}

TEST(ScenarioCli, InputFromAFixtureFile) {
  const std::string body =
      "  answer shop.reserve with {id = \"R-1\"}\n"
      "  answer shop.charge with {id = \"P-1\"}\n"
      "  expect shop.charge is called once with order = \"F-1\", amount = 30\n";
  Workspace w(Scenario("  given input from \"fixtures/order.json\"\n" + body));
  fs::create_directories(fs::path(w.Path()).parent_path() / "fixtures");
  w.Write("fixtures/order.json", R"({"order_id": "F-1", "amount": 30})");
  auto r = Cli("test " + w.Path());
  EXPECT_EQ(r.exit_code, 0) << r.out;
  Workspace bad(Scenario("  given input from \"fixtures/missing.json\"\n" + body));
  auto b = Cli("test " + bad.Path());
  EXPECT_EQ(b.exit_code, 2) << b.out;
  EXPECT_NE(b.out.find(bad.Path() + ":3:20: error: cannot read the fixture fixtures/missing.json"), std::string::npos) << b.out;
}

TEST(ScenarioCli, JsonAndJunit) {
  Workspace w(Scenario(kGood) + "scenario \"bad\"\n" + kGood + "  expect is compensated\nend\n");
  auto j = Cli("test " + w.Path() + " --format json --coverage");
  EXPECT_EQ(j.exit_code, 1);
  auto doc = nlohmann::json::parse(j.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << j.out;
  const auto& sc = doc["files"][0]["scenarios"];
  ASSERT_EQ(sc.size(), 2u);
  EXPECT_TRUE(sc[0]["passed"].get<bool>());
  EXPECT_FALSE(sc[1]["passed"].get<bool>());
  EXPECT_EQ(sc[1]["failure"]["line"].get<int>(), 15);
  EXPECT_EQ(doc["coverage"][0]["flow"], "order");
  auto x = Cli("test " + w.Path() + " --format junit");
  EXPECT_EQ(x.exit_code, 1);
  EXPECT_NE(x.out.find("<testsuite name=\"order\""), std::string::npos) << x.out;
  EXPECT_NE(x.out.find("tests=\"2\" failures=\"1\""), std::string::npos) << x.out;
  EXPECT_NE(x.out.find("<failure message=\"expected is compensated"), std::string::npos) << x.out;
}

}  // namespace
}  // namespace rf::scenario_test
