// Canonical layout of a .flow file (`retailflow fmt`). The output parses back to the same tree.
// Comments are kept; a comment inside a state moves to just above that state.
#pragma once

#include <string>

#include "dsl/ast.h"

namespace rf::dsl {

std::string Format(const FlowAst& flow);

}  // namespace rf::dsl
