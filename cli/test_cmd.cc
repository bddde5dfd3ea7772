#include "cli/test_cmd.h"

#include <filesystem>
#include <iostream>
#include <unistd.h>

#include "cli/catalog_files.h"
#include "dsl/compiler.h"
#include "testing/report.h"
#include "testing/runner.h"
#include "testing/scenario.h"

namespace fs = std::filesystem;

namespace rf::cli {
namespace {

// The scenario files named: files as given, folders searched (recursively) for *.tests.
std::vector<std::string> ScenarioFiles(const std::vector<std::string>& args, bool& missing) {
  std::vector<std::string> out;
  for (const auto& a : args) {
    std::error_code ec;
    if (fs::is_directory(a, ec)) {
      std::vector<std::string> found;
      for (auto it = fs::recursive_directory_iterator(a, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
        if (it->is_regular_file(ec) && it->path().extension() == ".tests") found.push_back(it->path().string());
      std::sort(found.begin(), found.end());
      out.insert(out.end(), found.begin(), found.end());
    } else if (fs::exists(a, ec)) {
      out.push_back(a);
    } else {
      std::cerr << "retailflow: no such file or folder: " << a << "\n";
      missing = true;
    }
  }
  return out;
}

// The flow a scenario file tests: NAME.flow beside it, in its parent folder, or in a
// `workflows/` folder beside that parent (for a `tests/` folder next to `workflows/`).
std::string FindFlow(const std::string& tests_file, const std::string& name) {
  fs::path dir = fs::path(tests_file).parent_path();
  if (dir.empty()) dir = ".";
  for (const fs::path& p : {dir / (name + ".flow"), dir.parent_path() / (name + ".flow"),
                            dir.parent_path() / "workflows" / (name + ".flow")}) {
    std::error_code ec;
    if (fs::is_regular_file(p, ec)) return p.string();
  }
  return {};
}

void Print(const dsl::Diagnostics& d, const std::string& file, const std::string& source, bool color) {
  for (const auto& x : d.all()) std::cerr << dsl::RenderText(x, file, source, color) << "\n";
}

int RunTests(const std::vector<std::string>& args, const std::string& format, bool coverage,
             const std::vector<std::string>& catalogs) {
  bool missing = false;
  std::vector<std::string> files = ScenarioFiles(args, missing);
  bool invalid = missing, failed = false;
  bool color = format == "text" && isatty(STDOUT_FILENO);
  std::vector<testing::FileReport> reports;
  std::map<std::string, testing::Coverage> cov;
  size_t passed = 0, total = 0;
  for (const auto& f : files) {
    std::string source;
    if (!ReadFile(f, source)) {
      std::cerr << "retailflow: cannot read " << f << "\n";
      invalid = true;
      continue;
    }
    dsl::Diagnostics diags;
    testing::ScenarioFile sf = testing::ParseScenarios(source, diags);
    if (diags.HasErrors()) {
      Print(diags, f, source, color);
      invalid = true;
      continue;
    }
    std::string flow_file = FindFlow(f, sf.flow.text);
    if (flow_file.empty()) {
      dsl::Diagnostic d;
      d.code = "flow-not-found";
      d.loc = sf.flow.loc;
      d.length = static_cast<int>(sf.flow.text.size());
      d.message = "no flow file " + sf.flow.text + ".flow beside this file";
      d.hint = "put the .tests file in the folder of " + sf.flow.text + ".flow (or in a tests/ folder next to workflows/)";
      std::cerr << dsl::RenderText(d, f, source, color) << "\n";
      invalid = true;
      continue;
    }
    dsl::Catalog catalog;
    if (!LoadCatalog({flow_file}, catalogs, catalog)) {
      invalid = true;
      continue;
    }
    std::string flow_source;
    if (!ReadFile(flow_file, flow_source)) {
      std::cerr << "retailflow: cannot read " << flow_file << "\n";
      invalid = true;
      continue;
    }
    dsl::Diagnostics flow_diags;
    auto machine = dsl::CompileSource(flow_source, catalog, flow_diags);
    if (!machine) {
      Print(flow_diags, flow_file, flow_source, color);
      std::cerr << "retailflow: " << flow_file << " does not compile; its scenarios in " << f << " did not run\n";
      invalid = true;
      continue;
    }
    fs::path base = fs::path(f).parent_path();
    testing::ResolveFixtures(sf, [&](const std::string& rel) -> Result<std::string> {
      std::string text;
      if (!ReadFile((base / rel).string(), text)) return Status::NotFound("no such file");
      return text;
    }, diags);
    testing::CheckScenarios(sf, *machine, catalog, diags);
    if (diags.HasErrors()) {
      Print(diags, f, source, color);
      invalid = true;
      continue;
    }
    testing::FileReport rep{f, source, machine->name, {}};
    auto& c = cov[machine->name];
    c.flow = machine->name;
    c.all = testing::AllOf(*machine);
    for (const auto& s : sf.scenarios) {
      auto r = testing::RunScenario(*machine, flow_source, s, catalog);
      c.seen.states.insert(r.visits.states.begin(), r.visits.states.end());
      c.seen.transitions.insert(r.visits.transitions.begin(), r.visits.transitions.end());
      c.seen.undos.insert(r.visits.undos.begin(), r.visits.undos.end());
      ++total;
      if (r.passed) ++passed; else failed = true;
      rep.results.push_back(std::move(r));
    }
    if (format == "text") std::cout << testing::RenderText(rep, color) << std::flush;
    reports.push_back(std::move(rep));
  }
  std::vector<testing::Coverage> coverage_list;
  for (auto& [_, c] : cov) coverage_list.push_back(c);
  if (format == "json") {
    std::cout << testing::RenderJson(reports, coverage ? coverage_list : std::vector<testing::Coverage>{});
  } else if (format == "junit") {
    std::cout << testing::RenderJunit(reports);
  } else {
    if (coverage) std::cout << testing::RenderCoverage(coverage_list);
    std::cout << "scenarios: " << passed << " passed, " << (total - passed) << " failed"
              << (invalid ? " (some files are invalid and did not run)" : "") << "\n";
  }
  if (files.empty() && !missing) {
    std::cerr << "retailflow: no .tests files found\n";
    return 2;
  }
  if (invalid) return 2;
  return failed ? 1 : 0;
}

}  // namespace

void AddTestCommand(CLI::App& app, int* rc) {
  auto* cmd = app.add_subcommand("test", "Run scenario files (.tests) on the engine with a virtual clock (docs/testing.md)");
  auto files = std::make_shared<std::vector<std::string>>();
  auto catalogs = std::make_shared<std::vector<std::string>>();
  auto format = std::make_shared<std::string>("text");
  auto coverage = std::make_shared<bool>(false);
  cmd->add_option("files", *files, "Scenario files, or folders to search for *.tests")->required();
  cmd->add_option("--format", *format, "text, json or junit")->check(CLI::IsMember({"text", "json", "junit"}));
  cmd->add_flag("--coverage", *coverage, "Print the states, transitions and undo actions the scenarios exercised");
  cmd->add_option("--catalog", *catalogs, "Extra connector catalog file or directory");
  cmd->callback([=] { *rc = RunTests(*files, *format, *coverage, *catalogs); });
}

}  // namespace rf::cli
