// ANTLR parse tree of a .tests file → owned AST (testing/scenario.h). The only file of testing/
// that includes ANTLR headers. Expressions are handed, as their source text, to the flow
// language's own expression parser, so a value reads and fails exactly as it would in a flow.
#include <algorithm>
#include <set>

#include "testing/scenario.h"
#include "common/time_text.h"
#include "dsl/parser.h"
#include "ScenarioLexer.h"
#include "ScenarioParser.h"
#include "antlr4-runtime.h"

namespace rf::testing {
namespace {

using G = rf_grammar::ScenarioParser;

SourceLoc LocOf(const antlr4::Token* t) {
  if (t == nullptr) return {};
  return SourceLoc{static_cast<int>(t->getLine()), static_cast<int>(t->getCharPositionInLine()) + 1};
}

std::string Describe(const antlr4::misc::IntervalSet& expected, const antlr4::dfa::Vocabulary& vocab) {
  std::vector<std::string> words;
  bool name = false;
  for (size_t t : expected.toList()) {
    switch (t) {
      case G::ID: name = true; break;
      case G::STRING: words.push_back("a text in quotes"); break;
      case G::INT: words.push_back("a whole number"); break;
      case G::DURATION: words.push_back("a duration like 30s or 4h"); break;
      case antlr4::Token::EOF: words.push_back("the end of the file"); break;
      default: {
        std::string lit = vocab.getLiteralName(t);
        if (lit.size() >= 2 && lit.front() == '\'') words.push_back("`" + lit.substr(1, lit.size() - 2) + "`");
      }
    }
  }
  if (name) {
    // Soft keywords are names too; when a name is expected, do not list them one by one.
    words.erase(std::remove_if(words.begin(), words.end(),
                               [](const std::string& w) { return w.size() > 2 && w[0] == '`' && std::isalpha(static_cast<unsigned char>(w[1])) && w != "`end`" && w != "`scenario`"; }),
                words.end());
    words.insert(words.begin(), "a name");
  }
  std::sort(words.begin(), words.end());
  words.erase(std::unique(words.begin(), words.end()), words.end());
  if (words.size() > 10) words.resize(10);
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += (i + 1 == words.size()) ? " or " : ", ";
    out += words[i];
  }
  return out;
}

class SyntaxErrors : public antlr4::BaseErrorListener {
 public:
  SyntaxErrors(dsl::Diagnostics& diags, std::string_view source) : diags_(diags), source_(source) {}
  void syntaxError(antlr4::Recognizer* recognizer, antlr4::Token* offending, size_t line, size_t column,
                   const std::string&, std::exception_ptr) override {
    SourceLoc loc{static_cast<int>(line), static_cast<int>(column) + 1};
    if (loc.line == last_line_) return;  // the rest of a line is usually an echo of its first error
    last_line_ = loc.line;
    std::string found = "input";
    int length = 1;
    if (offending != nullptr) {
      if (offending->getType() == antlr4::Token::EOF) {
        found = "the end of the file";
      } else {
        std::string text = offending->getText();
        length = std::max<int>(1, static_cast<int>(text.size()));
        if (offending->getType() == G::BAD_CHAR) {
          diags_.Error("bad-character", loc, length, "the character `" + text + "` is not part of scenario files",
                       text == "\"" ? "texts are written between double quotes on one line"
                                    : "names use letters, digits and _; texts go between double quotes");
          return;
        }
        found = "`" + text + "`";
      }
    }
    std::string expected;
    if (auto* parser = dynamic_cast<antlr4::Parser*>(recognizer)) {
      try {
        expected = Describe(parser->getExpectedTokens(), parser->getVocabulary());
      } catch (...) {
      }
    }
    std::string hint;
    if (found == "`==`") hint = "in a scenario, `=` gives a field its value and `is` states what is expected";
    if (found == "`expects`" || found == "`expected`") hint = "write `expect`";
    std::string first = FirstWord(loc.line);
    if (hint.empty() && first == "expect")
      hint = "an expectation reads: ends in STATE, fails with STATE, is compensated, status is STATUS, waits at STATE, "
             "passes through A then B, never reaches STATE, CONNECTOR.OPERATION is called N times [with FIELD = VALUE], "
             "CONNECTOR.OPERATION is undone, outcome is \"...\", task STATE title is \"...\", PATH is VALUE";
    if (hint.empty() && first == "answer")
      hint = "an answer reads: answer CONNECTOR.OPERATION [for FIELD = VALUE] with {...} | ERROR_KIND [\"message\"] "
             "[N times] [then ...]";
    if (hint.empty() && first == "given")
      hint = "givens read: given input {...}, given input from \"file.json\", given key \"...\", given time \"...\"";
    std::string what = first == "expect" ? "expectation" : first == "answer" ? "answer" : first == "given" ? "given" : "";
    if (!what.empty()) expected.clear();
    if (expected == "`tests`") hint = "a scenario file starts with `tests for FLOW_NAME`";
    if (found == "`answers`") hint = "write `answer CONNECTOR.OPERATION with {...}`";
    diags_.Error("syntax", loc, length,
                 "unexpected " + found + (what.empty() ? "" : " in this " + what) + (expected.empty() ? "" : "; expected " + expected),
                 hint);
  }

 private:
  std::string FirstWord(int line) const {
    size_t pos = 0;
    for (int l = 1; l < line && pos != std::string_view::npos; ++l) {
      pos = source_.find('\n', pos);
      if (pos != std::string_view::npos) ++pos;
    }
    if (pos == std::string_view::npos) return {};
    while (pos < source_.size() && (source_[pos] == ' ' || source_[pos] == '\t')) ++pos;
    size_t end = pos;
    while (end < source_.size() && (std::isalnum(static_cast<unsigned char>(source_[end])) || source_[end] == '_')) ++end;
    return std::string(source_.substr(pos, end - pos));
  }

  dsl::Diagnostics& diags_;
  std::string_view source_;
  int last_line_ = -1;
};

// The deepest bracket nesting of the text (strings and comments skipped): ANTLR recurses once per
// level, so a file of thousands of `(` is refused before it is parsed.
std::optional<SourceLoc> TooDeep(std::string_view s) {
  int depth = 0, line = 1, col = 1;
  bool in_string = false, in_comment = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\n') {
      ++line;
      col = 1;
      in_string = in_comment = false;
      continue;
    }
    if (in_comment) {
    } else if (in_string) {
      if (c == '\\') {
        ++i;
        ++col;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '#') {
      in_comment = true;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '(' || c == '[' || c == '{') {
      if (++depth > dsl::kMaxNesting) return SourceLoc{line, col};
    } else if (c == ')' || c == ']' || c == '}') {
      depth = std::max(0, depth - 1);
    }
    ++col;
  }
  return std::nullopt;
}

class Builder {
 public:
  Builder(antlr4::CharStream& input, dsl::Diagnostics& diags) : input_(input), diags_(diags) {}

  ScenarioFile File(G::ScenarioFileContext* ctx) {
    ScenarioFile f;
    if (ctx == nullptr) return f;
    if (auto* h = ctx->testsHeader(); h != nullptr && h->flow != nullptr) f.flow = W(h->flow);
    for (auto* s : ctx->scenario()) f.scenarios.push_back(Scene(s));
    return f;
  }

 private:
  std::string TextOf(antlr4::ParserRuleContext* ctx) const {
    if (ctx == nullptr || ctx->getStart() == nullptr || ctx->getStop() == nullptr) return {};
    auto a = ctx->getStart()->getStartIndex();
    auto b = ctx->getStop()->getStopIndex();
    if (b < a || b == INVALID_INDEX) return {};
    return input_.getText(antlr4::misc::Interval(a, b));
  }
  Word W(antlr4::ParserRuleContext* ctx) const {
    if (ctx == nullptr) return {};
    return Word{ctx->getText(), LocOf(ctx->getStart())};
  }
  static std::string Plain(antlr4::Token* t) {
    if (t == nullptr) return {};
    std::string raw = t->getText(), out;
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
  ir::ExprPtr Expr(antlr4::ParserRuleContext* ctx) const {
    if (ctx == nullptr) return nullptr;
    std::string text = TextOf(ctx);
    if (text.empty()) return nullptr;
    return dsl::ParseExpression(text, LocOf(ctx->getStart()), diags_);
  }
  Match M(G::CallMatchContext* m) const {
    Match out;
    if (m == nullptr) return out;
    out.path = W(m->fieldPath());
    out.value = Expr(m->expr());
    return out;
  }
  static int Count(G::CountContext* c) {
    if (c == nullptr) return 0;
    if (c->ONCE() != nullptr) return 1;
    try {
      return c->INT() ? std::max(0, std::min(1000000, std::stoi(c->INT()->getText()))) : 0;
    } catch (...) {
      return 1000000;
    }
  }

  Scenario Scene(G::ScenarioContext* ctx) {
    Scenario s;
    s.title = Plain(ctx->title);
    s.loc = LocOf(ctx->getStart());
    for (auto* line : ctx->scenarioLine()) Line(s, line);
    return s;
  }

  void Line(Scenario& s, G::ScenarioLineContext* line) {
    SourceLoc loc = LocOf(line->getStart());
    if (auto* g = dynamic_cast<G::GivenInputContext*>(line)) {
      s.input = Expr(g->recordValue());
    } else if (auto* gf = dynamic_cast<G::GivenInputFileContext*>(line)) {
      s.input_file = Word{Plain(gf->file), LocOf(gf->file)};
    } else if (auto* gk = dynamic_cast<G::GivenKeyContext*>(line)) {
      s.business_key = Plain(gk->key);
    } else if (auto* gt = dynamic_cast<G::GivenTimeContext*>(line)) {
      auto t = ParseTime(Plain(gt->at));
      if (!t) {
        diags_.Error("bad-time", LocOf(gt->at), static_cast<int>(gt->at->getText().size()),
                     "this is not a time", "write an ISO-8601 time with its zone: \"2026-11-27T08:00:00Z\"");
      } else {
        s.start_time = *t;
      }
    } else if (auto* a = dynamic_cast<G::AnswerLineContext*>(line)) {
      Answer ans;
      ans.loc = loc;
      ans.connector = W(a->opRef()->connector);
      ans.operation = W(a->opRef()->operation);
      for (auto* m : a->callMatch()) ans.when.push_back(M(m));
      for (auto* o : a->outcome()) {
        Outcome out;
        out.loc = LocOf(o->getStart());
        if (auto* v = dynamic_cast<G::ValueOutcomeContext*>(o)) {
          out.value = Expr(v->recordValue());
          out.count = Count(v->count());
        } else if (auto* e = dynamic_cast<G::ErrorOutcomeContext*>(o)) {
          out.ok = false;
          out.error_kind = e->errorKind()->getText();
          out.message = Plain(e->message);
          out.count = Count(e->count());
        }
        ans.outcomes.push_back(std::move(out));
      }
      s.answers.push_back(std::move(ans));
    } else if (auto* af = dynamic_cast<G::AfterLineContext*>(line)) {
      Action act;
      act.kind = Action::Kind::kAfter;
      act.loc = loc;
      auto d = ParseDuration(af->duration()->getText());
      if (!d || d->ms <= 0) {
        diags_.Error("bad-duration", LocOf(af->duration()->getStart()), static_cast<int>(af->duration()->getText().size()),
                     "`" + af->duration()->getText() + "` is not a duration",
                     "write a number and a unit: 30s, 15m, 4h, 2d, 1w (or 1h30m)");
        return;
      }
      act.after = *d;
      s.actions.push_back(std::move(act));
    } else if (auto* ap = dynamic_cast<G::ApproveLineContext*>(line)) {
      s.actions.push_back(Decision(Action::Kind::kApprove, loc, ap->state, ap->actor, ap->comment));
    } else if (auto* rj = dynamic_cast<G::RejectLineContext*>(line)) {
      s.actions.push_back(Decision(Action::Kind::kReject, loc, rj->state, rj->actor, rj->comment));
    } else if (auto* nb = dynamic_cast<G::NobodyLineContext*>(line)) {
      Action act;
      act.kind = Action::Kind::kNobodyDecides;
      act.loc = loc;
      act.state = W(nb->state);
      s.actions.push_back(std::move(act));
    } else if (auto* ev = dynamic_cast<G::EventLineContext*>(line)) {
      Action act;
      act.kind = Action::Kind::kEvent;
      act.loc = loc;
      act.event = W(ev->name);
      act.key = Expr(ev->key);
      act.data = Expr(ev->recordValue());
      s.actions.push_back(std::move(act));
    } else if (auto* ex = dynamic_cast<G::ExpectLineContext*>(line)) {
      Action act;
      act.kind = Action::Kind::kExpect;
      act.loc = loc;
      act.expect = Expect(ex->expectation());
      act.expect.loc = loc;
      act.expect.source = TextOf(ex);
      act.expect.length = static_cast<int>(std::min<size_t>(act.expect.source.find('\n'), act.expect.source.size()));
      s.actions.push_back(std::move(act));
    }
  }

  Action Decision(Action::Kind kind, SourceLoc loc, G::IdentContext* state, G::WordContext* actor, antlr4::Token* comment) {
    Action act;
    act.kind = kind;
    act.loc = loc;
    act.state = W(state);
    if (actor != nullptr) act.actor = actor->STRING() ? Plain(actor->STRING()->getSymbol()) : actor->getText();
    act.comment = Plain(comment);
    return act;
  }

  Expectation Expect(G::ExpectationContext* e) {
    using K = Expectation::Kind;
    Expectation x;
    if (e == nullptr) return x;
    if (auto* c = dynamic_cast<G::EndsInContext*>(e)) {
      x.kind = K::kEndsIn;
      x.state = W(c->state);
    } else if (auto* c2 = dynamic_cast<G::FailsWithContext*>(e)) {
      x.kind = K::kFailsWith;
      x.state = W(c2->state);
    } else if (dynamic_cast<G::IsCompensatedContext*>(e) != nullptr) {
      x.kind = K::kIsCompensated;
    } else if (auto* c3 = dynamic_cast<G::StatusIsContext*>(e)) {
      x.kind = K::kStatusIs;
      x.state = W(c3->status);
    } else if (auto* c4 = dynamic_cast<G::WaitsAtContext*>(e)) {
      x.kind = K::kWaitsAt;
      x.state = W(c4->state);
    } else if (auto* c5 = dynamic_cast<G::PassesThroughContext*>(e)) {
      x.kind = K::kPassesThrough;
      for (auto* i : c5->ident()) x.path.push_back(W(i));
    } else if (auto* c6 = dynamic_cast<G::NeverReachesContext*>(e)) {
      x.kind = K::kNeverReaches;
      x.state = W(c6->state);
    } else if (auto* c7 = dynamic_cast<G::NotCalledContext*>(e)) {
      x.kind = K::kCalled;
      x.connector = W(c7->opRef()->connector);
      x.operation = W(c7->opRef()->operation);
      x.times = 0;
    } else if (auto* c8 = dynamic_cast<G::CalledTimesContext*>(e)) {
      x.kind = K::kCalled;
      x.connector = W(c8->opRef()->connector);
      x.operation = W(c8->opRef()->operation);
      x.times = Count(c8->count());
      for (auto* m : c8->callMatch()) x.with.push_back(M(m));
    } else if (auto* c9 = dynamic_cast<G::IsUndoneContext*>(e)) {
      x.kind = K::kUndone;
      x.connector = W(c9->opRef()->connector);
      x.operation = W(c9->opRef()->operation);
    } else if (auto* c10 = dynamic_cast<G::OutcomeIsContext*>(e)) {
      x.kind = K::kOutcomeIs;
      x.text = Plain(c10->text);
    } else if (auto* c11 = dynamic_cast<G::TaskTitleIsContext*>(e)) {
      x.kind = K::kTaskTitleIs;
      x.state = W(c11->state);
      x.text = Plain(c11->text);
    } else if (auto* c12 = dynamic_cast<G::TaskDetailsIsContext*>(e)) {
      x.kind = K::kTaskDetailsIs;
      x.state = W(c12->state);
      x.text = Plain(c12->text);
    } else if (auto* c14 = dynamic_cast<G::EscalatesToContext*>(e)) {
      x.kind = K::kEscalates;
      x.state = W(c14->state);
      x.target = W(c14->to);
      auto d = ParseDuration(c14->duration()->getText());
      if (!d || d->ms <= 0)
        diags_.Error("bad-duration", LocOf(c14->duration()->getStart()), static_cast<int>(c14->duration()->getText().size()),
                     "`" + c14->duration()->getText() + "` is not a duration", "write a number and a unit: 30s, 15m, 4h, 2d, 1w (or 1h30m)");
      else
        x.after = *d;
    } else if (auto* c13 = dynamic_cast<G::DataIsContext*>(e)) {
      x.kind = K::kDataIs;
      x.field = W(c13->fieldPath());
      x.value = Expr(c13->expr());
    }
    return x;
  }

  antlr4::CharStream& input_;
  dsl::Diagnostics& diags_;
};

}  // namespace

ScenarioFile ParseScenarios(std::string_view source, dsl::Diagnostics& diags) {
  if (auto deep = TooDeep(source)) {
    diags.Error("too-deep", *deep, 1, "brackets are nested more than " + std::to_string(dsl::kMaxNesting) + " levels deep here",
                "a scenario's values are records and lists of a few levels; close the brackets");
    return {};
  }
  try {
    antlr4::ANTLRInputStream input(source.data(), source.size());
    rf_grammar::ScenarioLexer lexer(&input);
    lexer.removeErrorListeners();
    antlr4::CommonTokenStream tokens(&lexer);
    G parser(&tokens);
    SyntaxErrors listener(diags, source);
    parser.removeErrorListeners();
    parser.addErrorListener(&listener);
    G::ScenarioFileContext* tree = parser.scenarioFile();
    Builder b(input, diags);
    ScenarioFile f = b.File(tree);
    if (f.flow.text.empty() && !diags.HasErrors())
      diags.Error("syntax", {1, 1}, 1, "a scenario file starts with `tests for FLOW_NAME`",
                  "name the workflow the scenarios test, as written after `workflow` in its .flow file");
    diags.Sort();
    return f;
  } catch (const std::exception& e) {
    diags.Error("internal", {1, 1}, 1, std::string("the parser stopped: ") + e.what());
  } catch (...) {
    diags.Error("internal", {1, 1}, 1, "the parser stopped on an unexpected error");
  }
  return {};
}

}  // namespace rf::testing
