#include "testing/report.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/time_text.h"
#include "dsl/diagnostics.h"

namespace rf::testing {
namespace {

std::string Pad(std::string s, size_t n) {
  if (s.size() < n) s.append(n - s.size(), ' ');
  return s;
}

std::string Xml(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') out += ' ';
        else out += c;
    }
  }
  return out;
}

std::string FailureText(const FileReport& rep, const Failure& f, bool color) {
  dsl::Diagnostic d;
  d.code = "scenario-failed";
  d.loc = f.loc;
  d.length = f.length;
  d.message = f.message;
  return dsl::RenderText(d, rep.file, rep.source, color);
}

}  // namespace

std::string RenderText(const FileReport& rep, bool color) {
  std::string out;
  for (const auto& r : rep.results) {
    out += (r.passed ? (color ? "\033[32mPASS\033[0m " : "PASS ") : (color ? "\033[31mFAIL\033[0m " : "FAIL ")) +
           rep.flow_name + ": " + r.title + "\n";
    for (const auto& t : r.trace) out += "  " + Pad("+" + FormatDuration(t.at), 10) + t.text + "\n";
    out += "  => " + r.status + (r.outcome.empty() ? "" : ": " + r.outcome) + "  (" + std::to_string(r.expectations) +
           " expectation" + (r.expectations == 1 ? "" : "s") + " checked)\n";
    if (r.failure) {
      std::string f = FailureText(rep, *r.failure, color);
      out += f;
      if (!f.empty() && f.back() != '\n') out += "\n";
    }
    out += "\n";
  }
  return out;
}

std::string RenderCoverage(const std::vector<Coverage>& coverage) {
  std::string out;
  for (const auto& c : coverage) {
    auto pct = [](size_t a, size_t b) { return b == 0 ? std::string("100%") : std::to_string(a * 100 / b) + "%"; };
    auto count = [](const std::set<std::string>& all, const std::set<std::string>& seen) {
      size_t n = 0;
      for (const auto& x : all) n += seen.count(x);
      return n;
    };
    size_t s = count(c.all.states, c.seen.states), t = count(c.all.transitions, c.seen.transitions),
           u = count(c.all.undos, c.seen.undos);
    out += "coverage " + c.flow + ": states " + std::to_string(s) + "/" + std::to_string(c.all.states.size()) + " (" +
           pct(s, c.all.states.size()) + "), transitions " + std::to_string(t) + "/" +
           std::to_string(c.all.transitions.size()) + " (" + pct(t, c.all.transitions.size()) + "), undo " +
           std::to_string(u) + "/" + std::to_string(c.all.undos.size()) + " (" + pct(u, c.all.undos.size()) + ")\n";
    for (const auto& x : c.all.states)
      if (!c.seen.states.count(x)) out += "  not reached: state " + x + "\n";
    for (const auto& x : c.all.transitions)
      if (!c.seen.transitions.count(x)) out += "  not taken: " + x + "\n";
    for (const auto& x : c.all.undos)
      if (!c.seen.undos.count(x)) out += "  never undone: " + x + "\n";
  }
  return out;
}

std::string RenderJson(const std::vector<FileReport>& reports, const std::vector<Coverage>& coverage) {
  nlohmann::json files = nlohmann::json::array();
  for (const auto& rep : reports) {
    nlohmann::json scen = nlohmann::json::array();
    for (const auto& r : rep.results) {
      nlohmann::json j{{"title", r.title}, {"line", r.loc.line}, {"passed", r.passed}, {"status", r.status},
                       {"outcome", r.outcome}, {"expectations", r.expectations}, {"virtual_ms", r.virtual_time.ms}};
      if (r.failure)
        j["failure"] = {{"line", r.failure->loc.line}, {"column", r.failure->loc.column}, {"message", r.failure->message}};
      nlohmann::json tr = nlohmann::json::array();
      for (const auto& t : r.trace) tr.push_back({{"at_ms", t.at.ms}, {"text", t.text}});
      j["trace"] = tr;
      scen.push_back(j);
    }
    files.push_back({{"file", rep.file}, {"flow", rep.flow_name}, {"scenarios", scen}});
  }
  nlohmann::json cov = nlohmann::json::array();
  for (const auto& c : coverage) {
    auto list = [](const std::set<std::string>& all, const std::set<std::string>& seen, bool covered) {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& x : all)
        if (static_cast<bool>(seen.count(x)) == covered) a.push_back(x);
      return a;
    };
    cov.push_back({{"flow", c.flow},
                   {"states", {{"total", c.all.states.size()}, {"missed", list(c.all.states, c.seen.states, false)}}},
                   {"transitions", {{"total", c.all.transitions.size()}, {"missed", list(c.all.transitions, c.seen.transitions, false)}}},
                   {"undo", {{"total", c.all.undos.size()}, {"missed", list(c.all.undos, c.seen.undos, false)}}}});
  }
  return nlohmann::json{{"files", files}, {"coverage", cov}}.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string RenderJunit(const std::vector<FileReport>& reports) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n";
  for (const auto& rep : reports) {
    size_t failures = 0;
    double ms = 0;
    for (const auto& r : rep.results) {
      failures += r.passed ? 0 : 1;
      ms += r.wall_ms;
    }
    char time[32];
    std::snprintf(time, sizeof time, "%.3f", ms / 1000.0);
    out += "  <testsuite name=\"" + Xml(rep.flow_name) + "\" file=\"" + Xml(rep.file) + "\" tests=\"" +
           std::to_string(rep.results.size()) + "\" failures=\"" + std::to_string(failures) + "\" time=\"" + time + "\">\n";
    for (const auto& r : rep.results) {
      std::snprintf(time, sizeof time, "%.3f", r.wall_ms / 1000.0);
      out += "    <testcase classname=\"" + Xml(rep.flow_name) + "\" name=\"" + Xml(r.title) + "\" file=\"" + Xml(rep.file) +
             "\" line=\"" + std::to_string(r.loc.line) + "\" time=\"" + time + "\"";
      if (r.passed) {
        out += "/>\n";
        continue;
      }
      out += ">\n      <failure message=\"" + Xml(r.failure->message) + "\">" + Xml(rep.file) + ":" +
             std::to_string(r.failure->loc.line) + ":" + std::to_string(r.failure->loc.column) + ": " +
             Xml(r.failure->message) + "</failure>\n    </testcase>\n";
    }
    out += "  </testsuite>\n";
  }
  return out + "</testsuites>\n";
}

}  // namespace rf::testing
