// Text forms of durations and points in time, shared by the language, the engine and config.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/value.h"

namespace rf {

// "250ms", "10s", "5m", "2h", "3d", "1w", compounds "1h30m", and spelled units with an optional
// space: "7 days", "1 hour", "30 minutes", "2 weeks", "45 seconds". No sign, no fractions.
// Returns nullopt for anything else or on overflow.
std::optional<Duration> ParseDuration(std::string_view text);
// Canonical compact form: "1h30m", "7d", "250ms", "0s". ParseDuration(FormatDuration(d)) == d.
std::string FormatDuration(Duration d);

// ISO-8601 / RFC 3339: "2026-11-27T06:35:20Z", with optional fraction and numeric offset
// ("+01:00"); also the date-only "2026-11-27" (midnight UTC).
std::optional<Time> ParseTime(std::string_view text);
// "2026-11-27T06:35:20.123Z" (milliseconds only when non-zero).
std::string FormatTime(Time t);

}  // namespace rf
