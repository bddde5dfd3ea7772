// The one strict reader of JSON text: every request body of the service and its configuration
// file go through it (connector answers may adopt it too).
//
// Parsing (ParseJson) never recurses on the input and never builds more than `max_depth` levels:
// a body of 1 MiB of `[` costs one pass and a few bytes. Text that is not valid UTF-8 (or a `\u`
// escape naming a lone surrogate) is its own problem, kInvalidUtf8, so the API can answer
// `invalid_utf8`. Duplicate object keys are refused. Numbers keep their exact digits (rf::Value).
// Error messages never echo bytes of the input.
//
// Reading (JsonReader) walks one object, member by member: each getter says whether the member is
// required and what it must be (type, range, length, one of a set), and the first mistake is kept
// with its JSON-pointer path, e.g. `/lines/3/qty: expected a number`. RejectUnknown() then refuses
// members that no getter asked for. JSON null counts as absent.
//
//   auto doc = ParseJson(body);
//   if (!doc.ok()) return Refuse(doc.error);
//   JsonReader r(doc.value);
//   auto name = r.Text("name", kRequired, {.max_length = 64});
//   auto qty = r.Integer("qty", kOptional, 1, 1000);
//   r.RejectUnknown();
//   if (!r.ok()) return Refuse(r.error());
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/value.h"

namespace rf {

enum class JsonProblem {
  kSyntax,       // not JSON
  kInvalidUtf8,  // a string that is not valid UTF-8
  kTooDeep,      // nested deeper than the reader's limit
  kShape,        // JSON, but not what the reader expects (type, range, missing or unknown member)
};

struct JsonError {
  JsonProblem problem = JsonProblem::kSyntax;
  std::string path;     // JSON pointer of the member at fault; "" = the document itself
  std::string message;  // the full text, path first when there is one
  // A stable error code for APIs: invalid_json, invalid_utf8, too_deep, invalid_request.
  const char* code() const;
  Status ToStatus() const { return Status::InvalidArgument(message); }
};

struct JsonParseOptions {
  std::size_t max_depth = 64;   // arrays and objects open at once
  bool allow_comments = false;  // `//` and `/* */` (configuration files)
};

struct ParsedJson {
  Value value;
  std::optional<JsonError> error;
  bool ok() const { return !error.has_value(); }
};

ParsedJson ParseJson(std::string_view text, const JsonParseOptions& options = {});

enum Presence { kOptional, kRequired };

struct TextRule {
  std::size_t min_length = 0;  // bytes
  std::size_t max_length = std::numeric_limits<std::size_t>::max();
  std::vector<std::string> one_of;           // when not empty: the allowed values
  std::function<bool(std::string_view)> ok;  // when set: the value must pass it...
  std::string what;                          // ...described for the message ("a-z, 0-9 and _")

  // For callers that do not use designated initializers.
  static TextRule Length(std::size_t min, std::size_t max) {
    TextRule r;
    r.min_length = min;
    r.max_length = max;
    return r;
  }
  static TextRule OneOf(std::vector<std::string> values) {
    TextRule r;
    r.one_of = std::move(values);
    return r;
  }
  static TextRule Matching(std::function<bool(std::string_view)> ok, std::string what) {
    TextRule r;
    r.ok = std::move(ok);
    r.what = std::move(what);
    return r;
  }
};

class JsonReader {
 public:
  // Reads the members of `object` (which must outlive the reader); `path` is its JSON pointer in
  // the document. A value that is not an object is the reader's first error.
  explicit JsonReader(const Value& object, std::string path = "");

  bool ok() const { return !sink_->has_value(); }
  const JsonError& error() const { return **sink_; }
  Status status() const { return ok() ? Status::Ok() : error().ToStatus(); }
  const std::string& path() const { return path_; }

  // Each getter marks `key` as known and returns nothing when the member is absent or wrong
  // (wrong also records the error; absent records it when required).
  std::optional<std::string> Text(std::string_view key, Presence p = kOptional, const TextRule& rule = {});
  std::optional<std::int64_t> Integer(std::string_view key, Presence p = kOptional,
                                      std::int64_t min = std::numeric_limits<std::int64_t>::min(),
                                      std::int64_t max = std::numeric_limits<std::int64_t>::max());
  std::optional<double> Number(std::string_view key, Presence p = kOptional,
                               double min = std::numeric_limits<double>::lowest(),
                               double max = std::numeric_limits<double>::max());
  std::optional<bool> Bool(std::string_view key, Presence p = kOptional);
  // A duration written as text ("10s", "1h30m"), at least `min`.
  std::optional<Duration> DurationText(std::string_view key, Presence p = kOptional, Duration min = {0});
  // A list whose every element is text passing `rule`.
  std::optional<std::vector<std::string>> TextList(std::string_view key, Presence p = kOptional,
                                                   const TextRule& rule = {});
  // Members taken as they are (their contents are the caller's business).
  const Value* Record(std::string_view key, Presence p = kOptional);
  const Value* List(std::string_view key, Presence p = kOptional);
  const Value* Any(std::string_view key, Presence p = kOptional);
  // A nested object read member by member; its errors land in this reader.
  std::optional<JsonReader> Object(std::string_view key, Presence p = kOptional);
  // Every element of a list member, each an object read by `each` (errors land here).
  void Objects(std::string_view key, Presence p, const std::function<void(JsonReader&)>& each);
  // Every member of an object member whose values are objects (e.g. {"pos": {...}}): `each`
  // gets the member name and a reader of its value.
  void Entries(std::string_view key, Presence p,
               const std::function<void(const std::string& name, JsonReader&)>& each);

  // Records an error at `key` (or at this object when `key` is empty), e.g. a rule between
  // members that no single getter can check. The first error wins.
  void Fail(std::string_view key, const std::string& message);
  // Refuses the first member that no getter asked for (`what` names it: "member", "setting").
  void RejectUnknown(const std::string& what = "member");

  static std::string Pointer(const std::string& parent, std::string_view key);

 private:
  JsonReader(const Value& object, std::string path, std::shared_ptr<std::optional<JsonError>> sink);
  const Value* Member(std::string_view key, Presence p);
  void Shape(const std::string& path, const std::string& message);

  const Value* object_;
  std::string path_;
  std::vector<std::string> known_;
  std::shared_ptr<std::optional<JsonError>> sink_;
};

}  // namespace rf
