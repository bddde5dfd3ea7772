// The owned syntax tree of a .flow file. Built from ANTLR's parse tree by dsl/src/parser.cc and
// never refers to ANTLR types. Every name keeps its source location so the checker can point at
// it. Expressions are already in their IR form (ir::Expr carries a SourceLoc).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/value.h"
#include "engine/ir/machine.h"

namespace rf::dsl {

using ir::ExprPtr;
using ir::SourceLoc;

struct Name {
  std::string text;
  SourceLoc loc;
};

struct DurationLit {
  std::optional<Duration> value;  // nullopt when the text is not a duration (diagnosed)
  std::string text;
  SourceLoc loc;
};

struct Arg {
  Name name;
  ExprPtr value;
};

struct CallAst {
  Name connector;
  Name operation;
  std::vector<Arg> args;
  SourceLoc loc;
};

struct RetryAst {
  int attempts = 1;
  SourceLoc loc;
  std::optional<DurationLit> first_wait;
  std::optional<std::string> multiplier;  // "2" for `doubling`
  SourceLoc multiplier_loc;
  std::optional<DurationLit> max_wait;
  bool jitter = false;
  std::vector<Name> kinds;
};

struct ErrorRouteAst {
  std::vector<Name> kinds;  // empty = any
  Name target;
  SourceLoc loc;
};

struct StateAst;

struct BranchAst {
  Name name;
  std::vector<StateAst> states;
};

struct WhenAst {
  ExprPtr condition;
  Name target;
};

struct StateAst {
  ir::State::Kind kind = ir::State::Kind::kStep;
  Name name;            // for finish/fail without a name: the keyword, name_given = false
  bool name_given = true;
  SourceLoc loc;        // of the keyword that starts the state
  int end_line = 0;     // line of the state's last token
  std::optional<Name> next;

  // step
  CallAst call;
  std::optional<Name> save_as;
  std::optional<DurationLit> timeout;
  std::optional<RetryAst> retry;
  std::vector<ErrorRouteAst> on_error;
  std::optional<CallAst> undo;

  // decide
  std::vector<WhenAst> when;
  std::optional<Name> otherwise;

  // wait
  ir::State::WaitKind wait_kind = ir::State::WaitKind::kDuration;
  DurationLit wait_for;
  ExprPtr until;
  Name event;
  Name event_key;
  ExprPtr key_value;
  std::optional<DurationLit> within;
  std::optional<Name> on_timeout;
  std::optional<Name> save_event_as;

  // approval
  std::optional<Name> role;
  ExprPtr title;
  ExprPtr details;
  std::optional<DurationLit> deadline;
  std::optional<Name> escalate_to;
  std::optional<Name> on_approve;
  std::optional<Name> on_reject;
  std::optional<Name> save_decision_as;

  // parallel
  std::vector<BranchAst> branches;

  // for each
  Name item;
  ExprPtr list;
  std::optional<int> concurrency;
  SourceLoc concurrency_loc;
  std::vector<StateAst> body;

  // set
  std::vector<Arg> assignments;

  // finish (message, optional) / fail (reason)
  ExprPtr message;
};

struct InputAst {
  Name name;
  Name type;
  bool optional = false;
};

struct ScheduleAst {
  std::string cron;
  SourceLoc cron_loc;
  std::string time_zone;
  SourceLoc zone_loc;
  std::vector<Arg> input;
};

struct Comment {
  int line = 0;
  std::string text;  // including the leading '#'
  bool own_line = true;  // nothing but blanks before it on its line
};

struct FlowAst {
  Name name;
  int version = 0;
  SourceLoc version_loc;
  std::string description;
  std::vector<Name> uses;
  std::vector<InputAst> inputs;
  std::vector<ScheduleAst> schedules;
  std::vector<StateAst> states;
  std::vector<Comment> comments;
};

}  // namespace rf::dsl
