// Evaluate: the semantics documented in engine/ir/eval.h, operator by operator.
#include "engine/ir/eval.h"

#include <gtest/gtest.h>

#include <string>

#include "common/time_text.h"
#include "tests/ir/builders.h"

namespace rf::ir {
namespace {

using namespace test;  // NOLINT

constexpr std::int64_t kHour = 3600 * 1000;

Time T(const char* iso) { return *ParseTime(iso); }

class EvalTest : public ::testing::Test {
 protected:
  EvalTest() {
    Record sale;
    sale["total"] = Value(Dec("500"));
    sale["status"] = Value("open");
    List lines;
    lines.push_back(Value(Record{{"sku", Value("A1")}, {"qty", Value(3)}, {"price", Value(Dec("19.99"))}}));
    lines.push_back(Value(Record{{"sku", Value("B2")}, {"qty", Value(2)}, {"price", Value(Dec("0.01"))}}));
    sale["lines"] = Value(std::move(lines));
    sale["tags"] = Value(List{Value("vip"), Value("web")});
    sale["created"] = Value(T("2026-11-27T06:00:00Z"));
    sale["created_text"] = Value("2026-11-27T06:00:00Z");
    sale["window"] = Value(Duration{2 * kHour});
    sale["window_text"] = Value("2h");
    data_["sale"] = Value(std::move(sale));
    data_["nothing"] = Value();
    data_["yes"] = Value(true);
    data_["no"] = Value(false);
    data_["name"] = Value("Ann");
    scope_.frames.push_back(&data_);
    scope_.now = T("2026-11-27T10:00:00Z");
  }

  Value Ok(const ExprPtr& e) {
    Result<Value> r = Evaluate(e, scope_);
    EXPECT_TRUE(r.ok()) << ExprToText(e) << ": " << r.status().message();
    return r.ok() ? r.value() : Value();
  }

  std::string Err(const ExprPtr& e) {
    Result<Value> r = Evaluate(e, scope_);
    EXPECT_FALSE(r.ok()) << ExprToText(e) << " evaluated to " << (r.ok() ? r->ToJson() : "");
    if (r.ok()) return "";
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << r.status().message();
    return r.status().message();
  }

  Record data_;
  Scope scope_;
};

// ------------------------------------------------------------------------- numbers, exactness

TEST_F(EvalTest, DecimalArithmeticIsExact) {
  EXPECT_EQ(Ok(Bin("==", Bin("+", Num("0.1"), Num("0.2")), Num("0.3"))), Value(true));
  EXPECT_EQ(Ok(Bin("*", Num("19.99"), Num("3"))), Value(Dec("59.97")));
  EXPECT_EQ(Ok(Bin("-", Num("100"), Num("0.01"))), Value(Dec("99.99")));
  EXPECT_EQ(Ok(Bin("+", Num("1.10"), Num("2.205"))).as_number().ToString(), "3.305");
  EXPECT_EQ(Ok(Un("-", Num("4.5"))), Value(Dec("-4.5")));
  // 38 significant digits survive addition.
  EXPECT_EQ(Ok(Bin("+", Num("12345678901234567890"), Num("0.000000000000000001"))).as_number().ToString(),
            "12345678901234567890.000000000000000001");
}

TEST_F(EvalTest, DivisionRoundsHalfEvenToEighteenPlaces) {
  EXPECT_EQ(Ok(Bin("/", Num("10"), Num("4"))), Value(Dec("2.5")));
  EXPECT_EQ(Ok(Bin("/", Num("1"), Num("3"))).as_number().ToString(), "0.333333333333333333");
  EXPECT_EQ(Ok(Bin("/", Num("2"), Num("3"))).as_number().ToString(), "0.666666666666666667");
  EXPECT_EQ(Ok(Bin("/", Num("-59.97"), Num("3"))), Value(Dec("-19.99")));
}

TEST_F(EvalTest, DivisionByZeroIsAnErrorNamingTheExpression) {
  EXPECT_EQ(Err(Bin("/", Path("sale.total"), Num("0"))), "division by zero in sale.total / 0");
  EXPECT_EQ(Err(Bin("%", Num("7"), Num("0.0"))), "division by zero in 7 % 0");
}

TEST_F(EvalTest, Remainder) {
  EXPECT_EQ(Ok(Bin("%", Num("7"), Num("3"))), Value(1));
  EXPECT_EQ(Ok(Bin("%", Num("-7"), Num("3"))), Value(-1));
  EXPECT_EQ(Ok(Bin("%", Num("7"), Num("-3"))), Value(1));
  EXPECT_EQ(Ok(Bin("%", Num("7.5"), Num("2"))), Value(Dec("1.5")));
  EXPECT_EQ(Ok(Bin("%", Num("6"), Num("3"))), Value(0));
  EXPECT_EQ(Ok(Bin("%", Num("1"), Num("3"))), Value(1));
  EXPECT_EQ(Ok(Bin("%", Num("0.3"), Num("0.1"))), Value(0));
  EXPECT_EQ(Ok(Bin("%", Num("1000000000000000000000000000000"), Num("7"))), Value(1));
  EXPECT_EQ(Ok(Bin("%", Num("12345678901234567890123"), Num("10"))), Value(3));
  EXPECT_EQ(Ok(Bin("%", Num("-12345678901234567890123"), Num("10"))), Value(-3));
}

TEST_F(EvalTest, ArithmeticTypeErrors) {
  EXPECT_EQ(Err(Bin("+", N("name"), Num("1"))),
            "cannot add text \"Ann\" and number 1 (use text(x) to turn a value into text) in name + 1");
  EXPECT_EQ(Err(Bin("*", N("name"), Num("2"))), "cannot multiply text \"Ann\" by number 2 in name * 2");
  EXPECT_EQ(Err(Bin("-", N("yes"), Num("2"))), "cannot subtract number 2 from bool true in yes - 2");
  EXPECT_EQ(Err(Bin("/", N("name"), Num("2"))),
            "cannot divide text \"Ann\" by number 2 (both must be numbers) in name / 2");
  EXPECT_EQ(Err(Un("-", N("name"))), "cannot negate text \"Ann\" in -name");
  EXPECT_EQ(Err(Bin("+", N("nothing"), Num("1"))), "cannot add null and number 1 in nothing + 1");
}

TEST_F(EvalTest, TextConcatenation) {
  EXPECT_EQ(Ok(Bin("+", Str("Hello "), N("name"))), Value("Hello Ann"));
  EXPECT_EQ(Ok(Bin("+", Str(""), Str(""))), Value(""));
}

// --------------------------------------------------------------------------- time arithmetic

TEST_F(EvalTest, TimeArithmetic) {
  EXPECT_EQ(Ok(Bin("+", Path("sale.created"), Dur(2 * kHour))), Value(T("2026-11-27T08:00:00Z")));
  EXPECT_EQ(Ok(Bin("+", Dur(2 * kHour), Path("sale.created"))), Value(T("2026-11-27T08:00:00Z")));
  EXPECT_EQ(Ok(Bin("-", Path("sale.created"), Dur(24 * kHour))), Value(T("2026-11-26T06:00:00Z")));
  EXPECT_EQ(Ok(Bin("-", Fn("now"), Path("sale.created"))), Value(Duration{4 * kHour}));
  EXPECT_EQ(Ok(Bin("-", Path("sale.created"), Fn("now"))), Value(Duration{-4 * kHour}));
  EXPECT_EQ(Ok(Bin("+", Dur(kHour), Dur(30 * 60000))), Value(Duration{90 * 60000}));
  EXPECT_EQ(Ok(Bin("-", Dur(kHour), Dur(2 * kHour))), Value(Duration{-kHour}));
  EXPECT_EQ(Ok(Bin("*", Dur(kHour), Num("3"))), Value(Duration{3 * kHour}));
  EXPECT_EQ(Ok(Bin("*", Num("1.5"), Dur(kHour))), Value(Duration{90 * 60000}));
  EXPECT_EQ(Ok(Un("-", Dur(kHour))), Value(Duration{-kHour}));
  EXPECT_EQ(Ok(Bin(">", Bin("-", Fn("now"), Path("sale.created")), Dur(3 * kHour))), Value(true));
}

TEST_F(EvalTest, TextStandsInForTimesAndDurations) {
  EXPECT_EQ(Ok(Bin("+", Path("sale.created_text"), Dur(2 * kHour))), Value(T("2026-11-27T08:00:00Z")));
  EXPECT_EQ(Ok(Bin("+", Path("sale.created"), Path("sale.window_text"))), Value(T("2026-11-27T08:00:00Z")));
  EXPECT_EQ(Ok(Bin("-", Fn("now"), Path("sale.created_text"))), Value(Duration{4 * kHour}));
  EXPECT_EQ(Ok(Bin("-", Path("sale.created_text"), Path("sale.window"))), Value(T("2026-11-27T04:00:00Z")));
  EXPECT_EQ(Ok(Bin("*", Path("sale.window_text"), Num("2"))), Value(Duration{4 * kHour}));
  EXPECT_EQ(Ok(Bin("<", Path("sale.created_text"), Fn("now"))), Value(true));
  EXPECT_EQ(Ok(Bin("==", Path("sale.created"), Path("sale.created_text"))), Value(true));
  EXPECT_EQ(Ok(Bin("==", Path("sale.window"), Str("2h"))), Value(true));
  EXPECT_EQ(Ok(Bin("==", Path("sale.window"), Str("120m"))), Value(true));
  EXPECT_EQ(Ok(Bin("==", Path("sale.window"), Str("two hours"))), Value(false));
  EXPECT_EQ(Ok(Bin(">", Path("sale.window_text"), Dur(kHour))), Value(true));
  EXPECT_EQ(Err(Bin("+", Path("sale.created"), Str("soon"))),
            "cannot add time 2026-11-27T06:00:00Z and text \"soon\" (use text(x) to turn a value into "
            "text) in sale.created + \"soon\"");
  EXPECT_EQ(Err(Bin("+", Path("sale.created"), Path("sale.created"))),
            "cannot add time 2026-11-27T06:00:00Z and time 2026-11-27T06:00:00Z in sale.created + "
            "sale.created");
}

TEST_F(EvalTest, TimeOverflowIsAnError) {
  ExprPtr huge = Lit(Value(Duration{INT64_MAX}));
  EXPECT_EQ(Err(Bin("+", Fn("now"), huge)).substr(0, 17), "time out of range");
  EXPECT_EQ(Err(Bin("*", huge, Num("10"))).substr(0, 21), "duration out of range");
}

// ------------------------------------------------------------------------------- comparisons

TEST_F(EvalTest, Equality) {
  EXPECT_EQ(Ok(Bin("==", Num("1"), Num("1.0"))), Value(true));
  EXPECT_EQ(Ok(Bin("==", Str("1"), Num("1"))), Value(false));
  EXPECT_EQ(Ok(Bin("!=", Str("1"), Num("1"))), Value(true));
  EXPECT_EQ(Ok(Bin("==", N("nothing"), Null())), Value(true));
  EXPECT_EQ(Ok(Bin("==", Path("sale.note"), Null())), Value(true));
  EXPECT_EQ(Ok(Bin("!=", Path("sale.total"), Null())), Value(true));
  EXPECT_EQ(Ok(Bin("==", N("yes"), Bool(true))), Value(true));
  EXPECT_EQ(Ok(Bin("==", Path("sale.tags"), ListE({Str("vip"), Str("web")}))), Value(true));
  EXPECT_EQ(Ok(Bin("==", Path("sale.tags"), ListE({Str("web"), Str("vip")}))), Value(false));
  EXPECT_EQ(Ok(Bin("==", RecordE({{"a", Num("1.0")}}), RecordE({{"a", Num("1")}}))), Value(true));
  EXPECT_EQ(Ok(Bin("==", ListE({Path("sale.created")}), ListE({Path("sale.created_text")}))), Value(true));
}

TEST_F(EvalTest, Ordering) {
  EXPECT_EQ(Ok(Bin(">", Path("sale.total"), Num("499.99"))), Value(true));
  EXPECT_EQ(Ok(Bin("<", Num("2"), Num("10"))), Value(true));
  EXPECT_EQ(Ok(Bin("<=", Num("2.0"), Num("2"))), Value(true));
  EXPECT_EQ(Ok(Bin(">=", Num("1.99"), Num("2"))), Value(false));
  EXPECT_EQ(Ok(Bin("<", Str("apple"), Str("banana"))), Value(true));
  EXPECT_EQ(Ok(Bin("<", Str("10"), Str("9"))), Value(true));  // text order, not numeric
  EXPECT_EQ(Ok(Bin("<", Path("sale.created"), Fn("now"))), Value(true));
  EXPECT_EQ(Ok(Bin("<", Dur(kHour), Dur(2 * kHour))), Value(true));
}

TEST_F(EvalTest, OrderingTypeErrors) {
  EXPECT_EQ(Err(Bin(">", Path("sale.total"), Str("abc"))),
            "cannot compare number 500 with text \"abc\" in sale.total > \"abc\"");
  EXPECT_EQ(Err(Bin("<", Path("sale.note"), Num("1"))), "cannot compare null with number 1 in sale.note < 1");
  EXPECT_EQ(Err(Bin("<", Path("sale.created"), Num("1"))),
            "cannot compare time 2026-11-27T06:00:00Z with number 1 in sale.created < 1");
  EXPECT_EQ(Err(Bin("<", Path("sale.created"), Dur(1))).substr(0, 31), "cannot compare time 2026-11-27T");
  EXPECT_EQ(Err(Bin("<", N("yes"), N("no"))), "cannot compare bool true with bool false in yes < no");
}

TEST_F(EvalTest, Membership) {
  EXPECT_EQ(Ok(Bin("in", Str("vip"), Path("sale.tags"))), Value(true));
  EXPECT_EQ(Ok(Bin("in", Str("store"), Path("sale.tags"))), Value(false));
  EXPECT_EQ(Ok(Bin("in", Num("2"), ListE({Num("1"), Num("2.00")}))), Value(true));
  EXPECT_EQ(Ok(Bin("in", Str("pe"), Path("sale.status"))), Value(true));
  EXPECT_EQ(Ok(Bin("in", Str("x"), Path("sale.status"))), Value(false));
  EXPECT_EQ(Err(Bin("in", Str("x"), Path("sale.total"))),
            "`in` needs a list or text on its right, got number 500 in \"x\" in sale.total");
  EXPECT_EQ(Err(Bin("in", Num("1"), Path("sale.status"))),
            "`in` on text needs text on its left, got number 1 in 1 in sale.status");
}

// ----------------------------------------------------------------------------------- logic

TEST_F(EvalTest, LogicAndShortCircuit) {
  EXPECT_EQ(Ok(Bin("and", N("yes"), N("no"))), Value(false));
  EXPECT_EQ(Ok(Bin("and", N("yes"), N("yes"))), Value(true));
  EXPECT_EQ(Ok(Bin("or", N("no"), N("yes"))), Value(true));
  EXPECT_EQ(Ok(Bin("or", N("no"), N("no"))), Value(false));
  EXPECT_EQ(Ok(Un("not", N("no"))), Value(true));
  // The right side is not evaluated when the left decides (it would fail here).
  ExprPtr failing = Bin("/", Num("1"), Num("0"));
  EXPECT_EQ(Ok(Bin("and", N("no"), failing)), Value(false));
  EXPECT_EQ(Ok(Bin("or", N("yes"), failing)), Value(true));
  EXPECT_EQ(Ok(Bin("and", Bin("!=", N("nothing"), Null()), Bin(">", N("nothing"), Num("1")))), Value(false));
}

TEST_F(EvalTest, LogicNeedsBools) {
  EXPECT_EQ(Err(Bin("and", Path("sale.note"), N("yes"))),
            "`and` needs true or false on its left, got null (test `x != null` first) in sale.note and yes");
  EXPECT_EQ(Err(Bin("or", N("no"), Num("1"))), "`or` needs true or false on its right, got number 1 in no or 1");
  EXPECT_EQ(Err(Un("not", N("name"))), "`not` needs true or false, got text \"Ann\" in not name");
}

// ----------------------------------------------------------------------- names, fields, index

TEST_F(EvalTest, NullHandlingForFieldsAndIndexes) {
  EXPECT_TRUE(Ok(Path("sale.note")).is_null());
  EXPECT_TRUE(Ok(Path("sale.note.text")).is_null());
  EXPECT_TRUE(Ok(Field(N("nothing"), "x")).is_null());
  EXPECT_TRUE(Ok(Index(Path("sale.lines"), Num("5"))).is_null());
  EXPECT_TRUE(Ok(Index(Path("sale.lines"), Num("-1"))).is_null());
  EXPECT_TRUE(Ok(Index(N("nothing"), Num("0"))).is_null());
  EXPECT_EQ(Ok(Field(Index(Path("sale.lines"), Num("1")), "sku")), Value("B2"));
  EXPECT_EQ(Ok(Index(Path("sale.tags"), Num("0.0"))), Value("vip"));
}

TEST_F(EvalTest, FieldAndIndexErrors) {
  EXPECT_EQ(Err(Path("sale.total.cents")),
            "cannot take field 'cents' of number 500 (only records have fields) in sale.total.cents");
  EXPECT_EQ(Err(Index(Path("sale.status"), Num("0"))),
            "cannot index text \"open\" (only lists and records can be indexed) in sale.status[0]");
  EXPECT_EQ(Err(Index(Path("sale.tags"), Num("0.5"))),
            "a list index must be a whole number, got number 0.5 in sale.tags[0.5]");
  EXPECT_EQ(Err(Index(Path("sale.tags"), Str("0"))),
            "a list index must be a whole number, got text \"0\" in sale.tags[\"0\"]");
  EXPECT_EQ(Err(Index(Path("sale"), Num("1"))),
            "a record can only be indexed by a text key, got number 1 in sale[1]");
}

TEST_F(EvalTest, NamesResolveInnermostFirst) {
  Record item_frame{{"name", Value("Bob")}, {"item", Value(7)}};
  Scope inner = scope_;
  inner.frames.push_back(&item_frame);
  EXPECT_EQ(*Evaluate(N("name"), inner), Value("Bob"));
  EXPECT_EQ(*Evaluate(N("item"), inner), Value(7));
  EXPECT_EQ(*Evaluate(Path("sale.status"), inner), Value("open"));
  EXPECT_EQ(Ok(N("name")), Value("Ann"));
  EXPECT_EQ(Err(N("salee")), "unknown name 'salee' in salee");
  // A record frame that is a null pointer is skipped.
  Scope with_null = scope_;
  with_null.frames.push_back(nullptr);
  EXPECT_EQ(*Evaluate(N("name"), with_null), Value("Ann"));
}

// ------------------------------------------------------------------- building values, text

TEST_F(EvalTest, ListsRecordsAndInterpolation) {
  EXPECT_EQ(Ok(ListE({Num("1"), Str("a"), Null()})), Value(List{Value(1), Value("a"), Value()}));
  EXPECT_EQ(Ok(RecordE({{"sku", Str("A1")}, {"qty", Bin("+", Num("1"), Num("2"))}})),
            Value(Record{{"sku", Value("A1")}, {"qty", Value(3)}}));
  EXPECT_EQ(Ok(Text({Str("Refund "), Bin("*", Num("19.99"), Num("3")), Str(" to "), N("name"), Str("."),
                     Path("sale.note")})),
            Value("Refund 59.97 to Ann."));
  EXPECT_EQ(Ok(Text({Str("at "), Path("sale.created")})), Value("at 2026-11-27T06:00:00Z"));
  EXPECT_EQ(Err(Text({Str("x"), Bin("/", Num("1"), Num("0"))})), "division by zero in 1 / 0");
}

TEST_F(EvalTest, MalformedTreesAreErrorsNotCrashes) {
  EXPECT_FALSE(Evaluate(nullptr, scope_).ok());
  EXPECT_FALSE(Evaluate(Make(Expr::Kind::kBinary, "+", {Num("1")}), scope_).ok());
  EXPECT_FALSE(Evaluate(Make(Expr::Kind::kBinary, "^", {Num("1"), Num("2")}), scope_).ok());
  EXPECT_FALSE(Evaluate(Make(Expr::Kind::kUnary, "!", {Bool(true)}), scope_).ok());
  EXPECT_FALSE(Evaluate(Make(Expr::Kind::kField, "x"), scope_).ok());
  EXPECT_FALSE(Evaluate(Bin("+", nullptr, Num("1")), scope_).ok());
  auto bad_record = std::make_shared<Expr>();
  bad_record->kind = Expr::Kind::kRecord;
  bad_record->args.push_back(Num("1"));
  EXPECT_FALSE(Evaluate(bad_record, scope_).ok());
}

// ----------------------------------------------------------------------------------- functions

TEST_F(EvalTest, FunctionTableMatchesEvaluator) {
  for (const FunctionInfo& f : Functions()) {
    std::vector<ExprPtr> args(static_cast<size_t>(f.min_args), Null());
    Result<Value> r = Evaluate(Fn(std::string(f.name).c_str(), args), scope_);
    // Every listed function is known: any failure is about its arguments, never its name.
    if (!r.ok()) {
      EXPECT_EQ(r.status().message().find("unknown function"), std::string::npos) << f.name;
    }
  }
  EXPECT_EQ(Err(Fn("frobnicate", {Num("1")})), "unknown function 'frobnicate' in frobnicate(1)");
  EXPECT_EQ(Err(Fn("count")), "count takes 1 argument, got 0 in count()");
  EXPECT_EQ(Err(Fn("round", {Num("1"), Num("2"), Num("3")})), "round takes 1 or 2 arguments, got 3 in round(1, 2, 3)");
  EXPECT_EQ(Err(Fn("coalesce")), "coalesce takes at least 1 argument, got 0 in coalesce()");
  EXPECT_EQ(Err(Fn("now", {Num("1")})), "now takes 0 arguments, got 1 in now(1)");
}

TEST_F(EvalTest, Count) {
  EXPECT_EQ(Ok(Fn("count", {Path("sale.lines")})), Value(2));
  EXPECT_EQ(Ok(Fn("count", {Str("café")})), Value(4));
  EXPECT_EQ(Ok(Fn("count", {N("sale")})), Value(8));
  EXPECT_EQ(Ok(Fn("count", {ListE({})})), Value(0));
  EXPECT_EQ(Err(Fn("count", {Path("sale.note")})), "count needs a list, text or record, got null in count(sale.note)");
}

TEST_F(EvalTest, SumOfMoneyIsExact) {
  EXPECT_EQ(Ok(Fn("sum", {ListE({Num("19.99"), Num("19.99"), Num("19.99")})})), Value(Dec("59.97")));
  EXPECT_EQ(Ok(Fn("sum", {Path("sale.lines"), Bin("*", Path("item.qty"), Path("item.price"))})),
            Value(Dec("59.99")));
  EXPECT_EQ(Ok(Fn("sum", {ListE({Num("0.1"), Num("0.2")})})), Value(Dec("0.3")));
  EXPECT_EQ(Ok(Fn("sum", {ListE({})})), Value(0));
  EXPECT_EQ(Ok(Fn("sum", {ListE({Dur(kHour), Str("30m")})})), Value(Duration{90 * 60000}));
  EXPECT_EQ(Err(Fn("sum", {ListE({Num("1"), Str("x")})})),
            "sum needs all numbers or all durations, got text \"x\" for item 2 in sum([1, \"x\"])");
  EXPECT_EQ(Err(Fn("sum", {ListE({Num("1"), Dur(1000)})})).substr(0, 52),
            "sum needs all numbers or all durations, got duration");
  EXPECT_EQ(Err(Fn("sum", {Path("sale.total")})), "sum needs a list, got number 500 in sum(sale.total)");
  EXPECT_EQ(Err(Fn("sum", {Path("sale.lines"), Path("item.sku")})),
            "sum needs all numbers or all durations, got text \"A1\" for item 1 in sum(sale.lines, item.sku)");
}

TEST_F(EvalTest, ItemShadowsOuterNamesOnlyInsideTheCall) {
  Record outer{{"item", Value(100)}};
  Scope scope = scope_;
  scope.frames.push_back(&outer);
  ExprPtr e = Bin("+", Fn("sum", {ListE({Num("1"), Num("2")}), Bin("*", N("item"), Num("10"))}), N("item"));
  EXPECT_EQ(*Evaluate(e, scope), Value(130));
  // Nested bindings: the inner `item` wins inside the inner call.
  ExprPtr nested = Fn("sum", {ListE({ListE({Num("1"), Num("2")}), ListE({Num("3")})}), Fn("sum", {N("item")})});
  EXPECT_EQ(Ok(nested), Value(6));
}

TEST_F(EvalTest, MinMax) {
  EXPECT_EQ(Ok(Fn("min", {ListE({Num("3"), Num("1.5"), Num("2")})})), Value(Dec("1.5")));
  EXPECT_EQ(Ok(Fn("max", {ListE({Num("3"), Num("1.5"), Num("2")})})), Value(3));
  EXPECT_EQ(Ok(Fn("max", {Path("sale.tags")})), Value("web"));
  EXPECT_EQ(Ok(Fn("min", {ListE({Fn("now"), Path("sale.created")})})), Value(T("2026-11-27T06:00:00Z")));
  EXPECT_EQ(Ok(Fn("max", {ListE({Dur(1000), Dur(kHour)})})), Value(Duration{kHour}));
  EXPECT_TRUE(Ok(Fn("min", {ListE({})})).is_null());
  EXPECT_EQ(Ok(Fn("min", {ListE({Num("4")})})), Value(4));
  EXPECT_EQ(Err(Fn("max", {ListE({Num("1"), Str("a")})})),
            "max cannot compare text \"a\" with number 1 in max([1, \"a\"])");
  EXPECT_EQ(Err(Fn("min", {ListE({Bool(true)})})),
            "min needs numbers, texts, times or durations, got bool true in min([true])");
  EXPECT_EQ(Err(Fn("min", {Str("abc")})), "min needs a list, got text \"abc\" in min(\"abc\")");
}

TEST_F(EvalTest, AnyAll) {
  ExprPtr big = Bin(">", Path("item.qty"), Num("2"));
  EXPECT_EQ(Ok(Fn("any", {Path("sale.lines"), big})), Value(true));
  EXPECT_EQ(Ok(Fn("all", {Path("sale.lines"), big})), Value(false));
  EXPECT_EQ(Ok(Fn("all", {Path("sale.lines"), Bin(">", Path("item.qty"), Num("0"))})), Value(true));
  EXPECT_EQ(Ok(Fn("any", {ListE({}), big})), Value(false));
  EXPECT_EQ(Ok(Fn("all", {ListE({}), big})), Value(true));
  // Short-circuit: the second element would fail.
  ExprPtr check = Bin("==", Bin("/", Num("1"), N("item")), Num("1"));
  EXPECT_EQ(Ok(Fn("any", {ListE({Num("1"), Num("0")}), check})), Value(true));
  EXPECT_EQ(Err(Fn("all", {Path("sale.lines"), Path("item.sku")})),
            "all needs a condition that is true or false, got text \"A1\" for item 1 in all(sale.lines, item.sku)");
  EXPECT_EQ(Err(Fn("any", {Path("sale.note"), big})), "any needs a list, got null in any(sale.note, item.qty > 2)");
}

TEST_F(EvalTest, TextFunctions) {
  EXPECT_EQ(Ok(Fn("lower", {Str("MiXeD Café")})), Value("mixed café"));
  EXPECT_EQ(Ok(Fn("upper", {Str("MiXeD")})), Value("MIXED"));
  EXPECT_EQ(Ok(Fn("trim", {Str(" \t padded \n")})), Value("padded"));
  EXPECT_EQ(Ok(Fn("trim", {Str("   ")})), Value(""));
  EXPECT_EQ(Ok(Fn("length", {Str("café")})), Value(4));
  EXPECT_EQ(Ok(Fn("length", {Str("")})), Value(0));
  EXPECT_EQ(Ok(Fn("contains", {Str("order-123"), Str("123")})), Value(true));
  EXPECT_EQ(Ok(Fn("contains", {Path("sale.tags"), Str("vip")})), Value(true));
  EXPECT_EQ(Ok(Fn("contains", {Path("sale.tags"), Str("VIP")})), Value(false));
  EXPECT_EQ(Ok(Fn("starts_with", {Str("SKU-1"), Str("SKU-")})), Value(true));
  EXPECT_EQ(Ok(Fn("starts_with", {Str("SK"), Str("SKU-")})), Value(false));
  EXPECT_EQ(Err(Fn("lower", {Num("1")})), "lower needs text, got number 1 in lower(1)");
  EXPECT_EQ(Err(Fn("length", {Path("sale.tags")})), "length needs text, got list of 2 items in length(sale.tags)");
  EXPECT_EQ(Err(Fn("contains", {Str("abc"), Num("1")})),
            "contains on text needs text to look for, got number 1 in contains(\"abc\", 1)");
  EXPECT_EQ(Err(Fn("contains", {Num("5"), Num("1")})), "contains needs a list or text, got number 5 in contains(5, 1)");
}

TEST_F(EvalTest, RoundAndAbs) {
  EXPECT_EQ(Ok(Fn("round", {Num("2.345"), Num("2")})), Value(Dec("2.34")));
  EXPECT_EQ(Ok(Fn("round", {Num("2.355"), Num("2")})), Value(Dec("2.36")));
  EXPECT_EQ(Ok(Fn("round", {Num("2.5")})), Value(2));
  EXPECT_EQ(Ok(Fn("round", {Num("3.5")})), Value(4));
  EXPECT_EQ(Ok(Fn("round", {Num("-2.5")})), Value(-2));
  EXPECT_EQ(Ok(Fn("round", {Bin("/", Num("10"), Num("3")), Num("2")})), Value(Dec("3.33")));
  EXPECT_EQ(Err(Fn("round", {Num("1"), Num("-1")})),
            "round needs a whole number of places from 0 to 30, got number -1 in round(1, -1)");
  EXPECT_EQ(Err(Fn("round", {Num("1"), Num("1.5")})).substr(0, 40), "round needs a whole number of places fro");
  EXPECT_EQ(Err(Fn("round", {Str("1")})), "round needs a number, got text \"1\" in round(\"1\")");
  EXPECT_EQ(Ok(Fn("abs", {Num("-4.20")})), Value(Dec("4.2")));
  EXPECT_EQ(Ok(Fn("abs", {Num("3")})), Value(3));
  EXPECT_EQ(Ok(Fn("abs", {Dur(-kHour)})), Value(Duration{kHour}));
  EXPECT_EQ(Err(Fn("abs", {Str("x")})), "abs needs a number or a duration, got text \"x\" in abs(\"x\")");
}

TEST_F(EvalTest, DurationAndDateFunctions) {
  EXPECT_EQ(Ok(Fn("days", {Num("2")})), Value(Duration{48 * kHour}));
  EXPECT_EQ(Ok(Fn("hours", {Num("1.5")})), Value(Duration{90 * 60000}));
  EXPECT_EQ(Ok(Fn("minutes", {Num("30")})), Value(Duration{30 * 60000}));
  EXPECT_EQ(Ok(Bin("+", Path("sale.created"), Fn("days", {Num("1")}))), Value(T("2026-11-28T06:00:00Z")));
  EXPECT_EQ(Err(Fn("days", {Str("2")})), "days needs a number, got text \"2\" in days(\"2\")");
  EXPECT_EQ(Ok(Fn("date", {Fn("now")})), Value("2026-11-27"));
  EXPECT_EQ(Ok(Fn("date", {Str("2026-03-01T23:59:59Z")})), Value("2026-03-01"));
  EXPECT_EQ(Err(Fn("date", {Str("yesterday")})), "date needs a time, got text \"yesterday\" in date(\"yesterday\")");
  EXPECT_EQ(Ok(Fn("now")), Value(T("2026-11-27T10:00:00Z")));
}

TEST_F(EvalTest, Conversions) {
  EXPECT_EQ(Ok(Fn("text", {Num("12.50")})), Value("12.5"));
  EXPECT_EQ(Ok(Fn("text", {Str("x")})), Value("x"));
  EXPECT_EQ(Ok(Fn("text", {N("nothing")})), Value(""));
  EXPECT_EQ(Ok(Bin("+", Str("Total: "), Fn("text", {Path("sale.total")}))), Value("Total: 500"));
  EXPECT_EQ(Ok(Fn("number", {Str("12.50")})), Value(Dec("12.5")));
  EXPECT_EQ(Ok(Fn("number", {Str(" 7 ")})), Value(7));
  EXPECT_EQ(Ok(Fn("number", {Num("3")})), Value(3));
  EXPECT_EQ(Ok(Bin("==", Bin("+", Fn("number", {Str("0.1")}), Fn("number", {Str("0.2")})), Num("0.3"))),
            Value(true));
  EXPECT_EQ(Err(Fn("number", {Str("12,50")})), "cannot turn text \"12,50\" into a number in number(\"12,50\")");
  EXPECT_EQ(Err(Fn("number", {N("yes")})), "number needs text, got bool true in number(yes)");
}

TEST_F(EvalTest, Coalesce) {
  EXPECT_EQ(Ok(Fn("coalesce", {Path("sale.note"), N("nothing"), Str("none")})), Value("none"));
  EXPECT_EQ(Ok(Fn("coalesce", {Path("sale.total"), Str("none")})), Value(500));
  EXPECT_TRUE(Ok(Fn("coalesce", {N("nothing")})).is_null());
  // Later arguments are not evaluated once a value is found.
  EXPECT_EQ(Ok(Fn("coalesce", {Num("1"), Bin("/", Num("1"), Num("0"))})), Value(1));
}

// A hand-built tree deeper than ir::kMaxDepth (no compiled or stored machine is) is an
// evaluation error, not a stack overflow; at the limit it still evaluates.
TEST_F(EvalTest, ExpressionsDeeperThanTheIrLimitFailCleanly) {
  ExprPtr at_limit = Bool(true);
  for (int i = 1; i < kMaxDepth; ++i) at_limit = Bin("and", at_limit, Bool(true));
  EXPECT_EQ(Ok(at_limit), Value(true));
  ExprPtr over = Bin("and", at_limit, Bool(true));
  EXPECT_NE(Err(over).find("nested more than 500 levels deep"), std::string::npos) << Err(over);
  // Inside a function body evaluated per item the count goes on.
  ExprPtr nots = Bool(true);
  for (int i = 1; i < kMaxDepth - 1; ++i) nots = Un("not", Un("not", nots));
  EXPECT_NE(Err(Fn("any", {Path("sale.tags"), nots})).find("nested more than"), std::string::npos);
}

}  // namespace
}  // namespace rf::ir
