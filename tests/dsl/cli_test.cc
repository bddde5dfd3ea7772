// The `retailflow` binary as an analyst uses it: exit codes, output formats, catalog discovery.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "test_support.h"

namespace {

namespace fs = std::filesystem;
using rf::testing::ReadText;
using rf::testing::SourceDir;

struct CliRun {
  int exit_code;
  std::string out;  // stdout and stderr together
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

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("rf-cli-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  fs::path Write(const std::string& name, const std::string& text) const {
    fs::path p = path_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  const fs::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

const char* kBroken = R"(workflow broken version 1
uses pos
input sale_id text
step find
  call pos.get_sale with sale_id = input.sale_id
  save result as sale
  then go to finsh
finish
)";

const char* kWarningOnly = R"(workflow warn version 1
uses pos, inventory
input sale_id text
step find
  call pos.get_sale with sale_id = input.sale_id
  save result as sale
finish
)";

TEST(Cli, ShippedWorkflowsPassStrictCheckWithNoFlags) {
  CliRun r = Cli("check --strict " + (SourceDir() / "workflows").string() + "/*.flow");
  EXPECT_EQ(0, r.exit_code) << r.out;
  EXPECT_NE(r.out.find("4 files checked: 0 errors, 0 warnings"), std::string::npos) << r.out;
}

TEST(Cli, ErrorsExitOneWithFileLineColumnCaretAndHint) {
  TempDir dir;
  fs::copy(SourceDir() / "workflows" / "connectors", dir.path() / "connectors");
  auto file = dir.Write("broken.flow", kBroken);
  CliRun r = Cli("check " + file.string());
  EXPECT_EQ(1, r.exit_code) << r.out;
  EXPECT_NE(r.out.find(file.string() + ":7:14: error: there is no state called `finsh`"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("   then go to finsh"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("             ^~~~~"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("hint: did you mean `finish`?"), std::string::npos) << r.out;
}

// Issue 16: this 10 KB file used to crash `check` with SIGSEGV (exit 139, parser stack overflow).
TEST(Cli, FiveThousandNestedParenthesesExitOneWithTooDeepNotACrash) {
  TempDir dir;
  std::string flow = "workflow deep version 1\ninput x number\ndecide d\n  when " + std::string(5000, '(') +
                     "input.x == 1" + std::string(5000, ')') + " go to done\n  otherwise go to done\nfinish done\n";
  auto file = dir.Write("deep.flow", flow);
  CliRun r = Cli("check " + file.string());
  EXPECT_EQ(1, r.exit_code) << r.out.substr(0, 2000);
  EXPECT_NE(r.out.find(file.string() + ":4:108: error: this is nested more than 100 levels deep"), std::string::npos)
      << r.out.substr(0, 2000);
  EXPECT_NE(r.out.find("hint: split it up"), std::string::npos) << r.out.substr(0, 2000);
  EXPECT_NE(r.out.find("1 file checked: 1 error, 0 warnings"), std::string::npos) << r.out.substr(0, 2000);
  EXPECT_LT(r.out.size(), 2000u) << "the excerpt of the 10 KB line is a window, not the whole line";
}

TEST(Cli, WarningsFailOnlyWithStrict) {
  TempDir dir;
  fs::copy(SourceDir() / "workflows" / "connectors", dir.path() / "connectors");
  auto file = dir.Write("warn.flow", kWarningOnly);
  CliRun lenient = Cli("check " + file.string());
  EXPECT_EQ(0, lenient.exit_code) << lenient.out;
  EXPECT_NE(lenient.out.find("warning: the connector `inventory` is listed in uses but no step calls it"),
            std::string::npos)
      << lenient.out;
  EXPECT_EQ(1, Cli("check --strict " + file.string()).exit_code);
}

TEST(Cli, JsonFormatIsMachineReadable) {
  TempDir dir;
  fs::copy(SourceDir() / "workflows" / "connectors", dir.path() / "connectors");
  auto file = dir.Write("broken.flow", kBroken);
  CliRun r = Cli("check --format json " + file.string() + " 2>/dev/null");
  EXPECT_EQ(1, r.exit_code);
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(1u, j.size()) << r.out;
  EXPECT_EQ(7, j[0]["line"]);
  EXPECT_EQ(14, j[0]["column"]);
  EXPECT_EQ("error", j[0]["severity"]);
  EXPECT_EQ("unknown-state", j[0]["code"]);
  EXPECT_EQ(file.string(), j[0]["file"]);
}

TEST(Cli, CatalogIsFoundBesideTheFlowOrGivenExplicitly) {
  TempDir dir;
  auto file = dir.Write("alone.flow", kWarningOnly);
  CliRun without = Cli("check " + file.string());
  EXPECT_EQ(1, without.exit_code);
  EXPECT_NE(without.out.find("there is no connector called `pos`"), std::string::npos) << without.out;
  CliRun with = Cli("check --catalog " + (SourceDir() / "workflows" / "connectors").string() + " " + file.string());
  EXPECT_EQ(0, with.exit_code) << with.out;
}

TEST(Cli, BrokenCatalogIsABadInputNotACrash) {
  TempDir dir;
  dir.Write("connectors/bad.json", "{\"format\": \"retailflow.catalog/1\", \"connectors\": [{\"operations\": []}]}");
  auto file = dir.Write("a.flow", kWarningOnly);
  CliRun r = Cli("check " + file.string());
  EXPECT_EQ(2, r.exit_code) << r.out;
  EXPECT_NE(r.out.find("every connector needs a \"name\""), std::string::npos) << r.out;
}

TEST(Cli, MissingFileIsAUsageError) {
  CliRun r = Cli("check /nonexistent/x.flow");
  EXPECT_EQ(2, r.exit_code) << r.out;
}

TEST(Cli, GraphDrawsStatesTransitionsAndDashedUndo) {
  CliRun dot = Cli("graph " + (SourceDir() / "workflows" / "store_return.flow").string());
  ASSERT_EQ(0, dot.exit_code) << dot.out;
  EXPECT_NE(dot.out.find("digraph \"store_return\""), std::string::npos);
  EXPECT_NE(dot.out.find("\"manager_approval\" -> \"choose_disposition\" [label=\"approve\"]"), std::string::npos) << dot.out;
  EXPECT_NE(dot.out.find("\"manager_approval\" -> \"declined\" [label=\"reject\"]"), std::string::npos);
  EXPECT_NE(dot.out.find("\"find_sale\" -> \"unknown_sale\" [label=\"error: not_found\"]"), std::string::npos);
  EXPECT_NE(dot.out.find("\"credit_note\" -> \"credit_note__undo\" [label=\"undo\", style=dashed]"), std::string::npos);
  EXPECT_NE(dot.out.find("label=\"no decision in 4h\""), std::string::npos);

  CliRun mermaid = Cli("graph --format mermaid " + (SourceDir() / "workflows" / "stock_reconciliation.flow").string());
  ASSERT_EQ(0, mermaid.exit_code) << mermaid.out;
  EXPECT_EQ(0u, mermaid.out.find("flowchart TD\n"));
  EXPECT_NE(mermaid.out.find("subgraph read_both_systems__platform"), std::string::npos) << mermaid.out;
  EXPECT_NE(mermaid.out.find("-->|\"approve\"|"), std::string::npos);
}

TEST(Cli, CompilePrintsVersionedMachineJson) {
  CliRun r = Cli("compile " + (SourceDir() / "workflows" / "click_and_collect.flow").string() + " 2>/dev/null");
  ASSERT_EQ(0, r.exit_code) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ("retailflow.machine", j["format"]);
  EXPECT_EQ(1, j["format_version"]);
  EXPECT_EQ("click_and_collect", j["name"]);
}

TEST(Cli, FmtCheckReportsAndFmtRewrites) {
  TempDir dir;
  auto file = dir.Write("messy.flow", "workflow   m version 1   finish   \"ok\"\n");
  CliRun check = Cli("fmt --check " + file.string());
  EXPECT_EQ(1, check.exit_code) << check.out;
  EXPECT_EQ("workflow   m version 1   finish   \"ok\"\n", ReadText(file)) << "--check must not write";
  EXPECT_EQ(0, Cli("fmt " + file.string()).exit_code);
  EXPECT_EQ("workflow m version 1\n\nfinish \"ok\"\n", ReadText(file));
  EXPECT_EQ(0, Cli("fmt --check " + file.string()).exit_code);
}

TEST(Cli, FmtRefusesFilesWithSyntaxErrorsAndLeavesThemAlone) {
  TempDir dir;
  const std::string broken = "workflow b version 1\nstep s call\n";
  auto file = dir.Write("b.flow", broken);
  CliRun r = Cli("fmt " + file.string());
  EXPECT_EQ(1, r.exit_code) << r.out;
  EXPECT_EQ(broken, ReadText(file));
}

}  // namespace
