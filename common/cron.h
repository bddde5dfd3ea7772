// Cron schedules in a named IANA time zone ("every \"0 2 * * *\" in \"Europe/Paris\"").
//
// Five fields: minute hour day-of-month month day-of-week, each `*`, a number, a range `a-b`, a
// list `a,b`, a step `*/n` or `a-b/n`; month names JAN..DEC and day names SUN..SAT (0 and 7 are
// Sunday); macros @hourly @daily @midnight @weekly @monthly @yearly @annually. As in Vixie cron,
// when both day-of-month and day-of-week are restricted, a day matches if either matches.
//
// Daylight-saving rules (documented for analysts in docs/language.md):
// - a local time that does not exist (clocks jump forward) has no slot that day: it is skipped;
// - a local time that occurs twice (clocks fall back) fires once, at its first occurrence.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "common/value.h"

namespace rf {

class CronSchedule {
 public:
  // Errors name the bad field and say what is allowed, e.g.
  // "hour field '25' is out of range 0-23" or "unknown time zone 'Europe/Pariss'".
  static Result<CronSchedule> Parse(std::string_view expression, std::string_view time_zone);

  // The first slot strictly after `after` (UTC). Always exists for a valid expression, except for
  // impossible dates such as "0 0 31 2 *", for which Parse already fails.
  Time NextAfter(Time after) const;

  const std::string& expression() const { return expression_; }
  const std::string& time_zone() const { return zone_name_; }

 private:
  struct Fields;
  CronSchedule() = default;
  std::string expression_;
  std::string zone_name_;
  std::shared_ptr<const Fields> fields_;
  const void* zone_ = nullptr;  // const date::time_zone*, owned by the tz database
};

// True when `name` is a time zone the tz database knows ("Europe/Paris", "UTC").
bool IsKnownTimeZone(std::string_view name);

}  // namespace rf
