// Pathological .flow shapes (issue 16): each one gets its located diagnostic instead of a crash
// or a stall, and nesting that a real flow might use still compiles and runs.
#include <gtest/gtest.h>

#include <string>

#include "dsl/compiler.h"
#include "dsl/parser.h"
#include "engine/ir/eval.h"
#include "test_support.h"

namespace rf::dsl {
namespace {

std::string Repeat(const std::string& unit, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += unit;
  return s;
}

// A flow whose decide tests `condition` on line 4, starting at column 8.
std::string Decide(const std::string& condition) {
  return "workflow deep version 1\ninput x number, l list\ndecide d\n  when " + condition +
         " go to done\n  otherwise go to done\nfinish done\n";
}
constexpr int kConditionLine = 4;
constexpr int kConditionColumn = 8;

struct Checked {
  Diagnostics diags;
  std::optional<ir::Machine> machine;
};

Checked Check(const std::string& source) {
  Checked c;
  c.machine = CompileSource(source, testing::ShippedCatalog(), c.diags);
  return c;
}

// The single diagnostic with `code`; fails the test unless there is exactly one.
const Diagnostic* Only(const Checked& c, const std::string& code) {
  const Diagnostic* found = nullptr;
  int n = 0;
  for (const auto& d : c.diags.all()) {
    if (d.code == code) {
      found = &d;
      ++n;
    }
  }
  EXPECT_EQ(1, n) << "diagnostics with code " << code;
  return found;
}

// Expects exactly one error, `too-deep`, at line:column.
void ExpectTooDeepAt(const std::string& source, int line, int column) {
  Checked c = Check(source);
  EXPECT_FALSE(c.machine.has_value());
  ASSERT_EQ(1u, c.diags.ErrorCount());
  const Diagnostic* d = Only(c, "too-deep");
  ASSERT_NE(nullptr, d);
  EXPECT_EQ(line, d->loc.line);
  EXPECT_EQ(column, d->loc.column);
  EXPECT_NE(d->message.find("nested more than 100 levels deep"), std::string::npos) << d->message;
  EXPECT_FALSE(d->hint.empty());
}

// The column (1-based) of the n-th occurrence (1-based) of `what` on the condition's line.
int ColumnOfNth(const std::string& condition, const std::string& what, int n) {
  size_t at = std::string::npos;
  for (int i = 0; i < n; ++i) at = condition.find(what, at == std::string::npos ? 0 : at + 1);
  return kConditionColumn + static_cast<int>(at);
}

TEST(Nesting, FiveThousandParenthesesAreTooDeepAtTheFirstBracketBeyondTheLimit) {
  std::string condition = std::string(5000, '(') + "input.x == 1" + std::string(5000, ')');
  ExpectTooDeepAt(Decide(condition), kConditionLine, kConditionColumn + kMaxNesting);
}

TEST(Nesting, ExactlyTheLimitOfParenthesesCompiles) {
  std::string at_limit = std::string(kMaxNesting, '(') + "input.x == 1" + std::string(kMaxNesting, ')');
  Checked ok = Check(Decide(at_limit));
  EXPECT_TRUE(ok.machine.has_value()) << (ok.diags.all().empty() ? "" : ok.diags.all()[0].message);
  std::string over = "(" + at_limit + ")";
  ExpectTooDeepAt(Decide(over), kConditionLine, kConditionColumn + kMaxNesting);
}

TEST(Nesting, DeepBracketsOfEveryKindAreTooDeep) {
  // Lists, records and calls recurse in the parser just as parentheses do.
  std::string lists = std::string(3000, '[') + "1" + std::string(3000, ']');
  ExpectTooDeepAt(Decide("1 in " + lists), kConditionLine, kConditionColumn + 5 + kMaxNesting);
  std::string calls = Repeat("count(", 3000) + "input.l" + std::string(3000, ')');
  Checked c = Check(Decide(calls + " > 0"));
  EXPECT_NE(nullptr, Only(c, "too-deep"));
  std::string records = Repeat("{a = ", 3000) + "1" + std::string(3000, '}');
  c = Check(Decide("count(" + records + ") > 0"));
  EXPECT_NE(nullptr, Only(c, "too-deep"));
}

TEST(Nesting, NotChainsAndMinusChainsAreTooDeep) {
  std::string nots = Repeat("not ", 5000) + "true";
  ExpectTooDeepAt(Decide(nots), kConditionLine, ColumnOfNth(nots, "not", kMaxNesting + 1));
  std::string minus = Repeat("- ", 5000) + "1 > 0";
  ExpectTooDeepAt(Decide(minus), kConditionLine, ColumnOfNth(minus, "-", kMaxNesting + 1));
}

TEST(Nesting, LongFieldPathsAndIndexChainsAreTooDeep) {
  // input is level 1, each field one more: the 100th field is level 101.
  std::string fields = "input" + Repeat(".a", 3000) + " == 1";
  ExpectTooDeepAt(Decide(fields), kConditionLine, ColumnOfNth(fields, ".a", kMaxNesting) + 1);
  std::string index = "input.l" + Repeat("[0]", 3000) + " == 1";
  ExpectTooDeepAt(Decide(index), kConditionLine, ColumnOfNth(index, "[0]", kMaxNesting - 1));
}

TEST(Nesting, LongAndOrChainsAreTooDeepAtTheOperatorBeyondTheLimit) {
  // `true` is level 1 and each `and` one more, so the 100th `and` is level 101.
  for (const std::string op : {" and ", " or "}) {
    std::string chain = "true" + Repeat(op + "true", 20000);
    ExpectTooDeepAt(Decide(chain), kConditionLine, ColumnOfNth(chain, op, kMaxNesting) + 1);
  }
  std::string sum = "1" + Repeat(" + 1", 20000) + " > 0";
  Checked c = Check(Decide(sum));
  EXPECT_NE(nullptr, Only(c, "too-deep"));
}

TEST(Nesting, DeeplyNestedBlocksAreTooDeep) {
  std::string s = "workflow deep version 1\ninput l list\n";
  for (int i = 0; i < 3000; ++i) s += "for each i in input.l as f" + std::to_string(i) + "\n";
  s += "set v\n  a = 1\n";
  for (int i = 0; i < 3000; ++i) s += "end\n";
  s += "finish\n";
  // Line 3 opens the first block: the 101st opens on line 103.
  Checked c = Check(s);
  EXPECT_FALSE(c.machine.has_value());
  const Diagnostic* d = Only(c, "too-deep");
  ASSERT_NE(nullptr, d);
  EXPECT_EQ(3 + kMaxNesting, d->loc.line);
  EXPECT_EQ(1, d->loc.column);
}

TEST(Nesting, TooDeepIsReportedAlongsideTheOtherErrors) {
  std::string source = "workflow deep version 1\ninput x number\ndecide d\n  when " + std::string(5000, '(') +
                       "input.x" + std::string(5000, ')') + " go to done\n  otherwise go to done\nstep s go to done\nfinish done\n";
  Checked c = Check(source);
  ASSERT_NE(nullptr, Only(c, "too-deep"));
  const Diagnostic* syntax = Only(c, "syntax");
  ASSERT_NE(nullptr, syntax);
  EXPECT_EQ(6, syntax->loc.line);
}

TEST(Nesting, TooDeepInsideAnInterpolationPointsIntoTheText) {
  std::string inner = std::string(300, '(') + "input.x" + std::string(300, ')');
  std::string source = "workflow deep version 1\ninput x number\nfail \"total {" + inner + "}\"\n";
  Checked c = Check(source);
  const Diagnostic* d = Only(c, "too-deep");
  ASSERT_NE(nullptr, d);
  EXPECT_EQ(3, d->loc.line);
  EXPECT_EQ(14 + kMaxNesting, d->loc.column);  // `fail "total {` is 13 characters
}

TEST(Nesting, TwentyLevelsOfEverythingStillCompileAndEvaluate) {
  std::string parens = std::string(20, '(') + "input.x == 4" + std::string(20, ')');
  std::string nots = Repeat("not ", 20) + "(input.x == 4)";       // an even count: unchanged
  std::string minus = Repeat("- ", 20) + "input.x == 4";          // likewise
  std::string chain = "input.x == 4" + Repeat(" and input.x > 0", 20);
  std::string lists = "4 in " + std::string(20, '[') + "4" + std::string(20, ']');
  std::string source = "workflow legal version 1\ninput x number\ndecide d\n  when " + parens + " and " + nots +
                       " and " + minus + " and " + chain + " go to yes\n  otherwise go to no\nfinish yes\nfail no \"no\"\n";
  Checked c = Check(source);
  ASSERT_TRUE(c.machine.has_value()) << (c.diags.all().empty() ? "" : c.diags.all()[0].message);
  const auto& when = c.machine->main.states[0].when;
  ASSERT_EQ(1u, when.size());
  Record data{{"input", Value(Record{{"x", Value(4)}})}};
  ir::Scope scope;
  scope.frames.push_back(&data);
  auto v = ir::Evaluate(when[0].first, scope);
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_TRUE(v->as_bool());
  // The list shape is legal too, and its JSON form loads back (the IR allows deeper than .flow).
  Checked l = Check(Decide(lists));
  ASSERT_TRUE(l.machine.has_value());
  auto back = ir::MachineFromJson(ir::ToJson(*l.machine));
  EXPECT_TRUE(back.ok()) << back.status().message();
}

TEST(Nesting, AnExpressionAtTheLimitRoundTripsThroughJsonAndEvaluates) {
  std::string chain = "true" + Repeat(" and true", kMaxNesting - 1);  // exactly 100 levels
  Checked c = Check(Decide(chain));
  ASSERT_TRUE(c.machine.has_value()) << (c.diags.all().empty() ? "" : c.diags.all()[0].message);
  auto back = ir::MachineFromJson(ir::ToJson(*c.machine));
  ASSERT_TRUE(back.ok()) << back.status().message();
  ir::Scope scope;
  auto v = ir::Evaluate(back->main.states[0].when[0].first, scope);
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_TRUE(v->as_bool());
}

TEST(Pathological, FiftyThousandUnclosedBracesInATextAreOneDiagnostic) {
  std::string source = "workflow braces version 1\nfail \"" + std::string(50000, '{') + "\"\n";
  Checked c = Check(source);
  ASSERT_EQ(1u, c.diags.ErrorCount());
  const Diagnostic* d = Only(c, "interpolation");
  ASSERT_NE(nullptr, d);
  EXPECT_EQ(2, d->loc.line);
  EXPECT_EQ(7, d->loc.column);
}

TEST(Pathological, ColumnsAfterManyInterpolationsCountCharacters) {
  // The error's column is found in one pass over the text, counting characters, not bytes.
  std::string parts = Repeat("é{input.x}", 2000);
  std::string source = "workflow t version 1\ninput x number\nfail \"" + parts + "{nosuch +}\"\n";
  Checked c = Check(source);
  ASSERT_GE(c.diags.ErrorCount(), 1u);
  const Diagnostic& d = c.diags.all().front();
  EXPECT_EQ("syntax", d.code);
  EXPECT_EQ(3, d.loc.line);
  // `fail "` is 6 characters; each part 10 characters; then `{nosuch +` and the `}` after it.
  EXPECT_EQ(7 + 2000 * 10 + 9, d.loc.column);
}

TEST(Pathological, ThousandsOfErrorsKeepTheFirstHundredAndCountTheRest) {
  std::string source = "workflow many version 1\ninput x number\n";
  for (int i = 0; i < 5000; ++i) source += "set s" + std::to_string(i) + "\n  v = nosuch" + std::to_string(i) + "\n";
  source += "finish\n";
  Checked c = Check(source);
  EXPECT_EQ(5000u, c.diags.ErrorCount());
  ASSERT_EQ(Diagnostics::kMaxKept + 1, c.diags.all().size());
  const Diagnostic& last = c.diags.all().back();
  EXPECT_EQ("too-many-diagnostics", last.code);
  EXPECT_NE(last.message.find("4900 more errors"), std::string::npos) << last.message;
  EXPECT_GE(last.loc.line, 1);
  EXPECT_EQ(4, c.diags.all().front().loc.line);  // the kept ones are the first, in order
}

TEST(Pathological, ManyStatesInSequenceStillCompile) {
  std::string source = "workflow many version 1\ninput x number\n";
  for (int i = 0; i < 5000; ++i) source += "set s" + std::to_string(i) + " v = input.x + 1\n";
  source += "finish\n";
  Checked c = Check(source);
  ASSERT_TRUE(c.machine.has_value());
  EXPECT_EQ(5001u, c.machine->main.states.size());
}

TEST(Pathological, AVeryLongLineRendersAWindowAroundTheCaret) {
  std::string line = "workflow long version 1 input x number";
  for (int i = 0; i < 5000; ++i) line += " set a" + std::to_string(i) + " v = input.x";
  line += " set b v = nosuch finish";
  Checked c = Check(line + "\n");
  const Diagnostic* d = Only(c, "unknown-name");
  ASSERT_NE(nullptr, d);
  std::string text = RenderText(*d, "long.flow", line);
  EXPECT_LT(text.size(), 800u) << "the excerpt should not copy the whole line";
  EXPECT_NE(text.find("v = nosuch"), std::string::npos) << text;
  // The caret sits under `nosuch` in the excerpt.
  size_t source_row = text.find("v = nosuch") + 4;
  size_t row_start = text.rfind('\n', source_row) + 1;
  size_t caret = text.find('^');
  size_t caret_row_start = text.rfind('\n', caret) + 1;
  EXPECT_EQ(source_row - row_start, caret - caret_row_start) << text;
}

}  // namespace
}  // namespace rf::dsl
