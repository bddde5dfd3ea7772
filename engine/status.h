// The vocabulary of an instance's life, typed. Strings appear only at the edges (JSON, HTTP):
// Name() gives the documented spelling, Parse*() reads it back.
#pragma once

#include <optional>
#include <string_view>

namespace rf::engine {

// Terminal: completed, compensated, failed, cancelled, compensation_failed (docs/engine.md).
//   running      work in progress (a call in flight, or about to be)
//   waiting      parked on a timer, an event or a human task
//   held         a step failed and waits for an operator (only with hold_failed_steps)
//   compensating running the undo chain after a failure or a cancel
//   completed    reached `finish`
//   compensated  failed (a `fail` state or an unhandled error) and its undo chain completed
//   failed       failed and there was nothing to undo
//   cancelled    cancelled by an operator; its undo chain completed
//   compensation_failed  an undo action kept failing: an operator must act
enum class InstanceStatus {
  kRunning,
  kWaiting,
  kHeld,
  kCompensating,
  kCompleted,
  kCompensated,
  kFailed,
  kCancelled,
  kCompensationFailed,
};
inline constexpr int kInstanceStatusCount = 9;

std::string_view Name(InstanceStatus s);
std::optional<InstanceStatus> ParseInstanceStatus(std::string_view text);
bool IsTerminal(InstanceStatus s);

// An approver's answer to a human task.
enum class Decision { kApprove, kReject };
std::string_view Name(Decision d);
std::optional<Decision> ParseDecision(std::string_view text);

}  // namespace rf::engine
