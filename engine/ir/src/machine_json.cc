// The JSON form of a Machine, format "retailflow.machine" (docs/ir.md describes every field).
//
// Output is deterministic: keys are written in a fixed order (nlohmann::ordered_json), fields at
// their default values are left out, and numbers inside expressions are written as decimal text
// so that no value ever passes through a double. Reading is strict: unknown fields, duplicate
// keys, bad kinds and dangling transitions are reported with the JSON path of the culprit.
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/time_text.h"
#include "engine/ir/machine.h"

namespace rf::ir {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kFormatName = "retailflow.machine";

const std::vector<std::string>& InputTypes() {
  static const std::vector<std::string> types = {"text", "number", "money", "bool",
                                                 "time", "duration", "list", "record"};
  return types;
}

// Durations are written in their compact text form ("30s", "1h30m"), with a leading '-' when
// negative.
std::string DurationToText(Duration d) {
  if (d.ms < 0) {
    if (d.ms == std::numeric_limits<std::int64_t>::min()) return "-" + std::to_string(d.ms) + "ms";
    return "-" + FormatDuration(Duration{-d.ms});
  }
  return FormatDuration(d);
}

std::optional<Duration> DurationFromText(std::string_view s) {
  bool negative = !s.empty() && s.front() == '-';
  if (negative) s.remove_prefix(1);
  if (s.empty() || s.front() == '-') return std::nullopt;
  std::optional<Duration> d = ParseDuration(s);
  if (!d) return std::nullopt;
  return negative ? Duration{-d->ms} : *d;
}

const char* WaitKindName(State::WaitKind k) {
  switch (k) {
    case State::WaitKind::kDuration: return "duration";
    case State::WaitKind::kUntil: return "until";
    case State::WaitKind::kEvent: return "event";
  }
  return "duration";
}

// ------------------------------------------------------------------------------------- writing

Json LiteralToJson(const Value& v) {
  Json j = Json::object();
  switch (v.kind()) {
    case Value::Kind::kNull: j["lit"] = nullptr; break;
    case Value::Kind::kBool: j["lit"] = v.as_bool(); break;
    case Value::Kind::kText: j["lit"] = v.as_text(); break;
    case Value::Kind::kNumber: j["num"] = v.as_number().ToString(); break;
    case Value::Kind::kTime: j["time"] = FormatTime(v.as_time()); break;
    case Value::Kind::kDuration: j["duration"] = DurationToText(v.as_duration()); break;
    case Value::Kind::kList: {
      Json items = Json::array();
      for (const Value& item : v.as_list()) items.push_back(LiteralToJson(item));
      j["lit_list"] = std::move(items);
      break;
    }
    case Value::Kind::kRecord: {
      Json fields = Json::object();
      for (const auto& [key, item] : v.as_record()) fields[key] = LiteralToJson(item);
      j["lit_record"] = std::move(fields);
      break;
    }
  }
  return j;
}

Json ExprJson(const ExprPtr& e);

Json ExprListJson(const std::vector<ExprPtr>& args) {
  Json a = Json::array();
  for (const ExprPtr& x : args) a.push_back(ExprJson(x));
  return a;
}

Json ArgJson(const Expr& e, size_t i) { return i < e.args.size() ? ExprJson(e.args[i]) : Json(); }

Json ExprJson(const ExprPtr& e) {
  if (!e) return Json();
  Json j = Json::object();
  switch (e->kind) {
    case Expr::Kind::kLiteral: return LiteralToJson(e->value);
    case Expr::Kind::kName: j["name"] = e->text; break;
    case Expr::Kind::kField:
      j["field"] = e->text;
      j["of"] = ArgJson(*e, 0);
      break;
    case Expr::Kind::kIndex:
      j["index"] = ArgJson(*e, 1);
      j["of"] = ArgJson(*e, 0);
      break;
    case Expr::Kind::kCall:
      j["call"] = e->text;
      if (!e->args.empty()) j["args"] = ExprListJson(e->args);
      break;
    case Expr::Kind::kUnary:
      j["unary"] = e->text;
      j["arg"] = ArgJson(*e, 0);
      break;
    case Expr::Kind::kBinary:
      j["op"] = e->text;
      j["left"] = ArgJson(*e, 0);
      j["right"] = ArgJson(*e, 1);
      break;
    case Expr::Kind::kText: {
      Json parts = Json::array();
      for (const ExprPtr& part : e->args) {
        if (part && part->kind == Expr::Kind::kLiteral && part->value.is_text()) {
          parts.push_back(part->value.as_text());
        } else {
          parts.push_back(ExprJson(part));
        }
      }
      j["interpolate"] = std::move(parts);
      break;
    }
    case Expr::Kind::kList: j["list"] = ExprListJson(e->args); break;
    case Expr::Kind::kRecord: {
      Json fields = Json::object();
      for (size_t i = 0; i < e->args.size(); ++i) {
        fields[i < e->keys.size() ? e->keys[i] : std::string()] = ExprJson(e->args[i]);
      }
      j["record"] = std::move(fields);
      break;
    }
  }
  return j;
}

Json ArgumentsJson(const Arguments& args) {
  Json j = Json::object();
  for (const auto& [name, value] : args) j[name] = ExprJson(value);
  return j;
}

Json CallJson(const Call& c) {
  Json j = Json::object();
  j["connector"] = c.connector;
  j["operation"] = c.operation;
  if (!c.args.empty()) j["args"] = ArgumentsJson(c.args);
  if (!c.side_effects) j["side_effects"] = false;
  if (!c.writes.empty()) j["writes"] = c.writes;
  return j;
}

Json RetryJson(const RetryPolicy& r) {
  const RetryPolicy def;
  Json j = Json::object();
  if (r.max_attempts != def.max_attempts) j["max_attempts"] = r.max_attempts;
  if (r.first_wait != def.first_wait) j["first_wait"] = DurationToText(r.first_wait);
  if (r.multiplier != def.multiplier) j["multiplier"] = r.multiplier;
  if (r.max_wait) j["max_wait"] = DurationToText(*r.max_wait);
  if (r.jitter) j["jitter"] = true;
  if (r.on_kinds != def.on_kinds) j["on_kinds"] = r.on_kinds;
  return j;
}

Json RegionJson(const Region* r);

void PutIf(Json& j, const char* key, const std::string& s) {
  if (!s.empty()) j[key] = s;
}

void PutIf(Json& j, const char* key, const std::optional<Duration>& d) {
  if (d) j[key] = DurationToText(*d);
}

void PutIf(Json& j, const char* key, const ExprPtr& e) {
  if (e) j[key] = ExprJson(e);
}

Json StateJson(const State& s) {
  Json j = Json::object();
  j["name"] = s.name;
  j["kind"] = KindName(s.kind);
  if (s.line != 0) j["line"] = s.line;
  switch (s.kind) {
    case State::Kind::kStep: {
      j["call"] = CallJson(s.call);
      PutIf(j, "save_as", s.save_as);
      PutIf(j, "timeout", s.timeout);
      Json retry = RetryJson(s.retry);
      if (!retry.empty()) j["retry"] = std::move(retry);
      if (!s.on_error.empty()) {
        Json routes = Json::array();
        for (const ErrorRoute& r : s.on_error) {
          Json route = Json::object();
          if (!r.kinds.empty()) route["kinds"] = r.kinds;
          route["target"] = r.target;
          routes.push_back(std::move(route));
        }
        j["on_error"] = std::move(routes);
      }
      if (s.undo) j["undo"] = CallJson(*s.undo);
      PutIf(j, "next", s.next);
      break;
    }
    case State::Kind::kDecide: {
      if (!s.when.empty()) {
        Json when = Json::array();
        for (const auto& [cond, target] : s.when) {
          Json w = Json::object();
          w["if"] = ExprJson(cond);
          w["then"] = target;
          when.push_back(std::move(w));
        }
        j["when"] = std::move(when);
      }
      PutIf(j, "otherwise", s.otherwise);
      break;
    }
    case State::Kind::kWait:
      j["wait"] = WaitKindName(s.wait_kind);
      if (s.wait_kind == State::WaitKind::kDuration) j["for"] = DurationToText(s.wait_for);
      PutIf(j, "until", s.until);
      PutIf(j, "event", s.event);
      PutIf(j, "event_key", s.event_key);
      PutIf(j, "key_value", s.key_value);
      PutIf(j, "within", s.within);
      PutIf(j, "on_timeout", s.on_timeout);
      PutIf(j, "save_event_as", s.save_event_as);
      PutIf(j, "next", s.next);
      break;
    case State::Kind::kApproval:
      PutIf(j, "role", s.role);
      PutIf(j, "title", s.title);
      PutIf(j, "details", s.details);
      PutIf(j, "deadline", s.deadline);
      PutIf(j, "escalate_to", s.escalate_to);
      PutIf(j, "on_approve", s.on_approve);
      PutIf(j, "on_reject", s.on_reject);
      PutIf(j, "save_decision_as", s.save_decision_as);
      break;
    case State::Kind::kParallel: {
      Json branches = Json::array();
      for (const auto& [name, region] : s.branches) {
        Json b = Json::object();
        b["name"] = name;
        Json r = RegionJson(region.get());
        b["start"] = std::move(r["start"]);
        b["states"] = std::move(r["states"]);
        branches.push_back(std::move(b));
      }
      j["branches"] = std::move(branches);
      PutIf(j, "next", s.next);
      break;
    }
    case State::Kind::kForEach:
      j["item"] = s.item;
      j["list"] = ExprJson(s.list);
      if (s.concurrency != 1) j["concurrency"] = s.concurrency;
      j["body"] = RegionJson(s.body.get());
      PutIf(j, "next", s.next);
      break;
    case State::Kind::kSet:
      if (!s.assignments.empty()) j["assignments"] = ArgumentsJson(s.assignments);
      PutIf(j, "next", s.next);
      break;
    case State::Kind::kFinish: PutIf(j, "message", s.message); break;
    case State::Kind::kFail: PutIf(j, "reason", s.message); break;
  }
  return j;
}

Json RegionJson(const Region* r) {
  Json j = Json::object();
  j["start"] = r ? r->start : std::string();
  Json states = Json::array();
  if (r) {
    for (const State& s : r->states) states.push_back(StateJson(s));
  }
  j["states"] = std::move(states);
  return j;
}

Json MachineJson(const Machine& m) {
  Json j = Json::object();
  j["format"] = kFormatName;
  j["format_version"] = kFormatVersion;
  j["name"] = m.name;
  j["version"] = m.version;
  PutIf(j, "description", m.description);
  if (!m.uses.empty()) j["uses"] = m.uses;
  if (!m.inputs.empty()) {
    Json inputs = Json::array();
    for (const Input& in : m.inputs) {
      Json i = Json::object();
      i["name"] = in.name;
      i["type"] = in.type;
      if (in.optional) i["optional"] = true;
      inputs.push_back(std::move(i));
    }
    j["inputs"] = std::move(inputs);
  }
  if (!m.schedules.empty()) {
    Json schedules = Json::array();
    for (const Schedule& sc : m.schedules) {
      Json s = Json::object();
      s["cron"] = sc.cron;
      s["time_zone"] = sc.time_zone;
      if (!sc.input.empty()) s["input"] = ArgumentsJson(sc.input);
      schedules.push_back(std::move(s));
    }
    j["schedules"] = std::move(schedules);
  }
  j["main"] = RegionJson(&m.main);
  return j;
}

std::string Dump(const Json& j, int indent) {
  return j.dump(indent, ' ', false, Json::error_handler_t::replace);
}

// ------------------------------------------------------------------------------------- reading

struct ParseError {
  std::string message;
};

[[noreturn]] void Fail(const std::string& path, const std::string& message) {
  throw ParseError{path.empty() ? message : path + ": " + message};
}

std::string Join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string At(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

const char* TypeName(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::object: return "an object";
    case Json::value_t::array: return "an array";
    case Json::value_t::string: return "a string";
    case Json::value_t::boolean: return "a bool";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float: return "a number";
    default: return "an unsupported value";
  }
}

void ExpectObject(const Json& j, const std::string& path) {
  if (!j.is_object()) Fail(path, std::string("expected an object, got ") + TypeName(j));
}

void ExpectArray(const Json& j, const std::string& path) {
  if (!j.is_array()) Fail(path, std::string("expected an array, got ") + TypeName(j));
}

std::string Quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

// Rejects fields that are not in `allowed`; `what` names the object ("a step state").
void CheckKeys(const Json& obj, const std::string& path, const std::vector<std::string_view>& allowed,
               std::string_view what) {
  for (const auto& item : obj.items()) {
    bool known = false;
    for (std::string_view a : allowed) known = known || a == item.key();
    if (!known) Fail(path, "unknown field " + Quoted(item.key()) + " in " + std::string(what));
  }
}

const Json* Find(const Json& obj, std::string_view key) {
  auto it = obj.find(std::string(key));
  return it == obj.end() ? nullptr : &*it;
}

const Json& Require(const Json& obj, std::string_view key, const std::string& path) {
  const Json* j = Find(obj, key);
  if (!j) Fail(path, "missing field " + Quoted(key));
  return *j;
}

std::string String(const Json& j, const std::string& path) {
  if (!j.is_string()) Fail(path, std::string("expected a string, got ") + TypeName(j));
  return j.get<std::string>();
}

std::string OptString(const Json& obj, std::string_view key, const std::string& path) {
  const Json* j = Find(obj, key);
  return j ? String(*j, Join(path, key)) : std::string();
}

bool Bool(const Json& j, const std::string& path) {
  if (!j.is_boolean()) Fail(path, std::string("expected true or false, got ") + TypeName(j));
  return j.get<bool>();
}

std::int64_t Int(const Json& j, const std::string& path, std::int64_t min, std::int64_t max) {
  if (!j.is_number_integer()) Fail(path, std::string("expected an integer, got ") + TypeName(j));
  if (j.is_number_unsigned() && j.get<std::uint64_t>() > static_cast<std::uint64_t>(max)) {
    Fail(path, "integer out of range " + std::to_string(min) + ".." + std::to_string(max));
  }
  std::int64_t v = j.get<std::int64_t>();
  if (v < min || v > max) {
    Fail(path, "integer " + std::to_string(v) + " out of range " + std::to_string(min) + ".." +
                   std::to_string(max));
  }
  return v;
}

Duration ReadDuration(const Json& j, const std::string& path) {
  std::string text = String(j, path);
  std::optional<Duration> d = DurationFromText(text);
  if (!d) Fail(path, "not a duration: \"" + text + "\" (expected text like \"30s\" or \"1h30m\")");
  return *d;
}

std::optional<Duration> OptDuration(const Json& obj, std::string_view key, const std::string& path) {
  const Json* j = Find(obj, key);
  if (!j) return std::nullopt;
  return ReadDuration(*j, Join(path, key));
}

std::vector<std::string> StringList(const Json& j, const std::string& path) {
  ExpectArray(j, path);
  std::vector<std::string> out;
  for (size_t i = 0; i < j.size(); ++i) out.push_back(String(j[i], At(path, i)));
  return out;
}

std::vector<std::string> ErrorKindList(const Json& j, const std::string& path) {
  std::vector<std::string> kinds = StringList(j, path);
  for (size_t i = 0; i < kinds.size(); ++i) {
    bool known = false;
    for (const std::string& k : ErrorKinds()) known = known || k == kinds[i];
    if (!known) {
      std::string all;
      for (const std::string& k : ErrorKinds()) all += (all.empty() ? "" : ", ") + k;
      Fail(At(path, i), "unknown error kind " + Quoted(kinds[i]) + " (expected one of " + all + ")");
    }
  }
  return kinds;
}

// The discriminating keys of expression objects, and the keys each allows besides itself.
struct ExprForm {
  std::string_view key;
  std::vector<std::string_view> allowed;
};

const std::vector<ExprForm>& ExprForms() {
  static const std::vector<ExprForm> forms = {
      {"lit", {"lit"}},
      {"num", {"num"}},
      {"time", {"time"}},
      {"duration", {"duration"}},
      {"lit_list", {"lit_list"}},
      {"lit_record", {"lit_record"}},
      {"name", {"name"}},
      {"field", {"field", "of"}},
      {"index", {"index", "of"}},
      {"call", {"call", "args"}},
      {"unary", {"unary", "arg"}},
      {"op", {"op", "left", "right"}},
      {"interpolate", {"interpolate"}},
      {"list", {"list"}},
      {"record", {"record"}},
  };
  return forms;
}

const ExprForm& FormOf(const Json& j, const std::string& path) {
  const ExprForm* found = nullptr;
  for (const ExprForm& f : ExprForms()) {
    if (!j.contains(std::string(f.key))) continue;
    if (found) {
      Fail(path, "expression has both " + Quoted(found->key) + " and " + Quoted(f.key));
    }
    found = &f;
  }
  if (!found) {
    std::string keys;
    for (const ExprForm& f : ExprForms()) keys += (keys.empty() ? "" : ", ") + std::string(f.key);
    Fail(path, "not an expression: needs one of the fields " + keys);
  }
  CheckKeys(j, path, found->allowed, "an expression of form " + Quoted(found->key));
  return *found;
}

void CheckDepth(int depth, const std::string& path) {
  if (depth > kMaxDepth) {
    Fail(path, "nested more than " + std::to_string(kMaxDepth) + " levels deep");
  }
}

Value ReadLiteral(const Json& j, const std::string& path, int depth) {
  CheckDepth(depth, path);
  ExpectObject(j, path);
  const ExprForm& form = FormOf(j, path);
  const Json& v = j[std::string(form.key)];
  std::string sub = Join(path, form.key);
  if (form.key == "lit") {
    if (v.is_null()) return Value();
    if (v.is_boolean()) return Value(v.get<bool>());
    if (v.is_string()) return Value(v.get<std::string>());
    Fail(sub, std::string("expected null, true, false or a string, got ") + TypeName(v) +
                  " (numbers are written as {\"num\": \"12.50\"})");
  }
  if (form.key == "num") {
    std::string text = String(v, sub);
    std::optional<Decimal> d = Decimal::Parse(text);
    if (!d) Fail(sub, "not a decimal number: \"" + text + "\"");
    return Value(*d);
  }
  if (form.key == "time") {
    std::string text = String(v, sub);
    std::optional<Time> t = ParseTime(text);
    if (!t) Fail(sub, "not an ISO-8601 time: \"" + text + "\"");
    return Value(*t);
  }
  if (form.key == "duration") return Value(ReadDuration(v, sub));
  if (form.key == "lit_list") {
    ExpectArray(v, sub);
    List items;
    for (size_t i = 0; i < v.size(); ++i) items.push_back(ReadLiteral(v[i], At(sub, i), depth + 1));
    return Value(std::move(items));
  }
  if (form.key == "lit_record") {
    ExpectObject(v, sub);
    Record fields;
    for (const auto& item : v.items()) {
      fields[item.key()] = ReadLiteral(item.value(), Join(sub, item.key()), depth + 1);
    }
    return Value(std::move(fields));
  }
  Fail(path, "expected a literal value (lit, num, time, duration, lit_list or lit_record), got " +
                 Quoted(form.key));
}

bool IsLiteralForm(std::string_view key) {
  return key == "lit" || key == "num" || key == "time" || key == "duration" || key == "lit_list" ||
         key == "lit_record";
}

ExprPtr ReadExpr(const Json& j, const std::string& path, int depth);

std::vector<ExprPtr> ReadExprList(const Json& j, const std::string& path, int depth) {
  ExpectArray(j, path);
  std::vector<ExprPtr> out;
  for (size_t i = 0; i < j.size(); ++i) out.push_back(ReadExpr(j[i], At(path, i), depth + 1));
  return out;
}

ExprPtr ReadExpr(const Json& j, const std::string& path, int depth) {
  CheckDepth(depth, path);
  if (j.is_null()) Fail(path, "expected an expression, got null");
  ExpectObject(j, path);
  const ExprForm& form = FormOf(j, path);
  auto e = std::make_shared<Expr>();
  if (IsLiteralForm(form.key)) {
    e->kind = Expr::Kind::kLiteral;
    e->value = ReadLiteral(j, path, depth);
    return e;
  }
  const Json& v = j[std::string(form.key)];
  std::string sub = Join(path, form.key);
  if (form.key == "name") {
    e->kind = Expr::Kind::kName;
    e->text = String(v, sub);
    if (e->text.empty()) Fail(sub, "empty name");
  } else if (form.key == "field") {
    e->kind = Expr::Kind::kField;
    e->text = String(v, sub);
    e->args.push_back(ReadExpr(Require(j, "of", path), Join(path, "of"), depth + 1));
  } else if (form.key == "index") {
    e->kind = Expr::Kind::kIndex;
    e->args.push_back(ReadExpr(Require(j, "of", path), Join(path, "of"), depth + 1));
    e->args.push_back(ReadExpr(v, sub, depth + 1));
  } else if (form.key == "call") {
    e->kind = Expr::Kind::kCall;
    e->text = String(v, sub);
    if (e->text.empty()) Fail(sub, "empty function name");
    if (const Json* args = Find(j, "args")) e->args = ReadExprList(*args, Join(path, "args"), depth);
  } else if (form.key == "unary") {
    e->kind = Expr::Kind::kUnary;
    e->text = String(v, sub);
    if (e->text != "not" && e->text != "-") {
      Fail(sub, "unknown unary operator " + Quoted(e->text) + " (expected 'not' or '-')");
    }
    e->args.push_back(ReadExpr(Require(j, "arg", path), Join(path, "arg"), depth + 1));
  } else if (form.key == "op") {
    e->kind = Expr::Kind::kBinary;
    e->text = String(v, sub);
    static const std::set<std::string, std::less<>> kOps = {
        "and", "or", "==", "!=", "<", "<=", ">", ">=", "in", "+", "-", "*", "/", "%"};
    if (!kOps.count(e->text)) Fail(sub, "unknown operator " + Quoted(e->text));
    e->args.push_back(ReadExpr(Require(j, "left", path), Join(path, "left"), depth + 1));
    e->args.push_back(ReadExpr(Require(j, "right", path), Join(path, "right"), depth + 1));
  } else if (form.key == "interpolate") {
    e->kind = Expr::Kind::kText;
    ExpectArray(v, sub);
    for (size_t i = 0; i < v.size(); ++i) {
      if (v[i].is_string()) {
        auto part = std::make_shared<Expr>();
        part->kind = Expr::Kind::kLiteral;
        part->value = Value(v[i].get<std::string>());
        e->args.push_back(std::move(part));
      } else {
        e->args.push_back(ReadExpr(v[i], At(sub, i), depth + 1));
      }
    }
  } else if (form.key == "list") {
    e->kind = Expr::Kind::kList;
    e->args = ReadExprList(v, sub, depth);
  } else if (form.key == "record") {
    e->kind = Expr::Kind::kRecord;
    ExpectObject(v, sub);
    for (const auto& item : v.items()) {
      e->keys.push_back(item.key());
      e->args.push_back(ReadExpr(item.value(), Join(sub, item.key()), depth + 1));
    }
  }
  return e;
}

ExprPtr OptExpr(const Json& obj, std::string_view key, const std::string& path, int depth) {
  const Json* j = Find(obj, key);
  if (!j) return nullptr;
  return ReadExpr(*j, Join(path, key), depth + 1);
}

Arguments ReadArguments(const Json& j, const std::string& path, int depth) {
  ExpectObject(j, path);
  Arguments out;
  for (const auto& item : j.items()) {
    if (item.key().empty()) Fail(path, "empty argument name");
    out.emplace_back(item.key(), ReadExpr(item.value(), Join(path, item.key()), depth + 1));
  }
  return out;
}

Call ReadCall(const Json& j, const std::string& path, int depth) {
  ExpectObject(j, path);
  CheckKeys(j, path, {"connector", "operation", "args", "side_effects", "writes"}, "a call");
  Call c;
  c.connector = String(Require(j, "connector", path), Join(path, "connector"));
  c.operation = String(Require(j, "operation", path), Join(path, "operation"));
  if (c.connector.empty()) Fail(Join(path, "connector"), "empty connector name");
  if (c.operation.empty()) Fail(Join(path, "operation"), "empty operation name");
  if (const Json* a = Find(j, "args")) c.args = ReadArguments(*a, Join(path, "args"), depth);
  if (const Json* se = Find(j, "side_effects")) c.side_effects = Bool(*se, Join(path, "side_effects"));
  c.writes = OptString(j, "writes", path);
  return c;
}

RetryPolicy ReadRetry(const Json& j, const std::string& path) {
  ExpectObject(j, path);
  CheckKeys(j, path, {"max_attempts", "first_wait", "multiplier", "max_wait", "jitter", "on_kinds"},
            "a retry policy");
  RetryPolicy r;
  if (const Json* v = Find(j, "max_attempts")) {
    r.max_attempts = static_cast<int>(Int(*v, Join(path, "max_attempts"), 1, 1000000));
  }
  if (auto d = OptDuration(j, "first_wait", path)) r.first_wait = *d;
  if (const Json* v = Find(j, "multiplier")) {
    r.multiplier = String(*v, Join(path, "multiplier"));
    std::optional<Decimal> m = Decimal::Parse(r.multiplier);
    if (!m || m->Sign() <= 0) {
      Fail(Join(path, "multiplier"), "expected a positive decimal like \"2\" or \"1.5\", got \"" +
                                         r.multiplier + "\"");
    }
  }
  r.max_wait = OptDuration(j, "max_wait", path);
  if (const Json* v = Find(j, "jitter")) r.jitter = Bool(*v, Join(path, "jitter"));
  if (const Json* v = Find(j, "on_kinds")) r.on_kinds = ErrorKindList(*v, Join(path, "on_kinds"));
  return r;
}

std::optional<State::Kind> KindFromName(std::string_view name) {
  for (State::Kind k : {State::Kind::kStep, State::Kind::kDecide, State::Kind::kWait,
                        State::Kind::kApproval, State::Kind::kParallel, State::Kind::kForEach,
                        State::Kind::kSet, State::Kind::kFinish, State::Kind::kFail}) {
    if (name == KindName(k)) return k;
  }
  return std::nullopt;
}

void ReadRegionInto(const Json& j, const std::string& path, int depth, Region& r);

std::shared_ptr<Region> ReadRegion(const Json& j, const std::string& path, int depth,
                                   const std::vector<std::string_view>& allowed,
                                   std::string_view what) {
  ExpectObject(j, path);
  CheckKeys(j, path, allowed, what);
  auto r = std::make_shared<Region>();
  ReadRegionInto(j, path, depth, *r);
  return r;
}

State ReadState(const Json& j, const std::string& path, int depth) {
  CheckDepth(depth, path);
  ExpectObject(j, path);
  State s;
  s.name = String(Require(j, "name", path), Join(path, "name"));
  if (s.name.empty()) Fail(Join(path, "name"), "empty state name");
  std::string kind = String(Require(j, "kind", path), Join(path, "kind"));
  std::optional<State::Kind> k = KindFromName(kind);
  if (!k) {
    Fail(Join(path, "kind"), "unknown kind " + Quoted(kind) +
                                 " (expected step, decide, wait, approval, parallel, for_each, set, "
                                 "finish or fail)");
  }
  s.kind = *k;
  std::string what = std::string("a ") + KindName(s.kind) + " state";
  if (const Json* line = Find(j, "line")) {
    s.line = static_cast<int>(Int(*line, Join(path, "line"), 0, std::numeric_limits<int>::max()));
  }
  switch (s.kind) {
    case State::Kind::kStep: {
      CheckKeys(j, path,
                {"name", "kind", "line", "call", "save_as", "timeout", "retry", "on_error", "undo",
                 "next"},
                what);
      s.call = ReadCall(Require(j, "call", path), Join(path, "call"), depth);
      s.save_as = OptString(j, "save_as", path);
      s.timeout = OptDuration(j, "timeout", path);
      if (const Json* r = Find(j, "retry")) s.retry = ReadRetry(*r, Join(path, "retry"));
      if (const Json* routes = Find(j, "on_error")) {
        std::string rp = Join(path, "on_error");
        ExpectArray(*routes, rp);
        for (size_t i = 0; i < routes->size(); ++i) {
          const Json& route = (*routes)[i];
          std::string p = At(rp, i);
          ExpectObject(route, p);
          CheckKeys(route, p, {"kinds", "target"}, "an error route");
          ErrorRoute er;
          if (const Json* kinds = Find(route, "kinds")) er.kinds = ErrorKindList(*kinds, Join(p, "kinds"));
          er.target = String(Require(route, "target", p), Join(p, "target"));
          if (er.target.empty()) Fail(Join(p, "target"), "empty target");
          s.on_error.push_back(std::move(er));
        }
      }
      if (const Json* u = Find(j, "undo")) s.undo = ReadCall(*u, Join(path, "undo"), depth);
      s.next = OptString(j, "next", path);
      break;
    }
    case State::Kind::kDecide: {
      CheckKeys(j, path, {"name", "kind", "line", "when", "otherwise"}, what);
      if (const Json* when = Find(j, "when")) {
        std::string wp = Join(path, "when");
        ExpectArray(*when, wp);
        for (size_t i = 0; i < when->size(); ++i) {
          const Json& w = (*when)[i];
          std::string p = At(wp, i);
          ExpectObject(w, p);
          CheckKeys(w, p, {"if", "then"}, "a decide branch");
          ExprPtr cond = ReadExpr(Require(w, "if", p), Join(p, "if"), depth + 1);
          std::string target = String(Require(w, "then", p), Join(p, "then"));
          if (target.empty()) Fail(Join(p, "then"), "empty target");
          s.when.emplace_back(std::move(cond), std::move(target));
        }
      }
      s.otherwise = OptString(j, "otherwise", path);
      break;
    }
    case State::Kind::kWait: {
      CheckKeys(j, path,
                {"name", "kind", "line", "wait", "for", "until", "event", "event_key", "key_value",
                 "within", "on_timeout", "save_event_as", "next"},
                what);
      std::string wk = String(Require(j, "wait", path), Join(path, "wait"));
      if (wk == "duration") {
        s.wait_kind = State::WaitKind::kDuration;
        s.wait_for = ReadDuration(Require(j, "for", path), Join(path, "for"));
      } else if (wk == "until") {
        s.wait_kind = State::WaitKind::kUntil;
        Require(j, "until", path);
      } else if (wk == "event") {
        s.wait_kind = State::WaitKind::kEvent;
        Require(j, "event", path);
        Require(j, "event_key", path);
        Require(j, "key_value", path);
      } else {
        Fail(Join(path, "wait"), "unknown wait kind " + Quoted(wk) +
                                     " (expected duration, until or event)");
      }
      if (s.wait_kind != State::WaitKind::kDuration && Find(j, "for")) {
        Fail(Join(path, "for"), "only a duration wait has 'for'");
      }
      s.until = OptExpr(j, "until", path, depth);
      s.event = OptString(j, "event", path);
      s.event_key = OptString(j, "event_key", path);
      s.key_value = OptExpr(j, "key_value", path, depth);
      s.within = OptDuration(j, "within", path);
      s.on_timeout = OptString(j, "on_timeout", path);
      s.save_event_as = OptString(j, "save_event_as", path);
      s.next = OptString(j, "next", path);
      break;
    }
    case State::Kind::kApproval:
      CheckKeys(j, path,
                {"name", "kind", "line", "role", "title", "details", "deadline", "escalate_to",
                 "on_approve", "on_reject", "save_decision_as"},
                what);
      s.role = OptString(j, "role", path);
      s.title = OptExpr(j, "title", path, depth);
      s.details = OptExpr(j, "details", path, depth);
      s.deadline = OptDuration(j, "deadline", path);
      s.escalate_to = OptString(j, "escalate_to", path);
      s.on_approve = OptString(j, "on_approve", path);
      s.on_reject = OptString(j, "on_reject", path);
      s.save_decision_as = OptString(j, "save_decision_as", path);
      break;
    case State::Kind::kParallel: {
      CheckKeys(j, path, {"name", "kind", "line", "branches", "next"}, what);
      std::string bp = Join(path, "branches");
      const Json& branches = Require(j, "branches", path);
      ExpectArray(branches, bp);
      for (size_t i = 0; i < branches.size(); ++i) {
        std::string p = At(bp, i);
        const Json& b = branches[i];
        ExpectObject(b, p);
        std::string name = String(Require(b, "name", p), Join(p, "name"));
        if (name.empty()) Fail(Join(p, "name"), "empty branch name");
        for (const auto& [other, region] : s.branches) {
          if (other == name) Fail(Join(p, "name"), "duplicate branch name " + Quoted(name));
        }
        s.branches.emplace_back(name, ReadRegion(b, p, depth + 1, {"name", "start", "states"}, "a branch"));
      }
      s.next = OptString(j, "next", path);
      break;
    }
    case State::Kind::kForEach: {
      CheckKeys(j, path, {"name", "kind", "line", "item", "list", "concurrency", "body", "next"}, what);
      s.item = String(Require(j, "item", path), Join(path, "item"));
      if (s.item.empty()) Fail(Join(path, "item"), "empty item name");
      s.list = ReadExpr(Require(j, "list", path), Join(path, "list"), depth + 1);
      if (const Json* c = Find(j, "concurrency")) {
        s.concurrency = static_cast<int>(Int(*c, Join(path, "concurrency"), 1, 1000000));
      }
      s.body = ReadRegion(Require(j, "body", path), Join(path, "body"), depth + 1, {"start", "states"},
                          "a region");
      s.next = OptString(j, "next", path);
      break;
    }
    case State::Kind::kSet:
      CheckKeys(j, path, {"name", "kind", "line", "assignments", "next"}, what);
      if (const Json* a = Find(j, "assignments")) {
        s.assignments = ReadArguments(*a, Join(path, "assignments"), depth);
      }
      s.next = OptString(j, "next", path);
      break;
    case State::Kind::kFinish:
      CheckKeys(j, path, {"name", "kind", "line", "message"}, what);
      s.message = OptExpr(j, "message", path, depth);
      break;
    case State::Kind::kFail:
      CheckKeys(j, path, {"name", "kind", "line", "reason"}, what);
      s.message = OptExpr(j, "reason", path, depth);
      break;
  }
  return s;
}

// Every transition must name a state of the same region.
void CheckTargets(const Region& r, const std::string& path) {
  auto check = [&](const std::string& target, const std::string& where) {
    if (!target.empty() && !r.Find(target)) {
      Fail(where, "no state " + Quoted(target) + " in this region");
    }
  };
  for (size_t i = 0; i < r.states.size(); ++i) {
    const State& s = r.states[i];
    std::string p = At(Join(path, "states"), i);
    check(s.next, Join(p, "next"));
    for (size_t k = 0; k < s.on_error.size(); ++k) {
      check(s.on_error[k].target, Join(At(Join(p, "on_error"), k), "target"));
    }
    for (size_t k = 0; k < s.when.size(); ++k) {
      check(s.when[k].second, Join(At(Join(p, "when"), k), "then"));
    }
    check(s.otherwise, Join(p, "otherwise"));
    check(s.on_timeout, Join(p, "on_timeout"));
    check(s.on_approve, Join(p, "on_approve"));
    check(s.on_reject, Join(p, "on_reject"));
  }
}

void ReadRegionInto(const Json& j, const std::string& path, int depth, Region& r) {
  CheckDepth(depth, path);
  r.start = String(Require(j, "start", path), Join(path, "start"));
  std::string sp = Join(path, "states");
  const Json& states = Require(j, "states", path);
  ExpectArray(states, sp);
  for (size_t i = 0; i < states.size(); ++i) {
    State s = ReadState(states[i], At(sp, i), depth + 1);
    for (size_t k = 0; k < r.states.size(); ++k) {
      if (r.states[k].name == s.name) {
        Fail(Join(At(sp, i), "name"),
             "duplicate state name " + Quoted(s.name) + " (also " + At(sp, k) + ")");
      }
    }
    r.states.push_back(std::move(s));
  }
  if (r.start.empty() && !r.states.empty()) Fail(Join(path, "start"), "empty start state");
  if (!r.start.empty() && !r.Find(r.start)) {
    Fail(Join(path, "start"), "no state " + Quoted(r.start) + " in this region");
  }
  CheckTargets(r, path);
}

Machine ReadMachine(const Json& j) {
  ExpectObject(j, "");
  const Json* format = Find(j, "format");
  if (!format) Fail("", "missing field 'format' (not a retailflow machine document)");
  if (!format->is_string() || format->get<std::string>() != kFormatName) {
    Fail("format", "expected \"" + std::string(kFormatName) + "\", got " + format->dump());
  }
  const Json& version = Require(j, "format_version", "");
  if (!version.is_number_integer()) {
    Fail("format_version", std::string("expected an integer, got ") + TypeName(version));
  }
  if (version != Json(kFormatVersion)) {
    Fail("format_version", "unsupported version " + version.dump() + " (this engine reads version " +
                               std::to_string(kFormatVersion) + ")");
  }
  CheckKeys(j, "",
            {"format", "format_version", "name", "version", "description", "uses", "inputs",
             "schedules", "main"},
            "a machine");
  Machine m;
  m.name = String(Require(j, "name", ""), "name");
  if (m.name.empty()) Fail("name", "empty workflow name");
  m.version = static_cast<int>(Int(Require(j, "version", ""), "version", 0, std::numeric_limits<int>::max()));
  m.description = OptString(j, "description", "");
  if (const Json* uses = Find(j, "uses")) m.uses = StringList(*uses, "uses");
  if (const Json* inputs = Find(j, "inputs")) {
    ExpectArray(*inputs, "inputs");
    for (size_t i = 0; i < inputs->size(); ++i) {
      std::string p = At("inputs", i);
      const Json& in = (*inputs)[i];
      ExpectObject(in, p);
      CheckKeys(in, p, {"name", "type", "optional"}, "an input");
      Input input;
      input.name = String(Require(in, "name", p), Join(p, "name"));
      if (input.name.empty()) Fail(Join(p, "name"), "empty input name");
      input.type = String(Require(in, "type", p), Join(p, "type"));
      bool known = false;
      for (const std::string& t : InputTypes()) known = known || t == input.type;
      if (!known) {
        Fail(Join(p, "type"), "unknown type " + Quoted(input.type) +
                                  " (expected text, number, money, bool, time, duration, list or record)");
      }
      if (const Json* opt = Find(in, "optional")) input.optional = Bool(*opt, Join(p, "optional"));
      m.inputs.push_back(std::move(input));
    }
  }
  if (const Json* schedules = Find(j, "schedules")) {
    ExpectArray(*schedules, "schedules");
    for (size_t i = 0; i < schedules->size(); ++i) {
      std::string p = At("schedules", i);
      const Json& sc = (*schedules)[i];
      ExpectObject(sc, p);
      CheckKeys(sc, p, {"cron", "time_zone", "input"}, "a schedule");
      Schedule schedule;
      schedule.cron = String(Require(sc, "cron", p), Join(p, "cron"));
      schedule.time_zone = String(Require(sc, "time_zone", p), Join(p, "time_zone"));
      if (const Json* in = Find(sc, "input")) schedule.input = ReadArguments(*in, Join(p, "input"), 0);
      m.schedules.push_back(std::move(schedule));
    }
  }
  const Json& main = Require(j, "main", "");
  ExpectObject(main, "main");
  CheckKeys(main, "main", {"start", "states"}, "a region");
  ReadRegionInto(main, "main", 0, m.main);
  return m;
}

// Rejects duplicate keys while parsing: JSON objects here are ordered (record fields, call
// arguments), and a duplicate would silently drop one of them.
Json ParseStrict(std::string_view text) {
  std::vector<std::set<std::string>> open;
  Json::parser_callback_t cb = [&open](int /*depth*/, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start: open.emplace_back(); break;
      case Json::parse_event_t::object_end:
        if (!open.empty()) open.pop_back();
        break;
      case Json::parse_event_t::key: {
        std::string key = parsed.get<std::string>();
        if (!open.empty() && !open.back().insert(key).second) {
          throw ParseError{"duplicate key " + Quoted(key) + " in a JSON object"};
        }
        break;
      }
      default: break;
    }
    return true;
  };
  return Json::parse(text.begin(), text.end(), cb);
}

}  // namespace

std::string ToJson(const Machine& m, bool pretty) {
  return Dump(MachineJson(m), pretty ? 2 : -1);
}

std::string ExprToJson(const ExprPtr& e) { return Dump(ExprJson(e), -1); }

Result<Machine> MachineFromJson(std::string_view json_text) {
  try {
    Json j;
    try {
      j = ParseStrict(json_text);
    } catch (const Json::parse_error& e) {
      std::string what = e.what();
      // Drop nlohmann's "[json.exception.parse_error.101] " prefix.
      if (size_t close = what.find("] "); !what.empty() && what[0] == '[' && close != std::string::npos) {
        what = what.substr(close + 2);
      }
      return Status::InvalidArgument("machine JSON is not valid JSON: " + what);
    }
    return ReadMachine(j);
  } catch (const ParseError& e) {
    return Status::InvalidArgument("invalid machine JSON: " + e.message);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("invalid machine JSON: ") + e.what());
  } catch (...) {
    return Status::Internal("invalid machine JSON: unexpected error while reading");
  }
}

}  // namespace rf::ir
