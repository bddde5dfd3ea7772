#pragma once

#include <string>
#include <string_view>

#include "dsl/ast.h"
#include "dsl/diagnostics.h"

namespace rf::dsl {

// The deepest nesting a .flow file may have, reported as `too-deep` beyond it (docs/language.md).
// Levels are brackets ( [ {, `not` and unary `-` in front of a value, `parallel` and `for each`
// blocks, and in the expression tree every operator, field, index, call, list and record: a
// chain `a and b and c` is two levels, `sale.lines[0].sku` three. Far more than a readable flow
// needs; it keeps every pass that follows the input's structure (the parser, the checker, the
// engine's evaluator, the IR's JSON form) within a small, fixed stack.
inline constexpr int kMaxNesting = 100;

// Parses a whole .flow file. Syntax errors are reported in plain words and the parser recovers,
// so one run reports every error it can find; the tree is partial when there are errors.
// Never throws.
FlowAst Parse(std::string_view source, Diagnostics& diags);

// Parses one expression (used for "{...}" in strings and by tests). `origin` is the location of
// the first character of `text` in the file.
ExprPtr ParseExpression(std::string_view text, ir::SourceLoc origin, Diagnostics& diags);

}  // namespace rf::dsl
