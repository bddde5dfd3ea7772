#include "dsl/diagnostics.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <tuple>

namespace rf::dsl {

void Diagnostics::Error(std::string code, ir::SourceLoc loc, int length, std::string message,
                        std::string hint) {
  Add({Severity::kError, std::move(code), loc, std::max(1, length), std::move(message), std::move(hint)});
}

void Diagnostics::Warning(std::string code, ir::SourceLoc loc, int length, std::string message,
                          std::string hint) {
  Add({Severity::kWarning, std::move(code), loc, std::max(1, length), std::move(message),
       std::move(hint)});
}

void Diagnostics::Add(Diagnostic d) {
  const bool error = d.severity == Severity::kError;
  ++(error ? errors_ : warnings_);
  if (Full()) {
    if (dropped_errors_ + dropped_warnings_ == 0) first_dropped_ = d.loc;
    ++(error ? dropped_errors_ : dropped_warnings_);
    return;
  }
  if (summarised_) {
    list_.pop_back();
    summarised_ = false;
  }
  list_.push_back(std::move(d));
  ++kept_;
}

void Diagnostics::Sort() {
  if (summarised_) {
    list_.pop_back();
    summarised_ = false;
  }
  auto before = [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.loc.line, a.loc.column, a.severity, a.message) <
           std::tie(b.loc.line, b.loc.column, b.severity, b.message);
  };
  auto same = [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.loc.line, a.loc.column, a.severity, a.message) ==
           std::tie(b.loc.line, b.loc.column, b.severity, b.message);
  };
  std::stable_sort(list_.begin(), list_.end(), before);
  for (size_t i = 1; i < list_.size(); ++i) {
    if (same(list_[i - 1], list_[i])) --(list_[i].severity == Severity::kError ? errors_ : warnings_);
  }
  list_.erase(std::unique(list_.begin(), list_.end(), same), list_.end());
  kept_ = list_.size();
  if (dropped_errors_ + dropped_warnings_ == 0) return;
  auto count = [](size_t n, const char* one) {
    return std::to_string(n) + " " + one + (n == 1 ? "" : "s");
  };
  std::string more;
  if (dropped_errors_ > 0) more = count(dropped_errors_, "more error");
  if (dropped_warnings_ > 0) {
    more += more.empty() ? count(dropped_warnings_, "more warning") : " and " + count(dropped_warnings_, "warning");
  }
  ir::SourceLoc at = first_dropped_;
  if (at.line < 1 || at.column < 1) at = {1, 1};
  list_.push_back({dropped_errors_ > 0 ? Severity::kError : Severity::kWarning, "too-many-diagnostics", at, 1,
                   "... and " + more + " not shown (only the first " + std::to_string(kMaxKept) +
                       " are listed)",
                   "fix the ones above and check again"});
  summarised_ = true;
}

namespace {

std::string_view LineOf(std::string_view source, int line) {
  size_t start = 0;
  for (int i = 1; i < line; ++i) {
    size_t nl = source.find('\n', start);
    if (nl == std::string_view::npos) return {};
    start = nl + 1;
  }
  size_t end = source.find('\n', start);
  std::string_view l = source.substr(start, end == std::string_view::npos ? source.size() - start : end - start);
  if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
  return l;
}

}  // namespace

std::string RenderText(const Diagnostic& d, std::string_view file, std::string_view source,
                       bool color) {
  const bool err = d.severity == Severity::kError;
  const char* bold = color ? "\033[1m" : "";
  const char* sev_color = color ? (err ? "\033[1;31m" : "\033[1;35m") : "";
  const char* green = color ? "\033[1;32m" : "";
  const char* reset = color ? "\033[0m" : "";
  std::string out;
  out += bold;
  out += std::string(file) + ":" + std::to_string(d.loc.line) + ":" + std::to_string(d.loc.column) + ": ";
  out += reset;
  out += sev_color;
  out += err ? "error: " : "warning: ";
  out += reset;
  out += bold + d.message + reset + "\n";
  std::string_view line = LineOf(source, d.loc.line);
  if (d.loc.line > 0 && !line.empty()) {
    // A long line is shown as a window around the caret, so the output stays small whatever the
    // file's layout (a whole flow may sit on one line).
    constexpr size_t kWide = 200;
    constexpr size_t kContext = 80;
    auto is_start = [&](size_t b) { return (static_cast<unsigned char>(line[b]) & 0xC0) != 0x80; };
    const int col = std::max(1, d.loc.column);
    size_t at = 0;  // byte of the caret's character
    for (int c = 1; at < line.size() && c < col; ++c) {
      ++at;
      while (at < line.size() && !is_start(at)) ++at;
    }
    size_t from = 0, to = line.size();
    if (line.size() > kWide) {
      from = at > kContext ? at - kContext : 0;
      while (from < at && !is_start(from)) ++from;
      to = std::min(line.size(), at + kContext);
      while (to < line.size() && !is_start(to)) ++to;
    }
    const std::string lead = from > 0 ? "..." : "";
    std::string gutter = std::to_string(d.loc.line);
    out += " " + gutter + " | " + lead + std::string(line.substr(from, to - from)) + (to < line.size() ? "..." : "") + "\n";
    out += " " + std::string(gutter.size(), ' ') + " | " + std::string(lead.size(), ' ');
    for (size_t b = from; b < at; ++b)
      if (is_start(b)) out += line[b] == '\t' ? '\t' : ' ';
    int room = 0;
    for (size_t b = at; b < to; ++b)
      if (is_start(b)) ++room;
    int len = std::min(d.length, std::max(1, room));
    out += green;
    out += "^" + std::string(static_cast<size_t>(std::max(0, len - 1)), '~');
    out += reset;
    out += "\n";
  }
  if (!d.hint.empty()) out += "   hint: " + d.hint + "\n";
  return out;
}

std::string RenderJson(const std::vector<Diagnostic>& ds, std::string_view file) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& d : ds) {
    arr.push_back({{"file", file},
                   {"line", d.loc.line},
                   {"column", d.loc.column},
                   {"length", d.length},
                   {"severity", d.severity == Severity::kError ? "error" : "warning"},
                   {"code", d.code},
                   {"message", d.message},
                   {"hint", d.hint}});
  }
  return arr.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string Suggest(std::string_view word, const std::vector<std::string>& candidates) {
  // Typos are short words; a long one gets no suggestion rather than a costly search.
  constexpr size_t kLongest = 64;
  if (word.size() > kLongest) return {};
  auto distance = [](std::string_view a, std::string_view b) {
    std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
      cur[0] = i;
      for (size_t j = 1; j <= b.size(); ++j) {
        size_t sub = prev[j - 1] + (std::tolower(a[i - 1]) == std::tolower(b[j - 1]) ? 0 : 1);
        cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
      }
      std::swap(prev, cur);
    }
    return prev[b.size()];
  };
  std::string best;
  size_t best_d = std::string::npos;
  size_t limit = std::max<size_t>(1, std::min<size_t>(3, word.size() / 3 + 1));
  for (const auto& c : candidates) {
    if (c == word) continue;
    // The distance is at least the difference in length: such a candidate cannot be close enough.
    size_t gap = c.size() > word.size() ? c.size() - word.size() : word.size() - c.size();
    if (gap > limit) continue;
    size_t d = distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  if (best_d <= limit) return best;
  // A prefix or containment also counts as a plausible intent ("sale" for "sale_id").
  for (const auto& c : candidates) {
    if (word.size() >= 3 && c.size() <= kLongest && c.find(word) != std::string::npos) return c;
  }
  return {};
}

}  // namespace rf::dsl
