// The analyst's safety net: every check of docs/language.md, then AST → IR.
#include "dsl/compiler.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "common/cron.h"
#include "dsl/parser.h"
#include "engine/ir/eval.h"

namespace rf::dsl {
namespace {

using ir::Expr;
using K = ir::State::Kind;

// ------------------------------------------------------------------------------------- types

enum class Ty { kAny, kNull, kBool, kNumber, kMoney, kText, kTime, kDuration, kList, kRecord };

const char* TyName(Ty t) {
  switch (t) {
    case Ty::kAny: return "any";
    case Ty::kNull: return "null";
    case Ty::kBool: return "bool";
    case Ty::kNumber: return "number";
    case Ty::kMoney: return "money";
    case Ty::kText: return "text";
    case Ty::kTime: return "time";
    case Ty::kDuration: return "duration";
    case Ty::kList: return "list";
    case Ty::kRecord: return "record";
  }
  return "any";
}

Ty TyFromName(std::string_view n) {
  if (n == "bool") return Ty::kBool;
  if (n == "number") return Ty::kNumber;
  if (n == "money") return Ty::kMoney;
  if (n == "text") return Ty::kText;
  if (n == "time") return Ty::kTime;
  if (n == "duration") return Ty::kDuration;
  if (n == "list") return Ty::kList;
  if (n == "record") return Ty::kRecord;
  return Ty::kAny;
}

// A static type; records may know their fields (inputs, catalog outputs, approval decisions).
struct Type {
  Ty ty = Ty::kAny;
  std::shared_ptr<const std::map<std::string, Type>> fields;  // null = fields unknown
};

Type T(Ty t) { return Type{t, nullptr}; }
bool Numeric(Ty t) { return t == Ty::kNumber || t == Ty::kMoney; }

Type RecordOf(std::map<std::string, Type> fields) {
  return Type{Ty::kRecord, std::make_shared<const std::map<std::string, Type>>(std::move(fields))};
}

Type RecordOfSpecs(const std::vector<FieldSpec>& specs) {
  if (specs.empty()) return T(Ty::kRecord);
  std::map<std::string, Type> fields;
  for (const auto& f : specs) fields[f.name] = T(TyFromName(f.type));
  return RecordOf(std::move(fields));
}

std::vector<std::string> Keys(const std::map<std::string, Type>& m) {
  std::vector<std::string> out;
  for (const auto& [k, _] : m) out.push_back(k);
  return out;
}

int Width(const std::string& s) { return static_cast<int>(std::max<size_t>(1, s.size())); }

// At most `most` names, then how many more: a message stays short whatever the file holds.
std::string Join(const std::vector<std::string>& v, size_t most = 20) {
  std::string out;
  for (size_t i = 0; i < v.size() && i < most; ++i) out += (i ? ", " : "") + v[i];
  if (v.size() > most) out += " and " + std::to_string(v.size() - most) + " more";
  return out;
}

// An expression as the analyst wrote it, cut short for a message.
std::string Excerpt(const ExprPtr& e) {
  constexpr size_t kMost = 60;
  std::string t = ir::ExprToText(e);
  if (t.size() > kMost) {
    size_t cut = kMost;
    while (cut > 0 && (static_cast<unsigned char>(t[cut]) & 0xC0) == 0x80) --cut;  // whole characters
    t = t.substr(0, cut) + "...";
  }
  return t;
}

const std::set<std::string>& ReservedNames() {
  static const std::set<std::string> names = {"input", "instance", "last_error", "item", "now"};
  return names;
}

bool IsErrorKind(const std::string& k) {
  const auto& kinds = ir::ErrorKinds();
  return std::find(kinds.begin(), kinds.end(), k) != kinds.end();
}

// --------------------------------------------------------------------------------- the checker

class Checker {
 public:
  Checker(const FlowAst& flow, const Catalog& catalog, Diagnostics& diags)
      : flow_(flow), catalog_(catalog), diags_(diags) {}

  void Run() {
    CheckHeader();
    if (!CollectStates(flow_.states, /*region=*/0, /*depth=*/1)) return;  // too deep to walk further
    for (const auto& u : flow_.uses) uses_.insert(u.text);
    DeclareNames(flow_.states);
    CheckSchedules();
    if (flow_.states.empty()) {
      diags_.Error("no-states", flow_.name.loc, Width(flow_.name.text),
                   "the flow has no states, so it cannot do anything",
                   "add at least one state, for example `finish`");
      return;
    }
    CheckRegion(flow_.states, /*top=*/true);
    CheckUses();
  }

 private:
  // ---- header, inputs, uses, schedules

  void CheckHeader() {
    if (flow_.version < 1 && flow_.version_loc.line > 0)
      diags_.Error("bad-version", flow_.version_loc, 1, "the version must be 1 or more");
    std::map<std::string, Type> input_fields;
    for (const auto& in : flow_.inputs) {
      if (input_fields.count(in.name.text) != 0) {
        diags_.Error("duplicate-name", in.name.loc, Width(in.name.text),
                     "the input `" + in.name.text + "` is declared twice");
        continue;
      }
      std::vector<std::string> types(KnownTypes().begin(), KnownTypes().end() - 1);  // no "any"
      if (std::find(types.begin(), types.end(), in.type.text) == types.end()) {
        std::string s = Suggest(in.type.text, types);
        diags_.Error("unknown-type", in.type.loc, Width(in.type.text),
                     "`" + in.type.text + "` is not a type",
                     s.empty() ? "types are text, number, money, bool, time, duration, list, record"
                               : "did you mean `" + s + "`?");
      }
      input_fields[in.name.text] = T(TyFromName(in.type.text));
    }
    names_["input"] = RecordOf(std::move(input_fields));
    names_["instance"] = RecordOf({{"id", T(Ty::kText)},
                                   {"business_key", T(Ty::kText)},
                                   {"workflow", T(Ty::kText)},
                                   {"version", T(Ty::kNumber)},
                                   {"started_at", T(Ty::kTime)}});
    names_["last_error"] = RecordOf({{"kind", T(Ty::kText)},
                                     {"message", T(Ty::kText)},
                                     {"step", T(Ty::kText)}});
  }

  void CheckUses() {
    std::set<std::string> seen;
    for (const auto& u : flow_.uses) {
      if (!seen.insert(u.text).second) {
        diags_.Error("duplicate-name", u.loc, Width(u.text), "`" + u.text + "` is listed twice in uses");
        continue;
      }
      if (catalog_.Find(u.text) == nullptr) {
        std::string s = Suggest(u.text, catalog_.ConnectorNames());
        diags_.Error("unknown-connector", u.loc, Width(u.text),
                     "there is no connector called `" + u.text + "`",
                     s.empty() ? KnownConnectorsHint() : "did you mean `" + s + "`?");
      } else if (called_connectors_.count(u.text) == 0) {
        diags_.Warning("unused-connector", u.loc, Width(u.text),
                       "the connector `" + u.text + "` is listed in uses but no step calls it",
                       "remove it from uses");
      }
    }
  }

  std::string KnownConnectorsHint() const {
    auto names = catalog_.ConnectorNames();
    if (names.empty()) return "no connector catalog was found; pass one with --catalog";
    std::string h = "known connectors: ";
    for (size_t i = 0; i < names.size(); ++i) h += (i ? ", " : "") + names[i];
    return h;
  }

  void CheckSchedules() {
    for (const auto& s : flow_.schedules) {
      const bool zone_known = IsKnownTimeZone(s.time_zone);
      if (!zone_known)
        diags_.Error("unknown-time-zone", s.zone_loc, Width(s.time_zone) + 2,
                     "`" + s.time_zone + "` is not a known time zone",
                     "use a tz database name such as \"Europe/Paris\", \"America/New_York\" or \"UTC\"");
      {
        // The expression is checked on its own too, so both mistakes show in one run.
        auto cron = CronSchedule::Parse(s.cron, zone_known ? s.time_zone : "UTC");
        if (!cron.ok())
          diags_.Error("bad-cron", s.cron_loc, Width(s.cron) + 2,
                       "bad schedule \"" + s.cron + "\": " + cron.status().message(),
                       "five fields: minute hour day-of-month month day-of-week, e.g. \"0 2 * * *\"");
      }
      std::set<std::string> given;
      const auto& inputs = *names_["input"].fields;
      for (const auto& a : s.input) {
        given.insert(a.name.text);
        auto it = inputs.find(a.name.text);
        if (it == inputs.end()) {
          std::string sug = diags_.Full() ? "" : Suggest(a.name.text, Keys(inputs));
          diags_.Error("unknown-field", a.name.loc, Width(a.name.text),
                       "the flow has no input called `" + a.name.text + "`",
                       sug.empty() ? "" : "did you mean `" + sug + "`?");
        } else {
          // A schedule starts the flow: only constants and functions like now() are known then.
          auto saved = std::move(names_);
          names_.clear();
          Type t = TypeOf(a.value);
          names_ = std::move(saved);
          CheckAssignable(t, it->second, a.value, "input " + a.name.text);
        }
      }
      for (const auto& in : flow_.inputs) {
        if (!in.optional && given.count(in.name.text) == 0)
          diags_.Error("missing-input", s.cron_loc, Width(s.cron) + 2,
                       "this schedule starts the flow without the required input `" + in.name.text + "`",
                       "add `with " + in.name.text + " = ...` to the schedule, or mark the input optional");
      }
    }
  }

  // ---- states and names

  // False (and a `too-deep` error) when blocks nest deeper than kMaxNesting: no other pass may
  // then follow the states' structure.
  bool CollectStates(const std::vector<StateAst>& states, int region, int depth) {
    if (depth > kMaxNesting) {
      diags_.Error("too-deep", states.front().loc, 1,
                   "blocks (parallel, for each) are nested more than " + std::to_string(kMaxNesting) + " levels deep");
      return false;
    }
    for (const auto& s : states) {
      region_of_[&s] = region;
      auto [it, inserted] = state_region_.emplace(s.name.text, region);
      if (!inserted) {
        diags_.Error("duplicate-name", s.name.loc, Width(s.name.text),
                     "there is already a state called `" + s.name.text + "`",
                     s.name_given ? "give each state its own name"
                                  : "name this state, e.g. `" + std::string(ir::KindName(s.kind)) +
                                        " " + s.name.text + "_2`");
      }
      if (ReservedNames().count(s.name.text) != 0)
        diags_.Error("reserved-name", s.name.loc, Width(s.name.text),
                     "`" + s.name.text + "` is a reserved name", "choose another name");
      for (const auto& b : s.branches)
        if (!b.states.empty() && !CollectStates(b.states, ++region_counter_, depth + 1)) return false;
      if (!s.body.empty() && !CollectStates(s.body, ++region_counter_, depth + 1)) return false;
    }
    return true;
  }

  void Define(const Name& n, Type t, const char* what) {
    if (ReservedNames().count(n.text) != 0) {
      diags_.Error("reserved-name", n.loc, Width(n.text), "`" + n.text + "` is a reserved name",
                   std::string("save the ") + what + " under another name");
      return;
    }
    auto it = names_.find(n.text);
    if (it != names_.end() && defined_at_.count(n.text) != 0) {
      // The same name saved twice is allowed when the types agree (e.g. two paths to one value).
      if (it->second.ty != t.ty && it->second.ty != Ty::kAny && t.ty != Ty::kAny) {
        diags_.Error("duplicate-name", n.loc, Width(n.text),
                     "`" + n.text + "` is already used for a " + TyName(it->second.ty) +
                         " and cannot also hold a " + TyName(t.ty));
      } else if (it->second.ty == Ty::kRecord && t.ty == Ty::kRecord) {
        // Saved by several steps: it may hold any of their fields.
        if (!it->second.fields || !t.fields) {
          it->second.fields = nullptr;
        } else {
          auto merged = *it->second.fields;
          for (const auto& [k, v] : *t.fields) merged.emplace(k, v);
          it->second.fields = std::make_shared<const std::map<std::string, Type>>(std::move(merged));
        }
      }
      return;
    }
    names_[n.text] = t;
    defined_at_.insert(n.text);
  }

  // Names saved anywhere in the flow are visible everywhere (the engine gives null when a path
  // did not set them); for-each items are visible only inside their body.
  void DeclareNames(const std::vector<StateAst>& states) {
    for (const auto& s : states) {
      switch (s.kind) {
        case K::kStep:
          if (s.save_as) {
            Type t = T(Ty::kRecord);
            if (const auto* op = Operation(s.call)) t = RecordOfSpecs(op->output);
            Define(*s.save_as, t, "result");
          }
          break;
        case K::kWait:
          if (s.save_event_as) Define(*s.save_event_as, T(Ty::kRecord), "event");
          break;
        case K::kApproval: {
          Type t = RecordOf({{"decision", T(Ty::kText)},
                             {"actor", T(Ty::kText)},
                             {"comment", T(Ty::kText)},
                             {"decided_at", T(Ty::kTime)},
                             {"escalated", T(Ty::kBool)}});
          Define(s.save_decision_as ? *s.save_decision_as : s.name, t, "decision");
          break;
        }
        case K::kSet:
          for (const auto& a : s.assignments) Define(a.name, T(Ty::kAny), "value");
          break;
        case K::kForEach:
          Define(s.name, T(Ty::kList), "results");
          DeclareNames(s.body);
          break;
        case K::kParallel:
          for (const auto& b : s.branches) DeclareNames(b.states);
          break;
        default:
          break;
      }
    }
  }

  // Runs `f` with `name` bound to `t`, then gives the name back what it had (for-each items and
  // `item` inside any/all/filter/...): no copy of every name per scope.
  template <typename F>
  void WithName(const std::string& name, Type t, F&& f) {
    auto it = names_.find(name);
    std::optional<Type> outer;
    if (it != names_.end()) outer = it->second;
    names_[name] = std::move(t);
    f();
    if (outer) {
      names_[name] = std::move(*outer);
    } else {
      names_.erase(name);
    }
  }

  const OperationSpec* Operation(const CallAst& c) const {
    const ConnectorSpec* conn = catalog_.Find(c.connector.text);
    return conn == nullptr ? nullptr : conn->Find(c.operation.text);
  }

  // ---- regions: transitions, reachability, paths to an end

  struct Node {
    const StateAst* state;
    std::vector<std::string> targets;  // "" = end of region
  };

  void CheckRegion(const std::vector<StateAst>& states, bool top) {
    std::map<std::string, size_t> index;
    for (size_t i = 0; i < states.size(); ++i) index.emplace(states[i].name.text, i);
    const int region = region_of_[&states.front()];

    std::vector<Node> nodes;
    bool region_has_unknown_target = false;
    for (size_t i = 0; i < states.size(); ++i) {
      const StateAst& s = states[i];
      Node n{&s, {}};
      auto target = [&](const Name& t) {
        auto it = state_region_.find(t.text);
        if (it == state_region_.end()) {
          std::string sug;
          if (!diags_.Full()) {
            std::vector<std::string> candidates;
            for (const auto& [name, r] : state_region_)
              if (r == region) candidates.push_back(name);
            sug = Suggest(t.text, candidates);
          }
          diags_.Error("unknown-state", t.loc, Width(t.text), "there is no state called `" + t.text + "`",
                       sug.empty() ? "" : "did you mean `" + sug + "`?");
          n.targets.push_back("");  // counts as a way out, so one typo is reported once
          region_has_unknown_target = true;
        } else if (it->second != region) {
          diags_.Error("cross-region", t.loc, Width(t.text),
                       "`" + t.text + "` is in another block; a transition can only go to a state of the same " +
                           (top ? "level" : "branch or for-each body"),
                       top ? "states inside a parallel branch or for-each body are reached from within it"
                           : "finish this block (let it run to its end) and continue after `end`");
          n.targets.push_back("");
          region_has_unknown_target = true;
        } else {
          n.targets.push_back(t.text);
        }
      };
      auto fall_through = [&]() {
        if (s.next) {
          target(*s.next);
        } else if (i + 1 < states.size()) {
          n.targets.push_back(states[i + 1].name.text);
        } else if (top) {
          diags_.Error("flow-ends", s.name.loc, Width(s.name.text),
                       "the flow runs off its end after `" + s.name.text + "`",
                       "add `then go to STATE`, or end the flow with `finish` or `fail \"reason\"`");
          n.targets.push_back("");  // reported once, not again as no-way-out
        } else {
          n.targets.push_back("");
        }
      };
      CheckState(s);
      switch (s.kind) {
        case K::kStep:
          fall_through();
          for (const auto& r : s.on_error) target(r.target);
          break;
        case K::kDecide:
          for (const auto& w : s.when) target(w.target);
          if (s.otherwise) target(*s.otherwise);
          break;
        case K::kWait:
          fall_through();
          if (s.on_timeout) target(*s.on_timeout);
          break;
        case K::kApproval:
          if (s.on_approve) target(*s.on_approve);
          if (s.on_reject) target(*s.on_reject);
          if (s.escalate_to) target(*s.escalate_to);
          break;
        case K::kParallel:
        case K::kForEach:
        case K::kSet:
          fall_through();
          break;
        case K::kFinish:
          if (!top) n.targets.push_back("");
          break;
        case K::kFail:
          break;
      }
      nodes.push_back(std::move(n));
      for (const auto& b : s.branches) {
        if (b.states.empty()) {
          diags_.Error("empty-block", b.name.loc, Width(b.name.text), "the branch `" + b.name.text + "` has no states");
        } else {
          CheckRegion(b.states, false);
        }
      }
      if (s.kind == K::kForEach && !s.body.empty()) {
        // Only the body sees the item.
        WithName(s.item.text, T(Ty::kAny), [&] { CheckRegion(s.body, false); });
      }
    }

    // Reachability from the first state.
    std::vector<bool> reached(nodes.size(), false);
    std::vector<size_t> stack = {0};
    reached[0] = true;
    while (!stack.empty()) {
      size_t i = stack.back();
      stack.pop_back();
      for (const auto& t : nodes[i].targets) {
        auto it = index.find(t);
        if (it != index.end() && !reached[it->second]) {
          reached[it->second] = true;
          stack.push_back(it->second);
        }
      }
    }
    for (size_t i = 0; i < nodes.size() && !region_has_unknown_target; ++i) {
      if (!reached[i]) {
        const Name& n = nodes[i].state->name;
        diags_.Warning("unreachable", n.loc, Width(n.text),
                       "no transition leads to `" + n.text + "`, so it never runs",
                       "go to it from another state, or remove it");
      }
    }

    // Every state must be able to reach an end: finish/fail, or the end of a nested region.
    const std::vector<std::vector<size_t>> preds = Predecessors(nodes, index);
    std::vector<bool> ends(nodes.size(), false);
    for (size_t i = 0; i < nodes.size(); ++i) {
      K k = nodes[i].state->kind;
      if (k == K::kFinish || k == K::kFail) ends[i] = true;
      for (const auto& t : nodes[i].targets)
        if (t.empty()) ends[i] = true;
    }
    SpreadBackwards(preds, ends);
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (!ends[i] && reached[i]) {
        const Name& n = nodes[i].state->name;
        diags_.Error("no-way-out", n.loc, Width(n.text),
                     "from `" + n.text + "` the flow can never reach " +
                         (top ? "`finish` or `fail`" : "the end of its block"),
                     "one of the states in this loop needs a way out");
      }
    }

    CheckUndoCoverage(nodes, index, preds, top);
  }

  // preds[j]: the states with a transition to state j (each once per transition).
  static std::vector<std::vector<size_t>> Predecessors(const std::vector<Node>& nodes,
                                                       const std::map<std::string, size_t>& index) {
    std::vector<std::vector<size_t>> preds(nodes.size());
    for (size_t i = 0; i < nodes.size(); ++i)
      for (const auto& t : nodes[i].targets)
        if (auto it = index.find(t); it != index.end()) preds[it->second].push_back(i);
    return preds;
  }

  // Marks every state from which a marked state can be reached. Linear in states + transitions
  // (a fixpoint sweeping all states until nothing changes is quadratic on a long sequence).
  static void SpreadBackwards(const std::vector<std::vector<size_t>>& preds, std::vector<bool>& marked) {
    std::vector<size_t> work;
    for (size_t i = 0; i < marked.size(); ++i)
      if (marked[i]) work.push_back(i);
    while (!work.empty()) {
      size_t j = work.back();
      work.pop_back();
      for (size_t p : preds[j]) {
        if (!marked[p]) {
          marked[p] = true;
          work.push_back(p);
        }
      }
    }
  }

  // Warning: a side-effecting step without undo after which the flow can still fail.
  void CheckUndoCoverage(const std::vector<Node>& nodes, const std::map<std::string, size_t>& index,
                         const std::vector<std::vector<size_t>>& preds, bool top) {
    // can_fail[i]: from state i (before it runs), a failure may happen on some path. Inside a
    // branch or a for-each body, reaching the end of the block counts as "can fail": a sibling
    // or what follows the block may still fail and fail the whole flow.
    std::vector<bool> can_fail(nodes.size(), false);
    for (size_t i = 0; i < nodes.size(); ++i) {
      can_fail[i] = FailsByItself(*nodes[i].state);
      if (!top)
        for (const auto& t : nodes[i].targets)
          if (t.empty()) can_fail[i] = true;
    }
    SpreadBackwards(preds, can_fail);
    for (size_t i = 0; i < nodes.size(); ++i) {
      const StateAst& s = *nodes[i].state;
      if (s.kind != K::kStep || s.undo) continue;
      const OperationSpec* op = Operation(s.call);
      if (op == nullptr || !op->side_effects || !op->compensable) continue;
      bool later_failure = false;
      // Successors on the success path (the `next`, i.e. the first target for a step).
      if (!nodes[i].targets.empty()) {
        const std::string& next = nodes[i].targets.front();
        auto it = index.find(next);
        later_failure = (it != index.end() && can_fail[it->second]) || (next.empty() && !top);
      }
      if (later_failure)
        diags_.Warning("missing-undo", s.name.loc, Width(s.name.text),
                       "`" + s.name.text + "` changes " +
                           (op->writes.empty() ? std::string("another system") : op->writes) +
                           " through " + s.call.connector.text + "." + s.call.operation.text +
                           ", and the flow can still fail after it, but it has no undo",
                       "add `undo call CONNECTOR.OPERATION with ...` so a later failure can reverse it");
    }
  }

  bool FailsByItself(const StateAst& s) const {
    switch (s.kind) {
      case K::kFail: return true;
      case K::kStep:
        return std::none_of(s.on_error.begin(), s.on_error.end(),
                            [](const ErrorRouteAst& r) { return r.kinds.empty(); });
      case K::kParallel:
        for (const auto& b : s.branches)
          for (const auto& st : b.states)
            if (FailsByItself(st)) return true;
        return false;
      case K::kForEach:
        for (const auto& st : s.body)
          if (FailsByItself(st)) return true;
        return false;
      default: return false;
    }
  }

  // ---- per-state checks

  void CheckState(const StateAst& s) {
    switch (s.kind) {
      case K::kStep: CheckStep(s); break;
      case K::kDecide:
        if (s.when.empty())
          diags_.Error("empty-decide", s.name.loc, Width(s.name.text),
                       "the decide `" + s.name.text + "` has no `when` lines",
                       "add `when CONDITION go to STATE`");
        for (const auto& w : s.when) CheckCondition(w.condition, "when");
        if (!s.otherwise)
          diags_.Error("missing-otherwise", s.name.loc, Width(s.name.text),
                       "the decide `" + s.name.text + "` has no `otherwise`",
                       "add `otherwise go to STATE` for the case where no condition holds");
        break;
      case K::kWait: CheckWait(s); break;
      case K::kApproval: CheckApproval(s); break;
      case K::kParallel:
        if (s.branches.size() < 2)
          diags_.Warning("single-branch", s.name.loc, Width(s.name.text),
                         "the parallel `" + s.name.text + "` has only one branch",
                         "with one branch, write its states in sequence instead");
        {
          std::set<std::string> seen;
          for (const auto& b : s.branches)
            if (!seen.insert(b.name.text).second)
              diags_.Error("duplicate-name", b.name.loc, Width(b.name.text),
                           "the branch `" + b.name.text + "` appears twice");
        }
        break;
      case K::kForEach: {
        Type lt = TypeOf(s.list);
        if (lt.ty != Ty::kList && lt.ty != Ty::kAny && s.list)
          diags_.Error("type-mismatch", s.list->loc, 1,
                       "`for each` needs a list, but this is a " + std::string(TyName(lt.ty)));
        if (s.concurrency && (*s.concurrency < 1 || *s.concurrency > 1000))
          diags_.Error("bad-number", s.concurrency_loc, 7, "at most 1 to 1000 items can run at a time");
        if (s.body.empty())
          diags_.Error("empty-block", s.name.loc, Width(s.name.text), "the for each `" + s.name.text + "` has no states");
        if (ReservedNames().count(s.item.text) != 0 && s.item.text != "item")
          diags_.Error("reserved-name", s.item.loc, Width(s.item.text), "`" + s.item.text + "` is a reserved name");
        if (names_.count(s.item.text) != 0 && s.item.text != "item")
          diags_.Warning("shadowed-name", s.item.loc, Width(s.item.text),
                         "`" + s.item.text + "` hides another value with the same name inside this block");
        break;
      }
      case K::kSet: {
        std::set<std::string> seen;
        for (const auto& a : s.assignments) {
          if (!seen.insert(a.name.text).second)
            diags_.Error("duplicate-name", a.name.loc, Width(a.name.text), "`" + a.name.text + "` is set twice here");
          TypeOf(a.value);
        }
        break;
      }
      case K::kFinish:
        if (s.message) TypeOf(s.message);
        break;
      case K::kFail:
        if (s.message) TypeOf(s.message);
        break;
    }
  }

  void CheckCall(const CallAst& c) {
    called_connectors_.insert(c.connector.text);
    bool in_uses = uses_.count(c.connector.text) != 0;
    const ConnectorSpec* conn = catalog_.Find(c.connector.text);
    if (conn == nullptr) {
      std::string sug = Suggest(c.connector.text, catalog_.ConnectorNames());
      diags_.Error("unknown-connector", c.connector.loc, Width(c.connector.text),
                   "there is no connector called `" + c.connector.text + "`",
                   sug.empty() ? KnownConnectorsHint() : "did you mean `" + sug + "`?");
      for (const auto& a : c.args) TypeOf(a.value);
      return;
    }
    if (!in_uses)
      diags_.Error("connector-not-in-uses", c.connector.loc, Width(c.connector.text),
                   "the connector `" + c.connector.text + "` is not listed in `uses`",
                   "add it: `uses " + c.connector.text + "`");
    const OperationSpec* op = conn->Find(c.operation.text);
    if (op == nullptr) {
      std::vector<std::string> ops;
      for (const auto& o : conn->operations) ops.push_back(o.name);
      std::string sug = Suggest(c.operation.text, ops);
      std::string all;
      for (size_t i = 0; i < ops.size(); ++i) all += (i ? ", " : "") + ops[i];
      diags_.Error("unknown-operation", c.operation.loc, Width(c.operation.text),
                   "the connector `" + c.connector.text + "` has no operation `" + c.operation.text + "`",
                   sug.empty() ? "its operations are: " + all : "did you mean `" + sug + "`?");
      for (const auto& a : c.args) TypeOf(a.value);
      return;
    }
    std::set<std::string> given;
    for (const auto& a : c.args) {
      Type t = TypeOf(a.value);
      if (!given.insert(a.name.text).second) {
        diags_.Error("duplicate-name", a.name.loc, Width(a.name.text), "`" + a.name.text + "` is given twice");
        continue;
      }
      const FieldSpec* f = op->FindInput(a.name.text);
      if (f == nullptr && !op->input_declared) continue;
      if (f == nullptr) {
        std::vector<std::string> names;
        for (const auto& in : op->input) names.push_back(in.name);
        std::string sug = Suggest(a.name.text, names);
        diags_.Error("unknown-argument", a.name.loc, Width(a.name.text),
                     c.connector.text + "." + c.operation.text + " has no input `" + a.name.text + "`",
                     sug.empty() ? "" : "did you mean `" + sug + "`?");
        continue;
      }
      CheckAssignable(t, T(TyFromName(f->type)), a.value, a.name.text);
    }
    for (const auto& f : op->input) {
      if (f.required && given.count(f.name) == 0)
        diags_.Error("missing-argument", c.operation.loc, Width(c.operation.text),
                     c.connector.text + "." + c.operation.text + " needs `" + f.name + "`",
                     "add `" + f.name + " = ...` to the `with` list" +
                         (f.description.empty() ? std::string() : " (" + f.description + ")"));
    }
    if (!op->writes.empty()) {
      auto owner = catalog_.owners().find(op->writes);
      if (owner != catalog_.owners().end() && owner->second != conn->system)
        diags_.Error("not-system-of-record", c.operation.loc, Width(c.operation.text),
                     c.connector.text + "." + c.operation.text + " writes " + op->writes + " in " +
                         conn->system + ", but " + owner->second + " is the system of record for " +
                         op->writes,
                     "change " + op->writes + " through a connector of " + owner->second);
    }
  }

  void CheckStep(const StateAst& s) {
    CheckCall(s.call);
    if (s.undo) CheckCall(*s.undo);
    if (s.timeout && s.timeout->value && s.timeout->value->ms <= 0)
      diags_.Error("bad-duration", s.timeout->loc, Width(s.timeout->text), "a timeout must be longer than zero");
    if (s.retry) {
      const RetryAst& r = *s.retry;
      if (r.attempts < 1 || r.attempts > 100)
        diags_.Error("bad-retry", r.loc, 5, "retry between 1 and 100 times",
                     "`retry up to 5 times` means at most 5 attempts in all");
      if (r.multiplier) {
        auto m = Decimal::Parse(*r.multiplier);
        if (!m || *m < Decimal(1))
          diags_.Error("bad-retry", r.multiplier_loc, Width(*r.multiplier),
                       "the wait can only grow: multiply by 1 or more");
      }
      if (r.first_wait && r.max_wait && r.first_wait->value && r.max_wait->value &&
          *r.max_wait->value < *r.first_wait->value)
        diags_.Warning("bad-retry", r.max_wait->loc, Width(r.max_wait->text),
                       "the longest wait is shorter than the first wait");
      std::set<std::string> seen;
      for (const auto& k : r.kinds) {
        CheckErrorKind(k);
        if (!seen.insert(k.text).second)
          diags_.Error("duplicate-name", k.loc, Width(k.text), "the error kind `" + k.text + "` is listed twice");
      }
    }
    std::set<std::string> routed;
    bool catch_all = false;
    for (const auto& r : s.on_error) {
      if (catch_all)
        diags_.Warning("unreachable", r.loc, 8,
                       "an earlier `on error go to` already handles every error, so this line never applies");
      if (r.kinds.empty()) catch_all = true;
      for (const auto& k : r.kinds) {
        CheckErrorKind(k);
        if (!routed.insert(k.text).second)
          diags_.Error("duplicate-name", k.loc, Width(k.text), "the error kind `" + k.text + "` is handled twice");
      }
    }
  }

  void CheckErrorKind(const Name& k) {
    if (IsErrorKind(k.text)) return;
    std::string sug = Suggest(k.text, ir::ErrorKinds());
    diags_.Error("unknown-error-kind", k.loc, Width(k.text), "`" + k.text + "` is not an error kind",
                 sug.empty() ? "error kinds are timeout, unavailable, rejected, not_found, conflict, internal"
                             : "did you mean `" + sug + "`?");
  }

  void CheckWait(const StateAst& s) {
    using W = ir::State::WaitKind;
    switch (s.wait_kind) {
      case W::kDuration:
        if (s.wait_for.value && s.wait_for.value->ms < 0)
          diags_.Error("bad-duration", s.wait_for.loc, Width(s.wait_for.text), "a wait cannot be negative");
        break;
      case W::kUntil: {
        Type t = TypeOf(s.until);
        if (s.until && t.ty != Ty::kTime && t.ty != Ty::kText && t.ty != Ty::kAny)
          diags_.Error("type-mismatch", s.until->loc, 1,
                       "`wait until` needs a time, but this is a " + std::string(TyName(t.ty)));
        break;
      }
      case W::kEvent:
        TypeOf(s.key_value);
        if (!s.within) {
          diags_.Error("missing-timeout", s.name.loc, Width(s.name.text),
                       "the wait `" + s.name.text + "` for event " + s.event.text + " has no time limit",
                       "add `within 7 days` (or another duration) and `on timeout go to STATE`");
        } else {
          if (s.within->value && s.within->value->ms <= 0)
            diags_.Error("bad-duration", s.within->loc, Width(s.within->text), "the time limit must be longer than zero");
          if (!s.on_timeout)
            diags_.Error("missing-timeout", s.within->loc, Width(s.within->text),
                         "what happens when event " + s.event.text + " does not arrive in time is not said",
                         "add `on timeout go to STATE`");
        }
        break;
    }
    if (s.on_timeout && s.wait_kind != W::kEvent)
      diags_.Warning("unreachable", s.on_timeout->loc, Width(s.on_timeout->text),
                     "only a wait for an event can time out; this `on timeout` never applies");
  }

  void CheckApproval(const StateAst& s) {
    if (!s.role)
      diags_.Error("missing-clause", s.name.loc, Width(s.name.text),
                   "the approval `" + s.name.text + "` does not say who decides",
                   "add `ask ROLE \"question shown to them\"`");
    if (s.title) TypeOf(s.title);
    if (s.details) TypeOf(s.details);
    if (!s.on_approve)
      diags_.Error("missing-clause", s.name.loc, Width(s.name.text),
                   "the approval `" + s.name.text + "` does not say where to go when approved",
                   "add `if approved go to STATE`");
    if (!s.on_reject)
      diags_.Error("missing-clause", s.name.loc, Width(s.name.text),
                   "the approval `" + s.name.text + "` does not say where to go when rejected",
                   "add `if rejected go to STATE`");
    if (s.deadline && s.deadline->value && s.deadline->value->ms <= 0)
      diags_.Error("bad-duration", s.deadline->loc, Width(s.deadline->text), "the deadline must be longer than zero");
  }

  void CheckCondition(const ExprPtr& e, const char* where) {
    Type t = TypeOf(e);
    if (e && t.ty != Ty::kBool && t.ty != Ty::kAny)
      diags_.Error("type-mismatch", e->loc, 1,
                   std::string("a `") + where + "` condition must be true or false, but this is a " + TyName(t.ty),
                   "compare it, e.g. `sale.total > 500`");
  }

  void CheckAssignable(const Type& have, const Type& want, const ExprPtr& e, const std::string& what) {
    if (!e || have.ty == Ty::kAny || want.ty == Ty::kAny || have.ty == Ty::kNull) return;
    if (have.ty == want.ty) return;
    if (Numeric(have.ty) && Numeric(want.ty)) return;
    if (have.ty == Ty::kText && (want.ty == Ty::kTime || want.ty == Ty::kDuration)) return;
    diags_.Error("type-mismatch", e->loc, 1,
                 "`" + what + "` expects " + TyName(want.ty) + ", but this is " + TyName(have.ty));
  }

  // ---- expressions

  Type TypeOf(const ExprPtr& e) {
    if (!e) return T(Ty::kAny);
    // Parsed expressions are never deeper than kMaxNesting; this keeps an AST built some other
    // way from taking the checker's stack.
    if (expr_depth_ >= kMaxNesting) {
      diags_.Error("too-deep", e->loc, 1,
                   "this expression is nested more than " + std::to_string(kMaxNesting) + " levels deep");
      return T(Ty::kAny);
    }
    ++expr_depth_;
    Type t = TypeOfNode(e);
    --expr_depth_;
    return t;
  }

  Type TypeOfNode(const ExprPtr& e) {
    switch (e->kind) {
      case Expr::Kind::kLiteral:
        switch (e->value.kind()) {
          case Value::Kind::kNull: return T(Ty::kNull);
          case Value::Kind::kBool: return T(Ty::kBool);
          case Value::Kind::kNumber: return T(Ty::kNumber);
          case Value::Kind::kText: return T(Ty::kText);
          case Value::Kind::kTime: return T(Ty::kTime);
          case Value::Kind::kDuration: return T(Ty::kDuration);
          case Value::Kind::kList: return T(Ty::kList);
          case Value::Kind::kRecord: return T(Ty::kRecord);
        }
        return T(Ty::kAny);
      case Expr::Kind::kName: {
        auto it = names_.find(e->text);
        if (it != names_.end()) return it->second;
        std::string sug = diags_.Full() ? "" : Suggest(e->text, Keys(names_));
        diags_.Error("unknown-name", e->loc, Width(e->text), "nothing called `" + e->text + "` is known here",
                     !sug.empty() ? "did you mean `" + sug + "`?"
                                  : "values come from `input.FIELD`, a saved result (`save result as NAME`), "
                                    "a decision, an event or a `set`");
        return T(Ty::kAny);
      }
      case Expr::Kind::kField: {
        Type base = TypeOf(e->args[0]);
        if (base.ty == Ty::kRecord && base.fields) {
          auto it = base.fields->find(e->text);
          if (it != base.fields->end()) return it->second;
          if (diags_.Full()) {
            diags_.Error("unknown-field", e->loc, Width(e->text), "");
            return T(Ty::kAny);
          }
          std::string sug = Suggest(e->text, Keys(*base.fields));
          std::string owner = Excerpt(e->args[0]);
          diags_.Error("unknown-field", e->loc, Width(e->text), "`" + owner + "` has no field `" + e->text + "`",
                       sug.empty() ? "its fields are: " + Join(Keys(*base.fields)) : "did you mean `" + sug + "`?");
          return T(Ty::kAny);
        }
        if (base.ty != Ty::kRecord && base.ty != Ty::kAny && base.ty != Ty::kNull) {
          diags_.Error("type-mismatch", e->loc, Width(e->text),
                       "a " + std::string(TyName(base.ty)) + " has no fields, so `." + e->text + "` is not possible");
        }
        return T(Ty::kAny);
      }
      case Expr::Kind::kIndex: {
        Type base = TypeOf(e->args[0]);
        Type idx = TypeOf(e->args[1]);
        if (base.ty != Ty::kList && base.ty != Ty::kRecord && base.ty != Ty::kAny)
          diags_.Error("type-mismatch", e->loc, 1, "only a list can be indexed with [ ], not a " + std::string(TyName(base.ty)));
        if (base.ty == Ty::kList && idx.ty != Ty::kNumber && idx.ty != Ty::kAny)
          diags_.Error("type-mismatch", e->args[1]->loc, 1, "a list position must be a number");
        return T(Ty::kAny);
      }
      case Expr::Kind::kCall: return TypeOfCall(e);
      case Expr::Kind::kUnary: {
        Type t = TypeOf(e->args[0]);
        if (e->text == "not") {
          if (t.ty != Ty::kBool && t.ty != Ty::kAny)
            diags_.Error("type-mismatch", e->loc, 3, "`not` needs true or false, but this is a " + std::string(TyName(t.ty)));
          return T(Ty::kBool);
        }
        if (!Numeric(t.ty) && t.ty != Ty::kDuration && t.ty != Ty::kAny)
          diags_.Error("type-mismatch", e->loc, 1, "only numbers can be negated, not a " + std::string(TyName(t.ty)));
        return t;
      }
      case Expr::Kind::kBinary: return TypeOfBinary(e);
      case Expr::Kind::kText:
        for (const auto& a : e->args) TypeOf(a);
        return T(Ty::kText);
      case Expr::Kind::kList:
        for (const auto& a : e->args) TypeOf(a);
        return T(Ty::kList);
      case Expr::Kind::kRecord: {
        std::map<std::string, Type> fields;
        for (size_t i = 0; i < e->args.size(); ++i) fields[e->keys[i]] = TypeOf(e->args[i]);
        return RecordOf(std::move(fields));
      }
    }
    return T(Ty::kAny);
  }

  Type TypeOfCall(const ExprPtr& e) {
    const ir::FunctionInfo* info = nullptr;
    std::vector<std::string> names;
    for (const auto& f : ir::Functions()) {
      names.emplace_back(f.name);
      if (f.name == e->text) info = &f;
    }
    if (info == nullptr) {
      std::string sug = Suggest(e->text, names);
      diags_.Error("unknown-function", e->loc, Width(e->text), "there is no function `" + e->text + "`",
                   sug.empty() ? "functions: " + Join(names, names.size()) : "did you mean `" + sug + "`?");
      for (const auto& a : e->args) TypeOf(a);
      return T(Ty::kAny);
    }
    int n = static_cast<int>(e->args.size());
    if (n < info->min_args || (info->max_args >= 0 && n > info->max_args)) {
      std::string want = info->min_args == info->max_args ? std::to_string(info->min_args)
                         : info->max_args < 0 ? std::to_string(info->min_args) + " or more"
                                              : std::to_string(info->min_args) + " to " + std::to_string(info->max_args);
      diags_.Error("wrong-arguments", e->loc, Width(e->text),
                   "`" + e->text + "` takes " + want + " argument" + (want == "1" ? "" : "s") + ", not " + std::to_string(n));
    }
    std::vector<Type> args;
    for (size_t i = 0; i < e->args.size(); ++i) {
      if (info->binds_item && i == 1) {
        WithName("item", T(Ty::kAny), [&] { args.push_back(TypeOf(e->args[i])); });
      } else {
        args.push_back(TypeOf(e->args[i]));
      }
    }
    const std::string& f = e->text;
    auto first = args.empty() ? T(Ty::kAny) : args[0];
    if ((f == "sum" || f == "any" || f == "all" || f == "min" || f == "max" || f == "find" || f == "filter") &&
        first.ty != Ty::kList &&
        first.ty != Ty::kAny && !e->args.empty())
      diags_.Error("type-mismatch", e->args[0]->loc, 1, "`" + f + "` needs a list, but this is a " + std::string(TyName(first.ty)));
    if ((f == "lower" || f == "upper" || f == "trim" || f == "length") && first.ty != Ty::kText &&
        first.ty != Ty::kAny && !e->args.empty())
      diags_.Error("type-mismatch", e->args[0]->loc, 1, "`" + f + "` needs a text, but this is a " + std::string(TyName(first.ty)));
    if (f == "count" || f == "length") return T(Ty::kNumber);
    if (f == "sum") return args.size() > 1 ? T(Numeric(args[1].ty) ? args[1].ty : Ty::kAny) : T(Ty::kAny);
    if (f == "any" || f == "all" || f == "contains" || f == "starts_with") return T(Ty::kBool);
    if (f == "filter") return T(Ty::kList);
    if (f == "now") return T(Ty::kTime);
    if (f == "lower" || f == "upper" || f == "trim" || f == "date" || f == "text" || f == "fixed") return T(Ty::kText);
    if (f == "round" || f == "abs") return Numeric(first.ty) ? first : T(Ty::kNumber);
    if (f == "number") return T(Ty::kNumber);
    if (f == "days" || f == "hours" || f == "minutes") return T(Ty::kDuration);
    return T(Ty::kAny);
  }

  Type TypeOfBinary(const ExprPtr& e) {
    const std::string& op = e->text;
    Type a = TypeOf(e->args[0]);
    Type b = TypeOf(e->args[1]);
    const bool any = a.ty == Ty::kAny || b.ty == Ty::kAny;
    auto mismatch = [&](const std::string& what) {
      if (diags_.Full()) return diags_.Error("type-mismatch", e->loc, Width(op), what);
      diags_.Error("type-mismatch", e->loc, Width(op), what,
                   "`" + Excerpt(e->args[0]) + "` is " + TyName(a.ty) + " and `" + Excerpt(e->args[1]) +
                       "` is " + TyName(b.ty));
    };
    if (op == "and" || op == "or") {
      if ((a.ty != Ty::kBool && a.ty != Ty::kAny) || (b.ty != Ty::kBool && b.ty != Ty::kAny))
        mismatch("`" + op + "` joins two conditions that are true or false");
      return T(Ty::kBool);
    }
    auto comparable = [&](bool ordered) {
      if (any || a.ty == b.ty) return true;
      if (Numeric(a.ty) && Numeric(b.ty)) return true;
      if (!ordered && (a.ty == Ty::kNull || b.ty == Ty::kNull)) return true;
      // Times and durations arrive as text in plain JSON.
      if ((a.ty == Ty::kText && (b.ty == Ty::kTime || b.ty == Ty::kDuration)) ||
          (b.ty == Ty::kText && (a.ty == Ty::kTime || a.ty == Ty::kDuration)))
        return true;
      return false;
    };
    if (op == "==" || op == "!=") {
      if (!comparable(false)) mismatch("cannot compare " + std::string(TyName(a.ty)) + " with " + TyName(b.ty));
      return T(Ty::kBool);
    }
    if (op == "<" || op == "<=" || op == ">" || op == ">=") {
      bool orderable = any || Numeric(a.ty) || a.ty == Ty::kText || a.ty == Ty::kTime || a.ty == Ty::kDuration;
      if (!comparable(true) || !orderable)
        mismatch("cannot compare " + std::string(TyName(a.ty)) + " with " + TyName(b.ty) + " using " + op);
      return T(Ty::kBool);
    }
    if (op == "in") {
      if (b.ty != Ty::kList && b.ty != Ty::kText && b.ty != Ty::kAny)
        mismatch("`in` needs a list or a text on its right");
      return T(Ty::kBool);
    }
    // Arithmetic.
    if (any) return T(Ty::kAny);
    if (Numeric(a.ty) && Numeric(b.ty)) {
      if (op == "/" && a.ty == Ty::kMoney && b.ty == Ty::kMoney) return T(Ty::kNumber);
      return T(a.ty == Ty::kMoney || b.ty == Ty::kMoney ? Ty::kMoney : Ty::kNumber);
    }
    if (op == "+" && a.ty == Ty::kText && b.ty == Ty::kText) return T(Ty::kText);
    if ((op == "+" || op == "-") && a.ty == Ty::kTime && b.ty == Ty::kDuration) return T(Ty::kTime);
    if (op == "-" && a.ty == Ty::kTime && b.ty == Ty::kTime) return T(Ty::kDuration);
    if ((op == "+" || op == "-") && a.ty == Ty::kDuration && b.ty == Ty::kDuration) return T(Ty::kDuration);
    if ((op == "*") && a.ty == Ty::kDuration && Numeric(b.ty)) return T(Ty::kDuration);
    mismatch("cannot use `" + op + "` with " + std::string(TyName(a.ty)) + " and " + TyName(b.ty));
    return T(Ty::kAny);
  }

  const FlowAst& flow_;
  const Catalog& catalog_;
  Diagnostics& diags_;
  std::map<std::string, Type> names_;
  std::set<std::string> defined_at_;
  std::map<std::string, int> state_region_;
  std::map<const StateAst*, int> region_of_;
  int region_counter_ = 0;
  std::set<std::string> called_connectors_;
  std::set<std::string> uses_;
  int expr_depth_ = 0;
};

// -------------------------------------------------------------------------------- the compiler

class Lowering {
 public:
  Lowering(const FlowAst& flow, const Catalog& catalog) : flow_(flow), catalog_(catalog) {}

  ir::Machine Run() {
    ir::Machine m;
    m.name = flow_.name.text;
    m.version = flow_.version;
    m.description = flow_.description;
    for (const auto& u : flow_.uses) m.uses.push_back(u.text);
    for (const auto& in : flow_.inputs) m.inputs.push_back({in.name.text, in.type.text, in.optional});
    for (const auto& s : flow_.schedules) m.schedules.push_back({s.cron, s.time_zone, Args(s.input)});
    m.main = Region(flow_.states);
    return m;
  }

 private:
  static ir::Arguments Args(const std::vector<Arg>& args) {
    ir::Arguments out;
    for (const auto& a : args) out.emplace_back(a.name.text, a.value);
    return out;
  }

  ir::Call LowerCall(const CallAst& c) const {
    ir::Call out;
    out.connector = c.connector.text;
    out.operation = c.operation.text;
    out.args = Args(c.args);
    if (const ConnectorSpec* conn = catalog_.Find(c.connector.text)) {
      if (const OperationSpec* op = conn->Find(c.operation.text)) {
        out.side_effects = op->side_effects;
        out.writes = op->writes;
      }
    }
    return out;
  }

  ir::Region Region(const std::vector<StateAst>& states) const {
    ir::Region r;
    if (!states.empty()) r.start = states.front().name.text;
    for (size_t i = 0; i < states.size(); ++i) {
      const StateAst& s = states[i];
      ir::State st;
      st.name = s.name.text;
      st.kind = s.kind;
      st.line = s.loc.line;
      std::string following = i + 1 < states.size() ? states[i + 1].name.text : std::string();
      st.next = s.next ? s.next->text : following;
      switch (s.kind) {
        case K::kStep:
          st.call = LowerCall(s.call);
          if (s.save_as) st.save_as = s.save_as->text;
          if (s.timeout && s.timeout->value) st.timeout = *s.timeout->value;
          if (s.retry) {
            const RetryAst& ra = *s.retry;
            st.retry.max_attempts = ra.attempts;
            if (ra.first_wait && ra.first_wait->value) st.retry.first_wait = *ra.first_wait->value;
            st.retry.multiplier = ra.multiplier.value_or("1");
            if (ra.max_wait && ra.max_wait->value) st.retry.max_wait = *ra.max_wait->value;
            st.retry.jitter = ra.jitter;
            if (!ra.kinds.empty()) {
              st.retry.on_kinds.clear();
              for (const auto& k : ra.kinds) st.retry.on_kinds.push_back(k.text);
            }
          }
          for (const auto& r2 : s.on_error) {
            ir::ErrorRoute route;
            for (const auto& k : r2.kinds) route.kinds.push_back(k.text);
            route.target = r2.target.text;
            st.on_error.push_back(std::move(route));
          }
          if (s.undo) st.undo = LowerCall(*s.undo);
          break;
        case K::kDecide:
          st.next.clear();
          for (const auto& w : s.when) st.when.emplace_back(w.condition, w.target.text);
          if (s.otherwise) st.otherwise = s.otherwise->text;
          break;
        case K::kWait:
          st.wait_kind = s.wait_kind;
          if (s.wait_for.value) st.wait_for = *s.wait_for.value;
          st.until = s.until;
          st.event = s.event.text;
          st.event_key = s.event_key.text;
          st.key_value = s.key_value;
          if (s.within && s.within->value) st.within = *s.within->value;
          if (s.on_timeout) st.on_timeout = s.on_timeout->text;
          if (s.save_event_as) st.save_event_as = s.save_event_as->text;
          break;
        case K::kApproval:
          st.next.clear();
          if (s.role) st.role = s.role->text;
          st.title = s.title;
          st.details = s.details;
          if (s.deadline && s.deadline->value) st.deadline = *s.deadline->value;
          if (s.escalate_to) st.escalate_to = s.escalate_to->text;
          if (s.on_approve) st.on_approve = s.on_approve->text;
          if (s.on_reject) st.on_reject = s.on_reject->text;
          st.save_decision_as = s.save_decision_as ? s.save_decision_as->text : s.name.text;
          break;
        case K::kParallel:
          for (const auto& b : s.branches)
            st.branches.emplace_back(b.name.text, std::make_shared<ir::Region>(Region(b.states)));
          break;
        case K::kForEach:
          st.item = s.item.text;
          st.list = s.list;
          st.concurrency = s.concurrency.value_or(1);
          st.body = std::make_shared<ir::Region>(Region(s.body));
          break;
        case K::kSet:
          st.assignments = Args(s.assignments);
          break;
        case K::kFinish:
        case K::kFail:
          st.next.clear();
          st.message = s.message;
          break;
      }
      r.states.push_back(std::move(st));
    }
    return r;
  }

  const FlowAst& flow_;
  const Catalog& catalog_;
};

}  // namespace

std::optional<ir::Machine> Compile(const FlowAst& flow, const Catalog& catalog, Diagnostics& diags) {
  if (!diags.HasErrors()) {
    Checker(flow, catalog, diags).Run();
  }
  diags.Sort();
  if (diags.HasErrors()) return std::nullopt;
  return Lowering(flow, catalog).Run();
}

std::optional<ir::Machine> CompileSource(std::string_view source, const Catalog& catalog,
                                         Diagnostics& diags) {
  FlowAst flow = Parse(source, diags);
  if (diags.HasErrors()) {
    diags.Sort();
    return std::nullopt;
  }
  return Compile(flow, catalog, diags);
}

}  // namespace rf::dsl
