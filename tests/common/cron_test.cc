#include "common/cron.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "common/time_text.h"

namespace rf {
namespace {

// Substring check without gmock (the test target links gtest only).
#define EXPECT_CONTAINS(haystack, needle)                          \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) \
      << "'" << (haystack) << "' does not contain '" << (needle) << "'"

Time T(const char* text) {
  std::optional<Time> t = ParseTime(text);
  EXPECT_TRUE(t.has_value()) << text;
  return t.value_or(Time{});
}

CronSchedule Schedule(const char* expression, const char* zone = "UTC") {
  Result<CronSchedule> s = CronSchedule::Parse(expression, zone);
  EXPECT_TRUE(s.ok()) << expression << " in " << zone << ": " << s.status().ToString();
  return std::move(s).value();
}

// The next `count` slots after `after`, as RFC 3339 UTC text.
std::vector<std::string> Next(const char* expression, const char* zone, const char* after,
                              int count) {
  const CronSchedule s = Schedule(expression, zone);
  std::vector<std::string> out;
  Time t = T(after);
  for (int i = 0; i < count; ++i) {
    t = s.NextAfter(t);
    out.push_back(FormatTime(t));
  }
  return out;
}

std::string ParseError(const char* expression, const char* zone = "UTC") {
  Result<CronSchedule> s = CronSchedule::Parse(expression, zone);
  EXPECT_FALSE(s.ok()) << "accepted '" << expression << "'";
  if (s.ok()) return "";
  EXPECT_EQ(s.status().code(), Status::Code::kInvalidArgument);
  return s.status().message();
}

using Slots = std::vector<std::string>;

// ---------------------------------------------------------------------------------------------
// Parsing

TEST(CronParse, KeepsExpressionAndZone) {
  const CronSchedule s = Schedule("0 2 * * *", "Europe/Paris");
  EXPECT_EQ(s.expression(), "0 2 * * *");
  EXPECT_EQ(s.time_zone(), "Europe/Paris");
  const CronSchedule copy = s;
  EXPECT_EQ(copy.NextAfter(T("2026-01-01T00:00:00Z")).ms,
            s.NextAfter(T("2026-01-01T00:00:00Z")).ms);
}

TEST(CronParse, OutOfRangeErrorsNameTheFieldAndTheRange) {
  EXPECT_EQ(ParseError("0 25 * * *"), "hour field '25' is out of range 0-23");
  EXPECT_EQ(ParseError("60 * * * *"), "minute field '60' is out of range 0-59");
  EXPECT_EQ(ParseError("0 0 0 * *"), "day-of-month field '0' is out of range 1-31");
  EXPECT_EQ(ParseError("0 0 32 * *"), "day-of-month field '32' is out of range 1-31");
  EXPECT_EQ(ParseError("0 0 * 13 *"), "month field '13' is out of range 1-12");
  EXPECT_EQ(ParseError("0 0 * 0 *"), "month field '0' is out of range 1-12");
  EXPECT_EQ(ParseError("0 0 * * 8"), "day-of-week field '8' is out of range 0-7");
  EXPECT_EQ(ParseError("0 1-25 * * *"), "hour field '25' is out of range 0-23");
  EXPECT_EQ(ParseError("0,99 * * * *"), "minute field '99' is out of range 0-59");
  EXPECT_EQ(ParseError("123456 * * * *"), "minute field '123456' is out of range 0-59");
}

TEST(CronParse, SyntaxErrorsSayWhatIsAllowed) {
  EXPECT_CONTAINS(ParseError(""), "empty");
  EXPECT_CONTAINS(ParseError("   "), "empty");
  EXPECT_CONTAINS(ParseError("* * * *"), "has 4 fields; expected 5");
  EXPECT_CONTAINS(ParseError("* * * * * *"), "has 6 fields; expected 5");
  EXPECT_CONTAINS(ParseError("@daily 5"), "has 2 fields");
  EXPECT_CONTAINS(ParseError("a * * * *"), "minute field 'a' is not a number 0-59");
  EXPECT_CONTAINS(ParseError("* * * FOO *"),
                  "month field 'FOO' is not a number 1-12 or a name JAN-DEC");
  EXPECT_CONTAINS(ParseError("* * * * FUNDAY"),
                  "day-of-week field 'FUNDAY' is not a number 0-7 or a name SUN-SAT");
  EXPECT_CONTAINS(ParseError("* * MON * *"), "day-of-month field 'MON' is not a number 1-31");
  EXPECT_CONTAINS(ParseError("* * * MON *"), "month field 'MON'");
  EXPECT_CONTAINS(ParseError("* * * * JAN"), "day-of-week field 'JAN'");
  EXPECT_CONTAINS(ParseError("*/0 * * * *"),
                  "minute field '*/0' has a step that is not a number between 1 and 60");
  EXPECT_CONTAINS(ParseError("*/61 * * * *"), "between 1 and 60");
  EXPECT_CONTAINS(ParseError("0 */x * * *"), "hour field '*/x' has a step");
  EXPECT_CONTAINS(ParseError("0 */ * * *"), "hour field '*/' has a step");
  EXPECT_CONTAINS(ParseError("5/10 * * * *"), "minute field '5/10' has a step without a range");
  EXPECT_CONTAINS(ParseError("10-5 * * * *"),
                  "minute field '10-5' is a range whose start is after its end");
  EXPECT_CONTAINS(ParseError("0 0 * * FRI-MON"), "day-of-week field 'FRI-MON' is a range");
  EXPECT_CONTAINS(ParseError("1,,2 * * * *"), "minute field '1,,2' has an empty list item");
  EXPECT_CONTAINS(ParseError("1, * * * *"), "has an empty list item");
  EXPECT_CONTAINS(ParseError("-5 * * * *"), "minute field '-5' is missing a value");
  EXPECT_CONTAINS(ParseError("5- * * * *"), "minute field '5-' is missing a value");
  EXPECT_CONTAINS(ParseError("1-2-3 * * * *"), "minute field");
  EXPECT_CONTAINS(ParseError("0 0 1 1 * 2026"), "6 fields");
  EXPECT_CONTAINS(ParseError("@reboot"), "unknown cron macro '@reboot'");
  EXPECT_CONTAINS(ParseError("@every5m"), "unknown cron macro");
}

TEST(CronParse, UnknownTimeZone) {
  EXPECT_EQ(ParseError("0 2 * * *", "Europe/Pariss"), "unknown time zone 'Europe/Pariss'");
  EXPECT_EQ(ParseError("0 2 * * *", ""), "unknown time zone ''");
  EXPECT_EQ(ParseError("0 2 * * *", "Mars/Olympus_Mons"), "unknown time zone 'Mars/Olympus_Mons'");
}

TEST(CronParse, ImpossibleDatesAreRejected) {
  EXPECT_CONTAINS(ParseError("0 0 31 2 *"), "'0 0 31 2 *' can never fire");
  EXPECT_CONTAINS(ParseError("0 0 30,31 2 *"), "can never fire");
  EXPECT_CONTAINS(ParseError("0 0 31 4,6,9,11 *"), "can never fire");
  EXPECT_CONTAINS(ParseError("0 0 31 APR-JUN/2 *"), "can never fire");
  // Day-of-week starting with '*' keeps the AND rule, so the date is still impossible.
  EXPECT_CONTAINS(ParseError("0 0 30 2 */2"), "can never fire");
  // Possible: Feb 29 exists in leap years; Jan 31 exists; with the OR rule Mondays match.
  EXPECT_TRUE(CronSchedule::Parse("0 0 29 2 *", "UTC").ok());
  EXPECT_TRUE(CronSchedule::Parse("0 0 31 */2 *", "UTC").ok());
  EXPECT_TRUE(CronSchedule::Parse("0 0 31 2 1", "UTC").ok());
}

TEST(CronParse, AcceptsTheFullSyntax) {
  for (const char* ok :
       {"* * * * *", "0 0 1 1 *", "*/15 * * * *", "0-59/5 0-23/3 1-31/2 1-12/4 0-7/2",
        "5,10,15-20,30-40/5 * * * *", "0 9 * JAN-MAR,jul,Dec mon-fri", "0 0 * * SUN,sat,7",
        "0 0 * * 0-7", "  0   9\t*  *  1-5  ", "59 23 31 12 6", "0 0 1 1 0"}) {
    Result<CronSchedule> s = CronSchedule::Parse(ok, "UTC");
    EXPECT_TRUE(s.ok()) << ok << ": " << s.status().ToString();
  }
}

TEST(CronZones, IsKnownTimeZone) {
  EXPECT_TRUE(IsKnownTimeZone("Europe/Paris"));
  EXPECT_TRUE(IsKnownTimeZone("America/New_York"));
  EXPECT_TRUE(IsKnownTimeZone("UTC"));
  EXPECT_TRUE(IsKnownTimeZone("Asia/Kolkata"));
  EXPECT_FALSE(IsKnownTimeZone("Europe/Pariss"));
  EXPECT_FALSE(IsKnownTimeZone(""));
  EXPECT_FALSE(IsKnownTimeZone("Mars/Olympus_Mons"));
}

// ---------------------------------------------------------------------------------------------
// Next slot, UTC

TEST(CronNext, EveryMinuteIsStrictlyAfter) {
  EXPECT_EQ(Next("* * * * *", "UTC", "2026-05-01T10:07:30Z", 2),
            (Slots{"2026-05-01T10:08:00Z", "2026-05-01T10:09:00Z"}));
  EXPECT_EQ(Next("* * * * *", "UTC", "2026-05-01T10:08:00Z", 1), (Slots{"2026-05-01T10:09:00Z"}));
  EXPECT_EQ(Next("* * * * *", "UTC", "2026-05-01T10:07:59.999Z", 1),
            (Slots{"2026-05-01T10:08:00Z"}));
  EXPECT_EQ(Next("* * * * *", "UTC", "2026-12-31T23:59:00Z", 1), (Slots{"2027-01-01T00:00:00Z"}));
}

TEST(CronNext, StepsAndLists) {
  EXPECT_EQ(Next("*/15 * * * *", "UTC", "2026-05-01T10:07:30Z", 4),
            (Slots{"2026-05-01T10:15:00Z", "2026-05-01T10:30:00Z", "2026-05-01T10:45:00Z",
                   "2026-05-01T11:00:00Z"}));
  EXPECT_EQ(Next("5,35 8-18/4 * * *", "UTC", "2026-05-01T12:40:00Z", 4),
            (Slots{"2026-05-01T16:05:00Z", "2026-05-01T16:35:00Z", "2026-05-02T08:05:00Z",
                   "2026-05-02T08:35:00Z"}));
  EXPECT_EQ(Next("0 12 1-31/10 * *", "UTC", "2026-02-11T12:00:00Z", 3),
            (Slots{"2026-02-21T12:00:00Z", "2026-03-01T12:00:00Z", "2026-03-11T12:00:00Z"}));
}

TEST(CronNext, WeekdaysAndNames) {
  // 2026-01-02 is a Friday.
  EXPECT_EQ(Next("0 9 * * 1-5", "UTC", "2026-01-02T10:00:00Z", 2),
            (Slots{"2026-01-05T09:00:00Z", "2026-01-06T09:00:00Z"}));
  EXPECT_EQ(Next("0 9 * * MON-FRI", "UTC", "2026-01-02T08:59:59Z", 2),
            (Slots{"2026-01-02T09:00:00Z", "2026-01-05T09:00:00Z"}));
  EXPECT_EQ(Next("30 6 * jul,DEC sat", "UTC", "2026-01-01T00:00:00Z", 3),
            (Slots{"2026-07-04T06:30:00Z", "2026-07-11T06:30:00Z", "2026-07-18T06:30:00Z"}));
  // 7 and 0 are both Sunday; 5-7 is Friday to Sunday.
  EXPECT_EQ(Next("0 0 * * 7", "UTC", "2026-01-01T00:00:00Z", 1), (Slots{"2026-01-04T00:00:00Z"}));
  EXPECT_EQ(Next("0 0 * * 0", "UTC", "2026-01-01T00:00:00Z", 1), (Slots{"2026-01-04T00:00:00Z"}));
  EXPECT_EQ(Next("0 0 * * 5-7", "UTC", "2026-01-01T00:00:00Z", 4),
            (Slots{"2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z",
                   "2026-01-09T00:00:00Z"}));
}

TEST(CronNext, YearlyScheduleSkipsAheadAcrossMonths) {
  EXPECT_EQ(Next("0 0 1 1 *", "UTC", "2026-01-01T00:00:00Z", 2),
            (Slots{"2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"}));
  EXPECT_EQ(Next("59 23 31 12 *", "UTC", "2026-06-15T00:00:00Z", 1),
            (Slots{"2026-12-31T23:59:00Z"}));
}

TEST(CronNext, Macros) {
  const char* after = "2026-01-07T10:20:00Z";  // a Wednesday
  EXPECT_EQ(Next("@hourly", "UTC", after, 1), (Slots{"2026-01-07T11:00:00Z"}));
  EXPECT_EQ(Next("@daily", "UTC", after, 1), (Slots{"2026-01-08T00:00:00Z"}));
  EXPECT_EQ(Next("@midnight", "UTC", after, 1), (Slots{"2026-01-08T00:00:00Z"}));
  EXPECT_EQ(Next("@weekly", "UTC", after, 1), (Slots{"2026-01-11T00:00:00Z"}));
  EXPECT_EQ(Next("@monthly", "UTC", after, 1), (Slots{"2026-02-01T00:00:00Z"}));
  EXPECT_EQ(Next("@yearly", "UTC", after, 1), (Slots{"2027-01-01T00:00:00Z"}));
  EXPECT_EQ(Next("@annually", "UTC", after, 1), (Slots{"2027-01-01T00:00:00Z"}));
  EXPECT_EQ(Next("@DAILY", "UTC", after, 1), (Slots{"2026-01-08T00:00:00Z"}));
  EXPECT_EQ(Next(" @weekly ", "UTC", after, 1), (Slots{"2026-01-11T00:00:00Z"}));
  EXPECT_EQ(Schedule("@daily").expression(), "@daily");
  // Macros follow the zone too: midnight in Paris is 23:00 UTC in winter.
  EXPECT_EQ(Next("@daily", "Europe/Paris", after, 1), (Slots{"2026-01-07T23:00:00Z"}));
}

TEST(CronNext, VixieOrRuleWhenBothDayFieldsAreRestricted) {
  // The 13th or any Friday: Fri 2, Fri 9, Tue 13, Fri 16.
  EXPECT_EQ(Next("0 0 13 * 5", "UTC", "2026-01-01T00:00:00Z", 4),
            (Slots{"2026-01-02T00:00:00Z", "2026-01-09T00:00:00Z", "2026-01-13T00:00:00Z",
                   "2026-01-16T00:00:00Z"}));
  // Feb 31 never exists, but with the OR rule the Mondays of February still fire.
  EXPECT_EQ(Next("0 0 31 2 1", "UTC", "2026-01-01T00:00:00Z", 2),
            (Slots{"2026-02-02T00:00:00Z", "2026-02-09T00:00:00Z"}));
}

TEST(CronNext, AndRuleWhenADayFieldStartsWithStar) {
  // As in Vixie cron, "*/2" counts as unrestricted: odd days AND Mondays.
  EXPECT_EQ(Next("0 0 */2 * 1", "UTC", "2026-01-01T00:00:00Z", 3),
            (Slots{"2026-01-05T00:00:00Z", "2026-01-19T00:00:00Z", "2026-02-09T00:00:00Z"}));
  // Plain '*' day-of-month: only the weekday decides.
  EXPECT_EQ(Next("0 0 * * 2", "UTC", "2026-01-01T00:00:00Z", 1), (Slots{"2026-01-06T00:00:00Z"}));
  // '*' day-of-week: only the day of month decides.
  EXPECT_EQ(Next("0 0 13 * *", "UTC", "2026-01-01T00:00:00Z", 2),
            (Slots{"2026-01-13T00:00:00Z", "2026-02-13T00:00:00Z"}));
}

TEST(CronNext, FebruaryTwentyNinthOnlyInLeapYears) {
  EXPECT_EQ(Next("0 12 29 2 *", "UTC", "2026-03-01T00:00:00Z", 3),
            (Slots{"2028-02-29T12:00:00Z", "2032-02-29T12:00:00Z", "2036-02-29T12:00:00Z"}));
  EXPECT_EQ(Next("0 12 29 2 *", "UTC", "2028-02-29T11:59:59Z", 1), (Slots{"2028-02-29T12:00:00Z"}));
  // 2100 is not a leap year: eight years between 2096 and 2104.
  EXPECT_EQ(Next("0 0 29 2 *", "UTC", "2096-03-01T00:00:00Z", 1), (Slots{"2104-02-29T00:00:00Z"}));
  // Feb 29 that is also a Sunday (AND rule through '*/7' = Sunday): 2032, then 2060.
  EXPECT_EQ(Next("0 0 29 2 */7", "UTC", "2026-01-01T00:00:00Z", 2),
            (Slots{"2032-02-29T00:00:00Z", "2060-02-29T00:00:00Z"}));
}

TEST(CronNext, FarAwaySlotsAreFoundQuickly) {
  // Iterating a minutely schedule for a day and a yearly one for a decade must be cheap.
  const CronSchedule minutely = Schedule("* * * * *", "Europe/Paris");
  Time t = T("2026-06-01T00:00:00Z");
  for (int i = 0; i < 1440; ++i) t = minutely.NextAfter(t);
  EXPECT_EQ(FormatTime(t), "2026-06-02T00:00:00Z");
  const CronSchedule leap = Schedule("0 0 29 2 */7", "America/New_York");
  t = T("2026-01-01T00:00:00Z");
  for (int i = 0; i < 5; ++i) t = leap.NextAfter(t);
  EXPECT_EQ(FormatTime(t), "2156-02-29T05:00:00Z");  // 2032, 2060, 2088, 2128, 2156
}

TEST(CronNext, NeverBeyondYear9999) {
  const CronSchedule s = Schedule("0 0 1 1 *");
  EXPECT_EQ(FormatTime(s.NextAfter(T("9998-06-01T00:00:00Z"))), "9999-01-01T00:00:00Z");
  EXPECT_EQ(s.NextAfter(T("9999-06-01T00:00:00Z")).ms, std::numeric_limits<std::int64_t>::max());
}

// ---------------------------------------------------------------------------------------------
// Time zones and daylight saving

TEST(CronZone, LocalTimeFollowsTheOffset) {
  // 09:00 in Paris is 08:00 UTC in winter and 07:00 UTC in summer.
  EXPECT_EQ(Next("0 9 * * *", "Europe/Paris", "2026-01-15T12:00:00Z", 1),
            (Slots{"2026-01-16T08:00:00Z"}));
  EXPECT_EQ(Next("0 9 * * *", "Europe/Paris", "2026-07-15T12:00:00Z", 1),
            (Slots{"2026-07-16T07:00:00Z"}));
  EXPECT_EQ(Next("0 0 * * *", "America/New_York", "2026-01-15T12:00:00Z", 1),
            (Slots{"2026-01-16T05:00:00Z"}));
  EXPECT_EQ(Next("0 0 * * *", "America/New_York", "2026-07-15T12:00:00Z", 1),
            (Slots{"2026-07-16T04:00:00Z"}));
  // Half-hour offset.
  EXPECT_EQ(Next("0 9 * * *", "Asia/Kolkata", "2026-01-15T12:00:00Z", 1),
            (Slots{"2026-01-16T03:30:00Z"}));
  // The local date decides the day: Friday 00:30 in Paris is still Thursday in UTC.
  EXPECT_EQ(Next("30 0 * * FRI", "Europe/Paris", "2026-01-01T00:00:00Z", 1),
            (Slots{"2026-01-01T23:30:00Z"}));
}

TEST(CronZone, ParisSpringForwardSkipsTheMissingHour) {
  // 2026-03-29: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist that day.
  EXPECT_EQ(Next("30 2 * * *", "Europe/Paris", "2026-03-27T12:00:00Z", 3),
            (Slots{"2026-03-28T01:30:00Z", "2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z"}));
  // Every 20 minutes in the 2 o'clock hour: nothing at all on the 29th.
  EXPECT_EQ(Next("*/20 2 * * *", "Europe/Paris", "2026-03-28T01:40:00Z", 2),
            (Slots{"2026-03-30T00:00:00Z", "2026-03-30T00:20:00Z"}));
  // Hourly: 01:00 CET, then 03:00 CEST (one hour of UTC later), no 02:00.
  EXPECT_EQ(Next("0 * * * *", "Europe/Paris", "2026-03-28T23:30:00Z", 3),
            (Slots{"2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z"}));
  // Times after the gap on the same day are unaffected.
  EXPECT_EQ(Next("0 3 * * *", "Europe/Paris", "2026-03-28T12:00:00Z", 1),
            (Slots{"2026-03-29T01:00:00Z"}));
  EXPECT_EQ(Next("59 1 * * *", "Europe/Paris", "2026-03-28T12:00:00Z", 1),
            (Slots{"2026-03-29T00:59:00Z"}));
}

TEST(CronZone, ParisFallBackFiresOnceAtTheFirstOccurrence) {
  // 2026-10-25: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice (00:30Z and 01:30Z).
  EXPECT_EQ(Next("30 2 * * *", "Europe/Paris", "2026-10-23T12:00:00Z", 3),
            (Slots{"2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}));
  // Between the two occurrences: the second one is not a slot.
  EXPECT_EQ(Next("30 2 * * *", "Europe/Paris", "2026-10-25T00:30:00Z", 1),
            (Slots{"2026-10-26T01:30:00Z"}));
  EXPECT_EQ(Next("30 2 * * *", "Europe/Paris", "2026-10-25T01:00:00Z", 1),
            (Slots{"2026-10-26T01:30:00Z"}));
  // Hourly: 02:00 fires during summer time only, then 03:00 CET.
  EXPECT_EQ(Next("0 * * * *", "Europe/Paris", "2026-10-24T22:30:00Z", 4),
            (Slots{"2026-10-24T23:00:00Z", "2026-10-25T00:00:00Z", "2026-10-25T02:00:00Z",
                   "2026-10-25T03:00:00Z"}));
  EXPECT_EQ(Next("0 3 * * *", "Europe/Paris", "2026-10-24T12:00:00Z", 1),
            (Slots{"2026-10-25T02:00:00Z"}));
}

// Counts the slots of a schedule whose UTC instants lie in [from, to).
int CountSlots(const CronSchedule& s, Time from, Time to) {
  int n = 0;
  for (Time t = s.NextAfter(Time{from.ms - 1}); t.ms < to.ms; t = s.NextAfter(t)) ++n;
  return n;
}

TEST(CronZone, ParisDstDaysHaveTheRightNumberOfSlots) {
  const CronSchedule every5 = Schedule("*/5 * * * *", "Europe/Paris");
  // Local midnight to midnight. Spring day: 23 local hours exist.
  EXPECT_EQ(CountSlots(every5, T("2026-03-28T23:00:00Z"), T("2026-03-29T22:00:00Z")), 23 * 12);
  // Autumn day: 25 real hours, but the repeated hour fires only once, so 24 hours of slots.
  EXPECT_EQ(CountSlots(every5, T("2026-10-24T22:00:00Z"), T("2026-10-25T23:00:00Z")), 24 * 12);
  // An ordinary day.
  EXPECT_EQ(CountSlots(every5, T("2026-06-09T22:00:00Z"), T("2026-06-10T22:00:00Z")), 24 * 12);
}

TEST(CronZone, NewYorkSpringForward) {
  // 2026-03-08: 02:00 EST jumps to 03:00 EDT.
  EXPECT_EQ(Next("30 2 * * *", "America/New_York", "2026-03-06T12:00:00Z", 3),
            (Slots{"2026-03-07T07:30:00Z", "2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z"}));
  EXPECT_EQ(Next("0 3 * * *", "America/New_York", "2026-03-07T12:00:00Z", 1),
            (Slots{"2026-03-08T07:00:00Z"}));
  EXPECT_EQ(Next("0 * * * *", "America/New_York", "2026-03-08T05:30:00Z", 3),
            (Slots{"2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z", "2026-03-08T08:00:00Z"}));
}

TEST(CronZone, NewYorkFallBack) {
  // 2026-11-01: 02:00 EDT falls back to 01:00 EST; 01:30 happens at 05:30Z and 06:30Z.
  EXPECT_EQ(Next("30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", 3),
            (Slots{"2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z", "2026-11-03T06:30:00Z"}));
  EXPECT_EQ(Next("30 1 * * *", "America/New_York", "2026-11-01T05:30:00Z", 1),
            (Slots{"2026-11-02T06:30:00Z"}));
  // Hourly: 00:00 EDT, 01:00 EDT, (01:00 EST skipped), 02:00 EST.
  EXPECT_EQ(Next("0 * * * *", "America/New_York", "2026-11-01T03:30:00Z", 3),
            (Slots{"2026-11-01T04:00:00Z", "2026-11-01T05:00:00Z", "2026-11-01T07:00:00Z"}));
  const CronSchedule every15 = Schedule("*/15 * * * *", "America/New_York");
  EXPECT_EQ(CountSlots(every15, T("2026-11-01T04:00:00Z"), T("2026-11-02T05:00:00Z")), 24 * 4);
  EXPECT_EQ(CountSlots(every15, T("2026-03-08T05:00:00Z"), T("2026-03-09T04:00:00Z")), 23 * 4);
}

TEST(CronZone, UtcHasNoTransitions) {
  const CronSchedule s = Schedule("30 2 * * *", "UTC");
  EXPECT_EQ(FormatTime(s.NextAfter(T("2026-03-29T00:00:00Z"))), "2026-03-29T02:30:00Z");
  EXPECT_EQ(FormatTime(s.NextAfter(T("2026-10-25T00:00:00Z"))), "2026-10-25T02:30:00Z");
}

}  // namespace
}  // namespace rf
