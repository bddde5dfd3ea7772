// The strict JSON reader: depth, UTF-8, duplicate keys, paths in errors, unknown members,
// ranges, required and optional members.
#include "common/json_reader.h"

#include <gtest/gtest.h>

#include "common/utf8.h"

namespace rf {
namespace {

TEST(JsonReaderTest, ParsesExactNumbersAndComments) {
  auto doc = ParseJson(R"({"a": 12345678901234567.89, "b": [1, "x"]} // trailing)", JsonParseOptions{64, true});
  ASSERT_TRUE(doc.ok()) << doc.error->message;
  EXPECT_EQ(doc.value.Find("a")->as_number().ToString(), "12345678901234567.89");  // not via a double
  EXPECT_FALSE(ParseJson(R"({"a": 1} // no comments)").ok());
}

TEST(JsonReaderTest, DeepNestingStopsAtTheLimitWithoutBuildingIt) {
  std::string deep(1 << 20, '[');  // 1 MiB of `[`
  auto doc = ParseJson(deep);
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.error->problem, JsonProblem::kTooDeep);
  EXPECT_STREQ(doc.error->code(), "too_deep");
  std::string ok_depth = std::string(64, '[') + std::string(64, ']');
  EXPECT_TRUE(ParseJson(ok_depth).ok());
  EXPECT_FALSE(ParseJson("[" + ok_depth + "]").ok());
  EXPECT_TRUE(ParseJson("[" + ok_depth + "]", JsonParseOptions{65, false}).ok());
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
  EXPECT_EQ(ParseJson(objects).error->problem, JsonProblem::kTooDeep);
}

TEST(JsonReaderTest, InvalidUtf8IsItsOwnProblemAndNeverEchoed) {
  for (std::string bad : {std::string("{\"a\": \"\xff\"}"), std::string("{\"\xc3\x28\": 1}"),
                          std::string("[\"\xed\xa0\x80\"]"), std::string("[\"\\ud800\"]"),
                          std::string("[\"\\udc00x\"]"), std::string("[\"\xe0\x80\xaf\"]")}) {
    auto doc = ParseJson(bad);
    ASSERT_FALSE(doc.ok()) << EscapeForMessage(bad);
    EXPECT_EQ(doc.error->problem, JsonProblem::kInvalidUtf8) << doc.error->message;
    EXPECT_STREQ(doc.error->code(), "invalid_utf8");
    EXPECT_TRUE(IsValidUtf8(doc.error->message));
  }
  EXPECT_TRUE(ParseJson("[\"caf\xc3\xa9 \xf0\x9f\x9b\x92 \\u00e9 \\ud83d\\uded2\"]").ok());
  // Outside a string a stray byte is a syntax error; the message still holds no raw byte.
  auto stray = ParseJson("[1, \xff]");
  ASSERT_FALSE(stray.ok());
  EXPECT_TRUE(IsValidUtf8(stray.error->message)) << stray.error->message;
}

TEST(JsonReaderTest, SyntaxErrorsAndDuplicateKeys) {
  auto broken = ParseJson("{\"input\": ");
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error->problem, JsonProblem::kSyntax);
  EXPECT_NE(broken.error->message.find("not valid JSON"), std::string::npos);
  auto dup = ParseJson(R"({"a": 1, "a": 2})");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.error->message.find("duplicate key \"a\""), std::string::npos);
  EXPECT_FALSE(ParseJson("").ok());
  EXPECT_FALSE(ParseJson("1 2").ok());
}

TEST(JsonReaderTest, ErrorsCarryTheMemberPath) {
  auto doc = ParseJson(R"({"lines": [{"qty": 1}, {"qty": 2}, {"qty": 3}, {"qty": "four"}]})");
  ASSERT_TRUE(doc.ok());
  JsonReader r(doc.value);
  std::vector<std::int64_t> seen;
  r.Objects("lines", kRequired, [&](JsonReader& line) {
    if (auto q = line.Integer("qty", kRequired)) seen.push_back(*q);
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "/lines/3/qty: expected a whole number");
  EXPECT_EQ(r.error().path, "/lines/3/qty");
  EXPECT_EQ(seen.size(), 3u);
}

TEST(JsonReaderTest, RequiredOptionalRangesAndRules) {
  auto doc = ParseJson(R"({"name": "till-7", "port": 70000, "skip": null, "mode": "fast", "tags": ["a", 1]})");
  ASSERT_TRUE(doc.ok());
  {
    JsonReader r(doc.value);
    EXPECT_EQ(r.Text("name", kRequired, TextRule::Length(0, 10)), "till-7");
    EXPECT_FALSE(r.Text("skip").has_value());  // null = absent
    EXPECT_TRUE(r.ok());
    EXPECT_FALSE(r.Integer("port", kRequired, 0, 65535).has_value());
    EXPECT_EQ(r.error().message, "/port: must be between 0 and 65535");
  }
  {
    JsonReader r(doc.value);
    r.Text("missing", kRequired);
    EXPECT_EQ(r.error().message, "/missing: is required");
  }
  {
    JsonReader r(doc.value);
    r.Text("mode", kOptional, TextRule::OneOf({"slow", "safe"}));
    EXPECT_EQ(r.error().message, "/mode: must be one of \"slow\", \"safe\"");
  }
  {
    JsonReader r(doc.value);
    r.TextList("tags");
    EXPECT_EQ(r.error().message, "/tags/1: expected text");
  }
  {
    JsonReader r(doc.value);
    r.Text("name", kRequired,
           TextRule::Matching([](std::string_view s) { return s.find('-') == std::string_view::npos; }, "letters"));
    EXPECT_EQ(r.error().message, "/name: may contain only letters");
  }
}

TEST(JsonReaderTest, UnknownMembersAreRefusedByName) {
  auto doc = ParseJson(R"({"limits": {"max_body_bytes": 10, "max_bdy": 3}})");
  ASSERT_TRUE(doc.ok());
  JsonReader r(doc.value);
  if (auto limits = r.Object("limits")) {
    limits->Integer("max_body_bytes", kOptional, 1);
    limits->RejectUnknown("setting");
  }
  r.RejectUnknown("setting");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "/limits/max_bdy: unknown setting (known: \"max_body_bytes\")");
  EXPECT_EQ(r.error().problem, JsonProblem::kShape);
  EXPECT_STREQ(r.error().code(), "invalid_request");
}

TEST(JsonReaderTest, TheDocumentMustBeAnObjectAndPathsAreEscaped) {
  auto doc = ParseJson("[1]");
  ASSERT_TRUE(doc.ok());
  JsonReader r(doc.value);
  EXPECT_EQ(r.error().message, "the body: expected an object");
  EXPECT_EQ(JsonReader::Pointer("/a", "b/c~d"), "/a/b~1c~0d");
}

TEST(Utf8Test, ValidityFollowsRfc3629) {
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x9b\x92"));
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));          // cut short
  EXPECT_EQ(EscapeForMessage("a\xff\n"), "a\\xff\\x0a");
}

}  // namespace
}  // namespace rf
