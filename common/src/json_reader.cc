#include "common/json_reader.h"

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <nlohmann/json.hpp>

#include "common/time_text.h"
#include "common/utf8.h"

namespace rf {

const char* JsonError::code() const {
  switch (problem) {
    case JsonProblem::kSyntax: return "invalid_json";
    case JsonProblem::kInvalidUtf8: return "invalid_utf8";
    case JsonProblem::kTooDeep: return "too_deep";
    case JsonProblem::kShape: return "invalid_request";
  }
  return "invalid_json";
}

namespace {

// Builds a Value from nlohmann's SAX events without recursion; refuses depth beyond the limit
// before building it, and duplicate keys.
class StrictBuilder {
 public:
  explicit StrictBuilder(std::size_t max_depth) : max_depth_(max_depth) {}

  bool null() { return Add(Value()); }
  bool boolean(bool b) { return Add(Value(b)); }
  bool number_integer(std::int64_t v) { return Add(Value(Decimal(v))); }
  bool number_unsigned(std::uint64_t v) {
    if (v <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return Add(Value(Decimal(static_cast<std::int64_t>(v))));
    return AddNumberText(std::to_string(v));
  }
  bool number_float(double, const std::string& text) { return AddNumberText(text); }
  bool string(std::string& s) { return Add(Value(std::move(s))); }
  bool binary(nlohmann::json::binary_t&) { return Fail(JsonProblem::kSyntax, "binary values are not JSON"); }
  bool start_object(std::size_t) { return Open(Value(rf::Record{})); }
  bool key(std::string& k) {
    if (stack_.back()->as_record().count(k))
      return Fail(JsonProblem::kSyntax, "duplicate key \"" + EscapeForMessage(k) + "\"");
    key_ = std::move(k);
    return true;
  }
  bool end_object() {
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) { return Open(Value(rf::List{})); }
  bool end_array() {
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::json::exception& ex) {
    std::string what = ex.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 5: syntax error while
    // parsing value - invalid string: ill-formed UTF-8 byte; last read: '"\xff'": the last read
    // token may hold the very bytes that are wrong, so it never reaches the message.
    if (auto close = what.find("] "); !what.empty() && what[0] == '[' && close != std::string::npos)
      what.erase(0, close + 2);
    if (auto last = what.find("; last read:"); last != std::string::npos) what.erase(last);
    const bool utf8 = what.find("UTF-8") != std::string::npos || what.find("surrogate") != std::string::npos;
    if (utf8)
      return Fail(JsonProblem::kInvalidUtf8,
                  "a string is not valid UTF-8 (near byte " + std::to_string(position) + ")");
    return Fail(JsonProblem::kSyntax, "not valid JSON: " + EscapeForMessage(what, 200));
  }

  std::optional<JsonError>& error() { return error_; }
  Value& root() { return root_; }

 private:
  bool Fail(JsonProblem p, std::string message) {
    if (!error_) error_ = JsonError{p, "", std::move(message)};
    return false;
  }
  bool AddNumberText(const std::string& text) {
    std::optional<Decimal> d = Decimal::Parse(text);
    if (!d) return Fail(JsonProblem::kSyntax, "number " + EscapeForMessage(text) + " is out of range");
    return Add(Value(std::move(*d)));
  }
  Value* Place(Value v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    Value* top = stack_.back();
    if (top->is_list()) {
      top->as_list().push_back(std::move(v));
      return &top->as_list().back();
    }
    auto [it, _] = top->as_record().emplace(std::move(key_), std::move(v));
    key_.clear();
    return &it->second;
  }
  bool Add(Value v) {
    Place(std::move(v));
    return true;
  }
  bool Open(Value container) {
    if (stack_.size() >= max_depth_)
      return Fail(JsonProblem::kTooDeep, "JSON nested deeper than " + std::to_string(max_depth_) + " levels");
    stack_.push_back(Place(std::move(container)));
    return true;
  }

  std::size_t max_depth_;
  Value root_;
  std::vector<Value*> stack_;
  std::string key_;
  std::optional<JsonError> error_;
};

std::string Quoted(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + ("\"" + v[i] + "\"");
  return out;
}

}  // namespace

ParsedJson ParseJson(std::string_view text, const JsonParseOptions& options) {
  ParsedJson out;
  StrictBuilder b(options.max_depth);
  bool ok = false;
  try {
    ok = nlohmann::json::sax_parse(text.data(), text.data() + text.size(), &b,
                                   nlohmann::json::input_format_t::json, /*strict=*/true,
                                   options.allow_comments);
  } catch (const std::exception&) {
    if (!b.error()) b.error() = JsonError{JsonProblem::kSyntax, "", "not valid JSON"};
  }
  if (!ok && !b.error()) b.error() = JsonError{JsonProblem::kSyntax, "", "not valid JSON"};
  if (b.error()) {
    out.error = std::move(b.error());
    return out;
  }
  out.value = std::move(b.root());
  return out;
}

std::string JsonReader::Pointer(const std::string& parent, std::string_view key) {
  std::string out = parent + "/";
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out.push_back(c);
  }
  return out;
}

JsonReader::JsonReader(const Value& object, std::string path)
    : JsonReader(object, std::move(path), std::make_shared<std::optional<JsonError>>()) {}

JsonReader::JsonReader(const Value& object, std::string path, std::shared_ptr<std::optional<JsonError>> sink)
    : object_(&object), path_(std::move(path)), sink_(std::move(sink)) {
  if (!object.is_record()) Shape(path_, "expected an object");
}

void JsonReader::Shape(const std::string& path, const std::string& message) {
  if (sink_->has_value()) return;
  *sink_ = JsonError{JsonProblem::kShape, path, (path.empty() ? std::string("the body") : path) + ": " + message};
}

void JsonReader::Fail(std::string_view key, const std::string& message) {
  Shape(key.empty() ? path_ : Pointer(path_, key), message);
}

const Value* JsonReader::Member(std::string_view key, Presence p) {
  known_.emplace_back(key);
  const Value* v = object_->is_record() ? object_->Find(key) : nullptr;
  if (v && v->is_null()) v = nullptr;
  if (!v && p == kRequired) Shape(Pointer(path_, key), "is required");
  return v;
}

namespace {
std::optional<std::string> CheckText(const std::string& s, const TextRule& rule) {
  if (s.size() < rule.min_length)
    return rule.min_length == 1 ? std::string("must not be empty")
                                : "must be at least " + std::to_string(rule.min_length) + " characters";
  if (s.size() > rule.max_length) return "must be at most " + std::to_string(rule.max_length) + " characters";
  if (!rule.one_of.empty() && std::find(rule.one_of.begin(), rule.one_of.end(), s) == rule.one_of.end())
    return "must be one of " + Quoted(rule.one_of);
  if (rule.ok && !rule.ok(s)) return "may contain only " + (rule.what.empty() ? std::string("allowed characters") : rule.what);
  return std::nullopt;
}
}  // namespace

std::optional<std::string> JsonReader::Text(std::string_view key, Presence p, const TextRule& rule) {
  const Value* v = Member(key, p);
  if (!v) return std::nullopt;
  if (!v->is_text()) return Shape(Pointer(path_, key), "expected text"), std::nullopt;
  if (auto why = CheckText(v->as_text(), rule)) return Shape(Pointer(path_, key), *why), std::nullopt;
  return v->as_text();
}

std::optional<std::int64_t> JsonReader::Integer(std::string_view key, Presence p, std::int64_t min, std::int64_t max) {
  const Value* v = Member(key, p);
  if (!v) return std::nullopt;
  std::optional<std::int64_t> i;
  if (v->is_number() && v->as_number().IsInteger()) i = v->as_number().ToInt64();
  if (!i) return Shape(Pointer(path_, key), "expected a whole number"), std::nullopt;
  if (*i < min || *i > max)
    return Shape(Pointer(path_, key), "must be between " + std::to_string(min) + " and " + std::to_string(max)),
           std::nullopt;
  return i;
}

std::optional<double> JsonReader::Number(std::string_view key, Presence p, double min, double max) {
  const Value* v = Member(key, p);
  if (!v) return std::nullopt;
  if (!v->is_number()) return Shape(Pointer(path_, key), "expected a number"), std::nullopt;
  double d = std::strtod(v->as_number().ToString().c_str(), nullptr);
  if (d < min || d > max) {
    auto text = [](double x) {
      std::string s = std::to_string(x);
      while (s.size() > 1 && s.back() == '0') s.pop_back();
      if (!s.empty() && s.back() == '.') s.pop_back();
      return s;
    };
    return Shape(Pointer(path_, key), "must be between " + text(min) + " and " + text(max)), std::nullopt;
  }
  return d;
}

std::optional<bool> JsonReader::Bool(std::string_view key, Presence p) {
  const Value* v = Member(key, p);
  if (!v) return std::nullopt;
  if (!v->is_bool()) return Shape(Pointer(path_, key), "expected true or false"), std::nullopt;
  return v->as_bool();
}

std::optional<Duration> JsonReader::DurationText(std::string_view key, Presence p, Duration min) {
  const Value* v = Member(key, p);
  if (!v) return std::nullopt;
  std::optional<Duration> d;
  if (v->is_text()) d = ParseDuration(v->as_text());
  if (!d) return Shape(Pointer(path_, key), "expected a duration such as \"10s\""), std::nullopt;
  if (d->ms < min.ms) return Shape(Pointer(path_, key), "must be at least " + FormatDuration(min)), std::nullopt;
  return d;
}

std::optional<std::vector<std::string>> JsonReader::TextList(std::string_view key, Presence p, const TextRule& rule) {
  const Value* v = Member(key, p);
  if (!v) return std::nullopt;
  if (!v->is_list()) return Shape(Pointer(path_, key), "expected a list of text"), std::nullopt;
  std::vector<std::string> out;
  const std::string at = Pointer(path_, key);
  for (size_t i = 0; i < v->as_list().size(); ++i) {
    const Value& e = v->as_list()[i];
    const std::string ep = at + "/" + std::to_string(i);
    if (!e.is_text()) return Shape(ep, "expected text"), std::nullopt;
    if (auto why = CheckText(e.as_text(), rule)) return Shape(ep, *why), std::nullopt;
    out.push_back(e.as_text());
  }
  return out;
}

const Value* JsonReader::Record(std::string_view key, Presence p) {
  const Value* v = Member(key, p);
  if (v && !v->is_record()) return Shape(Pointer(path_, key), "expected an object"), nullptr;
  return v;
}

const Value* JsonReader::List(std::string_view key, Presence p) {
  const Value* v = Member(key, p);
  if (v && !v->is_list()) return Shape(Pointer(path_, key), "expected a list"), nullptr;
  return v;
}

const Value* JsonReader::Any(std::string_view key, Presence p) { return Member(key, p); }

std::optional<JsonReader> JsonReader::Object(std::string_view key, Presence p) {
  const Value* v = Record(key, p);
  if (!v) return std::nullopt;
  return JsonReader(*v, Pointer(path_, key), sink_);
}

void JsonReader::Objects(std::string_view key, Presence p, const std::function<void(JsonReader&)>& each) {
  const Value* v = List(key, p);
  if (!v) return;
  const std::string at = Pointer(path_, key);
  for (size_t i = 0; i < v->as_list().size() && ok(); ++i) {
    JsonReader r(v->as_list()[i], at + "/" + std::to_string(i), sink_);
    if (ok()) each(r);
  }
}

void JsonReader::Entries(std::string_view key, Presence p,
                         const std::function<void(const std::string&, JsonReader&)>& each) {
  const Value* v = Record(key, p);
  if (!v) return;
  const std::string at = Pointer(path_, key);
  for (const auto& [name, member] : v->as_record()) {
    if (!ok()) return;
    JsonReader r(member, Pointer(at, name), sink_);
    if (ok()) each(name, r);
  }
}

void JsonReader::RejectUnknown(const std::string& what) {
  if (!ok() || !object_->is_record()) return;
  for (const auto& [k, _] : object_->as_record()) {
    if (std::find(known_.begin(), known_.end(), k) != known_.end()) continue;
    std::vector<std::string> known = known_;
    std::sort(known.begin(), known.end());
    known.erase(std::unique(known.begin(), known.end()), known.end());
    Shape(Pointer(path_, k), "unknown " + what + (known.empty() ? std::string(" (none expected)") : " (known: " + Quoted(known) + ")"));
    return;
  }
}

}  // namespace rf
