#include "common/cron.h"

#include <date/date.h>
#include <date/tz.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace rf {

struct CronSchedule::Fields {
  std::uint64_t minutes = 0;  // bit m for minute m (0-59)
  std::uint64_t hours = 0;    // bit h (0-23)
  std::uint64_t dom = 0;      // bit d (1-31)
  std::uint64_t months = 0;   // bit m (1-12)
  std::uint64_t dow = 0;      // bit w (0-6, 0 = Sunday)
  // Vixie cron: a day-of-month or day-of-week field that begins with '*' is "unrestricted"; only
  // when neither is does a day match if either field matches (otherwise both must match).
  bool dom_star = false;
  bool dow_star = false;
  std::vector<int> minute_list;  // ascending
  std::vector<int> hour_list;    // ascending
};

namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

struct FieldSpec {
  const char* name;
  int low;
  int high;                  // largest value written (7 for day-of-week)
  int star_high;             // largest value '*' stands for (6 for day-of-week)
  const char* const* names;  // nullptr, or 3-letter names for low, low+1, ...
  int name_base;             // the value of names[0]
  const char* names_hint;    // "JAN-DEC"
};

constexpr const char* kMonthNames[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",  "JUL",
                                       "AUG", "SEP", "OCT", "NOV", "DEC", nullptr};
constexpr const char* kDayNames[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", nullptr};

constexpr FieldSpec kMinute{"minute", 0, 59, 59, nullptr, 0, nullptr};
constexpr FieldSpec kHour{"hour", 0, 23, 23, nullptr, 0, nullptr};
constexpr FieldSpec kDayOfMonth{"day-of-month", 1, 31, 31, nullptr, 0, nullptr};
constexpr FieldSpec kMonth{"month", 1, 12, 12, kMonthNames, 1, "JAN-DEC"};
constexpr FieldSpec kDayOfWeek{"day-of-week", 0, 7, 6, kDayNames, 0, "SUN-SAT"};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
char Upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

std::string Range(const FieldSpec& f) {
  return std::to_string(f.low) + "-" + std::to_string(f.high);
}

std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }

Status FieldError(const FieldSpec& f, std::string_view what, const std::string& problem) {
  return Status::InvalidArgument(std::string(f.name) + " field " + Quote(what) + " " + problem);
}

// A number or (for month and day-of-week) a name, checked against the field's range.
Status ParseFieldValue(const FieldSpec& f, std::string_view token, std::string_view item,
                       int& out) {
  if (token.empty()) return FieldError(f, item, "is missing a value");
  bool all_digits = true;
  for (char c : token) all_digits = all_digits && IsDigit(c);
  if (all_digits) {
    if (token.size() > 4) return FieldError(f, token, "is out of range " + Range(f));
    int v = 0;
    for (char c : token) v = v * 10 + (c - '0');
    if (v < f.low || v > f.high) return FieldError(f, token, "is out of range " + Range(f));
    out = v;
    return Status::Ok();
  }
  if (f.names != nullptr && token.size() == 3) {
    for (int k = 0; f.names[k] != nullptr; ++k) {
      const char* name = f.names[k];
      if (Upper(token[0]) == name[0] && Upper(token[1]) == name[1] && Upper(token[2]) == name[2]) {
        out = f.name_base + k;
        return Status::Ok();
      }
    }
  }
  if (f.names != nullptr) {
    return FieldError(f, token, "is not a number " + Range(f) + " or a name " + f.names_hint);
  }
  return FieldError(f, token, "is not a number " + Range(f));
}

Status ParseStep(const FieldSpec& f, std::string_view text, std::string_view item, int& step) {
  const int span = f.star_high - f.low + 1;
  const std::string problem =
      "has a step that is not a number between 1 and " + std::to_string(span);
  if (text.empty() || text.size() > 4) return FieldError(f, item, problem);
  int v = 0;
  for (char c : text) {
    if (!IsDigit(c)) return FieldError(f, item, problem);
    v = v * 10 + (c - '0');
  }
  if (v < 1 || v > span) return FieldError(f, item, problem);
  step = v;
  return Status::Ok();
}

// One field: comma-separated items, each `*`, `v`, `a-b`, `*/n` or `a-b/n`.
Status ParseField(const FieldSpec& f, std::string_view text, std::uint64_t& bits) {
  bits = 0;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    const std::string_view item = text.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (item.empty()) return FieldError(f, text, "has an empty list item");

    std::string_view base = item;
    std::optional<std::string_view> step_text;
    if (const std::size_t slash = item.find('/'); slash != std::string_view::npos) {
      base = item.substr(0, slash);
      step_text = item.substr(slash + 1);
    }
    int lo = 0;
    int hi = 0;
    if (base == "*") {
      lo = f.low;
      hi = f.star_high;
    } else if (const std::size_t dash = base.find('-'); dash != std::string_view::npos) {
      if (Status s = ParseFieldValue(f, base.substr(0, dash), item, lo); !s.ok()) return s;
      if (Status s = ParseFieldValue(f, base.substr(dash + 1), item, hi); !s.ok()) return s;
      if (lo > hi) {
        return FieldError(f, item, "is a range whose start is after its end");
      }
    } else {
      if (Status s = ParseFieldValue(f, base, item, lo); !s.ok()) return s;
      if (step_text) {
        return FieldError(f, item, "has a step without a range; write */n or a-b/n");
      }
      hi = lo;
    }
    int step = 1;
    if (step_text) {
      if (Status s = ParseStep(f, *step_text, item, step); !s.ok()) return s;
    }
    for (int v = lo; v <= hi; v += step) bits |= std::uint64_t{1} << v;

    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return Status::Ok();
}

std::vector<int> BitsToList(std::uint64_t bits, int high) {
  std::vector<int> out;
  for (int v = 0; v <= high; ++v) {
    if (bits & (std::uint64_t{1} << v)) out.push_back(v);
  }
  return out;
}

std::optional<std::string_view> ExpandMacro(std::string_view macro) {
  struct Macro {
    std::string_view name;
    std::string_view expansion;
  };
  static constexpr Macro kMacros[] = {
      {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
      {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
      {"@hourly", "0 * * * *"},
  };
  for (const Macro& m : kMacros) {
    if (m.name.size() != macro.size()) continue;
    bool same = true;
    for (std::size_t k = 0; k < macro.size(); ++k) {
      char c = macro[k];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      same = same && c == m.name[k];
    }
    if (same) return m.expansion;
  }
  return std::nullopt;
}

std::vector<std::string_view> SplitFields(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && IsSpace(text[i])) ++i;
    const std::size_t start = i;
    while (i < text.size() && !IsSpace(text[i])) ++i;
    if (i > start) out.push_back(text.substr(start, i - start));
  }
  return out;
}

constexpr int kMaxDaysInMonth[] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

const date::time_zone* LocateZone(std::string_view name) {
  if (name.empty()) return nullptr;
  try {
    return date::locate_zone(std::string(name));
  } catch (const std::exception&) {
    return nullptr;
  }
}

// Search horizon: one full Gregorian cycle (weekday/date patterns repeat every 400 years).
constexpr int kHorizonDays = 146097 + 7;

// Slots are computed for local dates from year 1 to 9999.
constexpr std::int64_t kMinTimeMs = -62135596800000;  // 0001-01-01T00:00:00Z
constexpr std::int64_t kMaxTimeMs = 253402300799999;  // 9999-12-31T23:59:59.999Z

}  // namespace

Result<CronSchedule> CronSchedule::Parse(std::string_view expression, std::string_view time_zone) {
  std::vector<std::string_view> parts = SplitFields(expression);
  if (parts.empty()) return Status::InvalidArgument("cron expression is empty");
  if (parts.size() == 1 && parts[0].front() == '@') {
    const std::optional<std::string_view> expansion = ExpandMacro(parts[0]);
    if (!expansion) {
      return Status::InvalidArgument(
          "unknown cron macro " + Quote(parts[0]) +
          "; known: @yearly @annually @monthly @weekly @daily @midnight @hourly");
    }
    parts = SplitFields(*expansion);
  }
  if (parts.size() != 5) {
    return Status::InvalidArgument("cron expression " + Quote(expression) + " has " +
                                   std::to_string(parts.size()) +
                                   " fields; expected 5 (minute hour day-of-month month "
                                   "day-of-week)");
  }

  auto fields = std::make_shared<Fields>();
  if (Status s = ParseField(kMinute, parts[0], fields->minutes); !s.ok()) return s;
  if (Status s = ParseField(kHour, parts[1], fields->hours); !s.ok()) return s;
  if (Status s = ParseField(kDayOfMonth, parts[2], fields->dom); !s.ok()) return s;
  if (Status s = ParseField(kMonth, parts[3], fields->months); !s.ok()) return s;
  if (Status s = ParseField(kDayOfWeek, parts[4], fields->dow); !s.ok()) return s;
  if (fields->dow & (std::uint64_t{1} << 7)) {  // 7 is Sunday too.
    fields->dow = (fields->dow & ~(std::uint64_t{1} << 7)) | 1u;
  }
  fields->dom_star = parts[2].front() == '*';
  fields->dow_star = parts[4].front() == '*';
  fields->minute_list = BitsToList(fields->minutes, 59);
  fields->hour_list = BitsToList(fields->hours, 23);

  // When the day-of-month field alone decides (the other day field starts with '*'), some month
  // of the month field must have one of its days; otherwise the schedule never fires. Every
  // valid (month, day) falls on every weekday in some year, so the day-of-week cannot make it
  // impossible, and with the OR rule any weekday of any month matches.
  if (fields->dom_star || fields->dow_star) {
    bool possible = false;
    for (int m = 1; m <= 12 && !possible; ++m) {
      if (!(fields->months & (std::uint64_t{1} << m))) continue;
      for (int d = 1; d <= kMaxDaysInMonth[m] && !possible; ++d) {
        possible = (fields->dom & (std::uint64_t{1} << d)) != 0;
      }
    }
    if (!possible) {
      return Status::InvalidArgument("cron expression " + Quote(expression) +
                                     " can never fire: no day in day-of-month field " +
                                     Quote(parts[2]) + " exists in month field " + Quote(parts[3]));
    }
  }

  const date::time_zone* zone = LocateZone(time_zone);
  if (zone == nullptr) return Status::InvalidArgument("unknown time zone " + Quote(time_zone));

  CronSchedule schedule;
  schedule.expression_ = std::string(expression);
  schedule.zone_name_ = std::string(time_zone);
  schedule.fields_ = std::move(fields);
  schedule.zone_ = zone;
  return schedule;
}

Time CronSchedule::NextAfter(Time after) const {
  constexpr Time kNever{std::numeric_limits<std::int64_t>::max()};
  const auto* zone = static_cast<const date::time_zone*>(zone_);
  const Fields& f = *fields_;
  if (zone == nullptr || after.ms >= kMaxTimeMs) return kNever;
  if (after.ms < kMinTimeMs) after.ms = kMinTimeMs;

  // UTC instant of a local wall time; nullopt when that time does not exist (clocks jump
  // forward); the first occurrence when it exists twice (clocks fall back).
  auto resolve = [zone](date::local_seconds local) -> std::optional<std::int64_t> {
    const date::local_info info = zone->get_info(local);
    if (info.result == date::local_info::nonexistent) return std::nullopt;
    const seconds utc = local.time_since_epoch() - info.first.offset;
    return std::chrono::duration_cast<milliseconds>(utc).count();
  };
  // Candidate slots in local time are visited in increasing order, and resolve() maps them to
  // increasing UTC instants, so the first slot found after `after` is the answer. If the last
  // slot of a day or hour is not after `after`, none before it is either.

  const date::sys_seconds after_sys =
      date::floor<seconds>(date::sys_time<milliseconds>(milliseconds(after.ms)));
  const date::local_seconds after_local = zone->to_local(after_sys);
  // Start one day early: the local date of `after` may hold slots that resolve after it.
  date::local_days day = date::floor<date::days>(after_local) - date::days(1);
  const date::local_days last_day = day + date::days(kHorizonDays);
  const int last_hour = f.hour_list.back();
  const int last_minute = f.minute_list.back();

  while (day <= last_day) {
    const date::year_month_day ymd(day);
    if (!ymd.ok() || ymd.year() > date::year(9999)) return kNever;
    const unsigned month = static_cast<unsigned>(ymd.month());
    if (!(f.months & (std::uint64_t{1} << month))) {
      const date::year_month_day next_month =
          date::year_month_day(ymd.year(), ymd.month(), date::day(1)) + date::months(1);
      day = date::local_days(next_month);
      continue;
    }
    const unsigned dom = static_cast<unsigned>(ymd.day());
    const unsigned dow = date::weekday(day).c_encoding();
    const bool dom_ok = (f.dom & (std::uint64_t{1} << dom)) != 0;
    const bool dow_ok = (f.dow & (std::uint64_t{1} << dow)) != 0;
    const bool day_ok = (f.dom_star || f.dow_star) ? (dom_ok && dow_ok) : (dom_ok || dow_ok);
    if (day_ok) {
      const std::optional<std::int64_t> day_last =
          resolve(day + std::chrono::hours(last_hour) + minutes(last_minute));
      if (!day_last || *day_last > after.ms) {
        for (int h : f.hour_list) {
          const date::local_seconds hour_start = day + std::chrono::hours(h);
          const std::optional<std::int64_t> hour_last = resolve(hour_start + minutes(last_minute));
          if (hour_last && *hour_last <= after.ms) continue;
          for (int m : f.minute_list) {
            const std::optional<std::int64_t> slot = resolve(hour_start + minutes(m));
            if (slot && *slot > after.ms) return Time{*slot};
          }
        }
      }
    }
    day += date::days(1);
  }
  return kNever;
}

bool IsKnownTimeZone(std::string_view name) { return LocateZone(name) != nullptr; }

}  // namespace rf
