#include "common/value.h"

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/time_text.h"

namespace rf {

namespace {

// Nesting deeper than this is rejected when reading JSON (copies, comparison and destruction of
// a Value are recursive).
constexpr std::size_t kMaxJsonDepth = 512;

constexpr char kTimeTag[] = "$time";
constexpr char kDurationTag[] = "$duration";

// ---------------------------------------------------------------------------------------------
// Writing

void AppendHex4(std::string& out, unsigned v) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) out.push_back(kHex[(v >> shift) & 0xF]);
}

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is not valid (stray
// continuation byte, truncated sequence, overlong form, surrogate, or above U+10FFFF).
std::size_t Utf8SequenceLength(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t len;
  std::uint32_t cp;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    cp = b0 & 0x1Fu;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    cp = b0 & 0x0Fu;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    cp = b0 & 0x07u;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0u) != 0x80u) return 0;
    cp = (cp << 6) | (b & 0x3Fu);
  }
  if (len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return 0;
  if (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return 0;
  return len;
}

// A JSON string literal. Control characters are escaped; valid UTF-8 is copied as is; bytes that
// are not valid UTF-8 become U+FFFD so that the output is always valid JSON.
void AppendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  for (std::size_t i = 0; i < s.size();) {
    // Copy runs of plain printable ASCII in one go; only the rest needs a look.
    std::size_t run = i;
    while (run < s.size()) {
      const auto r = static_cast<unsigned char>(s[run]);
      if (r < 0x20 || r >= 0x80 || r == '"' || r == '\\') break;
      ++run;
    }
    if (run > i) {
      out.append(s, i, run - i);
      i = run;
      continue;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          if (c < 0x20) {
            AppendHex4(out, c);
          } else {
            out.push_back(static_cast<char>(c));
          }
      }
      ++i;
      continue;
    }
    const std::size_t len = Utf8SequenceLength(s, i);
    if (len == 0) {
      AppendHex4(out, 0xFFFD);
      ++i;
    } else {
      out.append(s, i, len);
      i += len;
    }
  }
  out.push_back('"');
}

void AppendTagged(std::string& out, const char* tag, std::int64_t ms) {
  out += "{";
  AppendJsonString(out, tag);
  out += ":";
  out += std::to_string(ms);
  out += "}";
}

void AppendJson(std::string& out, const Value& v, bool tagged) {
  switch (v.kind()) {
    case Value::Kind::kNull:
      out += "null";
      return;
    case Value::Kind::kBool:
      out += v.as_bool() ? "true" : "false";
      return;
    case Value::Kind::kNumber:
      out += v.as_number().ToString();
      return;
    case Value::Kind::kText:
      AppendJsonString(out, v.as_text());
      return;
    case Value::Kind::kTime:
      if (tagged) {
        AppendTagged(out, kTimeTag, v.as_time().ms);
      } else {
        AppendJsonString(out, FormatTime(v.as_time()));
      }
      return;
    case Value::Kind::kDuration:
      if (tagged) {
        AppendTagged(out, kDurationTag, v.as_duration().ms);
      } else {
        AppendJsonString(out, FormatDuration(v.as_duration()));
      }
      return;
    case Value::Kind::kList: {
      out.push_back('[');
      bool first = true;
      for (const Value& item : v.as_list()) {
        if (!first) out.push_back(',');
        first = false;
        AppendJson(out, item, tagged);
      }
      out.push_back(']');
      return;
    }
    case Value::Kind::kRecord: {
      out.push_back('{');
      bool first = true;
      for (const auto& [key, item] : v.as_record()) {
        if (!first) out.push_back(',');
        first = false;
        AppendJsonString(out, key);
        out.push_back(':');
        AppendJson(out, item, tagged);
      }
      out.push_back('}');
      return;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Reading

// Builds a Value from nlohmann's SAX events. Numbers come from their source text (floats) or
// from the exact integer nlohmann decoded, never through a double.
class ValueBuilder {
 public:
  explicit ValueBuilder(bool tagged) : tagged_(tagged) {}

  bool null() { return Add(Value()); }
  bool boolean(bool b) { return Add(Value(b)); }
  bool number_integer(std::int64_t v) { return Add(Value(Decimal(v))); }
  bool number_unsigned(std::uint64_t v) {
    if (v <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return Add(Value(Decimal(static_cast<std::int64_t>(v))));
    }
    return AddNumberText(std::to_string(v));
  }
  bool number_float(double /*ignored*/, const std::string& text) { return AddNumberText(text); }
  bool string(std::string& s) { return Add(Value(std::move(s))); }
  bool binary(nlohmann::json::binary_t& /*unused*/) {
    error_ = "binary values are not supported";
    return false;
  }
  bool start_object(std::size_t /*elements*/) { return Open(Value(Record{})); }
  bool key(std::string& k) {
    key_ = std::move(k);
    return true;
  }
  bool end_object() {
    Value* done = stack_.back();
    stack_.pop_back();
    if (tagged_) Untag(*done);
    return true;
  }
  bool start_array(std::size_t /*elements*/) { return Open(Value(List{})); }
  bool end_array() {
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t /*position*/, const std::string& /*last_token*/,
                   const nlohmann::json::exception& ex) {
    std::string what = ex.what();
    // Drop the "[json.exception.parse_error.101] " prefix; keep the position and the reason.
    if (!what.empty() && what[0] == '[') {
      if (const std::size_t close = what.find("] "); close != std::string::npos) {
        what.erase(0, close + 2);
      }
    }
    error_ = std::move(what);
    return false;
  }

  const std::string& error() const { return error_; }
  Value& root() { return root_; }

 private:
  bool AddNumberText(const std::string& text) {
    std::optional<Decimal> d = Decimal::Parse(text);
    if (!d) {
      error_ = "number '" + text + "' is out of range";
      return false;
    }
    return Add(Value(std::move(*d)));
  }

  // Places `v` in the innermost open container (or as the root); returns where it went.
  Value* Place(Value v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    Value* top = stack_.back();
    if (top->is_list()) {
      List& list = top->as_list();
      list.push_back(std::move(v));
      return &list.back();
    }
    Record& record = top->as_record();
    auto [it, inserted] = record.insert_or_assign(std::move(key_), std::move(v));
    key_.clear();
    return &it->second;
  }

  bool Add(Value v) {
    Place(std::move(v));
    return true;
  }

  bool Open(Value container) {
    if (stack_.size() >= kMaxJsonDepth) {
      error_ = "JSON nesting is deeper than " + std::to_string(kMaxJsonDepth) + " levels";
      return false;
    }
    stack_.push_back(Place(std::move(container)));
    return true;
  }

  // {"$time": <integer>} and {"$duration": <integer>} become a Time or a Duration. Any other
  // object, including one with a tag whose value is not an integer, stays a record.
  static void Untag(Value& v) {
    const Record& r = v.as_record();
    if (r.size() != 1) return;
    const auto& [key, inner] = *r.begin();
    const bool is_time = key == kTimeTag;
    if (!is_time && key != kDurationTag) return;
    if (!inner.is_number()) return;
    const std::optional<std::int64_t> ms = inner.as_number().ToInt64();
    if (!ms) return;
    if (is_time) {
      v = Value(Time{*ms});
    } else {
      v = Value(Duration{*ms});
    }
  }

  bool tagged_;
  Value root_;
  std::vector<Value*> stack_;
  std::string key_;
  std::string error_;
};

Result<Value> ParseJson(std::string_view text, bool tagged) {
  ValueBuilder builder(tagged);
  bool ok = false;
  try {
    ok = nlohmann::json::sax_parse(text.data(), text.data() + text.size(), &builder);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("invalid JSON: ") + e.what());
  } catch (...) {
    return Status::InvalidArgument("invalid JSON");
  }
  if (!ok) {
    const std::string& why = builder.error();
    return Status::InvalidArgument("invalid JSON: " +
                                   (why.empty() ? std::string("parse error") : why));
  }
  return std::move(builder.root());
}

}  // namespace

const char* Value::KindName(Kind k) {
  switch (k) {
    case Kind::kNull:
      return "null";
    case Kind::kBool:
      return "bool";
    case Kind::kNumber:
      return "number";
    case Kind::kText:
      return "text";
    case Kind::kTime:
      return "time";
    case Kind::kDuration:
      return "duration";
    case Kind::kList:
      return "list";
    case Kind::kRecord:
      return "record";
  }
  return "unknown";
}

const Value* Value::Find(std::string_view key) const {
  if (!is_record()) return nullptr;
  const Record& r = as_record();
  auto it = r.find(key);
  return it == r.end() ? nullptr : &it->second;
}

void Value::Set(std::string key, Value v) {
  assert(is_null() || is_record());
  if (!is_record()) v_ = Record{};
  as_record().insert_or_assign(std::move(key), std::move(v));
}

bool operator==(const Value& a, const Value& b) {
  // Same alternative and equal contents; Decimal compares by value, containers recurse.
  return a.v_ == b.v_;
}

std::string Value::ToJson() const {
  std::string out;
  AppendJson(out, *this, /*tagged=*/false);
  return out;
}

Result<Value> Value::FromJson(std::string_view json_text) {
  return ParseJson(json_text, /*tagged=*/false);
}

void Value::AppendTaggedJson(std::string& out) const { AppendJson(out, *this, /*tagged=*/true); }

void Value::AppendTaggedJson(std::string& out, const Record& record) {
  out.push_back('{');
  bool first = true;
  for (const auto& [key, item] : record) {
    if (!first) out.push_back(',');
    first = false;
    AppendJsonString(out, key);
    out.push_back(':');
    AppendJson(out, item, /*tagged=*/true);
  }
  out.push_back('}');
}

void Value::AppendTaggedJson(std::string& out, const List& list) {
  out.push_back('[');
  bool first = true;
  for (const Value& item : list) {
    if (!first) out.push_back(',');
    first = false;
    AppendJson(out, item, /*tagged=*/true);
  }
  out.push_back(']');
}

std::string Value::ToTaggedJson() const {
  std::string out;
  AppendJson(out, *this, /*tagged=*/true);
  return out;
}

Result<Value> Value::FromTaggedJson(std::string_view json_text) {
  return ParseJson(json_text, /*tagged=*/true);
}

std::string Value::ToDisplayString() const {
  switch (kind()) {
    case Kind::kNull:
      return "";
    case Kind::kBool:
      return as_bool() ? "true" : "false";
    case Kind::kNumber:
      return as_number().ToString();
    case Kind::kText:
      return as_text();
    case Kind::kTime:
      return FormatTime(as_time());
    case Kind::kDuration:
      return FormatDuration(as_duration());
    case Kind::kList:
    case Kind::kRecord:
      return ToJson();
  }
  return "";
}

}  // namespace rf
