// Checks a parsed flow and compiles it to the engine's IR.
#pragma once

#include <optional>
#include <string_view>

#include "dsl/ast.h"
#include "dsl/catalog.h"
#include "dsl/diagnostics.h"
#include "engine/ir/machine.h"

namespace rf::dsl {

// Runs every check (docs/language.md lists them with their codes). Returns the machine only when
// there are no errors; warnings do not prevent compilation.
std::optional<ir::Machine> Compile(const FlowAst& flow, const Catalog& catalog, Diagnostics& diags);

// Parse + Compile. Diagnostics come back sorted.
std::optional<ir::Machine> CompileSource(std::string_view source, const Catalog& catalog,
                                         Diagnostics& diags);

}  // namespace rf::dsl
