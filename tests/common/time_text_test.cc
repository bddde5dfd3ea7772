#include "common/time_text.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

namespace rf {
namespace {

constexpr std::int64_t kSecond = 1000;
constexpr std::int64_t kMinute = 60 * kSecond;
constexpr std::int64_t kHour = 60 * kMinute;
constexpr std::int64_t kDay = 24 * kHour;
constexpr std::int64_t kWeek = 7 * kDay;

std::optional<std::int64_t> Ms(std::string_view text) {
  std::optional<Duration> d = ParseDuration(text);
  if (!d) return std::nullopt;
  return d->ms;
}

TEST(ParseDuration, CompactUnits) {
  EXPECT_EQ(Ms("250ms"), 250);
  EXPECT_EQ(Ms("10s"), 10 * kSecond);
  EXPECT_EQ(Ms("5m"), 5 * kMinute);
  EXPECT_EQ(Ms("2h"), 2 * kHour);
  EXPECT_EQ(Ms("3d"), 3 * kDay);
  EXPECT_EQ(Ms("1w"), kWeek);
  EXPECT_EQ(Ms("0s"), 0);
  EXPECT_EQ(Ms("0ms"), 0);
  EXPECT_EQ(Ms("90m"), 90 * kMinute);  // no carrying required
  EXPECT_EQ(Ms("007s"), 7 * kSecond);
}

TEST(ParseDuration, CompoundsInDescendingOrder) {
  EXPECT_EQ(Ms("1h30m"), kHour + 30 * kMinute);
  EXPECT_EQ(Ms("2d4h"), 2 * kDay + 4 * kHour);
  EXPECT_EQ(Ms("1m30s"), 90 * kSecond);
  EXPECT_EQ(Ms("1s500ms"), 1500);
  EXPECT_EQ(Ms("1m1ms"), kMinute + 1);
  EXPECT_EQ(Ms("1w2d3h4m5s6ms"), kWeek + 2 * kDay + 3 * kHour + 4 * kMinute + 5 * kSecond + 6);
  EXPECT_EQ(Ms("1h0m"), kHour);
}

TEST(ParseDuration, SpelledUnitsSingularOrPluralWithOptionalSpace) {
  EXPECT_EQ(Ms("7 days"), 7 * kDay);
  EXPECT_EQ(Ms("7days"), 7 * kDay);
  EXPECT_EQ(Ms("1 day"), kDay);
  EXPECT_EQ(Ms("1 hour"), kHour);
  EXPECT_EQ(Ms("3 hours"), 3 * kHour);
  EXPECT_EQ(Ms("30 minutes"), 30 * kMinute);
  EXPECT_EQ(Ms("1 minute"), kMinute);
  EXPECT_EQ(Ms("2 weeks"), 2 * kWeek);
  EXPECT_EQ(Ms("1week"), kWeek);
  EXPECT_EQ(Ms("45 seconds"), 45 * kSecond);
  EXPECT_EQ(Ms("1 second"), kSecond);
  EXPECT_EQ(Ms("0 seconds"), 0);
  // Singular and plural are interchangeable.
  EXPECT_EQ(Ms("1 hours"), kHour);
  EXPECT_EQ(Ms("5 day"), 5 * kDay);
}

TEST(ParseDuration, RejectsOtherForms) {
  for (const char* bad : {"",
                          "h",
                          "1",
                          "-1h",
                          "+1h",
                          "1.5h",
                          "1,5h",
                          "1H",
                          "1 h",
                          "1h 30m",
                          "1h30",
                          "30m1h",
                          "1h1h",
                          "1s1m",
                          "1ms1s",
                          "1x",
                          "1hr",
                          "1mins",
                          "1sec",
                          "1y",
                          "1mo",
                          "7  days",
                          " 7 days",
                          "7 days ",
                          "1 Days",
                          "1 DAY",
                          "1 millisecond",
                          "1 hour 30 minutes",
                          "1 dayss",
                          "1 days1h",
                          "days",
                          "1h-30m",
                          "0x10s",
                          "1e3ms",
                          "1_000ms"}) {
    EXPECT_FALSE(ParseDuration(bad).has_value()) << "accepted '" << bad << "'";
  }
}

TEST(ParseDuration, OverflowIsRejected) {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(Ms("9223372036854775807ms"), kMax);
  EXPECT_FALSE(ParseDuration("9223372036854775808ms").has_value());
  EXPECT_FALSE(ParseDuration("99999999999999999999999ms").has_value());
  EXPECT_EQ(Ms("15250284452w"), 15250284452 * kWeek);
  EXPECT_FALSE(ParseDuration("15250284453w").has_value());
  EXPECT_FALSE(ParseDuration("15250284453 weeks").has_value());
  // The sum overflows even though each part fits.
  EXPECT_EQ(Ms("15250284452w3d"), 15250284452 * kWeek + 3 * kDay);
  EXPECT_FALSE(ParseDuration("15250284452w4d").has_value());
}

TEST(FormatDuration, CanonicalCompactForm) {
  EXPECT_EQ(FormatDuration(Duration{0}), "0s");
  EXPECT_EQ(FormatDuration(Duration{250}), "250ms");
  EXPECT_EQ(FormatDuration(Duration{kHour + 30 * kMinute}), "1h30m");
  EXPECT_EQ(FormatDuration(Duration{7 * kDay}), "1w");
  EXPECT_EQ(FormatDuration(Duration{9 * kDay}), "1w2d");
  EXPECT_EQ(FormatDuration(Duration{90 * kSecond}), "1m30s");
  EXPECT_EQ(FormatDuration(Duration{kMinute + kSecond + 1}), "1m1s1ms");
  EXPECT_EQ(FormatDuration(Duration{2 * kDay + 4 * kHour}), "2d4h");
  EXPECT_EQ(FormatDuration(Duration{kDay + 1}), "1d1ms");
}

TEST(FormatDuration, NegativeDurationsGetAMinusSign) {
  // ParseDuration takes no sign, so negative durations do not parse back.
  EXPECT_EQ(FormatDuration(Duration{-(kHour + 30 * kMinute)}), "-1h30m");
  EXPECT_EQ(FormatDuration(Duration{-1}), "-1ms");
  EXPECT_EQ(FormatDuration(Duration{std::numeric_limits<std::int64_t>::min()}),
            "-15250284452w3d7h12m55s808ms");
}

TEST(FormatDuration, RoundTripsThroughParse) {
  std::uint64_t state = 12345;
  for (int i = 0; i < 5000; ++i) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    // Mix magnitudes: from milliseconds up to the whole int64 range.
    const int shift = static_cast<int>(state % 63);
    const auto ms = static_cast<std::int64_t>((state >> 1) >> shift);
    const std::string text = FormatDuration(Duration{ms});
    std::optional<Duration> back = ParseDuration(text);
    ASSERT_TRUE(back.has_value()) << text;
    EXPECT_EQ(back->ms, ms) << text;
  }
  EXPECT_EQ(ParseDuration(FormatDuration(Duration{std::numeric_limits<std::int64_t>::max()}))->ms,
            std::numeric_limits<std::int64_t>::max());
}

std::optional<std::int64_t> TimeMs(std::string_view text) {
  std::optional<Time> t = ParseTime(text);
  if (!t) return std::nullopt;
  return t->ms;
}

TEST(ParseTime, Rfc3339WithZuluAndOffsets) {
  EXPECT_EQ(TimeMs("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(TimeMs("2026-11-27T06:35:20Z"), 1795761320000);
  EXPECT_EQ(TimeMs("2026-11-27T06:35:20+00:00"), 1795761320000);
  EXPECT_EQ(TimeMs("2026-11-27T06:35:20-00:00"), 1795761320000);
  EXPECT_EQ(TimeMs("2026-11-27T07:35:20+01:00"), 1795761320000);
  EXPECT_EQ(TimeMs("2026-11-27T06:35:20-05:30"), 1795781120000);
  EXPECT_EQ(TimeMs("2026-11-27T06:35:20.123+01:00"), 1795757720123);
  EXPECT_EQ(TimeMs("2026-11-27t06:35:20z"), 1795761320000);  // RFC 3339 allows lower case
  EXPECT_EQ(TimeMs("1969-07-20T20:17:40Z"), -14182940000);
  EXPECT_EQ(TimeMs("2000-02-29T23:59:59Z"), 951868799000);
}

TEST(ParseTime, FractionsKeepMilliseconds) {
  EXPECT_EQ(TimeMs("1970-01-01T00:00:00.1Z"), 100);
  EXPECT_EQ(TimeMs("1970-01-01T00:00:00.12Z"), 120);
  EXPECT_EQ(TimeMs("1970-01-01T00:00:00.123Z"), 123);
  // Digits beyond milliseconds are truncated (never rounded up into the next millisecond).
  EXPECT_EQ(TimeMs("1970-01-01T00:00:00.1239999Z"), 123);
  EXPECT_EQ(TimeMs("1969-12-31T23:59:59.999Z"), -1);
}

TEST(ParseTime, DateOnlyIsMidnightUtc) {
  EXPECT_EQ(TimeMs("2026-11-27"), 1795737600000);
  EXPECT_EQ(TimeMs("1970-01-01"), 0);
  EXPECT_EQ(TimeMs("2028-02-29"), TimeMs("2028-02-29T00:00:00Z"));
}

TEST(ParseTime, RejectsInvalidDatesAndForms) {
  for (const char* bad : {"",
                          "2026-13-01",
                          "2026-00-10",
                          "2026-02-30",
                          "2026-02-29",
                          "2100-02-29",
                          "2026-04-31",
                          "2026-01-00",
                          "2026-01-32",
                          "2026-11-27T24:00:00Z",
                          "2026-11-27T06:60:00Z",
                          "2026-11-27T06:35:60Z",
                          "2026-11-27T06:35:20",
                          "2026-11-27 06:35:20Z",
                          "2026-11-27T06:35Z",
                          "2026-1-01",
                          "26-11-27",
                          "2026/11/27",
                          "2026-11-27T06:35:20+01",
                          "2026-11-27T06:35:20+0100",
                          "2026-11-27T06:35:20+24:00",
                          "2026-11-27T06:35:20+01:60",
                          "2026-11-27T06:35:20.Z",
                          "2026-11-27T06:35:20ZZ",
                          "2026-11-27T06:35:20Z ",
                          " 2026-11-27",
                          "2026-11-27T",
                          "2026-11-27x",
                          "+2026-11-27",
                          "2026-11-27T6:35:20Z"}) {
    EXPECT_FALSE(ParseTime(bad).has_value()) << "accepted '" << bad << "'";
  }
  EXPECT_TRUE(ParseTime("2000-02-29").has_value());
  EXPECT_TRUE(ParseTime("2024-02-29T12:00:00Z").has_value());
}

TEST(FormatTime, UtcWithMillisecondsOnlyWhenNonZero) {
  EXPECT_EQ(FormatTime(Time{0}), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatTime(Time{1795761320000}), "2026-11-27T06:35:20Z");
  EXPECT_EQ(FormatTime(Time{1795761320123}), "2026-11-27T06:35:20.123Z");
  EXPECT_EQ(FormatTime(Time{1795761320005}), "2026-11-27T06:35:20.005Z");
  EXPECT_EQ(FormatTime(Time{-1}), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatTime(Time{951868799000}), "2000-02-29T23:59:59Z");
  EXPECT_EQ(FormatTime(Time{253402300799999}), "9999-12-31T23:59:59.999Z");
}

TEST(FormatTime, RoundTripsThroughParse) {
  std::uint64_t state = 99;
  for (int i = 0; i < 5000; ++i) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    // Times between year 0 and 9999.
    const auto ms = static_cast<std::int64_t>(state % 315537897600000ULL) - 62167219200000;
    const std::string text = FormatTime(Time{ms});
    std::optional<Time> back = ParseTime(text);
    ASSERT_TRUE(back.has_value()) << text;
    EXPECT_EQ(back->ms, ms) << text;
  }
}

}  // namespace
}  // namespace rf
