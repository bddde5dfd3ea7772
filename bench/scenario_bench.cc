// `retailflow test` speed: the shipped scenario suites (workflows/*.tests) per second, and the
// wall time of one scenario with a 30-day wait and 10 retries. Prints figures; asserts nothing.
//   build/bench/rf_bench_scenarios [--rounds=N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "dsl/compiler.h"
#include "testing/runner.h"
#include "testing/scenario.h"

namespace fs = std::filesystem;
using namespace rf;

namespace {

std::string Read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Suite {
  std::string name, flow_source;
  ir::Machine machine;
  testing::ScenarioFile file;
};

double Ms(std::chrono::steady_clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

const char* kLongFlow = R"(workflow long_haul version 1
uses shop
input
  order_id text
step reserve
  call shop.reserve with order = input.order_id
  save result as reservation
  retry up to 11 times waiting 1s doubling up to 1h
wait cool_off
  for 30 days
step charge
  call shop.charge with order = input.order_id
finish done "ok"
)";
const char* kLongCatalog = R"({"format": "retailflow.catalog/1", "connectors": [{"name": "shop",
  "operations": [{"name": "reserve", "output": [{"name": "id", "type": "text"}]},
                 {"name": "charge", "output": [{"name": "id", "type": "text"}]}]}]})";
const char* kLongTests = R"(tests for long_haul
scenario "a 30-day wait and 10 retries"
  given input {order_id = "L-1"}
  answer shop.reserve unavailable 10 times then with {id = "R"}
  expect shop.reserve is called 11 times
  expect ends in done
end
)";

}  // namespace

int main(int argc, char** argv) {
  int rounds = 20;
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], "--rounds=", 9) == 0) rounds = std::max(1, std::atoi(argv[i] + 9));
  fs::path root = RF_SOURCE_DIR;
  dsl::Catalog catalog;
  for (const auto& e : fs::directory_iterator(root / "workflows" / "connectors"))
    if (e.path().extension() == ".json") (void)catalog.AddJson(Read(e.path()), e.path().string());
  std::vector<Suite> suites;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(root / "workflows"))
    if (e.path().extension() == ".tests") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  size_t scenarios = 0;
  for (const auto& f : files) {
    Suite s;
    dsl::Diagnostics d;
    s.file = testing::ParseScenarios(Read(f), d);
    s.flow_source = Read(f.parent_path() / (s.file.flow.text + ".flow"));
    auto m = dsl::CompileSource(s.flow_source, catalog, d);
    if (!m || d.HasErrors()) {
      std::fprintf(stderr, "%s: does not check\n", f.c_str());
      return 2;
    }
    s.machine = *m;
    s.name = f.filename().string();
    scenarios += s.file.scenarios.size();
    suites.push_back(std::move(s));
  }
  std::vector<double> round_ms;
  size_t failed = 0;
  for (int r = 0; r < rounds; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    for (const auto& s : suites)
      for (const auto& sc : s.file.scenarios) failed += testing::RunScenario(s.machine, s.flow_source, sc, catalog).passed ? 0 : 1;
    round_ms.push_back(Ms(std::chrono::steady_clock::now() - t0));
  }
  std::sort(round_ms.begin(), round_ms.end());
  double med = round_ms[round_ms.size() / 2];
  std::printf("shipped suites: %zu files, %zu scenarios; %d rounds; all of them in %.1f ms (median; min %.1f, max %.1f) = %.0f scenarios/s; %zu failed runs\n",
              suites.size(), scenarios, rounds, med, round_ms.front(), round_ms.back(), scenarios / (med / 1000.0), failed);

  dsl::Catalog lc;
  (void)lc.AddJson(kLongCatalog, "bench");
  dsl::Diagnostics d;
  auto m = dsl::CompileSource(kLongFlow, lc, d);
  testing::ScenarioFile lf = testing::ParseScenarios(kLongTests, d);
  if (!m || d.HasErrors() || lf.scenarios.size() != 1) {
    std::fprintf(stderr, "long_haul: does not check\n");
    return 2;
  }
  std::vector<double> ms;
  testing::ScenarioResult last;
  for (int r = 0; r < std::max(rounds, 20); ++r) {
    auto t0 = std::chrono::steady_clock::now();
    last = testing::RunScenario(*m, kLongFlow, lf.scenarios[0], lc);
    ms.push_back(Ms(std::chrono::steady_clock::now() - t0));
  }
  std::sort(ms.begin(), ms.end());
  std::printf("30-day wait + 10 retries: %s, virtual time %.1f days, wall %.2f ms (median of %zu; min %.2f, max %.2f)\n",
              last.passed ? "passed" : "FAILED", last.virtual_time.ms / 86400000.0, ms[ms.size() / 2], ms.size(), ms.front(), ms.back());
  return 0;
}
