// The "request still in progress" rule. See in_progress.h.
#include "connectors/builtin/src/in_progress.h"

#include <algorithm>
#include <charconv>

namespace rf::connectors {

using nlohmann::json;

namespace {

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

Result<InProgressRule> InProgressRule::Read(settings::Reader& in) {
  InProgressRule rule;
  auto it = in.root().find("in_progress");
  if (it == in.root().end()) return rule;
  const json& j = *it;
  if (j.is_boolean()) {
    rule.enabled_ = j.get<bool>();
    return rule;
  }
  if (Status s =
          in.OnlyKnown(j, "in_progress", {"status", "problem_types", "first_wait", "max_wait"});
      !s.ok()) {
    return s;
  }
  if (auto st = j.find("status"); st != j.end()) {
    if (!st->is_number_integer() || st->get<int>() < 400 || st->get<int>() > 599) {
      return in.Error("in_progress.status", "expected an error status (400-599)");
    }
    rule.status_ = st->get<int>();
  }
  if (auto types = j.find("problem_types"); types != j.end()) {
    if (!types->is_array()) return in.Error("in_progress.problem_types", "expected a list of URIs");
    rule.problem_types_.clear();
    for (const json& t : *types) {
      if (!t.is_string() || t.get<std::string>().empty()) {
        return in.Error("in_progress.problem_types", "expected non-empty URI strings");
      }
      rule.problem_types_.insert(t.get<std::string>());
    }
  }
  auto first = in.Duration(j, "first_wait", rule.first_wait_, "in_progress");
  if (!first.ok()) return first.status();
  auto max = in.Duration(j, "max_wait", rule.max_wait_, "in_progress");
  if (!max.ok()) return max.status();
  if (first->count() <= 0 || *max < *first) {
    return in.Error("in_progress", "expected 0 < first_wait <= max_wait");
  }
  rule.first_wait_ = *first;
  rule.max_wait_ = *max;
  return rule;
}

bool InProgressRule::Matches(const http::Response& r) const {
  // A problem document is small; a large body is not one (and is not worth parsing here).
  constexpr size_t kMaxProblemBytes = 64 * 1024;
  if (!enabled_ || r.status != status_ || r.body.empty() || r.body.size() > kMaxProblemBytes) {
    return false;
  }
  json body = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object()) return false;
  auto type = body.find("type");
  if (type != body.end() && type->is_string() && problem_types_.count(type->get<std::string>())) {
    return true;
  }
  auto title = body.find("title");
  return title != body.end() && title->is_string() &&
         EqualsIgnoringCase(title->get<std::string>(), kDraftInProgressTitle);
}

std::chrono::milliseconds InProgressRule::WaitAfter(int answers, const http::Response& r) const {
  std::string retry_after = r.Header("Retry-After");
  int seconds = 0;
  auto [end, ec] =
      std::from_chars(retry_after.data(), retry_after.data() + retry_after.size(), seconds);
  if (!retry_after.empty() && ec == std::errc() && end == retry_after.data() + retry_after.size() &&
      seconds >= 0) {
    return std::min<std::chrono::milliseconds>(std::chrono::seconds(seconds), max_wait_);
  }
  std::chrono::milliseconds wait = first_wait_;
  for (int i = 1; i < answers && wait < max_wait_; ++i) wait *= 2;
  return std::min(wait, max_wait_);
}

}  // namespace rf::connectors
