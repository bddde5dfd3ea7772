// Small helpers that build IR expression trees by hand for the rf_ir tests.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/decimal.h"
#include "common/value.h"
#include "engine/ir/machine.h"

namespace rf::ir::test {

inline ExprPtr Make(Expr::Kind kind, std::string text = {}, std::vector<ExprPtr> args = {}) {
  auto e = std::make_shared<Expr>();
  e->kind = kind;
  e->text = std::move(text);
  e->args = std::move(args);
  return e;
}

inline ExprPtr Lit(Value v) {
  auto e = std::make_shared<Expr>();
  e->kind = Expr::Kind::kLiteral;
  e->value = std::move(v);
  return e;
}

inline Decimal Dec(const char* text) { return *Decimal::Parse(text); }
inline ExprPtr Num(const char* text) { return Lit(Value(Dec(text))); }
inline ExprPtr Str(const char* text) { return Lit(Value(text)); }
inline ExprPtr Null() { return Lit(Value()); }
inline ExprPtr Bool(bool b) { return Lit(Value(b)); }
inline ExprPtr Dur(std::int64_t ms) { return Lit(Value(Duration{ms})); }
inline ExprPtr N(const char* name) { return Make(Expr::Kind::kName, name); }
inline ExprPtr Field(ExprPtr base, const char* field) {
  return Make(Expr::Kind::kField, field, {std::move(base)});
}
inline ExprPtr Index(ExprPtr base, ExprPtr index) {
  return Make(Expr::Kind::kIndex, {}, {std::move(base), std::move(index)});
}
inline ExprPtr Fn(const char* fn, std::vector<ExprPtr> args = {}) {
  return Make(Expr::Kind::kCall, fn, std::move(args));
}
inline ExprPtr Un(const char* op, ExprPtr arg) { return Make(Expr::Kind::kUnary, op, {std::move(arg)}); }
inline ExprPtr Bin(const char* op, ExprPtr l, ExprPtr r) {
  return Make(Expr::Kind::kBinary, op, {std::move(l), std::move(r)});
}
inline ExprPtr Text(std::vector<ExprPtr> parts) { return Make(Expr::Kind::kText, {}, std::move(parts)); }
inline ExprPtr ListE(std::vector<ExprPtr> items) { return Make(Expr::Kind::kList, {}, std::move(items)); }
inline ExprPtr RecordE(std::vector<std::pair<std::string, ExprPtr>> fields) {
  auto e = std::make_shared<Expr>();
  e->kind = Expr::Kind::kRecord;
  for (auto& [k, v] : fields) {
    e->keys.push_back(k);
    e->args.push_back(v);
  }
  return e;
}

// "sale.lines" → field(name(sale), lines)
inline ExprPtr Path(const std::string& dotted) {
  size_t dot = dotted.find('.');
  ExprPtr e = Make(Expr::Kind::kName, dotted.substr(0, dot));
  while (dot != std::string::npos) {
    size_t next = dotted.find('.', dot + 1);
    std::string part = dotted.substr(dot + 1, next == std::string::npos ? std::string::npos : next - dot - 1);
    e = Make(Expr::Kind::kField, part, {e});
    dot = next;
  }
  return e;
}

}  // namespace rf::ir::test
