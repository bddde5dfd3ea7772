// The state machine as a picture: Graphviz DOT or Mermaid flowchart text. States are drawn by
// kind, transitions are labelled (approve/reject/error kind/timeout/condition), undo actions
// hang off their step with dashed edges, parallel branches and for-each bodies are clusters.
#pragma once

#include <string>

#include "engine/ir/machine.h"

namespace rf::dsl {

std::string ToDot(const ir::Machine& m);
std::string ToMermaid(const ir::Machine& m);

}  // namespace rf::dsl
