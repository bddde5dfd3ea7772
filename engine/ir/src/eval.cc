// Evaluation of IR expressions (semantics in engine/ir/eval.h). Pure and deterministic: numbers
// are exact decimals, the clock is Scope::now, and nothing here throws past Evaluate.
#include "engine/ir/eval.h"

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/time_text.h"

namespace rf::ir {

const std::vector<FunctionInfo>& Functions() {
  static const std::vector<FunctionInfo> functions = {
      {"count", 1, 1, false},    {"sum", 1, 2, true},       {"min", 1, 1, false},
      {"max", 1, 1, false},      {"any", 2, 2, true},       {"all", 2, 2, true},
      {"now", 0, 0, false},      {"lower", 1, 1, false},    {"upper", 1, 1, false},
      {"trim", 1, 1, false},     {"round", 1, 2, false},    {"abs", 1, 1, false},
      {"length", 1, 1, false},   {"contains", 2, 2, false}, {"starts_with", 2, 2, false},
      {"days", 1, 1, false},     {"hours", 1, 1, false},    {"minutes", 1, 1, false},
      {"date", 1, 1, false},     {"text", 1, 1, false},     {"number", 1, 1, false},
      {"coalesce", 1, -1, false}, {"find", 2, 2, true},     {"filter", 2, 2, true},
      {"fixed", 2, 2, false},
  };
  return functions;
}

namespace {

// An evaluation error; turned into Status::InvalidArgument by Evaluate.
struct EvalError {
  std::string message;
};

[[noreturn]] void Fail(const std::string& message, const ExprPtr& e) {
  throw EvalError{message + " in " + ExprToText(e)};
}

constexpr size_t kMaxDescribed = 40;

// "number 500", "text \"abc\"", "null", ... for error messages.
std::string Describe(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kNull: return "null";
    case Value::Kind::kBool: return v.as_bool() ? "bool true" : "bool false";
    case Value::Kind::kNumber: return "number " + v.as_number().ToString();
    case Value::Kind::kText: {
      std::string t = v.as_text();
      if (t.size() > kMaxDescribed) t = t.substr(0, kMaxDescribed) + "...";
      std::string out = "text \"";
      for (char c : t) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
      }
      return out + "\"";
    }
    case Value::Kind::kTime: return "time " + FormatTime(v.as_time());
    case Value::Kind::kDuration: {
      Duration d = v.as_duration();
      if (d.ms < 0 && d.ms != std::numeric_limits<std::int64_t>::min()) {
        return "duration -" + FormatDuration(Duration{-d.ms});
      }
      return "duration " + FormatDuration(d);
    }
    case Value::Kind::kList: {
      size_t n = v.as_list().size();
      return "list of " + std::to_string(n) + (n == 1 ? " item" : " items");
    }
    case Value::Kind::kRecord: return "record";
  }
  return "value";
}

// ------------------------------------------------------------------------ times and durations

std::optional<Time> AsTime(const Value& v) {
  if (v.is_time()) return v.as_time();
  if (v.is_text()) return ParseTime(v.as_text());
  return std::nullopt;
}

std::optional<Duration> AsDuration(const Value& v) {
  if (v.is_duration()) return v.as_duration();
  if (!v.is_text()) return std::nullopt;
  std::string_view s = v.as_text();
  bool negative = !s.empty() && s.front() == '-';
  if (negative) s.remove_prefix(1);
  if (s.empty() || s.front() == '-') return std::nullopt;
  std::optional<Duration> d = ParseDuration(s);
  if (!d) return std::nullopt;
  return negative ? Duration{-d->ms} : *d;
}

std::int64_t AddMs(std::int64_t a, std::int64_t b, const ExprPtr& e) {
  std::int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) Fail("time out of range", e);
  return r;
}

std::int64_t SubMs(std::int64_t a, std::int64_t b, const ExprPtr& e) {
  std::int64_t r = 0;
  if (__builtin_sub_overflow(a, b, &r)) Fail("time out of range", e);
  return r;
}

// Milliseconds times an exact factor, rounded half-even to whole milliseconds.
Duration ScaleMs(std::int64_t ms, const Decimal& factor, const ExprPtr& e) {
  std::optional<std::int64_t> r = (Decimal(ms) * factor).Round(0).ToInt64();
  if (!r) Fail("duration out of range", e);
  return Duration{*r};
}

// ------------------------------------------------------------------------ equality and order

bool Equal(const Value& a, const Value& b) {
  if (a.kind() == b.kind()) {
    if (a.is_list()) {
      const List& x = a.as_list();
      const List& y = b.as_list();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        if (!Equal(x[i], y[i])) return false;
      }
      return true;
    }
    if (a.is_record()) {
      const Record& x = a.as_record();
      const Record& y = b.as_record();
      if (x.size() != y.size()) return false;
      for (auto i = x.begin(), j = y.begin(); i != x.end(); ++i, ++j) {
        if (i->first != j->first || !Equal(i->second, j->second)) return false;
      }
      return true;
    }
    return a == b;
  }
  // A time or duration against its text form (plain JSON carries them as text).
  if (a.is_time() && b.is_text()) return AsTime(b) == a.as_time();
  if (a.is_text() && b.is_time()) return AsTime(a) == b.as_time();
  if (a.is_duration() && b.is_text()) return AsDuration(b) == a.as_duration();
  if (a.is_text() && b.is_duration()) return AsDuration(a) == b.as_duration();
  return false;
}

// Three-way comparison for < <= > >= min max; nullopt when the two cannot be ordered.
std::optional<std::strong_ordering> Order(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) return a.as_number() <=> b.as_number();
  if (a.is_text() && b.is_text()) return a.as_text().compare(b.as_text()) <=> 0;
  if (a.is_time() || b.is_time()) {
    std::optional<Time> x = AsTime(a);
    std::optional<Time> y = AsTime(b);
    if (x && y) return *x <=> *y;
    return std::nullopt;
  }
  if (a.is_duration() || b.is_duration()) {
    std::optional<Duration> x = AsDuration(a);
    std::optional<Duration> y = AsDuration(b);
    if (x && y) return *x <=> *y;
    return std::nullopt;
  }
  return std::nullopt;
}

// ------------------------------------------------------------------------------ text helpers

size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string Trim(std::string_view s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && IsSpace(s[b])) ++b;
  while (e > b && IsSpace(s[e - 1])) --e;
  return std::string(s.substr(b, e - b));
}

// ------------------------------------------------------------------------------- evaluation

class Evaluator {
 public:
  // `depth`: the levels of expression above this evaluator's root (a function body evaluated per
  // item runs in a sub-evaluator and keeps counting).
  explicit Evaluator(const Scope& scope, int depth = 0) : scope_(scope), depth_(depth) {}

  Value Eval(const ExprPtr& e) {
    if (!e) throw EvalError{"missing expression"};
    // Compiled and stored machines are never this deep; a hand-built one must not take the stack.
    // The message names no expression: rendering one this deep is what must not happen.
    if (depth_ >= kMaxDepth) {
      throw EvalError{"the expression is nested more than " + std::to_string(kMaxDepth) + " levels deep"};
    }
    ++depth_;
    Value v = EvalNode(e);
    --depth_;
    return v;
  }

 private:
  Value EvalNode(const ExprPtr& e) {
    switch (e->kind) {
      case Expr::Kind::kLiteral: return e->value;
      case Expr::Kind::kName: return Name(e);
      case Expr::Kind::kField: return Field(e);
      case Expr::Kind::kIndex: return Index(e);
      case Expr::Kind::kCall: return CallFn(e);
      case Expr::Kind::kUnary: return Unary(e);
      case Expr::Kind::kBinary: return Binary(e);
      case Expr::Kind::kText: {
        std::string out;
        for (const ExprPtr& part : e->args) out += Eval(part).ToDisplayString();
        return Value(std::move(out));
      }
      case Expr::Kind::kList: {
        List items;
        items.reserve(e->args.size());
        for (const ExprPtr& a : e->args) items.push_back(Eval(a));
        return Value(std::move(items));
      }
      case Expr::Kind::kRecord: {
        if (e->keys.size() != e->args.size()) Fail("malformed record (keys and values differ)", e);
        Record fields;
        for (size_t i = 0; i < e->args.size(); ++i) fields[e->keys[i]] = Eval(e->args[i]);
        return Value(std::move(fields));
      }
    }
    Fail("unknown expression kind", e);
  }

  const ExprPtr& Arg(const ExprPtr& e, size_t i) {
    if (i >= e->args.size()) Fail("malformed expression (missing operand)", e);
    return e->args[i];
  }

  Value Name(const ExprPtr& e) {
    for (auto it = scope_.frames.rbegin(); it != scope_.frames.rend(); ++it) {
      if (!*it) continue;
      auto found = (*it)->find(e->text);
      if (found != (*it)->end()) return found->second;
    }
    Fail("unknown name '" + e->text + "'", e);
  }

  Value Field(const ExprPtr& e) {
    Value base = Eval(Arg(e, 0));
    if (base.is_null()) return Value();
    if (!base.is_record()) {
      Fail("cannot take field '" + e->text + "' of " + Describe(base) + " (only records have fields)", e);
    }
    const Value* v = base.Find(e->text);
    return v ? *v : Value();
  }

  Value Index(const ExprPtr& e) {
    Value base = Eval(Arg(e, 0));
    Value index = Eval(Arg(e, 1));
    if (base.is_null()) return Value();
    if (base.is_record()) {
      // record[key]: a field chosen at run time (e.g. refundable quantity by line id).
      if (!index.is_text()) Fail("a record can only be indexed by a text key, got " + Describe(index), e);
      const Value* field = base.Find(index.as_text());
      return field == nullptr ? Value() : *field;
    }
    if (!base.is_list()) Fail("cannot index " + Describe(base) + " (only lists and records can be indexed)", e);
    if (!index.is_number() || !index.as_number().IsInteger()) {
      Fail("a list index must be a whole number, got " + Describe(index), e);
    }
    std::optional<std::int64_t> i = index.as_number().ToInt64();
    const List& items = base.as_list();
    if (!i || *i < 0 || static_cast<std::uint64_t>(*i) >= items.size()) return Value();
    return items[static_cast<size_t>(*i)];
  }

  bool NeedBool(const Value& v, std::string_view op, std::string_view side, const ExprPtr& e) {
    if (!v.is_bool()) {
      std::string hint = v.is_null() ? " (test `x != null` first)" : "";
      Fail("`" + std::string(op) + "` needs true or false" + std::string(side) + ", got " +
               Describe(v) + hint,
           e);
    }
    return v.as_bool();
  }

  Value Unary(const ExprPtr& e) {
    Value v = Eval(Arg(e, 0));
    if (e->text == "not") return Value(!NeedBool(v, "not", "", e));
    if (e->text == "-") {
      if (v.is_number()) return Value(-v.as_number());
      if (std::optional<Duration> d = AsDuration(v)) {
        if (d->ms == std::numeric_limits<std::int64_t>::min()) Fail("duration out of range", e);
        return Value(Duration{-d->ms});
      }
      Fail("cannot negate " + Describe(v), e);
    }
    Fail("unknown operator '" + e->text + "'", e);
  }

  Value Binary(const ExprPtr& e) {
    const std::string& op = e->text;
    if (op == "and" || op == "or") {
      bool left = NeedBool(Eval(Arg(e, 0)), op, " on its left", e);
      if (op == "and" && !left) return Value(false);
      if (op == "or" && left) return Value(true);
      return Value(NeedBool(Eval(Arg(e, 1)), op, " on its right", e));
    }
    Value a = Eval(Arg(e, 0));
    Value b = Eval(Arg(e, 1));
    if (op == "==") return Value(Equal(a, b));
    if (op == "!=") return Value(!Equal(a, b));
    if (op == "<" || op == "<=" || op == ">" || op == ">=") {
      std::optional<std::strong_ordering> o = Order(a, b);
      if (!o) Fail("cannot compare " + Describe(a) + " with " + Describe(b), e);
      if (op == "<") return Value(*o < 0);
      if (op == "<=") return Value(*o <= 0);
      if (op == ">") return Value(*o > 0);
      return Value(*o >= 0);
    }
    if (op == "in") return Value(In(a, b, e));
    if (op == "+") return Add(a, b, e);
    if (op == "-") return Subtract(a, b, e);
    if (op == "*") return Multiply(a, b, e);
    if (op == "/" || op == "%") {
      if (!a.is_number() || !b.is_number()) {
        Fail(std::string("cannot ") + (op == "/" ? "divide " : "take the remainder of ") +
                 Describe(a) + " by " + Describe(b) + " (both must be numbers)",
             e);
      }
      if (b.as_number().Sign() == 0) Fail("division by zero", e);
      if (op == "/") return Value(*Decimal::Divide(a.as_number(), b.as_number()));
      return Value(Remainder(a.as_number(), b.as_number()));
    }
    Fail("unknown operator '" + op + "'", e);
  }

  static bool In(const Value& x, const Value& container, const ExprPtr& e) {
    if (container.is_list()) {
      for (const Value& item : container.as_list()) {
        if (Equal(x, item)) return true;
      }
      return false;
    }
    if (container.is_text()) {
      if (!x.is_text()) Fail("`in` on text needs text on its left, got " + Describe(x), e);
      return container.as_text().find(x.as_text()) != std::string::npos;
    }
    Fail("`in` needs a list or text on its right, got " + Describe(container), e);
  }

  // Truncated remainder: the result has the sign of the dividend (-7 % 2 == -1).
  static Decimal Remainder(const Decimal& a, const Decimal& b) {
    Decimal q = *Decimal::Divide(a, b);
    Decimal t = q.Round(0);
    // Round(0) may round away from zero; step back towards zero to truncate.
    if (q.Sign() >= 0 && t > q) t = t - Decimal(1);
    if (q.Sign() < 0 && t < q) t = t + Decimal(1);
    Decimal r = a - b * t;
    // The quotient was rounded to kDivisionScale places; fix the last unit if that crossed an
    // integer boundary.
    Decimal abs_b = b.Sign() < 0 ? -b : b;
    for (int i = 0; i < 2; ++i) {
      if (r.Sign() != 0 && r.Sign() != a.Sign()) r = a.Sign() < 0 ? r - abs_b : r + abs_b;
      Decimal abs_r = r.Sign() < 0 ? -r : r;
      if (abs_r >= abs_b) r = a.Sign() < 0 ? r + abs_b : r - abs_b;
    }
    return r;
  }

  static Value Add(const Value& a, const Value& b, const ExprPtr& e) {
    if (a.is_number() && b.is_number()) return Value(a.as_number() + b.as_number());
    if (a.is_text() && b.is_text()) return Value(a.as_text() + b.as_text());
    // time + duration (either order), duration + duration; text stands in for either.
    if (a.is_time() || b.is_time() || a.is_duration() || b.is_duration()) {
      std::optional<Time> ta = AsTime(a);
      std::optional<Time> tb = AsTime(b);
      std::optional<Duration> da = AsDuration(a);
      std::optional<Duration> db = AsDuration(b);
      if (ta && db) return Value(Time{AddMs(ta->ms, db->ms, e)});
      if (da && tb) return Value(Time{AddMs(tb->ms, da->ms, e)});
      if (da && db) return Value(Duration{AddMs(da->ms, db->ms, e)});
    }
    std::string hint;
    if (a.is_text() || b.is_text()) hint = " (use text(x) to turn a value into text)";
    Fail("cannot add " + Describe(a) + " and " + Describe(b) + hint, e);
  }

  static Value Subtract(const Value& a, const Value& b, const ExprPtr& e) {
    if (a.is_number() && b.is_number()) return Value(a.as_number() - b.as_number());
    bool involves_time = a.is_time() || b.is_time() || a.is_duration() || b.is_duration() ||
                         (a.is_text() && b.is_text());
    if (involves_time) {
      std::optional<Time> ta = AsTime(a);
      std::optional<Time> tb = AsTime(b);
      if (ta && tb) return Value(Duration{SubMs(ta->ms, tb->ms, e)});
      std::optional<Duration> db = AsDuration(b);
      if (ta && db) return Value(Time{SubMs(ta->ms, db->ms, e)});
      std::optional<Duration> da = AsDuration(a);
      if (da && db) return Value(Duration{SubMs(da->ms, db->ms, e)});
    }
    Fail("cannot subtract " + Describe(b) + " from " + Describe(a), e);
  }

  static Value Multiply(const Value& a, const Value& b, const ExprPtr& e) {
    if (a.is_number() && b.is_number()) return Value(a.as_number() * b.as_number());
    if (b.is_number()) {
      if (std::optional<Duration> d = AsDuration(a)) return Value(ScaleMs(d->ms, b.as_number(), e));
    }
    if (a.is_number()) {
      if (std::optional<Duration> d = AsDuration(b)) return Value(ScaleMs(d->ms, a.as_number(), e));
    }
    Fail("cannot multiply " + Describe(a) + " by " + Describe(b), e);
  }

  // ---------------------------------------------------------------------------- functions

  Value WithItem(const ExprPtr& body, const Value& item) {
    Record frame;
    frame.emplace("item", item);
    Scope inner = scope_;
    inner.frames.push_back(&frame);
    Evaluator sub(inner, depth_);
    return sub.Eval(body);
  }

  const List& NeedList(const Value& v, std::string_view fn, const ExprPtr& e) {
    if (!v.is_list()) Fail(std::string(fn) + " needs a list, got " + Describe(v), e);
    return v.as_list();
  }

  const std::string& NeedText(const Value& v, std::string_view fn, const ExprPtr& e) {
    if (!v.is_text()) Fail(std::string(fn) + " needs text, got " + Describe(v), e);
    return v.as_text();
  }

  const Decimal& NeedNumber(const Value& v, std::string_view fn, const ExprPtr& e) {
    if (!v.is_number()) Fail(std::string(fn) + " needs a number, got " + Describe(v), e);
    return v.as_number();
  }

  Value CallFn(const ExprPtr& e) {
    const std::string& fn = e->text;
    const FunctionInfo* info = nullptr;
    for (const FunctionInfo& f : Functions()) {
      if (f.name == fn) info = &f;
    }
    if (!info) Fail("unknown function '" + fn + "'", e);
    int argc = static_cast<int>(e->args.size());
    if (argc < info->min_args || (info->max_args >= 0 && argc > info->max_args)) {
      std::string expected;
      if (info->max_args < 0) {
        expected = "at least " + std::to_string(info->min_args);
      } else if (info->min_args == info->max_args) {
        expected = std::to_string(info->min_args);
      } else {
        expected = std::to_string(info->min_args) + " or " + std::to_string(info->max_args);
      }
      int last = info->max_args < 0 ? info->min_args : info->max_args;
      Fail(fn + " takes " + expected + (last == 1 ? " argument" : " arguments") + ", got " +
               std::to_string(argc),
           e);
    }

    // Functions whose arguments are evaluated lazily or per element.
    if (fn == "sum") return Sum(e);
    if (fn == "any" || fn == "all") return AnyAll(e, fn == "any");
    if (fn == "find" || fn == "filter") return FindFilter(e, fn == "find");
    if (fn == "coalesce") {
      for (const ExprPtr& a : e->args) {
        Value v = Eval(a);
        if (!v.is_null()) return v;
      }
      return Value();
    }
    if (fn == "now") return Value(scope_.now);

    std::vector<Value> args;
    for (const ExprPtr& a : e->args) args.push_back(Eval(a));
    const Value& x = args[0];

    if (fn == "count") {
      if (x.is_list()) return Value(static_cast<std::int64_t>(x.as_list().size()));
      if (x.is_text()) return Value(static_cast<std::int64_t>(CodePoints(x.as_text())));
      if (x.is_record()) return Value(static_cast<std::int64_t>(x.as_record().size()));
      Fail("count needs a list, text or record, got " + Describe(x), e);
    }
    if (fn == "min" || fn == "max") {
      const List& items = NeedList(x, fn, e);
      if (items.empty()) return Value();
      size_t best = 0;
      for (size_t i = 1; i < items.size(); ++i) {
        std::optional<std::strong_ordering> o = Order(items[i], items[best]);
        if (!o) {
          Fail(fn + " cannot compare " + Describe(items[i]) + " with " + Describe(items[best]), e);
        }
        if (fn == "min" ? *o < 0 : *o > 0) best = i;
      }
      if (items.size() == 1 && !Order(items[0], items[0])) {
        Fail(fn + " needs numbers, texts, times or durations, got " + Describe(items[0]), e);
      }
      return items[best];
    }
    if (fn == "lower" || fn == "upper") {
      std::string t = NeedText(x, fn, e);
      for (char& c : t) {
        if (fn == "lower" && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (fn == "upper" && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
      }
      return Value(std::move(t));
    }
    if (fn == "trim") return Value(Trim(NeedText(x, fn, e)));
    if (fn == "length") return Value(static_cast<std::int64_t>(CodePoints(NeedText(x, fn, e))));
    if (fn == "round") {
      const Decimal& d = NeedNumber(x, fn, e);
      int places = 0;
      if (args.size() > 1) {
        const Value& p = args[1];
        std::optional<std::int64_t> pl =
            p.is_number() && p.as_number().IsInteger() ? p.as_number().ToInt64() : std::nullopt;
        if (!pl || *pl < 0 || *pl > 30) {
          Fail("round needs a whole number of places from 0 to 30, got " + Describe(p), e);
        }
        places = static_cast<int>(*pl);
      }
      return Value(d.Round(places));
    }
    if (fn == "abs") {
      if (x.is_number()) return Value(x.as_number().Sign() < 0 ? -x.as_number() : x.as_number());
      if (x.is_duration()) {
        Duration d = x.as_duration();
        if (d.ms == std::numeric_limits<std::int64_t>::min()) Fail("duration out of range", e);
        return Value(Duration{d.ms < 0 ? -d.ms : d.ms});
      }
      Fail("abs needs a number or a duration, got " + Describe(x), e);
    }
    if (fn == "contains") {
      if (x.is_list()) {
        for (const Value& item : x.as_list()) {
          if (Equal(item, args[1])) return Value(true);
        }
        return Value(false);
      }
      if (x.is_text()) {
        if (!args[1].is_text()) Fail("contains on text needs text to look for, got " + Describe(args[1]), e);
        return Value(x.as_text().find(args[1].as_text()) != std::string::npos);
      }
      Fail("contains needs a list or text, got " + Describe(x), e);
    }
    if (fn == "starts_with") {
      const std::string& t = NeedText(x, fn, e);
      const std::string& p = NeedText(args[1], fn, e);
      return Value(t.starts_with(p));
    }
    if (fn == "days" || fn == "hours" || fn == "minutes") {
      const Decimal& n = NeedNumber(x, fn, e);
      std::int64_t unit = fn == "days" ? 86400000 : fn == "hours" ? 3600000 : 60000;
      return Value(ScaleMs(unit, n, e));
    }
    if (fn == "date") {
      std::optional<Time> t = AsTime(x);
      if (!t) Fail("date needs a time, got " + Describe(x), e);
      std::string iso = FormatTime(*t);
      return Value(iso.substr(0, iso.find('T')));
    }
    if (fn == "text") return Value(x.ToDisplayString());
    if (fn == "fixed") {
      // Money for people: fixed(12.5, 2) → "12.50", rounded half-even.
      const Decimal& n = NeedNumber(x, fn, e);
      const Decimal& places = NeedNumber(args[1], fn, e);
      std::optional<std::int64_t> p = places.ToInt64();
      if (!places.IsInteger() || !p || *p < 0 || *p > 18) Fail("fixed needs 0 to 18 places, got " + Describe(args[1]), e);
      return Value(n.ToFixed(static_cast<int>(*p)));
    }
    if (fn == "number") {
      if (x.is_number()) return x;
      if (x.is_text()) {
        if (std::optional<Decimal> d = Decimal::Parse(Trim(x.as_text()))) return Value(*d);
        Fail("cannot turn " + Describe(x) + " into a number", e);
      }
      Fail("number needs text, got " + Describe(x), e);
    }
    Fail("function '" + fn + "' is unknown to this engine version", e);
  }

  Value Sum(const ExprPtr& e) {
    Value list = Eval(e->args[0]);
    const List& items = NeedList(list, "sum", e);
    std::optional<Decimal> number_total;
    std::optional<Duration> duration_total;
    for (size_t i = 0; i < items.size(); ++i) {
      Value v = e->args.size() > 1 ? WithItem(e->args[1], items[i]) : items[i];
      if (v.is_number() && !duration_total) {
        number_total = number_total ? *number_total + v.as_number() : v.as_number();
        continue;
      }
      if (!number_total) {
        if (std::optional<Duration> d = AsDuration(v)) {
          duration_total = Duration{AddMs(duration_total ? duration_total->ms : 0, d->ms, e)};
          continue;
        }
      }
      Fail("sum needs all numbers or all durations, got " + Describe(v) + " for item " +
               std::to_string(i + 1),
           e);
    }
    if (duration_total) return Value(*duration_total);
    return Value(number_total ? *number_total : Decimal(0));
  }

  Value AnyAll(const ExprPtr& e, bool any) {
    Value list = Eval(e->args[0]);
    const List& items = NeedList(list, any ? "any" : "all", e);
    for (size_t i = 0; i < items.size(); ++i) {
      Value v = WithItem(e->args[1], items[i]);
      if (!v.is_bool()) {
        Fail(std::string(any ? "any" : "all") + " needs a condition that is true or false, got " +
                 Describe(v) + " for item " + std::to_string(i + 1),
             e);
      }
      if (v.as_bool() == any) return Value(any);
    }
    return Value(!any);
  }

  // find: the first element whose condition holds, or null; filter: all such elements.
  Value FindFilter(const ExprPtr& e, bool first_only) {
    const char* fn = first_only ? "find" : "filter";
    Value list = Eval(e->args[0]);
    const List& items = NeedList(list, fn, e);
    List kept;
    for (size_t i = 0; i < items.size(); ++i) {
      Value v = WithItem(e->args[1], items[i]);
      if (!v.is_bool()) {
        Fail(std::string(fn) + " needs a condition that is true or false, got " + Describe(v) +
                 " for item " + std::to_string(i + 1),
             e);
      }
      if (!v.as_bool()) continue;
      if (first_only) return items[i];
      kept.push_back(items[i]);
    }
    if (first_only) return Value();
    return Value(std::move(kept));
  }

  const Scope& scope_;
  int depth_;
};

}  // namespace

Result<Value> Evaluate(const ExprPtr& e, const Scope& scope) {
  try {
    Evaluator ev(scope);
    return ev.Eval(e);
  } catch (const EvalError& err) {
    return Status::InvalidArgument(err.message);
  } catch (const std::exception& ex) {
    return Status::Internal("evaluating " + ExprToText(e) + ": " + ex.what());
  } catch (...) {
    return Status::Internal("evaluating " + ExprToText(e) + ": unexpected error");
  }
}

}  // namespace rf::ir
