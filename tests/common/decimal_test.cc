#include "common/decimal.h"

#include <gtest/gtest.h>

#include <compare>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

namespace rf {
namespace {

Decimal D(const char* text) {
  std::optional<Decimal> d = Decimal::Parse(text);
  EXPECT_TRUE(d.has_value()) << "could not parse " << text;
  return d.value_or(Decimal());
}

TEST(DecimalParse, AcceptsTheDocumentedGrammar) {
  EXPECT_EQ(D("12").ToString(), "12");
  EXPECT_EQ(D("-0.50").ToString(), "-0.5");
  EXPECT_EQ(D("1e3").ToString(), "1000");
  EXPECT_EQ(D("1E3").ToString(), "1000");
  EXPECT_EQ(D("1e+3").ToString(), "1000");
  EXPECT_EQ(D("1.5e-3").ToString(), "0.0015");
  EXPECT_EQ(D("+7").ToString(), "7");
  EXPECT_EQ(D("0.000001").ToString(), "0.000001");
  EXPECT_EQ(D("007").ToString(), "7");  // Leading zeros are allowed.
  EXPECT_EQ(D("120.00").ToString(), "120");
  EXPECT_EQ(D("0e999999999").ToString(), "0");
}

TEST(DecimalParse, NegativeZeroIsZero) {
  EXPECT_EQ(D("-0").ToString(), "0");
  EXPECT_EQ(D("-0.000").ToString(), "0");
  EXPECT_EQ(D("-0").Sign(), 0);
  EXPECT_EQ(D("-0"), Decimal(0));
}

TEST(DecimalParse, RejectsEverythingElse) {
  for (const char* bad :
       {"",         "-",    "+",   "1.",   ".5",    "-.5",   "nan",   "NaN", "inf", "-inf",
        "Infinity", " 1",   "1 ",  "\t1",  "1e",    "1e+",   "1e-",   "e5",  "--1", "+-1",
        "-+1",      "0x10", "1,5", "1..2", "1.2.3", "1e2.5", "1e2e3", "12a", "١٢",  "1_000"}) {
    EXPECT_FALSE(Decimal::Parse(bad).has_value()) << "accepted '" << bad << "'";
  }
}

TEST(DecimalParse, MagnitudeIsLimitedToTenToTheThousand) {
  ASSERT_TRUE(Decimal::Parse("1e1000").has_value());
  EXPECT_EQ(D("1e1000").ToString(), "1" + std::string(1000, '0'));
  EXPECT_EQ(D("1e-1000").ToString(), "0." + std::string(999, '0') + "1");
  EXPECT_FALSE(Decimal::Parse("1e1001").has_value());
  EXPECT_FALSE(Decimal::Parse("1e-1001").has_value());
  EXPECT_FALSE(Decimal::Parse("1e99999999999999999999").has_value());
  EXPECT_FALSE(Decimal::Parse("1e-99999999999999999999").has_value());
  // The limit applies to the value, not to the exponent as written.
  EXPECT_EQ(D("0.001e1003").ToString(), "1" + std::string(1000, '0'));
}

TEST(DecimalParse, KeepsThirtyEightSignificantDigitsExactly) {
  const std::string digits38 = "12345678901234567890123456789012345678";
  EXPECT_EQ(D(digits38.c_str()).ToString(), digits38);
  EXPECT_EQ(D("-1234567890123456789.0123456789012345678").ToString(),
            "-1234567890123456789.0123456789012345678");
  EXPECT_EQ(D("0.00000000000000000000000000000000000000012345678901234567890123456789012345678")
                .ToString(),
            "0.00000000000000000000000000000000000000012345678901234567890123456789012345678");
}

TEST(DecimalParse, RoundsLongerInputHalfEvenToThirtyEightDigits) {
  // 39 significant digits: the 39th is dropped with half-even rounding.
  EXPECT_EQ(D("123456789012345678901234567890123456784").ToString(),
            "123456789012345678901234567890123456780");
  EXPECT_EQ(D("123456789012345678901234567890123456786").ToString(),
            "123456789012345678901234567890123456790");
  EXPECT_EQ(D("123456789012345678901234567890123456785").ToString(),
            "123456789012345678901234567890123456780");  // tie, 8 is even
  EXPECT_EQ(D("123456789012345678901234567890123456775").ToString(),
            "123456789012345678901234567890123456780");  // tie, 7 is odd
  EXPECT_EQ(D("0.999999999999999999999999999999999999999").ToString(), "1");
}

TEST(DecimalToString, NeverUsesExponentNotation) {
  EXPECT_EQ(D("1e20").ToString(), "100000000000000000000");
  EXPECT_EQ(D("1e-20").ToString(), "0.00000000000000000001");
  EXPECT_EQ(D("-2.5e-7").ToString(), "-0.00000025");
  EXPECT_EQ(Decimal(0).ToString(), "0");
  EXPECT_EQ(Decimal().ToString(), "0");
}

TEST(DecimalConstruct, IntegersConvertExactly) {
  EXPECT_EQ(Decimal(std::int64_t{42}).ToString(), "42");
  EXPECT_EQ(Decimal(std::int64_t{-42}).ToString(), "-42");
  EXPECT_EQ(Decimal(std::numeric_limits<std::int64_t>::max()).ToString(), "9223372036854775807");
  EXPECT_EQ(Decimal(std::numeric_limits<std::int64_t>::min()).ToString(), "-9223372036854775808");
}

TEST(DecimalArithmetic, IsExactInBaseTen) {
  EXPECT_EQ(D("0.1") + D("0.2"), D("0.3"));
  EXPECT_EQ((D("0.1") + D("0.2")).ToString(), "0.3");
  EXPECT_EQ(D("19.99") * Decimal(3), D("59.97"));
  EXPECT_EQ((D("19.99") * Decimal(3)).ToString(), "59.97");
  EXPECT_EQ((D("1.1") * D("1.1")).ToString(), "1.21");
  EXPECT_EQ((D("0.3") - D("0.1") - D("0.2")).ToString(), "0");
  EXPECT_EQ((D("0.3") - D("0.1") - D("0.2")).Sign(), 0);
  EXPECT_EQ((D("100") - D("100.01")).ToString(), "-0.01");
  Decimal sum;
  for (int i = 0; i < 1000; ++i) sum = sum + D("0.01");
  EXPECT_EQ(sum, Decimal(10));
}

TEST(DecimalArithmetic, LargeValuesStayExact) {
  const Decimal big = D("12345678901234567890.123456789");
  EXPECT_EQ((big + Decimal(1)).ToString(), "12345678901234567891.123456789");
  EXPECT_EQ((big - big).ToString(), "0");
  EXPECT_EQ((big * Decimal(1000)).ToString(), "12345678901234567890123.456789");
  const Decimal nines = D("99999999999999999999999999999999999999");  // 38 nines
  EXPECT_EQ((nines + Decimal(1)).ToString(), "100000000000000000000000000000000000000");
  EXPECT_EQ((D("-99999999999999999999999999999999999999") - Decimal(1)).ToString(),
            "-100000000000000000000000000000000000000");
}

TEST(DecimalArithmetic, ResultsBeyondThirtyEightDigitsAreRoundedHalfEven) {
  // Exact square: 152415787532388367504953515625361987875.019051998750190521
  const Decimal big = D("12345678901234567890.123456789");
  EXPECT_EQ((big * big).ToString(), "152415787532388367504953515625361987880");
  // 1e30 + 1e-30 needs 61 digits; the small part is rounded away.
  EXPECT_EQ((D("1e30") + D("1e-30")).ToString(), "1" + std::string(30, '0'));
  // The same value printed and parsed again is identical.
  const Decimal product = big * D("3.14159");
  EXPECT_EQ(D(product.ToString().c_str()), product);
}

TEST(DecimalRound, IsHalfEven) {
  EXPECT_EQ(D("2.345").Round(2).ToString(), "2.34");
  EXPECT_EQ(D("2.355").Round(2).ToString(), "2.36");
  EXPECT_EQ(D("0.5").Round(0).ToString(), "0");
  EXPECT_EQ(D("1.5").Round(0).ToString(), "2");
  EXPECT_EQ(D("2.5").Round(0).ToString(), "2");
  EXPECT_EQ(D("3.5").Round(0).ToString(), "4");
  EXPECT_EQ(D("-2.5").Round(0).ToString(), "-2");
  EXPECT_EQ(D("-3.5").Round(0).ToString(), "-4");
  EXPECT_EQ(D("2.3450001").Round(2).ToString(), "2.35");  // above half
  EXPECT_EQ(D("2.3449999").Round(2).ToString(), "2.34");  // below half
  EXPECT_EQ(D("999.995").Round(2).ToString(), "1000");    // carries
  EXPECT_EQ(D("0.004").Round(2).ToString(), "0");
  EXPECT_EQ(D("-0.004").Round(2).ToString(), "0");  // no "-0"
  EXPECT_EQ(D("-0.004").Round(2).Sign(), 0);
  EXPECT_EQ(D("0.005").Round(2).ToString(), "0");     // tie to even 0
  EXPECT_EQ(D("0.015").Round(2).ToString(), "0.02");  // tie to even 2
  EXPECT_EQ(D("0.0004").Round(2).ToString(), "0");
  EXPECT_EQ(D("1.23").Round(5).ToString(), "1.23");  // already fewer places
  EXPECT_EQ(D("1234").Round(2).ToString(), "1234");
}

TEST(DecimalRound, NegativePlacesRoundToTensAndHundreds) {
  EXPECT_EQ(D("25").Round(-1).ToString(), "20");
  EXPECT_EQ(D("35").Round(-1).ToString(), "40");
  EXPECT_EQ(D("1250").Round(-2).ToString(), "1200");
  EXPECT_EQ(D("1251").Round(-2).ToString(), "1300");
  EXPECT_EQ(D("49").Round(-2).ToString(), "0");
}

TEST(DecimalToFixed, PadsAndRoundsHalfEven) {
  EXPECT_EQ(D("2.345").ToFixed(2), "2.34");
  EXPECT_EQ(D("2.355").ToFixed(2), "2.36");
  EXPECT_EQ(Decimal(1).ToFixed(2), "1.00");
  EXPECT_EQ(D("0.1").ToFixed(3), "0.100");
  EXPECT_EQ(D("-0.001").ToFixed(2), "0.00");
  EXPECT_EQ(D("-1.5").ToFixed(2), "-1.50");
  EXPECT_EQ(D("0.5").ToFixed(0), "0");
  EXPECT_EQ(D("123.456").ToFixed(1), "123.5");
  EXPECT_EQ(D("0.0001").ToFixed(3), "0.000");
  EXPECT_EQ(D("0.0009").ToFixed(3), "0.001");
  EXPECT_EQ(D("1e3").ToFixed(2), "1000.00");
}

TEST(DecimalDivide, RoundsHalfEvenToEighteenPlaces) {
  EXPECT_EQ(Decimal::Divide(Decimal(1), Decimal(3))->ToString(), "0.333333333333333333");
  EXPECT_EQ(Decimal::Divide(Decimal(2), Decimal(3))->ToString(), "0.666666666666666667");
  EXPECT_EQ(Decimal::Divide(Decimal(-1), Decimal(3))->ToString(), "-0.333333333333333333");
  EXPECT_EQ(Decimal::Divide(Decimal(1), Decimal(-3))->ToString(), "-0.333333333333333333");
  EXPECT_EQ(Decimal::Divide(Decimal(10), Decimal(4))->ToString(), "2.5");
  EXPECT_EQ(Decimal::Divide(D("59.97"), Decimal(3))->ToString(), "19.99");
  EXPECT_EQ(Decimal::Divide(Decimal(0), Decimal(5))->ToString(), "0");
  // Exact ties at the 18th place go to the even neighbour.
  EXPECT_EQ(Decimal::Divide(Decimal(1), D("2e18"))->ToString(), "0");
  EXPECT_EQ(Decimal::Divide(Decimal(3), D("2e18"))->ToString(), "0.000000000000000002");
  EXPECT_EQ(Decimal::Divide(Decimal(5), D("2e18"))->ToString(), "0.000000000000000002");
  EXPECT_EQ(Decimal::Divide(Decimal(1), D("1e19"))->ToString(), "0");
  EXPECT_EQ(Decimal::Divide(Decimal(6), D("1e19"))->ToString(), "0.000000000000000001");
  // Large quotients keep 38 significant digits.
  EXPECT_EQ(Decimal::Divide(D("1e30"), D("1e-10"))->ToString(), "1" + std::string(40, '0'));
  EXPECT_EQ(Decimal::Divide(D("1e25"), Decimal(3))->ToString(),
            "3333333333333333333333333.3333333333333");
}

TEST(DecimalDivide, ByZeroIsNullopt) {
  EXPECT_FALSE(Decimal::Divide(Decimal(1), Decimal(0)).has_value());
  EXPECT_FALSE(Decimal::Divide(Decimal(0), Decimal(0)).has_value());
  EXPECT_FALSE(Decimal::Divide(Decimal(1), D("-0.000")).has_value());
}

TEST(DecimalCompare, OrdersByValue) {
  EXPECT_EQ(D("1.0"), Decimal(1));
  EXPECT_EQ(D("1.000"), D("1e0"));
  EXPECT_NE(D("1.01"), Decimal(1));
  EXPECT_TRUE(D("0.1") < D("0.2"));
  EXPECT_TRUE(D("-5") < Decimal(3));
  EXPECT_TRUE(D("-0.1") > D("-0.2"));
  EXPECT_EQ(D("2") <=> D("2.0"), std::strong_ordering::equal);
  EXPECT_EQ(D("1") <=> D("2"), std::strong_ordering::less);
  EXPECT_EQ(D("1e20") <=> D("99999999999999999999"), std::strong_ordering::greater);
  EXPECT_EQ(D("0") <=> D("-0"), std::strong_ordering::equal);
}

TEST(DecimalQueries, IntegerSignAndNegation) {
  EXPECT_TRUE(D("1e3").IsInteger());
  EXPECT_TRUE(D("5.000").IsInteger());
  EXPECT_TRUE(Decimal(0).IsInteger());
  EXPECT_FALSE(D("5.01").IsInteger());
  EXPECT_FALSE(D("1e-3").IsInteger());
  EXPECT_EQ(D("-3.2").Sign(), -1);
  EXPECT_EQ(D("3.2").Sign(), 1);
  EXPECT_EQ(Decimal(0).Sign(), 0);
  EXPECT_EQ((-D("3.2")).ToString(), "-3.2");
  EXPECT_EQ((-D("-3.2")).ToString(), "3.2");
  EXPECT_EQ((-Decimal(0)).ToString(), "0");
}

TEST(DecimalQueries, ToInt64OnlyForIntegersInRange) {
  EXPECT_EQ(D("1e3").ToInt64(), 1000);
  EXPECT_EQ(D("-42.000").ToInt64(), -42);
  EXPECT_EQ(D("0").ToInt64(), 0);
  EXPECT_EQ(D("9223372036854775807").ToInt64(), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(D("-9223372036854775808").ToInt64(), std::numeric_limits<std::int64_t>::min());
  EXPECT_FALSE(D("9223372036854775808").ToInt64().has_value());
  EXPECT_FALSE(D("-9223372036854775809").ToInt64().has_value());
  EXPECT_FALSE(D("1e30").ToInt64().has_value());
  EXPECT_FALSE(D("1.5").ToInt64().has_value());
}

}  // namespace
}  // namespace rf
