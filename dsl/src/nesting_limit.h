// The parser's guard against input that would make ANTLR recurse without bound (private to dsl/).
//
// ANTLR's generated recursive descent and its adaptive prediction both recurse once per nested
// bracket, prefix operator (`not`, unary `-`) and block (`parallel`, `for each`), so a file of
// 5,000 `(` overflows the stack. LimitNesting reads the token stream once, before parsing, and
// keeps every point of it within kMaxNesting levels.
#pragma once

#include <memory>
#include <vector>

// dsl/ headers first: ANTLR's runtime #undefs EOF, which Boost (through common/value.h) needs.
#include "dsl/diagnostics.h"
#include "antlr4-runtime.h"

namespace rf::dsl {

// The position of a token in the file; `origin` is where the parsed text starts in the file
// (line 1 column 1 for a whole file; the inside of "{...}" for an interpolation).
ir::SourceLoc TokenLoc(const antlr4::Token* t, ir::SourceLoc origin);

// Returns `tokens` (which must end with EOF) with every place nested deeper than kMaxNesting
// reported as `too-deep` and cut out, so that the parser can still run over the rest of the file
// and report its other errors:
// - a bracket that opens level kMaxNesting + 1, with everything up to its matching close, becomes
//   the single value `null`;
// - a `not` or unary `-` beyond the limit is dropped;
// - a `parallel` or `for each` block beyond the limit, up to its matching `end`, becomes `finish`.
// Levels are counted as the parser nests: open blocks + open brackets + pending prefix
// operators. A word that cannot occur inside an expression (`go`, `step`, `when`, ...) closes
// every bracket still open, as the parser's error recovery does. Linear in the number of tokens.
// `cuts` receives where each `too-deep` was reported, so that the AST builder does not report the
// same expression a second time.
std::vector<std::unique_ptr<antlr4::Token>> LimitNesting(std::vector<std::unique_ptr<antlr4::Token>> tokens,
                                                         const antlr4::dfa::Vocabulary& vocabulary,
                                                         ir::SourceLoc origin, Diagnostics& diags,
                                                         std::vector<ir::SourceLoc>& cuts);

}  // namespace rf::dsl
