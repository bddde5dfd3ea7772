// What a run went through, read back from the instance's history (private to testing/): the
// states in order, coverage visits, the undo chain, and the readable trace.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "engine/ir/machine.h"
#include "testing/runner.h"

namespace rf::testing {

struct Path {
  std::vector<std::string> order;  // states in the order they were entered (every thread)
  std::set<std::string> states;
  std::string final_state;         // the finish or fail state the instance ended in, if any
  std::vector<std::string> undone; // steps whose undo completed, in order
  Visits visits;
};

const ir::State* FindState(const ir::Region& r, const std::string& name);
Path PathOf(const ir::Machine& flow, const std::vector<Value>& history, const Value& instance);
std::vector<TraceLine> TraceOf(const std::vector<Value>& history, Time start);

}  // namespace rf::testing
