// The engine's intermediate representation: a compiled workflow is a Machine of named states.
//
// dsl/ produces it from .flow source; the engine executes it; its JSON form (ToJson/FromJson,
// documented in docs/ir.md) is what is stored with each deployed version, so it is versioned by
// kFormatVersion and never changed silently.
//
// Regions: the top level of a machine, each branch of a `parallel` and the body of a `for each`
// is a Region, an ordered list of states with a start state. A transition names a state of the
// same region. In a nested region an empty `next` means "this region is complete".
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "common/value.h"

namespace rf::ir {

inline constexpr int kFormatVersion = 1;

// The deepest nesting the IR accepts: of an expression tree, and (counting a state and its region
// as two levels) of regions inside regions. MachineFromJson refuses deeper, Evaluate fails on a
// deeper expression and ExprToText elides below it, so a stored or hand-built machine cannot
// take a thread's stack. The .flow language's own limit (dsl::kMaxNesting) is well below it.
inline constexpr int kMaxDepth = 500;

// Where a thing came from in the .flow source. Not part of the JSON form of expressions.
struct SourceLoc {
  int line = 0;
  int column = 0;  // 1-based; 0 = unknown
};

struct Expr;
using ExprPtr = std::shared_ptr<const Expr>;

// An expression tree. Kinds and operands:
//   kLiteral   value; text = source spelling of a number or duration ("12.50", "30 days"),
//              kept for fmt and messages only (not part of the JSON form)
//   kName      text = root name ("input", a saved result, a for-each item, ...)
//   kField     args[0] = base, text = field name            (sale.total)
//   kIndex     args[0] = base, args[1] = index              (sale.lines[0])
//   kCall      text = function name, args                   (sum(input.lines, item.qty))
//   kUnary     text = "not" | "-", args[0]
//   kBinary    text = operator ("and" "or" "==" "!=" "<" "<=" ">" ">=" "in" "+" "-" "*" "/" "%")
//   kText      args = parts; literal parts are kLiteral text  ("Refund {amount} to {name}")
//   kList      args
//   kRecord    keys[i] = name of args[i]
struct Expr {
  enum class Kind { kLiteral, kName, kField, kIndex, kCall, kUnary, kBinary, kText, kList, kRecord };
  Kind kind = Kind::kLiteral;
  Value value;
  std::string text;
  std::vector<ExprPtr> args;
  std::vector<std::string> keys;
  SourceLoc loc;
};

// Named arguments in source order (a record built from expressions).
using Arguments = std::vector<std::pair<std::string, ExprPtr>>;

struct Call {
  std::string connector;
  std::string operation;
  Arguments args;
  bool side_effects = true;  // from the connector catalog; true when unknown
  std::string writes;        // business entity the operation writes ("stock"), if any
};

// Error kinds a connector call can fail with; the language names them as written here.
inline const std::vector<std::string>& ErrorKinds() {
  static const std::vector<std::string> kinds = {"timeout", "unavailable", "rejected",
                                                 "not_found", "conflict", "internal"};
  return kinds;
}

struct RetryPolicy {
  int max_attempts = 1;                 // 1 = no retry
  Duration first_wait{1000};
  std::string multiplier = "2";         // exact decimal text; "1" = constant wait
  std::optional<Duration> max_wait;     // cap on a single wait
  bool jitter = false;
  std::vector<std::string> on_kinds = {"timeout", "unavailable"};  // kinds that are retried
};

struct ErrorRoute {
  std::vector<std::string> kinds;  // empty = any error kind
  std::string target;
};

struct Region;

struct State {
  enum class Kind { kStep, kDecide, kWait, kApproval, kParallel, kForEach, kSet, kFinish, kFail };
  enum class WaitKind { kDuration, kUntil, kEvent };

  std::string name;
  Kind kind = Kind::kStep;
  int line = 0;
  std::string next;  // on success (step, wait, set, parallel, for each, approval: unused)

  // kStep
  Call call;
  std::string save_as;
  std::optional<Duration> timeout;
  RetryPolicy retry;
  std::vector<ErrorRoute> on_error;
  std::optional<Call> undo;

  // kDecide
  std::vector<std::pair<ExprPtr, std::string>> when;  // condition → target, first true wins
  std::string otherwise;

  // kWait
  WaitKind wait_kind = WaitKind::kDuration;
  Duration wait_for;
  ExprPtr until;            // kUntil: a time
  std::string event;        // kEvent: event name
  std::string event_key;    // kEvent: the correlating field's name, as documented for senders
  ExprPtr key_value;        // kEvent: the value the event's key must equal
  std::optional<Duration> within;
  std::string on_timeout;   // kEvent with `within`
  std::string save_event_as;

  // kApproval
  std::string role;
  ExprPtr title;    // kText
  ExprPtr details;  // kText or null
  std::optional<Duration> deadline;
  std::string escalate_to;
  std::string on_approve;
  std::string on_reject;
  std::string save_decision_as;  // defaults to the state's name

  // kParallel
  std::vector<std::pair<std::string, std::shared_ptr<Region>>> branches;

  // kForEach
  std::string item;
  ExprPtr list;
  int concurrency = 1;
  std::shared_ptr<Region> body;

  // kSet
  Arguments assignments;

  // kFinish: message (may be null); kFail: reason
  ExprPtr message;
};

struct Region {
  std::string start;
  std::vector<State> states;
  const State* Find(const std::string& name) const;
};

struct Input {
  std::string name;
  std::string type;  // text number money bool time duration list record
  bool optional = false;
};

struct Schedule {
  std::string cron;
  std::string time_zone;
  Arguments input;
};

struct Machine {
  std::string name;
  int version = 0;
  std::string description;
  std::vector<std::string> uses;
  std::vector<Input> inputs;
  std::vector<Schedule> schedules;
  Region main;
};

const char* KindName(State::Kind k);  // "step", "decide", ...

// JSON form, format "retailflow.machine" version kFormatVersion (docs/ir.md).
std::string ToJson(const Machine& m, bool pretty = true);
Result<Machine> MachineFromJson(std::string_view json_text);

std::string ExprToJson(const ExprPtr& e);
// Source-like rendering of an expression, used in graphs and messages ("sale.total > 500").
std::string ExprToText(const ExprPtr& e);

}  // namespace rf::ir
