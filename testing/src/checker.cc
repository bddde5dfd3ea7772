// Checks a scenario file against the flow it tests: every name must be one the flow has.
#include <map>
#include <set>

#include "common/time_text.h"
#include "engine/ir/eval.h"
#include "engine/engine.h"
#include "engine/status.h"
#include "testing/scenario.h"

namespace rf::testing {
namespace {

using K = Expectation::Kind;

// What the flow offers to a scenario, gathered once from the machine.
struct FlowFacts {
  std::map<std::string, const ir::State*> states;  // every region
  std::set<std::string> operations;                // "connector.operation" called by a step
  std::set<std::string> undo_operations;           // the steps' operations that have an undo
  std::set<std::string> events;
};

void Collect(const ir::Region& r, FlowFacts& f) {
  for (const auto& s : r.states) {
    f.states[s.name] = &s;
    if (s.kind == ir::State::Kind::kStep) {
      std::string op = s.call.connector + "." + s.call.operation;
      f.operations.insert(op);
      if (s.undo) {
        f.undo_operations.insert(op);
        f.operations.insert(s.undo->connector + "." + s.undo->operation);
      }
    }
    if (s.kind == ir::State::Kind::kWait && s.wait_kind == ir::State::WaitKind::kEvent) f.events.insert(s.event);
    for (const auto& [_, b] : s.branches) Collect(*b, f);
    if (s.body) Collect(*s.body, f);
  }
}

template <typename C>
std::vector<std::string> Names(const C& c) {
  std::vector<std::string> out;
  for (const auto& x : c) {
    if constexpr (std::is_same_v<typename C::value_type, std::string>) out.push_back(x);
    else out.push_back(x.first);
  }
  return out;
}

class Checker {
 public:
  Checker(const ir::Machine& m, const dsl::Catalog& catalog, dsl::Diagnostics& d) : m_(m), catalog_(catalog), d_(d) {
    Collect(m.main, f_);
  }

  void File(const ScenarioFile& file) {
    if (!file.flow.text.empty() && file.flow.text != m_.name)
      d_.Error("wrong-flow", file.flow.loc, Len(file.flow), "these scenarios test `" + file.flow.text + "`, but the flow is `" + m_.name + "`",
               "write `tests for " + m_.name + "`, or put the file beside " + file.flow.text + ".flow");
    std::set<std::string> titles;
    for (const auto& s : file.scenarios) {
      if (!titles.insert(s.title).second)
        d_.Error("duplicate-scenario", s.loc, 8, "two scenarios are called \"" + s.title + "\"", "give each scenario its own title");
      Scene(s);
    }
  }

 private:
  static int Len(const Word& w) { return std::max<int>(1, static_cast<int>(w.text.size())); }

  void Unknown(const char* code, const Word& w, const std::string& what, const std::vector<std::string>& names,
               const std::string& extra_hint = {}) {
    std::string near = dsl::Suggest(w.text, names);
    std::string hint = !near.empty() ? "did you mean `" + near + "`?" : extra_hint;
    if (near.empty() && hint.empty() && !names.empty() && names.size() <= 12) {
      hint = "the flow has: ";
      for (size_t i = 0; i < names.size(); ++i) hint += (i ? ", " : "") + names[i];
    }
    d_.Error(code, w.loc, Len(w), what, hint);
  }

  const ir::State* State(const Word& w, const char* role) {
    auto it = f_.states.find(w.text);
    if (it != f_.states.end()) return it->second;
    Unknown("unknown-state", w, "the flow " + m_.name + " has no state `" + w.text + "`" + role, Names(f_.states));
    return nullptr;
  }

  void StateOfKind(const Word& w, std::initializer_list<ir::State::Kind> kinds, const std::string& need) {
    const ir::State* s = State(w, "");
    if (s == nullptr) return;
    for (auto k : kinds)
      if (s->kind == k) return;
    std::vector<std::string> fitting;
    for (const auto& [n, st] : f_.states)
      for (auto k : kinds)
        if (st->kind == k) fitting.push_back(n);
    std::string hint = "the " + need + " states of the flow are: ";
    for (size_t i = 0; i < fitting.size(); ++i) hint += (i ? ", " : "") + fitting[i];
    if (fitting.empty()) hint = "the flow has no " + need + " state";
    d_.Error("wrong-state-kind", w.loc, Len(w), "`" + w.text + "` is a " + ir::KindName(s->kind) + " state, not " + (need == "approval" ? "an " : "a ") + need + " state", hint);
  }

  void Operation(const Word& c, const Word& o, bool undo) {
    std::string op = c.text + "." + o.text;
    const auto& set = undo ? f_.undo_operations : f_.operations;
    if (set.count(op)) return;
    Word w{op, c.loc};
    if (!undo && catalog_.Find(c.text) != nullptr && catalog_.Find(c.text)->Find(o.text) != nullptr) {
      d_.Error("operation-not-called", w.loc, Len(w), "the flow " + m_.name + " never calls " + op,
               "answers and expectations name operations that the flow's steps call");
      return;
    }
    Unknown(undo ? "unknown-undo" : "unknown-operation", w,
            undo ? "no step of " + m_.name + " calls " + op + " with an undo" : "the flow " + m_.name + " calls no operation " + op,
            Names(set));
  }

  void CheckValue(const ir::ExprPtr& e, SourceLoc loc, const char* what) {
    if (e == nullptr) return;
    auto v = EvaluateConstant(e, DefaultStartTime());
    if (!v.ok()) d_.Error("bad-value", e->loc.line ? e->loc : loc, 1, std::string(what) + ": " + v.status().message(),
                          "a scenario's values are constants: texts, numbers, true/false, lists [..] and records {..}; now() is the virtual clock");
  }

  void Input(const Scenario& s) {
    if (s.input == nullptr && s.input_file.text.empty()) {
      d_.Error("no-input", s.loc, 8, "the scenario \"" + s.title + "\" gives no input",
               "add `given input {field = value, ...}` with the flow's input fields");
      return;
    }
    if (s.input == nullptr) return;  // a fixture: checked when read
    if (s.input->kind != ir::Expr::Kind::kRecord) {
      d_.Error("bad-value", s.input->loc, 1, "the input is a record: {field = value, ...}");
      return;
    }
    CheckValue(s.input, s.loc, "the input");
    std::vector<std::string> names;
    for (const auto& in : m_.inputs) names.push_back(in.name);
    std::set<std::string> given;
    for (size_t i = 0; i < s.input->keys.size(); ++i) {
      const std::string& k = s.input->keys[i];
      given.insert(k);
      if (std::find(names.begin(), names.end(), k) == names.end()) {
        SourceLoc l = s.input->args[i] ? s.input->args[i]->loc : s.input->loc;
        Unknown("unknown-input", Word{k, l}, "the flow " + m_.name + " has no input `" + k + "`", names);
      }
    }
    for (const auto& in : m_.inputs)
      if (!in.optional && !given.count(in.name))
        d_.Error("missing-input", s.input->loc, 1, "the input has no `" + in.name + "` (" + in.type + "), which the flow needs",
                 "add " + in.name + " = ... to `given input`, or mark it optional in the flow");
  }

  void Scene(const Scenario& s) {
    Input(s);
    for (const auto& a : s.answers) {
      Operation(a.connector, a.operation, false);
      for (const auto& m : a.when) CheckValue(m.value, a.loc, "this value");
      for (const auto& o : a.outcomes) {
        if (o.ok) {
          CheckValue(o.value, o.loc, "this answer");
        } else if (std::find(ir::ErrorKinds().begin(), ir::ErrorKinds().end(), o.error_kind) == ir::ErrorKinds().end()) {
          Unknown("unknown-error-kind", Word{o.error_kind, o.loc}, "`" + o.error_kind + "` is not an error kind", ir::ErrorKinds(),
                  "write `with {...}` for a value");
        }
      }
    }
    for (const auto& act : s.actions) Act(act);
  }

  void Act(const Action& a) {
    using AK = Action::Kind;
    switch (a.kind) {
      case AK::kAfter: return;
      case AK::kApprove:
      case AK::kReject:
      case AK::kNobodyDecides:
        StateOfKind(a.state, {ir::State::Kind::kApproval}, "approval");
        if (a.kind != AK::kNobodyDecides && a.actor.empty())
          d_.Error("no-actor", a.loc, 7, "who decides?", "write `by \"name\"`");
        return;
      case AK::kEvent:
        if (!f_.events.count(a.event.text))
          Unknown("unknown-event", a.event, "the flow " + m_.name + " waits for no event `" + a.event.text + "`", Names(f_.events),
                  "the flow waits for no event at all");
        CheckValue(a.key, a.loc, "the key");
        CheckValue(a.data, a.loc, "the event's data");
        return;
      case AK::kExpect: Expect(a.expect); return;
    }
  }

  void Expect(const Expectation& x) {
    switch (x.kind) {
      case K::kEndsIn: StateOfKind(x.state, {ir::State::Kind::kFinish, ir::State::Kind::kFail}, "finish or fail"); return;
      case K::kFailsWith: StateOfKind(x.state, {ir::State::Kind::kFail}, "fail"); return;
      case K::kWaitsAt:
        StateOfKind(x.state, {ir::State::Kind::kApproval, ir::State::Kind::kWait, ir::State::Kind::kStep}, "approval, wait or step");
        return;
      case K::kTaskTitleIs:
      case K::kTaskDetailsIs: StateOfKind(x.state, {ir::State::Kind::kApproval}, "approval"); return;
      case K::kNeverReaches: State(x.state, ""); return;
      case K::kEscalates: {
        StateOfKind(x.state, {ir::State::Kind::kApproval}, "approval");
        if (State(x.target, "") == nullptr) return;
        auto it = f_.states.find(x.state.text);
        if (it != f_.states.end() && it->second->kind == ir::State::Kind::kApproval && it->second->escalate_to != x.target.text)
          d_.Error("wrong-escalation", x.target.loc, Len(x.target), "the deadline of " + x.state.text + " does not go to " + x.target.text,
                   it->second->escalate_to.empty() ? x.state.text + " has no deadline"
                                                   : x.state.text + " escalates to " + it->second->escalate_to);
        return;
      }
      case K::kPassesThrough:
        for (const auto& w : x.path) State(w, "");
        return;
      case K::kCalled:
        Operation(x.connector, x.operation, false);
        for (const auto& m : x.with) CheckValue(m.value, x.loc, "this value");
        return;
      case K::kUndone: Operation(x.connector, x.operation, true); return;
      case K::kStatusIs:
        if (!engine::ParseInstanceStatus(x.state.text)) Unknown("unknown-status", x.state, "`" + x.state.text + "` is not a status", engine::StatusNames());
        return;
      case K::kDataIs: CheckValue(x.value, x.loc, "the expected value"); return;
      case K::kIsCompensated:
      case K::kOutcomeIs: return;
    }
  }

  const ir::Machine& m_;
  const dsl::Catalog& catalog_;
  dsl::Diagnostics& d_;
  FlowFacts f_;
};

}  // namespace

Time DefaultStartTime() { return ParseTime("2026-11-27T08:00:00Z").value_or(Time{}); }

Result<Value> EvaluateConstant(const ir::ExprPtr& e, Time now) {
  if (e == nullptr) return Value();
  ir::Scope scope;
  scope.now = now;
  return ir::Evaluate(e, scope);
}

void CheckScenarios(const ScenarioFile& file, const ir::Machine& flow, const dsl::Catalog& catalog, dsl::Diagnostics& diags) {
  Checker(flow, catalog, diags).File(file);
  diags.Sort();
}

void ResolveFixtures(ScenarioFile& file, const std::function<Result<std::string>(const std::string&)>& read,
                     dsl::Diagnostics& diags) {
  for (auto& s : file.scenarios) {
    if (s.input_file.text.empty()) continue;
    auto text = read(s.input_file.text);
    if (!text.ok()) {
      diags.Error("bad-fixture", s.input_file.loc, static_cast<int>(s.input_file.text.size()) + 2,
                  "cannot read the fixture " + s.input_file.text + ": " + text.status().message(),
                  "the path is relative to the scenario file's folder");
      continue;
    }
    auto v = Value::FromJson(*text);
    if (!v.ok() || !v->is_record()) {
      diags.Error("bad-fixture", s.input_file.loc, static_cast<int>(s.input_file.text.size()) + 2,
                  "the fixture " + s.input_file.text + " is not a JSON object" + (v.ok() ? std::string() : ": " + v.status().message()),
                  "a fixture holds the flow's input as one JSON object");
      continue;
    }
    s.input_value = *v;
  }
  diags.Sort();
}

}  // namespace rf::testing
