// Scenario files (`.tests`): an analyst's tests of one flow (docs/testing.md). Parsed from
// grammar/Scenario.g4 into this owned AST, then checked against the compiled flow it names:
// every unknown state, operation, event, input field or error kind is a located diagnostic with a
// nearest-name hint, all reported at once, before anything runs.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/value.h"
#include "dsl/catalog.h"
#include "dsl/diagnostics.h"
#include "engine/ir/machine.h"

namespace rf::testing {

using ir::SourceLoc;

struct Word {
  std::string text;
  SourceLoc loc;
};

// `field.path = value`: a call's input (answers, `is called ... with`).
struct Match {
  Word path;  // dotted: "location", "lines.0" is not supported; fields only
  ir::ExprPtr value;
};

// One answer of an operation: a value (a record) or an error kind, for `count` calls
// (0 = unspecified: once, or every remaining call when it is the last of its line).
struct Outcome {
  SourceLoc loc;
  bool ok = true;
  ir::ExprPtr value;  // a record expression when ok
  std::string error_kind, message;
  int count = 0;
};

struct Answer {
  SourceLoc loc;
  Word connector, operation;
  std::vector<Match> when;  // empty: any call
  std::vector<Outcome> outcomes;
};

struct Expectation {
  enum class Kind {
    kEndsIn, kFailsWith, kIsCompensated, kStatusIs, kWaitsAt, kPassesThrough, kNeverReaches,
    kCalled, kUndone, kOutcomeIs, kTaskTitleIs, kTaskDetailsIs, kDataIs, kEscalates
  };
  Kind kind = Kind::kEndsIn;
  SourceLoc loc;
  int length = 1;
  std::string source;            // the expectation as written, for reports
  Word state;                    // ends in / fails with / waits at / never reaches / task / status
  std::vector<Word> path;        // passes through
  Word connector, operation;     // calls, undone
  int times = 0;                 // calls: expected count
  std::vector<Match> with;       // calls: only calls whose input matches
  Word field;                    // data: dotted path into the instance data
  ir::ExprPtr value;             // data: expected value
  std::string text;              // outcome / task title / task details
  Word target;                   // escalates: the approval it escalates to
  Duration after;                // escalates: how long after the task was created
};

// What happens, in order: the clock moves, people decide, events arrive, expectations hold.
struct Action {
  enum class Kind { kAfter, kApprove, kReject, kNobodyDecides, kEvent, kExpect };
  Kind kind = Kind::kAfter;
  SourceLoc loc;
  Duration after;
  Word state;                  // approve / reject / nobody decides
  std::string actor, comment;  // approve / reject
  Word event;
  ir::ExprPtr key, data;       // event
  Expectation expect;
};

struct Scenario {
  std::string title;
  SourceLoc loc;
  ir::ExprPtr input;           // a record expression; or
  Word input_file;             // a JSON fixture, resolved by ResolveFixtures into input_value
  std::optional<Value> input_value;
  std::string business_key;
  std::optional<Time> start_time;
  std::vector<Answer> answers;
  std::vector<Action> actions;
};

struct ScenarioFile {
  Word flow;  // `tests for NAME`
  std::vector<Scenario> scenarios;
};

// The virtual clock's start when a scenario gives no `given time`.
Time DefaultStartTime();

// Parses a whole .tests file; syntax errors are reported in plain words and every error found is
// reported (the tree is partial then). Never throws.
ScenarioFile ParseScenarios(std::string_view source, dsl::Diagnostics& diags);

// Reads `given input from "file"` fixtures through `read` (a path relative to the scenario file's
// folder → its text); a missing or malformed fixture is a located error.
void ResolveFixtures(ScenarioFile& file, const std::function<Result<std::string>(const std::string&)>& read,
                     dsl::Diagnostics& diags);

// Checks the scenarios against the compiled flow they test and the connector catalog.
void CheckScenarios(const ScenarioFile& file, const ir::Machine& flow, const dsl::Catalog& catalog,
                    dsl::Diagnostics& diags);

// Evaluates a constant expression of a scenario (literals, records, lists, now()).
Result<Value> EvaluateConstant(const ir::ExprPtr& e, Time now);

}  // namespace rf::testing
