#include "engine/status.h"

#include <array>

namespace rf::engine {

namespace {
constexpr std::array<std::string_view, kInstanceStatusCount> kStatusNames = {
    "running",   "waiting", "held", "compensating", "completed", "compensated", "failed",
    "cancelled", "compensation_failed"};
}

std::string_view Name(InstanceStatus s) { return kStatusNames[static_cast<size_t>(s)]; }

std::optional<InstanceStatus> ParseInstanceStatus(std::string_view text) {
  for (size_t i = 0; i < kStatusNames.size(); ++i)
    if (kStatusNames[i] == text) return static_cast<InstanceStatus>(i);
  return std::nullopt;
}

bool IsTerminal(InstanceStatus s) {
  return s == InstanceStatus::kCompleted || s == InstanceStatus::kCompensated || s == InstanceStatus::kFailed ||
         s == InstanceStatus::kCancelled || s == InstanceStatus::kCompensationFailed;
}

std::string_view Name(Decision d) { return d == Decision::kApprove ? "approve" : "reject"; }

std::optional<Decision> ParseDecision(std::string_view text) {
  if (text == "approve") return Decision::kApprove;
  if (text == "reject") return Decision::kReject;
  return std::nullopt;
}

}  // namespace rf::engine
