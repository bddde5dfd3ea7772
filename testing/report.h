// Reports of scenario runs: the readable trace (text), JSON for tools, JUnit XML for CI, and
// coverage of each flow's states, transitions and undo actions.
#pragma once

#include <string>
#include <vector>

#include "testing/runner.h"

namespace rf::testing {

// The results of one .tests file.
struct FileReport {
  std::string file, source;  // the scenario file and its text (for the caret under a failure)
  std::string flow_name;
  std::vector<ScenarioResult> results;
};

// One flow's coverage over every scenario that tests it.
struct Coverage {
  std::string flow;
  Visits all, seen;
};

std::string RenderText(const FileReport& report, bool color = false);
std::string RenderCoverage(const std::vector<Coverage>& coverage);
// {"files":[{"file","flow","scenarios":[{"title","line","passed","status","outcome",
//   "failure":{"line","column","message"},"trace":[{"at_ms","text"}]}]}],"coverage":[...]}
std::string RenderJson(const std::vector<FileReport>& reports, const std::vector<Coverage>& coverage);
std::string RenderJunit(const std::vector<FileReport>& reports);

}  // namespace rf::testing
