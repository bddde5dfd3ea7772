// Runs checked scenarios on the real engine, in-process: the same Engine and interpreter as the
// service, a MemoryStore, a ManualClock as the virtual clock, and every connector replaced by a
// scripted one that answers from the scenario. Nothing sleeps: the runner moves the virtual clock
// to the next due timer (retry waits, `wait for` states) and waits on the engine's own
// quiescence (Engine::WaitSettled). It stops moving time on its own when the instance waits for a
// person or an event: then the scenario's next line (approve, event, after, nobody decides) acts.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "dsl/catalog.h"
#include "engine/ir/machine.h"
#include "testing/scenario.h"

namespace rf::testing {

struct TraceLine {
  Duration at;        // virtual time since the scenario started
  std::string text;   // "find_sale: attempt 1 failed (unavailable)"
};

struct Failure {
  SourceLoc loc;
  int length = 1;
  std::string message;
};

// States and transitions a run went through. A transition is "from -> to".
struct Visits {
  std::set<std::string> states;
  std::set<std::string> transitions;
  std::set<std::string> undos;  // steps whose undo ran
};

struct ScenarioResult {
  std::string title;
  SourceLoc loc;
  bool passed = false;
  std::optional<Failure> failure;  // the first failing expectation (or what stopped the run)
  std::vector<TraceLine> trace;
  std::string status, outcome;
  Visits visits;
  int expectations = 0;     // checked
  double wall_ms = 0;       // the run's wall time (reports and benchmarks only)
  Duration virtual_time;    // how far the virtual clock moved
};

ScenarioResult RunScenario(const ir::Machine& flow, const std::string& flow_source, const Scenario& scenario,
                           const dsl::Catalog& catalog);

// Every state and transition of a flow, for coverage: the same spelling as Visits.
Visits AllOf(const ir::Machine& flow);

}  // namespace rf::testing
