// Region::Find, KindName and the source-like text form of expressions (ExprToText).
#include <cstdint>
#include <string>
#include <string_view>

#include "common/time_text.h"
#include "engine/ir/machine.h"

namespace rf::ir {

const State* Region::Find(const std::string& name) const {
  for (const State& s : states) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

const char* KindName(State::Kind k) {
  switch (k) {
    case State::Kind::kStep: return "step";
    case State::Kind::kDecide: return "decide";
    case State::Kind::kWait: return "wait";
    case State::Kind::kApproval: return "approval";
    case State::Kind::kParallel: return "parallel";
    case State::Kind::kForEach: return "for_each";
    case State::Kind::kSet: return "set";
    case State::Kind::kFinish: return "finish";
    case State::Kind::kFail: return "fail";
  }
  return "unknown";
}

namespace {

// Binding strength, loosest first, following grammar/Flow.g4:
// or < and < not < comparison (== != < <= > >= in) < + - < * / % < unary - < postfix/primary.
enum Prec : int {
  kOr = 1,
  kAnd = 2,
  kNot = 3,
  kCompare = 4,
  kAdd = 5,
  kMul = 6,
  kNeg = 7,
  kPrimary = 8,
};

int BinaryPrec(const std::string& op) {
  if (op == "or") return kOr;
  if (op == "and") return kAnd;
  if (op == "+" || op == "-") return kAdd;
  if (op == "*" || op == "/" || op == "%") return kMul;
  return kCompare;  // == != < <= > >= in
}

int PrecOf(const ExprPtr& e) {
  if (!e) return kPrimary;
  switch (e->kind) {
    case Expr::Kind::kBinary: return BinaryPrec(e->text);
    case Expr::Kind::kUnary: return e->text == "not" ? kNot : kNeg;
    case Expr::Kind::kLiteral:
      // A negative number or duration is written with a leading minus, so it binds like one.
      if (e->value.is_number() && e->value.as_number().Sign() < 0) return kNeg;
      if (e->value.is_duration() && e->value.as_duration().ms < 0) return kNeg;
      return kPrimary;
    default: return kPrimary;
  }
}

// Characters of a string literal's body. Braces are escaped so that plain text is not read back
// as interpolation.
void AppendEscaped(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '{': out += "\\{"; break;
      case '}': out += "\\}"; break;
      default: out += c;
    }
  }
}

std::string Quote(std::string_view s) {
  std::string out = "\"";
  AppendEscaped(out, s);
  out += '"';
  return out;
}

std::string DurationText(Duration d) {
  if (d.ms < 0) {
    // -INT64_MIN does not exist; such a duration has no compact form anyway.
    if (d.ms == INT64_MIN) return "-" + FormatDuration(Duration{INT64_MAX});
    return "-" + FormatDuration(Duration{-d.ms});
  }
  return FormatDuration(d);
}

void ValueText(std::string& out, const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kNull: out += "null"; return;
    case Value::Kind::kBool: out += v.as_bool() ? "true" : "false"; return;
    case Value::Kind::kNumber: out += v.as_number().ToString(); return;
    case Value::Kind::kText: out += Quote(v.as_text()); return;
    case Value::Kind::kTime: out += "time(" + Quote(FormatTime(v.as_time())) + ")"; return;
    case Value::Kind::kDuration: out += DurationText(v.as_duration()); return;
    case Value::Kind::kList: {
      out += '[';
      bool first = true;
      for (const Value& item : v.as_list()) {
        if (!first) out += ", ";
        first = false;
        ValueText(out, item);
      }
      out += ']';
      return;
    }
    case Value::Kind::kRecord: {
      out += '{';
      bool first = true;
      for (const auto& [key, item] : v.as_record()) {
        if (!first) out += ", ";
        first = false;
        out += key;
        out += " = ";
        ValueText(out, item);
      }
      out += '}';
      return;
    }
  }
}

void Render(std::string& out, const ExprPtr& e, int depth);

void RenderWrapped(std::string& out, const ExprPtr& e, bool parens, int depth) {
  if (parens) out += '(';
  Render(out, e, depth);
  if (parens) out += ')';
}

const ExprPtr& Arg(const Expr& e, size_t i) {
  static const ExprPtr kNone;
  return i < e.args.size() ? e.args[i] : kNone;
}

void RenderList(std::string& out, const std::vector<ExprPtr>& args, int depth) {
  bool first = true;
  for (const ExprPtr& a : args) {
    if (!first) out += ", ";
    first = false;
    Render(out, a, depth);
  }
}

// `depth`: levels above e; below kMaxDepth the tree is elided as "...".
void Render(std::string& out, const ExprPtr& e, int depth) {
  if (!e) {
    out += "null";
    return;
  }
  if (depth >= kMaxDepth) {
    out += "...";
    return;
  }
  ++depth;
  switch (e->kind) {
    case Expr::Kind::kLiteral:
      // A literal keeps its source spelling when it has one ("30 days", "12.50").
      if (!e->text.empty() && (e->value.is_duration() || e->value.is_number())) {
        out += e->text;
      } else {
        ValueText(out, e->value);
      }
      return;
    case Expr::Kind::kName: out += e->text; return;
    case Expr::Kind::kField:
      RenderWrapped(out, Arg(*e, 0), PrecOf(Arg(*e, 0)) < kPrimary, depth);
      out += '.';
      out += e->text;
      return;
    case Expr::Kind::kIndex:
      RenderWrapped(out, Arg(*e, 0), PrecOf(Arg(*e, 0)) < kPrimary, depth);
      out += '[';
      Render(out, Arg(*e, 1), depth);
      out += ']';
      return;
    case Expr::Kind::kCall:
      out += e->text;
      out += '(';
      RenderList(out, e->args, depth);
      out += ')';
      return;
    case Expr::Kind::kUnary: {
      const ExprPtr& operand = Arg(*e, 0);
      if (e->text == "not") {
        out += "not ";
        RenderWrapped(out, operand, PrecOf(operand) < kNot, depth);
        return;
      }
      out += e->text;
      bool parens = PrecOf(operand) < kNeg;
      std::string inner;
      RenderWrapped(inner, operand, parens, depth);
      if (!inner.empty() && inner[0] == '-') out += ' ';  // "- -x", never "--x"
      out += inner;
      return;
    }
    case Expr::Kind::kBinary: {
      int p = BinaryPrec(e->text);
      const ExprPtr& left = Arg(*e, 0);
      const ExprPtr& right = Arg(*e, 1);
      // Left-associative levels allow an equal-precedence left operand; comparisons do not chain.
      bool left_parens = p == kCompare ? PrecOf(left) <= p : PrecOf(left) < p;
      RenderWrapped(out, left, left_parens, depth);
      out += ' ';
      out += e->text;
      out += ' ';
      RenderWrapped(out, right, PrecOf(right) <= p, depth);
      return;
    }
    case Expr::Kind::kText: {
      out += '"';
      for (const ExprPtr& part : e->args) {
        if (part && part->kind == Expr::Kind::kLiteral && part->value.is_text()) {
          AppendEscaped(out, part->value.as_text());
          continue;
        }
        // The embedded expression sits inside a string token: its quotes and backslashes are
        // escaped; its own braces (record literals) are kept as they are.
        std::string inner;
        Render(inner, part, depth);
        out += '{';
        for (char c : inner) {
          if (c == '"' || c == '\\') out += '\\';
          out += c;
        }
        out += '}';
      }
      out += '"';
      return;
    }
    case Expr::Kind::kList:
      out += '[';
      RenderList(out, e->args, depth);
      out += ']';
      return;
    case Expr::Kind::kRecord: {
      out += '{';
      for (size_t i = 0; i < e->args.size(); ++i) {
        if (i > 0) out += ", ";
        out += i < e->keys.size() ? e->keys[i] : std::string("?");
        out += " = ";
        Render(out, e->args[i], depth);
      }
      out += '}';
      return;
    }
  }
}

}  // namespace

std::string ExprToText(const ExprPtr& e) {
  std::string out;
  try {
    Render(out, e, 0);
  } catch (...) {
    out += "...";
  }
  return out;
}

}  // namespace rf::ir
