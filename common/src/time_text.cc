#include "common/time_text.h"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

namespace rf {

namespace {

constexpr std::int64_t kMsPerSecond = 1000;
constexpr std::int64_t kMsPerMinute = 60 * kMsPerSecond;
constexpr std::int64_t kMsPerHour = 60 * kMsPerMinute;
constexpr std::int64_t kMsPerDay = 24 * kMsPerHour;
constexpr std::int64_t kMsPerWeek = 7 * kMsPerDay;

struct Unit {
  const char* compact;
  std::int64_t ms;
};
// Descending: compound durations must list their units in this order, each at most once.
constexpr Unit kUnits[] = {{"w", kMsPerWeek},   {"d", kMsPerDay},    {"h", kMsPerHour},
                           {"m", kMsPerMinute}, {"s", kMsPerSecond}, {"ms", 1}};
constexpr int kUnitCount = sizeof(kUnits) / sizeof(kUnits[0]);

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLower(char c) { return c >= 'a' && c <= 'z'; }

// Reads a run of digits as a non-negative int64; false on overflow or when there are none.
bool ReadNumber(std::string_view text, std::size_t& i, std::int64_t& out) {
  const std::size_t start = i;
  std::int64_t v = 0;
  for (; i < text.size() && IsDigit(text[i]); ++i) {
    const int d = text[i] - '0';
    if (v > (std::numeric_limits<std::int64_t>::max() - d) / 10) return false;
    v = v * 10 + d;
  }
  if (i == start) return false;
  out = v;
  return true;
}

bool MulAdd(std::int64_t count, std::int64_t unit_ms, std::int64_t& total) {
  if (count > (std::numeric_limits<std::int64_t>::max() - total) / unit_ms) return false;
  total += count * unit_ms;
  return true;
}

std::int64_t SpelledUnit(std::string_view word) {
  struct Spelled {
    std::string_view singular;
    std::int64_t ms;
  };
  static constexpr Spelled kSpelled[] = {{"second", kMsPerSecond},
                                         {"minute", kMsPerMinute},
                                         {"hour", kMsPerHour},
                                         {"day", kMsPerDay},
                                         {"week", kMsPerWeek}};
  for (const Spelled& s : kSpelled) {
    if (word == s.singular) return s.ms;
    if (word.size() == s.singular.size() + 1 && word.substr(0, s.singular.size()) == s.singular &&
        word.back() == 's') {
      return s.ms;
    }
  }
  return 0;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct Civil {
  std::int64_t y;
  unsigned m;
  unsigned d;
};

Civil CivilFromDays(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return Civil{m <= 2 ? y + 1 : y, m, d};
}

bool IsLeap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(std::int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Exactly `count` digits at text[i...]; advances i.
bool FixedDigits(std::string_view text, std::size_t& i, int count, unsigned& out) {
  if (i + static_cast<std::size_t>(count) > text.size()) return false;
  unsigned v = 0;
  for (int k = 0; k < count; ++k) {
    const char c = text[i + static_cast<std::size_t>(k)];
    if (!IsDigit(c)) return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  i += static_cast<std::size_t>(count);
  out = v;
  return true;
}

bool Expect(std::string_view text, std::size_t& i, char c) {
  if (i >= text.size() || text[i] != c) return false;
  ++i;
  return true;
}

void AppendPadded(std::string& out, std::int64_t v, int width) {
  std::string digits = std::to_string(v);
  if (static_cast<int>(digits.size()) < width) {
    out.append(static_cast<std::size_t>(width) - digits.size(), '0');
  }
  out += digits;
}

}  // namespace

std::optional<Duration> ParseDuration(std::string_view text) {
  std::size_t i = 0;
  std::int64_t first = 0;
  if (!ReadNumber(text, i, first)) return std::nullopt;

  // Spelled form: "<n> <unit>" or "<n><unit>" with unit second(s)/minute(s)/hour(s)/day(s)/week(s).
  {
    std::size_t j = i;
    if (j < text.size() && text[j] == ' ') ++j;
    const std::string_view word = text.substr(j);
    if (const std::int64_t unit = SpelledUnit(word); unit != 0) {
      std::int64_t total = 0;
      if (!MulAdd(first, unit, total)) return std::nullopt;
      return Duration{total};
    }
  }

  // Compact form: one or more "<n><unit>" with units in strictly descending order.
  std::int64_t total = 0;
  int next_unit = 0;  // Index into kUnits of the largest unit still allowed.
  std::int64_t count = first;
  while (true) {
    const std::size_t unit_start = i;
    while (i < text.size() && IsLower(text[i])) ++i;
    const std::string_view unit = text.substr(unit_start, i - unit_start);
    int found = -1;
    for (int u = next_unit; u < kUnitCount; ++u) {
      if (unit == kUnits[u].compact) {
        found = u;
        break;
      }
    }
    if (found < 0) return std::nullopt;
    if (!MulAdd(count, kUnits[found].ms, total)) return std::nullopt;
    next_unit = found + 1;
    if (i == text.size()) return Duration{total};
    if (!ReadNumber(text, i, count)) return std::nullopt;
  }
}

std::string FormatDuration(Duration d) {
  if (d.ms == 0) return "0s";
  std::string out;
  std::uint64_t rest;
  if (d.ms < 0) {
    out.push_back('-');
    rest = static_cast<std::uint64_t>(-(d.ms + 1)) + 1;  // No overflow for INT64_MIN.
  } else {
    rest = static_cast<std::uint64_t>(d.ms);
  }
  for (const Unit& u : kUnits) {
    const auto unit_ms = static_cast<std::uint64_t>(u.ms);
    const std::uint64_t n = rest / unit_ms;
    if (n == 0) continue;
    out += std::to_string(n);
    out += u.compact;
    rest -= n * unit_ms;
  }
  return out;
}

std::optional<Time> ParseTime(std::string_view text) {
  std::size_t i = 0;
  unsigned year = 0, month = 0, day = 0;
  if (!FixedDigits(text, i, 4, year) || !Expect(text, i, '-') || !FixedDigits(text, i, 2, month) ||
      !Expect(text, i, '-') || !FixedDigits(text, i, 2, day)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month)) return std::nullopt;
  const std::int64_t days = DaysFromCivil(year, month, day);
  if (i == text.size()) return Time{days * kMsPerDay};

  if (text[i] != 'T' && text[i] != 't') return std::nullopt;
  ++i;
  unsigned hour = 0, minute = 0, second = 0;
  if (!FixedDigits(text, i, 2, hour) || !Expect(text, i, ':') || !FixedDigits(text, i, 2, minute) ||
      !Expect(text, i, ':') || !FixedDigits(text, i, 2, second)) {
    return std::nullopt;
  }
  if (hour > 23 || minute > 59 || second > 59) return std::nullopt;
  std::int64_t millis = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    const std::size_t start = i;
    int place = 100;
    for (; i < text.size() && IsDigit(text[i]); ++i) {
      millis += (text[i] - '0') * place;  // Digits beyond milliseconds are truncated.
      place /= 10;
    }
    if (i == start) return std::nullopt;
  }
  if (i >= text.size()) return std::nullopt;  // The offset is required.
  std::int64_t offset_minutes = 0;
  if (text[i] == 'Z' || text[i] == 'z') {
    ++i;
  } else if (text[i] == '+' || text[i] == '-') {
    const bool neg = text[i] == '-';
    ++i;
    unsigned oh = 0, om = 0;
    if (!FixedDigits(text, i, 2, oh) || !Expect(text, i, ':') || !FixedDigits(text, i, 2, om)) {
      return std::nullopt;
    }
    if (oh > 23 || om > 59) return std::nullopt;
    offset_minutes = static_cast<std::int64_t>(oh * 60 + om) * (neg ? -1 : 1);
  } else {
    return std::nullopt;
  }
  if (i != text.size()) return std::nullopt;
  const std::int64_t local_ms =
      days * kMsPerDay + hour * kMsPerHour + minute * kMsPerMinute + second * kMsPerSecond + millis;
  return Time{local_ms - offset_minutes * kMsPerMinute};
}

std::string FormatTime(Time t) {
  // Floor division so that times before 1970 print correctly.
  std::int64_t days = t.ms / kMsPerDay;
  std::int64_t rest = t.ms % kMsPerDay;
  if (rest < 0) {
    rest += kMsPerDay;
    --days;
  }
  const Civil c = CivilFromDays(days);
  std::string out;
  out.reserve(24);
  if (c.y < 0) {
    out.push_back('-');
    AppendPadded(out, -c.y, 4);
  } else {
    AppendPadded(out, c.y, 4);
  }
  out.push_back('-');
  AppendPadded(out, c.m, 2);
  out.push_back('-');
  AppendPadded(out, c.d, 2);
  out.push_back('T');
  AppendPadded(out, rest / kMsPerHour, 2);
  out.push_back(':');
  AppendPadded(out, rest / kMsPerMinute % 60, 2);
  out.push_back(':');
  AppendPadded(out, rest / kMsPerSecond % 60, 2);
  if (const std::int64_t ms = rest % kMsPerSecond; ms != 0) {
    out.push_back('.');
    AppendPadded(out, ms, 3);
  }
  out.push_back('Z');
  return out;
}

}  // namespace rf
