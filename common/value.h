// The data of a workflow instance: a JSON-like tree whose numbers are exact decimals and which
// also knows points in time and durations. Values have value semantics (copies are deep).
//
// JSON text <-> Value is exact: numbers are parsed from their source digits (never through a
// double) and printed as their exact digits. Plain JSON (ToJson) renders a time as an ISO-8601
// UTC string and a duration as its canonical text ("1h30m"); a Value read back from plain JSON
// therefore holds text there, which the evaluator accepts wherever a time or duration is expected.
// The tagged form (ToTaggedJson/FromTaggedJson) keeps every kind and is what storage uses.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/decimal.h"
#include "common/status.h"

namespace rf {

// Milliseconds since the Unix epoch, UTC.
struct Time {
  std::int64_t ms = 0;
  auto operator<=>(const Time&) const = default;
};
// A signed length of time in milliseconds.
struct Duration {
  std::int64_t ms = 0;
  auto operator<=>(const Duration&) const = default;
};

class Value;
using List = std::vector<Value>;
using Record = std::map<std::string, Value, std::less<>>;

class Value {
 public:
  enum class Kind { kNull, kBool, kNumber, kText, kTime, kDuration, kList, kRecord };

  Value() = default;
  Value(std::nullptr_t) {}                                  // NOLINT
  Value(bool b) : v_(b) {}                                  // NOLINT
  Value(int i) : v_(Decimal(std::int64_t{i})) {}            // NOLINT
  Value(std::int64_t i) : v_(Decimal(i)) {}                 // NOLINT
  Value(Decimal d) : v_(std::move(d)) {}                    // NOLINT
  Value(std::string s) : v_(std::move(s)) {}                // NOLINT
  Value(const char* s) : v_(std::string(s)) {}              // NOLINT
  Value(std::string_view s) : v_(std::string(s)) {}         // NOLINT
  Value(Time t) : v_(t) {}                                  // NOLINT
  Value(Duration d) : v_(d) {}                              // NOLINT
  Value(List l) : v_(std::move(l)) {}                       // NOLINT
  Value(Record r) : v_(std::move(r)) {}                     // NOLINT

  Kind kind() const { return static_cast<Kind>(v_.index()); }
  static const char* KindName(Kind k);  // "null", "bool", "number", "text", "time", ...

  bool is_null() const { return kind() == Kind::kNull; }
  bool is_bool() const { return kind() == Kind::kBool; }
  bool is_number() const { return kind() == Kind::kNumber; }
  bool is_text() const { return kind() == Kind::kText; }
  bool is_time() const { return kind() == Kind::kTime; }
  bool is_duration() const { return kind() == Kind::kDuration; }
  bool is_list() const { return kind() == Kind::kList; }
  bool is_record() const { return kind() == Kind::kRecord; }

  bool as_bool() const { return std::get<bool>(v_); }
  const Decimal& as_number() const { return std::get<Decimal>(v_); }
  const std::string& as_text() const { return std::get<std::string>(v_); }
  Time as_time() const { return std::get<Time>(v_); }
  Duration as_duration() const { return std::get<Duration>(v_); }
  const List& as_list() const { return std::get<List>(v_); }
  List& as_list() { return std::get<List>(v_); }
  const Record& as_record() const { return std::get<Record>(v_); }
  Record& as_record() { return std::get<Record>(v_); }

  // Record member or nullptr (also nullptr when this is not a record).
  const Value* Find(std::string_view key) const;
  // Sets a record member; turns a null Value into an empty record first.
  void Set(std::string key, Value v);

  // Deep structural equality; numbers compare by value (1.0 == 1).
  friend bool operator==(const Value& a, const Value& b);

  // Plain JSON text (see the file comment). Keys in record order (sorted).
  std::string ToJson() const;
  static Result<Value> FromJson(std::string_view json_text);
  // Tagged JSON: times as {"$time": ms}, durations as {"$duration": ms}; everything else plain.
  std::string ToTaggedJson() const;
  // Appends the tagged JSON to `out` (no temporary string; for writers of large snapshots).
  void AppendTaggedJson(std::string& out) const;
  static void AppendTaggedJson(std::string& out, const Record& record);
  static void AppendTaggedJson(std::string& out, const List& list);
  static Result<Value> FromTaggedJson(std::string_view json_text);

  // Human text for string interpolation: text as is, numbers exact, times ISO-8601, null "".
  std::string ToDisplayString() const;

 private:
  std::variant<std::monostate, bool, Decimal, std::string, Time, Duration, List, Record> v_;
};

}  // namespace rf
