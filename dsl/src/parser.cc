// ANTLR parse tree → owned AST. With nesting_limit.cc, the only file that includes ANTLR headers.
#include "dsl/parser.h"

#include <algorithm>
#include <set>
#include <unordered_map>

#include "FlowLexer.h"
#include "FlowParser.h"
#include "antlr4-runtime.h"
#include "common/time_text.h"
#include "dsl/src/nesting_limit.h"

namespace rf::dsl {
namespace {

using G = rf_grammar::FlowParser;
using ir::Expr;

SourceLoc LocOf(const antlr4::Token* t, SourceLoc origin) { return TokenLoc(t, origin); }

// Friendly names of what the parser expected, grouped so an analyst can act on them.
std::string DescribeExpected(const antlr4::misc::IntervalSet& expected,
                             const antlr4::dfa::Vocabulary& vocab) {
  static const std::set<size_t> kStateStarts = {G::STEP, G::DECIDE, G::WAIT, G::APPROVAL,
                                                G::PARALLEL, G::FOR, G::SET, G::FINISH, G::FAIL};
  std::vector<std::string> words;
  bool state_start = false;
  bool name = false;
  for (size_t t : expected.toList()) {
    if (kStateStarts.count(t) != 0) {
      state_start = true;
      continue;
    }
    switch (t) {
      case G::ID: name = true; break;
      case G::STRING: words.push_back("a text in quotes"); break;
      case G::INT: words.push_back("a whole number"); break;
      case G::DECIMAL: words.push_back("a number"); break;
      case G::DURATION: words.push_back("a duration like 30s or 2h"); break;
      case antlr4::Token::EOF: words.push_back("the end of the file"); break;
      default: {
        std::string lit = vocab.getLiteralName(t);
        if (lit.size() >= 2 && lit.front() == '\'') lit = "`" + lit.substr(1, lit.size() - 2) + "`";
        // Soft keywords are also names; when a name is expected, do not list them one by one.
        if (!lit.empty() && !(name && std::isalpha(static_cast<unsigned char>(lit[1])))) {
          words.push_back(lit);
        }
      }
    }
  }
  if (name) {
    words.erase(std::remove_if(words.begin(), words.end(),
                               [](const std::string& w) {
                                 return w.size() > 2 && w[0] == '`' &&
                                        std::isalpha(static_cast<unsigned char>(w[1]));
                               }),
                words.end());
    words.insert(words.begin(), "a name");
  }
  if (state_start) words.push_back("a new state (step, decide, wait, approval, parallel, for each, set, finish, fail)");
  std::sort(words.begin(), words.end());
  words.erase(std::unique(words.begin(), words.end()), words.end());
  if (words.size() > 8) words.resize(8);
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += (i + 1 == words.size()) ? " or " : ", ";
    out += words[i];
  }
  return out;
}

class FriendlyErrors : public antlr4::BaseErrorListener {
 public:
  FriendlyErrors(Diagnostics& diags, SourceLoc origin) : diags_(diags), origin_(origin) {}

  void syntaxError(antlr4::Recognizer* recognizer, antlr4::Token* offending, size_t line,
                   size_t column, const std::string& /*antlr_message*/,
                   std::exception_ptr /*e*/) override {
    SourceLoc loc{static_cast<int>(line), static_cast<int>(column) + 1};
    if (line == 1 && origin_.column > 0) loc.column += origin_.column - 1;
    if (origin_.line > 0) loc.line += origin_.line - 1;
    // Report only the first error on a line: the rest are usually echoes of it.
    if (loc.line == last_line_) return;
    last_line_ = loc.line;

    std::string found;
    int length = 1;
    if (offending != nullptr) {
      if (offending->getType() == antlr4::Token::EOF) {
        found = "the end of the file";
      } else {
        std::string text = offending->getText();
        length = std::max<int>(1, static_cast<int>(text.size()));
        if (offending->getType() == G::BAD_CHAR) {
          if (text == "\"") {
            diags_.Error("unclosed-text", loc, 1, "this text has no closing quote",
                         "texts are written between double quotes on one line: \"like this\"");
          } else {
            diags_.Error("bad-character", loc, length,
                         "the character `" + text + "` is not part of the language",
                         text == ":" ? "no colons are needed; write clauses on their own lines"
                                     : "names use letters, digits and _; texts go between double quotes");
          }
          return;
        }
        found = "`" + text + "`";
      }
    }
    std::string expected;
    if (auto* parser = dynamic_cast<antlr4::Parser*>(recognizer)) {
      try {
        expected = DescribeExpected(parser->getExpectedTokens(), parser->getVocabulary());
      } catch (...) {
        expected.clear();
      }
    }
    std::string message = "unexpected " + (found.empty() ? std::string("input") : found);
    if (!expected.empty()) message += "; expected " + expected;
    std::string hint = SyntaxHint(found);
    if (hint.empty() && expected.rfind("a name", 0) == 0 && offending != nullptr &&
        IsKeyword(offending->getType()))
      hint = found + " is a word of the language and cannot be used as a name here; choose another name";
    diags_.Error("syntax", loc, length, message, hint);
  }

 private:
  static bool IsKeyword(size_t type) { return type >= G::WORKFLOW && type <= G::NULL_LITERAL; }

  static std::string SyntaxHint(const std::string& found) {
    if (found == "`goto`") return "write `go to` as two words";
    if (found == "`=`") return "to compare, write `==`";
    if (found == "`:`") return "no colons are needed; write clauses on their own lines";
    if (found == "`else`") return "in a decide, write `otherwise go to STATE`";
    return {};
  }
  Diagnostics& diags_;
  SourceLoc origin_;
  int last_line_ = -1;
};

std::shared_ptr<Expr> Make(Expr::Kind k, SourceLoc loc) {
  auto e = std::make_shared<Expr>();
  e->kind = k;
  e->loc = loc;
  return e;
}

// The depth of an expression tree, counted up to limit + 1 (a walk never goes deeper).
int BoundedDepth(const ExprPtr& e, int limit) {
  if (e == nullptr) return 0;
  if (limit <= 0) return 1;
  int below = 0;
  for (const auto& a : e->args) below = std::max(below, BoundedDepth(a, limit - 1));
  return 1 + below;
}

class Builder {
 public:
  // `cuts`: where the token stream was already cut for being too deep (see LimitNesting).
  Builder(Diagnostics& diags, SourceLoc origin, std::vector<SourceLoc> cuts)
      : diags_(diags), origin_(origin), cuts_(std::move(cuts)) {}

  // A new expression node of depth 1 (a leaf until it gets operands and passes Nested).
  std::shared_ptr<Expr> New(Expr::Kind k, SourceLoc loc) const {
    auto e = Make(k, loc);
    depth_.emplace(e.get(), std::pair<ExprPtr, int>{e, 1});
    return e;
  }

  // `e` with its operands in place: null and a `too-deep` error when it nests deeper than
  // kMaxNesting. The tree is checked as it grows, so no deeper tree is ever built (nor destroyed
  // recursively).
  ExprPtr Nested(std::shared_ptr<Expr> e) const {
    int below = 0;
    for (const auto& a : e->args) below = std::max(below, DepthOf(a));
    if (1 + below > kMaxNesting) {
      // A cut later on the same line is this expression, already reported by the token guard.
      bool reported = std::any_of(cuts_.begin(), cuts_.end(), [&](const SourceLoc& c) {
        return c.line == e->loc.line && c.column >= e->loc.column;
      });
      if (reported) return nullptr;
      diags_.Error("too-deep", e->loc, std::max<int>(1, static_cast<int>(e->text.size())),
                   "this expression is nested more than " + std::to_string(kMaxNesting) + " levels deep",
                   "split it up: compute a part first with `set NAME ...`, or write `x in [a, b, c]` "
                   "instead of a long chain of `or`");
      return nullptr;
    }
    depth_[e.get()] = {e, 1 + below};
    return e;
  }

  int DepthOf(const ExprPtr& e) const {
    if (e == nullptr) return 0;
    auto it = depth_.find(e.get());
    if (it != depth_.end()) return it->second.second;
    int d = BoundedDepth(e, kMaxNesting);
    depth_.emplace(e.get(), std::pair<ExprPtr, int>{e, d});
    return d;
  }

  SourceLoc Loc(antlr4::ParserRuleContext* ctx) const {
    return ctx == nullptr ? SourceLoc{} : LocOf(ctx->getStart(), origin_);
  }
  SourceLoc Loc(antlr4::Token* t) const { return LocOf(t, origin_); }
  SourceLoc Loc(antlr4::tree::TerminalNode* n) const {
    return n == nullptr ? SourceLoc{} : LocOf(n->getSymbol(), origin_);
  }

  Name MakeName(G::IdentContext* ctx) const {
    if (ctx == nullptr) return {};
    return Name{ctx->getText(), Loc(ctx)};
  }
  Name MakeName(G::TargetContext* ctx) const {
    if (ctx == nullptr) return {};
    return Name{ctx->getText(), Loc(ctx)};
  }
  std::optional<Name> OptName(G::TargetContext* ctx) const {
    if (ctx == nullptr || ctx->getText().empty()) return std::nullopt;
    return MakeName(ctx);
  }
  std::optional<Name> OptName(G::IdentContext* ctx) const {
    if (ctx == nullptr || ctx->getText().empty()) return std::nullopt;
    return MakeName(ctx);
  }

  // Removes quotes and escapes of a plain string token (no interpolation).
  std::string PlainString(antlr4::Token* t) const {
    if (t == nullptr) return {};
    std::string raw = t->getText();
    if (raw.size() < 2) return {};
    std::string out;
    for (size_t i = 1; i + 1 < raw.size(); ++i) {
      char c = raw[i];
      if (c == '\\' && i + 2 < raw.size()) {
        char n = raw[++i];
        out += n == 'n' ? '\n' : n == 't' ? '\t' : n;
      } else {
        out += c;
      }
    }
    return out;
  }

  // A string token with "{expr}" interpolation → a literal text or a kText expression. One pass
  // over the token: columns are counted as it goes, and once a `{` has no closing `}` none after
  // it has one either, so that is reported once and the rest is plain text.
  ExprPtr StringExpr(antlr4::Token* t) const {
    if (t == nullptr) return nullptr;
    SourceLoc at = Loc(t);
    std::string raw = t->getText();
    auto text = New(Expr::Kind::kText, at);
    std::string pending;
    auto flush = [&] {
      if (!pending.empty()) {
        auto lit = New(Expr::Kind::kLiteral, at);
        lit->value = Value(pending);
        text->args.push_back(lit);
        pending.clear();
      }
    };
    // Columns count characters, not bytes: the column of raw[byte], for bytes in increasing order.
    size_t counted = 0;
    int chars = 0;
    auto column_of = [&](size_t byte) {
      for (; counted < byte && counted < raw.size(); ++counted)
        if ((static_cast<unsigned char>(raw[counted]) & 0xC0) != 0x80) ++chars;
      return at.column + chars;
    };
    bool unclosed = false;
    for (size_t i = 1; i + 1 < raw.size(); ++i) {
      char c = raw[i];
      if (c == '\\' && i + 2 < raw.size()) {
        char n = raw[++i];
        pending += n == 'n' ? '\n' : n == 't' ? '\t' : n;
      } else if (c == '{' && !unclosed) {
        size_t close = raw.find('}', i + 1);
        if (close == std::string::npos || close >= raw.size() - 1) {
          diags_.Error("interpolation", {at.line, column_of(i)}, 1,
                       "`{` starts a value to insert but has no closing `}`",
                       "write \\{ for a literal brace");
          unclosed = true;
          pending += c;
          continue;
        }
        flush();
        std::string inner = raw.substr(i + 1, close - i - 1);
        SourceLoc brace_at{at.line, column_of(i)};
        SourceLoc inner_at{at.line, brace_at.column + 1};
        if (inner.find_first_not_of(" \t") == std::string::npos) {
          diags_.Error("interpolation", brace_at, 2, "empty `{}` in a text",
                       "put a value inside, like {input.store}");
        } else if (ExprPtr e = ParseExpression(inner, inner_at, diags_)) {
          DepthOf(e);
          text->args.push_back(e);
        }
        i = close;
      } else {
        pending += c;
      }
    }
    flush();
    if (text->args.empty()) {
      auto lit = New(Expr::Kind::kLiteral, at);
      lit->value = Value(std::string());
      return lit;
    }
    if (text->args.size() == 1 && text->args[0]->kind == Expr::Kind::kLiteral) return text->args[0];
    return Nested(text);
  }

  DurationLit MakeDuration(G::DurationContext* ctx) const {
    DurationLit d;
    if (ctx == nullptr) return d;
    d.loc = Loc(ctx);
    if (ctx->DURATION() != nullptr) {
      d.text = ctx->DURATION()->getText();
      d.value = ParseDuration(d.text);
      if (!d.value) {
        diags_.Error("bad-duration", d.loc, static_cast<int>(d.text.size()),
                     "`" + d.text + "` is not a valid duration",
                     "write units largest first without repeats, like 1h30m, 90s or 2d");
      }
    } else if (ctx->INT() != nullptr) {
      std::string unit = ctx->unit != nullptr ? ctx->unit->getText() : "";
      d.text = ctx->INT()->getText() + " " + unit;
      d.value = ParseDuration(d.text);
      if (!d.value) {
        diags_.Error("bad-duration", d.loc, static_cast<int>(d.text.size()),
                     "`" + unit + "` is not a unit of time",
                     "use seconds, minutes, hours, days or weeks (or 30s, 5m, 2h, 3d, 1w)");
      }
    }
    return d;
  }

  std::vector<Arg> Args(G::ArgListContext* ctx) const {
    std::vector<Arg> out;
    if (ctx == nullptr) return out;
    for (auto* a : ctx->arg()) out.push_back(MakeArg(a));
    return out;
  }
  Arg MakeArg(G::ArgContext* a) const { return Arg{MakeName(a->ident()), Build(a->expr())}; }

  CallAst MakeCall(G::CallClauseContext* ctx) const {
    CallAst c;
    if (ctx == nullptr) return c;
    c.loc = Loc(ctx);
    c.connector = MakeName(ctx->connector);
    c.operation = MakeName(ctx->operation);
    c.args = Args(ctx->argList());
    return c;
  }

  // ------------------------------------------------------------------------------ expressions

  ExprPtr Build(G::ExprContext* ctx) const {
    if (ctx == nullptr || ctx->orExpr() == nullptr) return nullptr;
    return Build(ctx->orExpr());
  }
  ExprPtr Build(G::OrExprContext* ctx) const {
    auto parts = ctx->andExpr();
    if (parts.empty()) return nullptr;
    ExprPtr left = Build(parts[0]);
    auto ops = ctx->OR();
    for (size_t i = 1; i < parts.size(); ++i)
      left = Binary("or", left, Build(parts[i]), i - 1 < ops.size() ? Loc(ops[i - 1]) : Loc(ctx));
    return left;
  }
  ExprPtr Build(G::AndExprContext* ctx) const {
    auto parts = ctx->notExpr();
    if (parts.empty()) return nullptr;
    ExprPtr left = Build(parts[0]);
    auto ops = ctx->AND();
    for (size_t i = 1; i < parts.size(); ++i)
      left = Binary("and", left, Build(parts[i]), i - 1 < ops.size() ? Loc(ops[i - 1]) : Loc(ctx));
    return left;
  }
  ExprPtr Build(G::NotExprContext* ctx) const {
    if (ctx->NOT() != nullptr) {
      if (ctx->notExpr() == nullptr) return nullptr;
      auto e = New(Expr::Kind::kUnary, Loc(ctx));
      e->text = "not";
      ExprPtr operand = Build(ctx->notExpr());
      if (operand == nullptr) return nullptr;
      e->args.push_back(operand);
      return Nested(e);
    }
    return ctx->comparison() == nullptr ? nullptr : Build(ctx->comparison());
  }
  ExprPtr Build(G::ComparisonContext* ctx) const {
    auto parts = ctx->additive();
    if (parts.empty()) return nullptr;
    ExprPtr left = Build(parts[0]);
    if (parts.size() == 2 && ctx->compareOp() != nullptr) {
      auto* op = ctx->compareOp();
      return Binary(op->getText(), left, Build(parts[1]), Loc(op));
    }
    return left;
  }
  ExprPtr Build(G::AdditiveContext* ctx) const {
    auto parts = ctx->multiplicative();
    auto ops = ctx->addOp();
    if (parts.empty()) return nullptr;
    ExprPtr left = Build(parts[0]);
    for (size_t i = 1; i < parts.size() && i - 1 < ops.size(); ++i)
      left = Binary(ops[i - 1]->getText(), left, Build(parts[i]), Loc(ops[i - 1]));
    return left;
  }
  ExprPtr Build(G::MultiplicativeContext* ctx) const {
    auto parts = ctx->unary();
    auto ops = ctx->mulOp();
    if (parts.empty()) return nullptr;
    ExprPtr left = Build(parts[0]);
    for (size_t i = 1; i < parts.size() && i - 1 < ops.size(); ++i)
      left = Binary(ops[i - 1]->getText(), left, Build(parts[i]), Loc(ops[i - 1]));
    return left;
  }
  ExprPtr Build(G::UnaryContext* ctx) const {
    if (ctx->unary() != nullptr) {
      ExprPtr operand = Build(ctx->unary());
      if (operand == nullptr) return nullptr;
      auto e = New(Expr::Kind::kUnary, Loc(ctx));
      e->text = "-";
      e->args.push_back(operand);
      return Nested(e);
    }
    return ctx->postfix() == nullptr ? nullptr : Build(ctx->postfix());
  }
  ExprPtr Build(G::PostfixContext* ctx) const {
    if (ctx->primary() == nullptr) return nullptr;
    ExprPtr base = Build(ctx->primary());
    for (auto* m : ctx->member()) {
      if (base == nullptr) return nullptr;
      if (m->fieldName() != nullptr) {
        auto e = New(Expr::Kind::kField, Loc(m->fieldName()));
        e->text = m->fieldName()->getText();
        e->args.push_back(base);
        base = Nested(e);
      } else if (m->expr() != nullptr) {
        ExprPtr index = Build(m->expr());
        if (index == nullptr) return nullptr;
        auto e = New(Expr::Kind::kIndex, Loc(m));
        e->args = {base, index};
        base = Nested(e);
      }
    }
    return base;
  }
  ExprPtr Build(G::PrimaryContext* ctx) const {
    SourceLoc at = Loc(ctx);
    if (auto* d = dynamic_cast<G::DurationLiteralContext*>(ctx)) {
      DurationLit lit = MakeDuration(d->duration());
      auto e = New(Expr::Kind::kLiteral, at);
      e->value = lit.value ? Value(*lit.value) : Value();
      e->text = lit.text;
      return e;
    }
    if (auto* n = dynamic_cast<G::NumberLiteralContext*>(ctx)) {
      auto e = New(Expr::Kind::kLiteral, at);
      auto dec = Decimal::Parse(n->getText());
      e->value = dec ? Value(*dec) : Value();
      e->text = n->getText();  // fmt keeps 12.50 as written
      return e;
    }
    if (auto* s = dynamic_cast<G::StringLiteralContext*>(ctx)) return StringExpr(s->STRING()->getSymbol());
    if (dynamic_cast<G::TrueLiteralContext*>(ctx) != nullptr) {
      auto e = New(Expr::Kind::kLiteral, at);
      e->value = Value(true);
      return e;
    }
    if (dynamic_cast<G::FalseLiteralContext*>(ctx) != nullptr) {
      auto e = New(Expr::Kind::kLiteral, at);
      e->value = Value(false);
      return e;
    }
    if (dynamic_cast<G::NullLiteralContext*>(ctx) != nullptr) return New(Expr::Kind::kLiteral, at);
    if (auto* c = dynamic_cast<G::CallExprContext*>(ctx)) {
      auto e = New(Expr::Kind::kCall, at);
      e->text = c->ident()->getText();
      for (auto* a : c->expr()) {
        ExprPtr arg = Build(a);
        if (arg == nullptr) return nullptr;
        e->args.push_back(arg);
      }
      return Nested(e);
    }
    if (auto* n = dynamic_cast<G::NameExprContext*>(ctx)) {
      auto e = New(Expr::Kind::kName, at);
      e->text = n->ident()->getText();
      return e;
    }
    if (auto* l = dynamic_cast<G::ListLiteralContext*>(ctx)) {
      auto e = New(Expr::Kind::kList, at);
      for (auto* a : l->expr()) {
        ExprPtr item = Build(a);
        if (item == nullptr) return nullptr;
        e->args.push_back(item);
      }
      return Nested(e);
    }
    if (auto* r = dynamic_cast<G::RecordLiteralContext*>(ctx)) {
      auto e = New(Expr::Kind::kRecord, at);
      for (auto* a : r->arg()) {
        ExprPtr v = Build(a->expr());
        if (v == nullptr) return nullptr;
        e->keys.push_back(a->ident()->getText());
        e->args.push_back(v);
      }
      return Nested(e);
    }
    if (auto* p = dynamic_cast<G::ParenExprContext*>(ctx)) return Build(p->expr());
    return nullptr;
  }

  ExprPtr Binary(std::string op, ExprPtr a, ExprPtr b, SourceLoc loc) const {
    if (a == nullptr || b == nullptr) return nullptr;
    auto e = New(Expr::Kind::kBinary, loc);
    e->text = std::move(op);
    e->args = {std::move(a), std::move(b)};
    return Nested(e);
  }

  // ----------------------------------------------------------------------------------- states

  std::vector<StateAst> States(const std::vector<G::StateDeclContext*>& decls) const {
    std::vector<StateAst> out;
    for (auto* d : decls) {
      if (auto s = MakeState(d)) out.push_back(std::move(*s));
    }
    return out;
  }

  std::optional<StateAst> MakeState(G::StateDeclContext* d) const {
    if (d == nullptr) return std::nullopt;
    StateAst s;
    s.loc = Loc(d);
    if (d->getStop() != nullptr) s.end_line = LocOf(d->getStop(), origin_).line;
    using K = ir::State::Kind;
    if (auto* c = d->stepState()) {
      s.kind = K::kStep;
      s.name = MakeName(c->name);
      s.call = MakeCall(c->callClause());
      for (auto* cl : c->stepClause()) StepClause(cl, s);
    } else if (auto* c = d->decideState()) {
      s.kind = K::kDecide;
      s.name = MakeName(c->name);
      for (auto* w : c->whenClause()) s.when.push_back(WhenAst{Build(w->expr()), MakeName(w->target())});
      if (c->otherwiseClause() != nullptr) s.otherwise = OptName(c->otherwiseClause()->target());
    } else if (auto* c = d->waitState()) {
      s.kind = K::kWait;
      s.name = MakeName(c->name);
      WaitSpec(c->waitSpec(), s);
      for (auto* cl : c->waitClause()) {
        if (auto* x = dynamic_cast<G::SaveEventClauseContext*>(cl)) s.save_event_as = OptName(x->ident());
        if (auto* x = dynamic_cast<G::OnTimeoutClauseContext*>(cl)) s.on_timeout = OptName(x->target());
        if (auto* x = dynamic_cast<G::WaitThenClauseContext*>(cl)) s.next = Then(x->thenClause());
      }
    } else if (auto* c = d->approvalState()) {
      s.kind = K::kApproval;
      s.name = MakeName(c->name);
      for (auto* cl : c->approvalClause()) ApprovalClause(cl, s);
    } else if (auto* c = d->parallelState()) {
      s.kind = K::kParallel;
      s.name = MakeName(c->name);
      s.next = Then(c->thenClause());
      for (auto* b : c->branch()) s.branches.push_back(BranchAst{MakeName(b->name), States(b->stateDecl())});
    } else if (auto* c = d->forEachState()) {
      s.kind = K::kForEach;
      s.name = MakeName(c->name);
      s.item = MakeName(c->item);
      s.list = Build(c->expr());
      if (auto* conc = c->concurrency(); conc != nullptr && conc->INT() != nullptr) {
        s.concurrency_loc = Loc(conc);
        s.concurrency = WholeNumber(conc->INT(), "concurrency");
      }
      s.next = Then(c->thenClause());
      s.body = States(c->stateDecl());
    } else if (auto* c = d->assignState()) {
      s.kind = K::kSet;
      s.name = MakeName(c->name);
      s.assignments = Args(c->argList());
      s.next = Then(c->thenClause());
    } else if (auto* c = d->finishState()) {
      s.kind = K::kFinish;
      s.name_given = c->name != nullptr;
      s.name = c->name != nullptr ? MakeName(c->name) : Name{"finish", s.loc};
      s.message = c->message != nullptr ? StringExpr(c->message) : nullptr;
    } else if (auto* c = d->failState()) {
      s.kind = K::kFail;
      s.name_given = c->name != nullptr;
      s.name = c->name != nullptr ? MakeName(c->name) : Name{"fail", s.loc};
      s.message = c->reason != nullptr ? StringExpr(c->reason) : nullptr;
    } else {
      return std::nullopt;
    }
    if (s.name.text.empty()) return std::nullopt;  // a syntax error already explains it
    return s;
  }

  std::optional<Name> Then(G::ThenClauseContext* t) const {
    return t == nullptr ? std::nullopt : OptName(t->target());
  }

  int WholeNumber(antlr4::tree::TerminalNode* n, const char* what) const {
    try {
      return std::stoi(n->getText());
    } catch (...) {
      diags_.Error("bad-number", Loc(n), static_cast<int>(n->getText().size()),
                   std::string("the ") + what + " `" + n->getText() + "` is too large");
      return 0;
    }
  }

  void StepClause(G::StepClauseContext* cl, StateAst& s) const {
    if (auto* x = dynamic_cast<G::SaveClauseContext*>(cl)) s.save_as = OptName(x->ident());
    if (auto* x = dynamic_cast<G::TimeoutClauseContext*>(cl)) s.timeout = MakeDuration(x->duration());
    if (auto* x = dynamic_cast<G::UndoClauseContext*>(cl)) s.undo = MakeCall(x->callClause());
    if (auto* x = dynamic_cast<G::StepThenClauseContext*>(cl)) s.next = Then(x->thenClause());
    if (auto* x = dynamic_cast<G::OnErrorClauseContext*>(cl)) {
      ErrorRouteAst r;
      r.loc = Loc(x);
      for (auto* k : x->errorKind()) r.kinds.push_back(Name{k->getText(), Loc(k)});
      if (x->target() != nullptr) r.target = MakeName(x->target());
      if (!r.target.text.empty()) s.on_error.push_back(std::move(r));
    }
    if (auto* x = dynamic_cast<G::RetryClauseContext*>(cl)) {
      auto* spec = x->retrySpec();
      if (spec == nullptr) return;
      RetryAst r;
      r.loc = Loc(x);
      if (spec->attempts != nullptr) {
        try {
          r.attempts = std::stoi(spec->attempts->getText());
        } catch (...) {
          r.attempts = 0;
        }
      }
      if (spec->first != nullptr) r.first_wait = MakeDuration(spec->first);
      if (spec->DOUBLING() != nullptr) {
        r.multiplier = "2";
        r.multiplier_loc = Loc(spec->DOUBLING());
      } else if (spec->factor != nullptr) {
        r.multiplier = spec->factor->getText();
        r.multiplier_loc = Loc(spec->factor);
      }
      if (spec->cap != nullptr) r.max_wait = MakeDuration(spec->cap);
      r.jitter = spec->JITTER() != nullptr;
      for (auto* k : spec->errorKind()) r.kinds.push_back(Name{k->getText(), Loc(k)});
      s.retry = std::move(r);
    }
  }

  void WaitSpec(G::WaitSpecContext* spec, StateAst& s) const {
    using W = ir::State::WaitKind;
    if (auto* x = dynamic_cast<G::WaitForDurationContext*>(spec)) {
      s.wait_kind = W::kDuration;
      s.wait_for = MakeDuration(x->duration());
    } else if (auto* x = dynamic_cast<G::WaitUntilTimeContext*>(spec)) {
      s.wait_kind = W::kUntil;
      s.until = Build(x->expr());
    } else if (auto* x = dynamic_cast<G::WaitForEventContext*>(spec)) {
      s.wait_kind = W::kEvent;
      s.event = MakeName(x->event);
      s.event_key = MakeName(x->key);
      s.key_value = Build(x->expr());
      if (x->duration() != nullptr) s.within = MakeDuration(x->duration());
    }
  }

  void ApprovalClause(G::ApprovalClauseContext* cl, StateAst& s) const {
    if (auto* x = dynamic_cast<G::AskClauseContext*>(cl)) {
      s.role = OptName(x->role);
      s.title = StringExpr(x->title);
    } else if (auto* x = dynamic_cast<G::DetailsClauseContext*>(cl)) {
      if (x->STRING() != nullptr) s.details = StringExpr(x->STRING()->getSymbol());
    } else if (auto* x = dynamic_cast<G::DeadlineClauseContext*>(cl)) {
      s.deadline = MakeDuration(x->duration());
      s.escalate_to = OptName(x->target());
    } else if (auto* x = dynamic_cast<G::ApprovedClauseContext*>(cl)) {
      s.on_approve = OptName(x->target());
    } else if (auto* x = dynamic_cast<G::RejectedClauseContext*>(cl)) {
      s.on_reject = OptName(x->target());
    } else if (auto* x = dynamic_cast<G::SaveDecisionClauseContext*>(cl)) {
      s.save_decision_as = OptName(x->ident());
    }
  }

  FlowAst MakeFlow(G::FlowFileContext* ctx) const {
    FlowAst f;
    if (auto* h = ctx->header()) {
      f.name = MakeName(h->name);
      if (h->version != nullptr) {
        f.version_loc = Loc(h->version);
        try {
          f.version = std::stoi(h->version->getText());
        } catch (...) {
          f.version = 0;
        }
      }
      f.description = PlainString(h->description);
    }
    for (auto* d : ctx->declaration()) {
      if (auto* u = dynamic_cast<G::UsesDeclContext*>(d)) {
        for (auto* i : u->ident()) f.uses.push_back(MakeName(i));
      } else if (auto* in = dynamic_cast<G::InputDeclContext*>(d)) {
        for (auto* field : in->inputField()) {
          InputAst a;
          a.name = MakeName(field->ident());
          if (field->typeName() != nullptr) a.type = MakeName(field->typeName()->ident());
          a.optional = field->OPTIONAL() != nullptr;
          if (!a.name.text.empty()) f.inputs.push_back(std::move(a));
        }
      } else if (auto* sc = dynamic_cast<G::ScheduleDeclContext*>(d)) {
        ScheduleAst s;
        s.cron = PlainString(sc->cron);
        s.cron_loc = Loc(sc->cron);
        s.time_zone = PlainString(sc->zone);
        s.zone_loc = Loc(sc->zone);
        s.input = Args(sc->argList());
        f.schedules.push_back(std::move(s));
      }
    }
    f.states = States(ctx->stateDecl());
    return f;
  }

 private:
  Diagnostics& diags_;
  SourceLoc origin_;
  std::vector<SourceLoc> cuts_;
  // Every expression node made or received here, with its depth (1 for a leaf). Holding the
  // nodes also keeps their addresses from being reused while the builder runs.
  mutable std::unordered_map<const Expr*, std::pair<ExprPtr, int>> depth_;
};

void CollectComments(antlr4::CommonTokenStream& tokens, std::string_view source, FlowAst& f) {
  for (auto* t : tokens.getTokens()) {
    if (t->getType() != G::COMMENT) continue;
    Comment c;
    c.line = static_cast<int>(t->getLine());
    c.text = t->getText();
    while (!c.text.empty() && (c.text.back() == ' ' || c.text.back() == '\t')) c.text.pop_back();
    size_t start = t->getStartIndex();
    size_t line_start = source.rfind('\n', start == 0 ? 0 : start - 1);
    line_start = (line_start == std::string_view::npos || start == 0) ? 0 : line_start + 1;
    c.own_line = source.substr(line_start, start - line_start).find_first_not_of(" \t") ==
                 std::string_view::npos;
    f.comments.push_back(std::move(c));
  }
}

// Every token of the text, ending with EOF.
std::vector<std::unique_ptr<antlr4::Token>> Lex(rf_grammar::FlowLexer& lexer) {
  std::vector<std::unique_ptr<antlr4::Token>> out;
  for (;;) {
    out.push_back(lexer.nextToken());
    if (out.back()->getType() == antlr4::Token::EOF) return out;
  }
}

}  // namespace

// The position of the first byte that is not UTF-8, if any (ANTLR's decoder would throw).
static std::optional<SourceLoc> FirstNonUtf8(std::string_view text) {
  int line = 1, col = 1;
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > text.size()) return SourceLoc{line, col};
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return SourceLoc{line, col};
    if (c == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
    i += n;
  }
  return std::nullopt;
}

FlowAst Parse(std::string_view source, Diagnostics& diags) {
  if (auto bad = FirstNonUtf8(source)) {
    diags.Error("bad-encoding", *bad, 1, "this file is not UTF-8 text",
                "save the file as UTF-8 (an editor's \"Save with encoding\" does it)");
    return {};
  }
  try {
    antlr4::ANTLRInputStream input(source.data(), source.size());
    rf_grammar::FlowLexer lexer(&input);
    lexer.removeErrorListeners();
    std::vector<SourceLoc> cuts;
    antlr4::ListTokenSource limited(LimitNesting(Lex(lexer), lexer.getVocabulary(), {}, diags, cuts));
    antlr4::CommonTokenStream tokens(&limited);
    G parser(&tokens);
    FriendlyErrors listener(diags, {});
    parser.removeErrorListeners();
    parser.addErrorListener(&listener);
    G::FlowFileContext* tree = parser.flowFile();
    Builder builder(diags, {}, std::move(cuts));
    FlowAst f = builder.MakeFlow(tree);
    CollectComments(tokens, source, f);
    if (tree->header() == nullptr || f.name.text.empty()) {
      if (!diags.HasErrors())
        diags.Error("syntax", {1, 1}, 1, "a flow starts with `workflow NAME version NUMBER`");
    }
    return f;
  } catch (const std::exception& e) {
    diags.Error("internal", {1, 1}, 1, std::string("the parser stopped: ") + e.what());
  } catch (...) {
    diags.Error("internal", {1, 1}, 1, "the parser stopped on an unexpected error");
  }
  return {};
}

ExprPtr ParseExpression(std::string_view text, ir::SourceLoc origin, Diagnostics& diags) {
  try {
    antlr4::ANTLRInputStream input(text.data(), text.size());
    rf_grammar::FlowLexer lexer(&input);
    lexer.removeErrorListeners();
    size_t before = diags.ErrorCount();
    std::vector<SourceLoc> cuts;
    antlr4::ListTokenSource limited(LimitNesting(Lex(lexer), lexer.getVocabulary(), origin, diags, cuts));
    antlr4::CommonTokenStream tokens(&limited);
    G parser(&tokens);
    FriendlyErrors listener(diags, origin);
    parser.removeErrorListeners();
    parser.addErrorListener(&listener);
    G::ExprOnlyContext* tree = parser.exprOnly();
    if (diags.ErrorCount() != before || tree->expr() == nullptr) return nullptr;
    Builder builder(diags, origin, std::move(cuts));
    return builder.Build(tree->expr());
  } catch (...) {
    diags.Error("internal", origin, 1, "could not read this expression");
    return nullptr;
  }
}

}  // namespace rf::dsl
