#include "common/value.h"

#include <gtest/gtest.h>

#include <string>

#include "common/status.h"

namespace rf {
namespace {

// Substring check without gmock (the test target links gtest only).
#define EXPECT_CONTAINS(haystack, needle)                          \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) \
      << "'" << (haystack) << "' does not contain '" << (needle) << "'"

Value Parse(std::string_view json) {
  Result<Value> r = Value::FromJson(json);
  EXPECT_TRUE(r.ok()) << json << ": " << r.status().ToString();
  return r.ok() ? r.value() : Value();
}

Decimal D(const char* text) { return Decimal::Parse(text).value(); }

TEST(StatusTest, OkAndErrors) {
  EXPECT_TRUE(Status::Ok().ok());
  EXPECT_EQ(Status::Ok().ToString(), "OK");
  const Status s = Status::InvalidArgument("bad field");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "bad field");
  EXPECT_EQ(s.ToString(), "Invalid argument: bad field");
  EXPECT_EQ(Status::NotFound("x").ToString(), "Not found: x");
  EXPECT_EQ(Status::IOError("disk").ToString(), "IO error: disk");
  Result<int> r = Status::Internal("boom");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInternal);
  Result<int> good = 5;
  EXPECT_TRUE(good.ok());
  EXPECT_TRUE(good.status().ok());
  EXPECT_EQ(*good, 5);
}

TEST(ValueJson, NumbersKeepTheirExactDigits) {
  EXPECT_EQ(Parse("0.1").ToJson(), "0.1");
  EXPECT_EQ(Parse("12345678901234567890.123456789").ToJson(), "12345678901234567890.123456789");
  EXPECT_EQ(Parse("12345678901234567890.123456789").as_number(),
            D("12345678901234567890.123456789"));
  EXPECT_EQ(Parse("0.1").as_number() + Parse("0.2").as_number(), Parse("0.3").as_number());
  EXPECT_EQ(Parse("-0.000000001").ToJson(), "-0.000000001");
  EXPECT_EQ(Parse("1.0").ToJson(), "1");
  EXPECT_EQ(Parse("1e2").ToJson(), "100");
  EXPECT_EQ(Parse("-0").ToJson(), "0");
  EXPECT_EQ(Parse("9223372036854775807").ToJson(), "9223372036854775807");
  EXPECT_EQ(Parse("-9223372036854775808").ToJson(), "-9223372036854775808");
  EXPECT_EQ(Parse("18446744073709551615").ToJson(), "18446744073709551615");
  EXPECT_EQ(Parse("123456789012345678901234567890").ToJson(), "123456789012345678901234567890");
  // Far below what a double can hold, still exact.
  EXPECT_EQ(Parse("1e-400").ToJson(), "0." + std::string(399, '0') + "1");
}

TEST(ValueJson, RoundTripsDocuments) {
  const std::string text =
      R"({"amount":12345678901234567890.123456789,"items":[{"price":19.99,"qty":3},)"
      R"({"price":0.1,"qty":-2}],"name":"Zoë","ok":true,"skip":false,"void":null})";
  const Value v = Parse(text);
  EXPECT_EQ(v.ToJson(), text);
  EXPECT_EQ(Parse(v.ToJson()), v);
  ASSERT_TRUE(v.is_record());
  EXPECT_EQ(v.Find("items")->as_list()[0].Find("price")->as_number(), D("19.99"));
}

TEST(ValueJson, RecordKeysAreWrittenSortedAndWhitespaceIsDropped) {
  EXPECT_EQ(Parse(R"( { "b" : 1 , "a" : [ 1 , 2 ] , "c" : { } } )").ToJson(),
            R"({"a":[1,2],"b":1,"c":{}})");
  EXPECT_EQ(Parse("[]").ToJson(), "[]");
  EXPECT_EQ(Parse("{}").ToJson(), "{}");
}

TEST(ValueJson, DuplicateKeysKeepTheLastValue) {
  EXPECT_EQ(Parse(R"({"a":1,"a":2})").ToJson(), R"({"a":2})");
}

TEST(ValueJson, EscapesStrings) {
  const Value v(
      std::string("quote\" backslash\\ slash/ nl\n cr\r tab\t bs\b ff\f \x01\x1f del\x7f"));
  EXPECT_EQ(v.ToJson(), R"("quote\" backslash\\ slash/ nl\n cr\r tab\t bs\b ff\f \u0001\u001f del)"
                        "\x7f\"");
  EXPECT_EQ(Parse(v.ToJson()), v);
  const Value nul(std::string("a\0b", 3));
  EXPECT_EQ(nul.ToJson(), R"("a\u0000b")");
  EXPECT_EQ(Parse(nul.ToJson()), nul);
}

TEST(ValueJson, PassesValidUtf8ThroughAndDecodesEscapes) {
  EXPECT_EQ(Value("café €5 😀").ToJson(), "\"café €5 😀\"");
  EXPECT_EQ(Parse(R"("caf\u00e9")").as_text(), "café");
  EXPECT_EQ(Parse(R"("\ud83d\ude00")").as_text(), "😀");
  EXPECT_EQ(Parse(R"("\u20ac")").ToJson(), "\"€\"");
}

TEST(ValueJson, ReplacesInvalidUtf8WhenWriting) {
  EXPECT_EQ(Value(std::string("a\xff"
                              "b"))
                .ToJson(),
            R"("a\ufffdb")");
  EXPECT_EQ(Value(std::string("\xc3")).ToJson(), R"("\ufffd")");                      // truncated
  EXPECT_EQ(Value(std::string("\xc0\xaf")).ToJson(), R"("\ufffd\ufffd")");            // overlong
  EXPECT_EQ(Value(std::string("\xed\xa0\x80")).ToJson(), R"("\ufffd\ufffd\ufffd")");  // surrogate
  // Whatever goes in, the output is valid JSON.
  EXPECT_TRUE(Value::FromJson(Value(std::string("\x80\xfe\xc3(")).ToJson()).ok());
}

TEST(ValueJson, MalformedTextIsAnInvalidArgumentWithPosition) {
  for (const char* bad :
       {"", "{", "[1,]", R"({"a" 1})", "nul", "1 2", "01", "NaN", "'x'", R"({"a":1,})", "[1 2]",
        R"("unterminated)", "\"\x01\"", "\"\xff\"", "{\"a\":}", "--1", ".5", "1.", "[1]]"}) {
    Result<Value> r = Value::FromJson(bad);
    ASSERT_FALSE(r.ok()) << "accepted: " << bad;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    EXPECT_CONTAINS(r.status().message(), "invalid JSON") << bad;
  }
  Result<Value> r = Value::FromJson("{\n  \"a\": [1, 2,,]\n}");
  ASSERT_FALSE(r.ok());
  EXPECT_CONTAINS(r.status().message(), "line 2");
  EXPECT_CONTAINS(r.status().message(), "column");
}

TEST(ValueJson, NumbersOutOfRangeAreErrors) {
  Result<Value> huge = Value::FromJson("[1e400]");
  ASSERT_FALSE(huge.ok());
  EXPECT_CONTAINS(huge.status().message(), "1e400");
  Result<Value> tiny = Value::FromJson("[1e-1500]");
  ASSERT_FALSE(tiny.ok());
  EXPECT_CONTAINS(tiny.status().message(), "number '1e-1500' is out of range");
}

TEST(ValueJson, NestingDepthIsLimited) {
  const std::string ok = std::string(500, '[') + std::string(500, ']');
  EXPECT_TRUE(Value::FromJson(ok).ok());
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  Result<Value> r = Value::FromJson(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_CONTAINS(r.status().message(), "deeper than 512");
}

TEST(ValueJson, TimesAndDurationsAsPlainJsonAreText) {
  Record r;
  r["at"] = Time{1795761320123};
  r["wait"] = Duration{5400000};
  const Value v(r);
  EXPECT_EQ(v.ToJson(), R"({"at":"2026-11-27T06:35:20.123Z","wait":"1h30m"})");
  const Value back = Parse(v.ToJson());
  EXPECT_TRUE(back.Find("at")->is_text());
  EXPECT_TRUE(back.Find("wait")->is_text());
}

TEST(ValueTaggedJson, RoundTripsEveryKind) {
  Record inner;
  inner["started"] = Time{-1500};
  inner["timeout"] = Duration{-250};
  Record r;
  r["at"] = Time{1795761320123};
  r["wait"] = Duration{5400000};
  r["list"] = List{Value(Time{0}), Value(Duration{0}), Value(D("0.1")), Value(nullptr)};
  r["inner"] = Value(inner);
  r["name"] = "x";
  const Value v(r);
  const std::string tagged = v.ToTaggedJson();
  EXPECT_EQ(tagged,
            R"({"at":{"$time":1795761320123},"inner":{"started":{"$time":-1500},)"
            R"("timeout":{"$duration":-250}},"list":[{"$time":0},{"$duration":0},0.1,null],)"
            R"("name":"x","wait":{"$duration":5400000}})");
  Result<Value> back = Value::FromTaggedJson(tagged);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, v);
  EXPECT_TRUE(back->Find("at")->is_time());
  EXPECT_EQ(back->Find("at")->as_time().ms, 1795761320123);
  EXPECT_TRUE(back->Find("wait")->is_duration());
  // Plain FromJson does not interpret the tags.
  const Value plain = Parse(tagged);
  EXPECT_TRUE(plain.Find("at")->is_record());
}

TEST(ValueTaggedJson, OnlyExactTagObjectsAreDecoded) {
  EXPECT_TRUE(Value::FromTaggedJson(R"({"$time":5})")->is_time());
  EXPECT_TRUE(Value::FromTaggedJson(R"({"$duration":5.000})")->is_duration());
  EXPECT_TRUE(Value::FromTaggedJson(R"({"$time":1.5})")->is_record());
  EXPECT_TRUE(Value::FromTaggedJson(R"({"$time":"2026-01-01"})")->is_record());
  EXPECT_TRUE(Value::FromTaggedJson(R"({"$time":1,"x":2})")->is_record());
  EXPECT_TRUE(Value::FromTaggedJson(R"({"$time":1e30})")->is_record());
  EXPECT_TRUE(Value::FromTaggedJson(R"({"$when":1})")->is_record());
  EXPECT_FALSE(Value::FromTaggedJson(R"({"$time":)").ok());
}

TEST(ValueEquality, FollowsTheDocumentedRules) {
  EXPECT_EQ(Value(1), Value(D("1.0")));
  EXPECT_EQ(Value(D("0.10")), Value(D("0.1")));
  EXPECT_NE(Value(1), Value(2));
  EXPECT_NE(Value("1"), Value(1));
  EXPECT_EQ(Value(nullptr), Value());
  EXPECT_NE(Value(nullptr), Value(false));
  EXPECT_NE(Value(0), Value(false));
  EXPECT_NE(Value(""), Value());
  EXPECT_EQ(Value(Time{5}), Value(Time{5}));
  EXPECT_NE(Value(Time{5}), Value(Time{6}));
  EXPECT_NE(Value(Time{5}), Value(Duration{5}));
  EXPECT_NE(Value(Duration{5}), Value(5));
  EXPECT_EQ(Value(List{1, 2}), Value(List{Value(D("1.0")), Value(2)}));
  EXPECT_NE(Value(List{1, 2}), Value(List{2, 1}));
  EXPECT_NE(Value(List{1}), Value(List{1, 1}));
  EXPECT_EQ(Parse(R"({"a":1,"b":[true]})"), Parse(R"({"b":[true],"a":1.00})"));
  EXPECT_NE(Parse(R"({"a":1})"), Parse(R"({"a":1,"b":null})"));
  EXPECT_NE(Parse(R"({"a":1})"), Parse(R"({"b":1})"));
  EXPECT_NE(Value(List{}), Value(Record{}));
}

TEST(ValueDisplay, HumanText) {
  EXPECT_EQ(Value("hello \"x\"").ToDisplayString(), "hello \"x\"");
  EXPECT_EQ(Value(D("19.990")).ToDisplayString(), "19.99");
  EXPECT_EQ(Value(D("1e21")).ToDisplayString(), "1000000000000000000000");
  EXPECT_EQ(Value(true).ToDisplayString(), "true");
  EXPECT_EQ(Value(false).ToDisplayString(), "false");
  EXPECT_EQ(Value().ToDisplayString(), "");
  EXPECT_EQ(Value(Time{1795761320000}).ToDisplayString(), "2026-11-27T06:35:20Z");
  EXPECT_EQ(Value(Duration{9 * 86400000LL}).ToDisplayString(), "1w2d");
  EXPECT_EQ(Value(List{1, "a"}).ToDisplayString(), R"([1,"a"])");
  EXPECT_EQ(Parse(R"({"k":[null]})").ToDisplayString(), R"({"k":[null]})");
}

TEST(ValueAccess, KindsFindAndSet) {
  EXPECT_STREQ(Value::KindName(Value::Kind::kNull), "null");
  EXPECT_STREQ(Value::KindName(Value::Kind::kBool), "bool");
  EXPECT_STREQ(Value::KindName(Value::Kind::kNumber), "number");
  EXPECT_STREQ(Value::KindName(Value::Kind::kText), "text");
  EXPECT_STREQ(Value::KindName(Value::Kind::kTime), "time");
  EXPECT_STREQ(Value::KindName(Value::Kind::kDuration), "duration");
  EXPECT_STREQ(Value::KindName(Value::Kind::kList), "list");
  EXPECT_STREQ(Value::KindName(Value::Kind::kRecord), "record");
  EXPECT_EQ(Value(std::int64_t{7}).kind(), Value::Kind::kNumber);
  EXPECT_EQ(Value(std::string_view("t")).kind(), Value::Kind::kText);

  Value v;
  EXPECT_EQ(v.Find("a"), nullptr);
  v.Set("b", 2);
  v.Set("a", "x");
  ASSERT_TRUE(v.is_record());
  ASSERT_NE(v.Find("a"), nullptr);
  EXPECT_EQ(v.Find("a")->as_text(), "x");
  EXPECT_EQ(v.Find("missing"), nullptr);
  v.Set("a", 3);  // replaces
  EXPECT_EQ(v.ToJson(), R"({"a":3,"b":2})");
  EXPECT_EQ(Value(5).Find("a"), nullptr);
}

TEST(ValueAccess, CopiesAreDeep) {
  Value a = Parse(R"({"list":[1,2],"rec":{"x":1}})");
  Value b = a;
  b.as_record()["list"].as_list().push_back(3);
  b.as_record()["rec"].Set("y", 2);
  EXPECT_EQ(a.ToJson(), R"({"list":[1,2],"rec":{"x":1}})");
  EXPECT_EQ(b.ToJson(), R"({"list":[1,2,3],"rec":{"x":1,"y":2}})");
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace rf
