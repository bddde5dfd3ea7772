// What `retailflow check` costs on pathological .flow files, per KB, at several sizes.
//
// Each shape is a file an analyst (or an attacker posting to /v1/workflows) could write: deep
// brackets, `not` chains, unclosed braces in a text, one very long line, thousands of states,
// long and/or chains, many errors, long texts. A check is parse + checks + compile + rendering
// every diagnostic as text, as the CLI does. For each shape the bench prints the median time per
// KB at each size and the ratio of the largest size's per-KB time to the smallest's: about 1
// means the check is linear in the file's size; a quadratic path shows as a ratio near the size
// ratio (100 between 10 KB and 1 MB).
//
// Usage: rf_bench_dsl_pathological [--sizes KB,KB,...] [SHAPE...]   (default: 10,100,1000, all)
// A size whose first run takes longer than 20 s is reported and the shape's larger sizes skipped.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "dsl/compiler.h"
#include "dsl/diagnostics.h"

namespace {

constexpr char kHeader[] = "workflow shape version 1\ninput x number, t text, l list\n";

// Repeats `unit` until the text reaches `bytes`.
std::string Fill(const std::string& unit, size_t bytes) {
  std::string s;
  s.reserve(bytes + unit.size());
  while (s.size() < bytes) s += unit;
  return s;
}

std::string Decide(const std::string& condition) {
  return std::string(kHeader) + "decide d\n  when " + condition +
         " go to done\n  otherwise go to done\nfinish done\n";
}

struct Shape {
  const char* name;
  const char* what;
  std::function<std::string(size_t)> make;
};

std::vector<Shape> Shapes() {
  return {
      {"parens", "one `when` of N nested parentheses",
       [](size_t n) {
         std::string open(n / 2, '('), close(n / 2, ')');
         return Decide(open + "input.x == 1" + close);
       }},
      {"not_chain", "one `when` of N/4 `not`s",
       [](size_t n) { return Decide(Fill("not ", n) + "true"); }},
      {"minus_chain", "a value of N/2 unary minus signs",
       [](size_t n) { return Decide(Fill("- ", n) + "1 > 0"); }},
      {"field_chain", "a field path of N/2 fields",
       [](size_t n) { return Decide("input" + Fill(".a", n) + " == 1"); }},
      {"blocks", "for-each blocks nested N/60 deep",
       [](size_t n) {
         std::string s = kHeader;
         size_t k = n / 60;
         for (size_t i = 0; i < k; ++i) s += "for each i in input.l as f" + std::to_string(i) + "\n";
         s += "set v\n  a = 1\n";
         for (size_t i = 0; i < k; ++i) s += "end\n";
         return s + "finish\n";
       }},
      {"braces", "a text of N unclosed `{`",
       [](size_t n) { return std::string(kHeader) + "fail \"" + std::string(n, '{') + "\"\n"; }},
      {"interpolations", "a text of N/9 `{input.t}`",
       [](size_t n) { return std::string(kHeader) + "fail \"" + Fill("{input.t}", n) + "\"\n"; }},
      {"long_line", "a valid flow of N/24 states on one line",
       [](size_t n) {
         std::string s = "workflow shape version 1 input x number";
         for (size_t i = 0; s.size() < n; ++i) s += " set s" + std::to_string(i) + " v = input.x + 1";
         return s + " finish\n";
       }},
      {"many_states", "a valid flow of N/30 `set` states in sequence",
       [](size_t n) {
         std::string s = kHeader;
         for (size_t i = 0; s.size() < n; ++i) s += "set s" + std::to_string(i) + "\n  v = input.x + 1\n";
         return s + "finish\n";
       }},
      {"and_chain", "one `when` of N/17 conditions joined by `and`",
       [](size_t n) { return Decide("input.x == 1" + Fill(" and input.x == 1", n)); }},
      {"or_chain", "one `when` of N/16 conditions joined by `or`",
       [](size_t n) { return Decide("input.x == 1" + Fill(" or input.x == 1", n)); }},
      {"many_errors", "N/30 states each naming an unknown value",
       [](size_t n) {
         std::string s = kHeader;
         for (size_t i = 0; s.size() < n; ++i) s += "set s" + std::to_string(i) + "\n  v = nosuch" + std::to_string(i) + "\n";
         return s + "finish\n";
       }},
      {"syntax_errors", "N/12 lines each with a syntax error",
       [](size_t n) { return std::string(kHeader) + Fill("set = = = =\n", n) + "finish\n"; }},
      {"long_string", "a valid text of N characters",
       [](size_t n) { return std::string(kHeader) + "fail \"" + std::string(n, 'a') + "\"\n"; }},
  };
}

struct Run {
  double ms;
  size_t diagnostics;
  std::string first_code;
};

Run CheckOnce(const std::string& source, const rf::dsl::Catalog& catalog) {
  auto t0 = std::chrono::steady_clock::now();
  rf::dsl::Diagnostics diags;
  (void)rf::dsl::CompileSource(source, catalog, diags);
  size_t rendered = 0;
  for (const auto& d : diags.all()) rendered += rf::dsl::RenderText(d, "shape.flow", source).size();
  auto t1 = std::chrono::steady_clock::now();
  Run r{std::chrono::duration<double, std::milli>(t1 - t0).count(), diags.ErrorCount() + diags.WarningCount(),
        diags.all().empty() ? "-" : diags.all().front().code};
  if (rendered == 0 && !diags.all().empty()) std::abort();  // keeps the rendering from being optimised away
  return r;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<size_t> sizes_kb = {10, 100, 1000};
  std::vector<std::string> only;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--sizes" && i + 1 < argc) {
      sizes_kb.clear();
      std::string list = argv[++i];
      for (size_t p = 0; p < list.size();) {
        size_t comma = list.find(',', p);
        sizes_kb.push_back(std::strtoul(list.substr(p, comma - p).c_str(), nullptr, 10));
        p = comma == std::string::npos ? list.size() : comma + 1;
      }
    } else {
      only.push_back(a);
    }
  }
  rf::dsl::Catalog catalog;
  std::printf("%-15s %8s %10s %10s %7s  %s\n", "shape", "KB", "median ms", "ms per KB", "diags", "first diagnostic");
  for (const Shape& shape : Shapes()) {
    if (!only.empty() && std::find(only.begin(), only.end(), shape.name) == only.end()) continue;
    std::vector<double> per_kb;
    for (size_t kb : sizes_kb) {
      std::string source = shape.make(kb * 1024);
      double real_kb = static_cast<double>(source.size()) / 1024.0;
      Run first = CheckOnce(source, catalog);
      std::vector<double> times = {first.ms};
      if (first.ms > 20000) {
        std::printf("%-15s %8.0f %10.0f %10.3f %7zu  %s (over budget: larger sizes skipped)\n", shape.name, real_kb,
                    first.ms, first.ms / real_kb, first.diagnostics, first.first_code.c_str());
        std::fflush(stdout);
        per_kb.clear();
        break;
      }
      // Small files run more often so each median rests on a similar amount of work.
      int repeats = first.ms < 50 ? 9 : first.ms < 1000 ? 5 : 3;
      for (int r = 1; r < repeats; ++r) times.push_back(CheckOnce(source, catalog).ms);
      double m = Median(times);
      per_kb.push_back(m / real_kb);
      std::printf("%-15s %8.0f %10.2f %10.4f %7zu  %s\n", shape.name, real_kb, m, m / real_kb, first.diagnostics,
                  first.first_code.c_str());
      std::fflush(stdout);
    }
    if (per_kb.size() >= 2)
      std::printf("%-15s ratio largest/smallest per KB: %.2f   (%s)\n", shape.name, per_kb.back() / per_kb.front(),
                  shape.what);
    std::fflush(stdout);
  }
  return 0;
}
