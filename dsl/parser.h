#pragma once

#include <string>
#include <string_view>

#include "dsl/ast.h"
#include "dsl/diagnostics.h"

namespace rf::dsl {

// Parses a whole .flow file. Syntax errors are reported in plain words and the parser recovers,
// so one run reports every error it can find; the tree is partial when there are errors.
// Never throws.
FlowAst Parse(std::string_view source, Diagnostics& diags);

// Parses one expression (used for "{...}" in strings and by tests). `origin` is the location of
// the first character of `text` in the file.
ExprPtr ParseExpression(std::string_view text, ir::SourceLoc origin, Diagnostics& diags);

}  // namespace rf::dsl
