#include "dsl/src/nesting_limit.h"

#include <string>

#include "dsl/parser.h"
#include "FlowLexer.h"

namespace rf::dsl {
namespace {

using L = rf_grammar::FlowLexer;

// What a token does to the nesting.
enum class Role {
  kOther,       // operators, commas, `=`: neither opens nor closes anything
  kOpen,        // ( [ {
  kClose,       // ) ] }
  kNot,         // prefix `not`
  kMinus,       // `-`: prefix when no operand precedes it, else binary
  kDot,         // `.`: the next word is a field name, whatever it is
  kOperand,     // a name, a literal, a word that may name a field or a value
  kOutside,     // a word that cannot be part of an expression (`go`, `step`, `when`, ...)
};

// Words that are keywords somewhere but may still name a value (the grammar's `ident`).
bool IsSoftKeyword(size_t type) {
  switch (type) {
    case L::RESULT: case L::EVENT: case L::DECISION: case L::APPROVED: case L::REJECTED:
    case L::INPUT: case L::AT: case L::MOST: case L::ONCE: case L::A: case L::TIME: case L::BY:
    case L::UP: case L::TO: case L::TIMES: case L::WAITING: case L::DOUBLING: case L::MULTIPLYING:
    case L::JITTER: case L::OPTIONAL: case L::NOBODY: case L::DECIDES: case L::DETAILS:
    case L::VERSION:
      return true;
    default:
      return false;
  }
}

bool IsWord(size_t type) { return type == L::ID || (type >= L::WORKFLOW && type <= L::NULL_LITERAL); }

class Classifier {
 public:
  explicit Classifier(const antlr4::dfa::Vocabulary& vocabulary) : vocabulary_(vocabulary) {}

  Role Of(size_t type) const {
    switch (type) {
      case L::ID: case L::INT: case L::DECIMAL: case L::DURATION: case L::STRING:
      case L::TRUE: case L::FALSE: case L::NULL_LITERAL:
        return Role::kOperand;
      case L::NOT: return Role::kNot;
      case L::AND: case L::OR: case L::IN: return Role::kOther;
      default: break;
    }
    if (type >= L::WORKFLOW && type <= L::NULL_LITERAL)
      return IsSoftKeyword(type) ? Role::kOperand : Role::kOutside;
    const std::string literal = vocabulary_.getLiteralName(type);
    if (literal == "'('" || literal == "'['" || literal == "'{'") return Role::kOpen;
    if (literal == "')'" || literal == "']'" || literal == "'}'") return Role::kClose;
    if (literal == "'-'") return Role::kMinus;
    if (literal == "'.'") return Role::kDot;
    return Role::kOther;
  }

 private:
  const antlr4::dfa::Vocabulary& vocabulary_;
};

class Limiter {
 public:
  Limiter(std::vector<std::unique_ptr<antlr4::Token>> in, const antlr4::dfa::Vocabulary& vocabulary,
          ir::SourceLoc origin, Diagnostics& diags, std::vector<ir::SourceLoc>& cuts)
      : in_(std::move(in)), classify_(vocabulary), origin_(origin), diags_(diags), cuts_(cuts) {
    // What the scans need of each token, kept apart from the tokens (which move to the output).
    roles_.reserve(in_.size());
    for (const auto& t : in_) {
      types_.push_back(t->getType());
      parsed_.push_back(t->getChannel() == antlr4::Token::DEFAULT_CHANNEL);
      roles_.push_back(classify_.Of(t->getType()));
    }
    bool dot = false;
    for (size_t i = 0; i < in_.size(); ++i) {
      after_dot_at_.push_back(dot);
      if (parsed_[i]) dot = roles_[i] == Role::kDot;
    }
  }

  std::vector<std::unique_ptr<antlr4::Token>> Run() {
    out_.reserve(in_.size());
    for (size_t i = 0; i < in_.size(); ++i) {
      antlr4::Token* t = in_[i].get();
      if (!parsed_[i] || types_[i] == antlr4::Token::EOF) {
        out_.push_back(std::move(in_[i]));
        continue;
      }
      Role role = roles_[i];
      if (after_dot_at_[i] && IsWord(types_[i])) role = Role::kOperand;
      switch (role) {
        case Role::kOpen: {
          const int cost = 1 + prefixes_;
          prefixes_ = 0;
          prefix_reported_ = false;
          if (Depth() + cost > kMaxNesting) {
            TooDeep(t, "brackets");
            i = SkipBracket(i);
            out_.push_back(Placeholder(t, rf_grammar::FlowLexer::NULL_LITERAL, "null"));
            operand_before_ = true;
            continue;
          }
          brackets_.push_back(cost);
          bracket_depth_ += cost;
          operand_before_ = false;
          break;
        }
        case Role::kClose:
          if (!brackets_.empty()) {
            bracket_depth_ -= brackets_.back();
            brackets_.pop_back();
          }
          EndPrefixes();
          operand_before_ = true;
          break;
        case Role::kMinus:
          if (operand_before_) {
            EndPrefixes();
            operand_before_ = false;
            break;
          }
          [[fallthrough]];
        case Role::kNot:
          operand_before_ = false;
          if (Depth() + 1 > kMaxNesting) {
            if (!prefix_reported_) TooDeep(t, "`not` and `-` signs");
            prefix_reported_ = true;
            continue;  // dropped
          }
          ++prefixes_;
          break;
        case Role::kDot:
          EndPrefixes();
          operand_before_ = false;
          break;
        case Role::kOperand:
          EndPrefixes();
          operand_before_ = true;
          break;
        case Role::kOther:
          EndPrefixes();
          operand_before_ = false;
          break;
        case Role::kOutside:
          brackets_.clear();
          bracket_depth_ = 0;
          EndPrefixes();
          operand_before_ = false;
          if (OpensBlock(i)) {
            if (blocks_ + 1 > kMaxNesting) {
              TooDeep(t, "blocks: parallel, for each");
              i = SkipBlock(i);
              out_.push_back(Placeholder(t, rf_grammar::FlowLexer::FINISH, "finish"));
              continue;
            }
            ++blocks_;
          } else if (types_[i] == L::END && blocks_ > 0) {
            --blocks_;
          }
          break;
      }
      out_.push_back(std::move(in_[i]));
    }
    return std::move(out_);
  }

 private:
  int Depth() const { return blocks_ + bracket_depth_ + prefixes_; }

  void EndPrefixes() {
    prefixes_ = 0;
    prefix_reported_ = false;
  }

  void TooDeep(const antlr4::Token* t, const std::string& what) {
    cuts_.push_back(TokenLoc(t, origin_));
    diags_.Error("too-deep", cuts_.back(), 1,
                 "this is nested more than " + std::to_string(kMaxNesting) + " levels deep (" + what + ")",
                 "split it up: compute a part first with `set NAME ...`, or write `x in [a, b, c]` "
                 "instead of a long chain of `or`");
  }

  // The next token on the parser's channel after i (EOF at worst).
  size_t Next(size_t i) const {
    size_t j = i + 1;
    while (j + 1 < types_.size() && !parsed_[j]) ++j;
    return j < types_.size() ? j : types_.size() - 1;
  }

  bool OpensBlock(size_t i) const {
    if (types_[i] == L::PARALLEL) return true;
    return types_[i] == L::FOR && types_[Next(i)] == L::EACH;
  }

  // The index of the last token of the bracket opened at i: its matching close, or the token
  // before a word that ends the expression, or the token before EOF.
  size_t SkipBracket(size_t i) const {
    size_t open = 0;
    size_t j = i;
    for (; j + 1 < types_.size(); ++j) {
      if (!parsed_[j]) continue;
      Role r = roles_[j];
      if (j > i && r == Role::kOutside && !after_dot_at_[j]) return j - 1;
      if (r == Role::kOpen) ++open;
      if (r == Role::kClose && --open == 0) return j;
    }
    return j - 1;
  }

  // The index of the `end` that closes the block opened at i, or the token before EOF.
  size_t SkipBlock(size_t i) const {
    size_t open = 0;
    size_t j = i;
    for (; j + 1 < types_.size(); ++j) {
      if (!parsed_[j] || after_dot_at_[j]) continue;
      if (OpensBlock(j)) ++open;
      if (types_[j] == L::END && --open == 0) return j;
    }
    return j - 1;
  }

  // A token standing for what was cut out, at the position of the first token cut. It keeps
  // that token's source, which ANTLR's error recovery asks for.
  static std::unique_ptr<antlr4::Token> Placeholder(antlr4::Token* at, size_t type, const std::string& text) {
    auto t = std::make_unique<antlr4::CommonToken>(at);
    t->setType(type);
    t->setText(text);
    return t;
  }

  std::vector<std::unique_ptr<antlr4::Token>> in_;
  std::vector<size_t> types_;
  std::vector<bool> parsed_;        // on the parser's channel
  std::vector<bool> after_dot_at_;  // the previous parsed token is `.`
  std::vector<Role> roles_;
  std::vector<std::unique_ptr<antlr4::Token>> out_;
  Classifier classify_;
  ir::SourceLoc origin_;
  Diagnostics& diags_;
  std::vector<ir::SourceLoc>& cuts_;

  std::vector<int> brackets_;  // cost of each open bracket: itself and the prefixes before it
  int bracket_depth_ = 0;      // sum of brackets_
  int blocks_ = 0;
  int prefixes_ = 0;           // `not` / unary `-` waiting for their operand
  bool prefix_reported_ = false;
  bool operand_before_ = false;  // the previous token ends an operand (so `-` is binary)
};

}  // namespace

ir::SourceLoc TokenLoc(const antlr4::Token* t, ir::SourceLoc origin) {
  if (t == nullptr) return {};
  int line = static_cast<int>(t->getLine());
  int col = static_cast<int>(t->getCharPositionInLine()) + 1;
  if (line == 1) col += origin.column > 0 ? origin.column - 1 : 0;
  return {line + (origin.line > 0 ? origin.line - 1 : 0), col};
}

std::vector<std::unique_ptr<antlr4::Token>> LimitNesting(std::vector<std::unique_ptr<antlr4::Token>> tokens,
                                                         const antlr4::dfa::Vocabulary& vocabulary,
                                                         ir::SourceLoc origin, Diagnostics& diags,
                                                         std::vector<ir::SourceLoc>& cuts) {
  return Limiter(std::move(tokens), vocabulary, origin, diags, cuts).Run();
}

}  // namespace rf::dsl
