// ExprToText: source-like rendering with the fewest parentheses the grammar needs.
#include <gtest/gtest.h>

#include <algorithm>

#include "common/time_text.h"
#include "engine/ir/machine.h"
#include "tests/ir/builders.h"

namespace rf::ir {
namespace {

using namespace test;  // NOLINT

TEST(ExprToText, Literals) {
  EXPECT_EQ(ExprToText(Null()), "null");
  EXPECT_EQ(ExprToText(Bool(true)), "true");
  EXPECT_EQ(ExprToText(Bool(false)), "false");
  EXPECT_EQ(ExprToText(Num("12.50")), "12.5");
  EXPECT_EQ(ExprToText(Num("-3")), "-3");
  EXPECT_EQ(ExprToText(Num("0.000001")), "0.000001");
  EXPECT_EQ(ExprToText(Dur(2 * 3600 * 1000)), "2h");
  EXPECT_EQ(ExprToText(Dur(90 * 60 * 1000)), "1h30m");
  EXPECT_EQ(ExprToText(Lit(Value(*ParseTime("2026-11-27T06:35:20Z")))), "time(\"2026-11-27T06:35:20Z\")");
  EXPECT_EQ(ExprToText(Lit(Value(List{Value(1), Value("a")}))), "[1, \"a\"]");
  EXPECT_EQ(ExprToText(Lit(Value(Record{{"b", Value(2)}, {"a", Value(true)}}))), "{a = true, b = 2}");
  EXPECT_EQ(ExprToText(nullptr), "null");
}

TEST(ExprToText, StringsAreQuotedWithEscapes) {
  EXPECT_EQ(ExprToText(Str("plain")), "\"plain\"");
  EXPECT_EQ(ExprToText(Str("say \"hi\"\n\tback\\slash")), R"("say \"hi\"\n\tback\\slash")");
  // Braces in plain text are escaped so they are not read back as interpolation.
  EXPECT_EQ(ExprToText(Str("{not an expr}")), R"("\{not an expr\}")");
}

TEST(ExprToText, Interpolation) {
  ExprPtr e = Text({Str("Refund "), N("amount"), Str(" to "), Path("customer.name"), Str(" {ok}")});
  EXPECT_EQ(ExprToText(e), R"("Refund {amount} to {customer.name} \{ok\}")");
  // A string inside an interpolated expression is escaped: it sits inside a string token.
  ExprPtr nested = Text({Str("Hi "), Fn("lower", {Str("ANN")})});
  EXPECT_EQ(ExprToText(nested), R"("Hi {lower(\"ANN\")}")");
  ExprPtr arithmetic = Text({Bin("*", N("qty"), N("price"))});
  EXPECT_EQ(ExprToText(arithmetic), "\"{qty * price}\"");
}

TEST(ExprToText, PostfixCallsListsRecords) {
  EXPECT_EQ(ExprToText(Path("sale.total")), "sale.total");
  EXPECT_EQ(ExprToText(Field(Index(Path("sale.lines"), Num("0")), "sku")), "sale.lines[0].sku");
  EXPECT_EQ(ExprToText(Index(N("a"), Bin("+", N("i"), Num("1")))), "a[i + 1]");
  EXPECT_EQ(ExprToText(Fn("now")), "now()");
  EXPECT_EQ(ExprToText(Fn("sum", {Path("input.lines"), Bin("*", Path("item.qty"), Path("item.price"))})),
            "sum(input.lines, item.qty * item.price)");
  EXPECT_EQ(ExprToText(ListE({Num("1"), Str("b"), ListE({})})), "[1, \"b\", []]");
  EXPECT_EQ(ExprToText(RecordE({{"sku", Str("A1")}, {"qty", Bin("+", Num("1"), Num("2"))}})),
            "{sku = \"A1\", qty = 1 + 2}");
  EXPECT_EQ(ExprToText(RecordE({})), "{}");
}

TEST(ExprToText, ArithmeticPrecedence) {
  EXPECT_EQ(ExprToText(Bin("+", N("a"), Bin("*", N("b"), N("c")))), "a + b * c");
  EXPECT_EQ(ExprToText(Bin("*", Bin("+", N("a"), N("b")), N("c"))), "(a + b) * c");
  EXPECT_EQ(ExprToText(Bin("-", Bin("-", N("a"), N("b")), N("c"))), "a - b - c");
  EXPECT_EQ(ExprToText(Bin("-", N("a"), Bin("-", N("b"), N("c")))), "a - (b - c)");
  EXPECT_EQ(ExprToText(Bin("/", N("a"), Bin("*", N("b"), N("c")))), "a / (b * c)");
  EXPECT_EQ(ExprToText(Bin("%", Bin("*", N("a"), N("b")), N("c"))), "a * b % c");
  EXPECT_EQ(ExprToText(Bin("+", N("a"), Bin("+", N("b"), N("c")))), "a + (b + c)");
}

TEST(ExprToText, UnaryMinus) {
  EXPECT_EQ(ExprToText(Un("-", N("a"))), "-a");
  EXPECT_EQ(ExprToText(Un("-", Path("a.b"))), "-a.b");
  EXPECT_EQ(ExprToText(Field(Un("-", N("a")), "b")), "(-a).b");
  EXPECT_EQ(ExprToText(Un("-", Bin("+", N("a"), N("b")))), "-(a + b)");
  EXPECT_EQ(ExprToText(Un("-", Un("-", N("a")))), "- -a");
  EXPECT_EQ(ExprToText(Bin("*", Un("-", N("a")), N("b"))), "-a * b");
  EXPECT_EQ(ExprToText(Bin("-", N("a"), Num("-5"))), "a - -5");
  EXPECT_EQ(ExprToText(Index(Num("-5"), Num("0"))), "(-5)[0]");
}

TEST(ExprToText, BooleanPrecedence) {
  EXPECT_EQ(ExprToText(Bin("or", N("a"), Bin("and", N("b"), N("c")))), "a or b and c");
  EXPECT_EQ(ExprToText(Bin("and", Bin("or", N("a"), N("b")), N("c"))), "(a or b) and c");
  EXPECT_EQ(ExprToText(Un("not", Bin("and", N("a"), N("b")))), "not (a and b)");
  EXPECT_EQ(ExprToText(Un("not", Bin("==", N("a"), N("b")))), "not a == b");
  EXPECT_EQ(ExprToText(Bin("==", Un("not", N("a")), N("b"))), "(not a) == b");
  EXPECT_EQ(ExprToText(Un("not", Un("not", N("a")))), "not not a");
  EXPECT_EQ(ExprToText(Bin("and", Un("not", N("a")), N("b"))), "not a and b");
  EXPECT_EQ(ExprToText(Bin("or", Bin("or", N("a"), N("b")), N("c"))), "a or b or c");
  EXPECT_EQ(ExprToText(Bin("or", N("a"), Bin("or", N("b"), N("c")))), "a or (b or c)");
}

TEST(ExprToText, ComparisonsDoNotChain) {
  EXPECT_EQ(ExprToText(Bin(">", Path("sale.total"), Num("500"))), "sale.total > 500");
  EXPECT_EQ(ExprToText(Bin("==", Bin("==", N("a"), N("b")), N("c"))), "(a == b) == c");
  EXPECT_EQ(ExprToText(Bin("==", N("a"), Bin("<", N("b"), N("c")))), "a == (b < c)");
  EXPECT_EQ(ExprToText(Bin("<=", Bin("+", N("a"), N("b")), Bin("*", N("c"), N("d")))), "a + b <= c * d");
  EXPECT_EQ(ExprToText(Bin("in", Str("vip"), Path("customer.tags"))), "\"vip\" in customer.tags");
  EXPECT_EQ(ExprToText(Bin("and", Bin("!=", N("x"), Null()), Bin(">=", N("x"), Num("1")))),
            "x != null and x >= 1");
  EXPECT_EQ(ExprToText(Bin("+", Bin("==", N("a"), N("b")), N("c"))), "(a == b) + c");
}

TEST(ExprText, BelowTheIrDepthLimitTheTreeIsElided) {
  ExprPtr e = N("x");
  for (int i = 0; i < kMaxDepth + 10; ++i) e = Un("-", e);
  std::string text = ExprToText(e);
  EXPECT_EQ(text.find('x'), std::string::npos) << "the deepest levels are not rendered";
  EXPECT_NE(text.find("..."), std::string::npos);
  EXPECT_EQ(static_cast<size_t>(kMaxDepth), static_cast<size_t>(std::count(text.begin(), text.end(), '-')));
}

}  // namespace
}  // namespace rf::ir
