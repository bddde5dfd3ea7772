#include "testing/runner.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <thread>

#include "common/time_text.h"
#include "engine/clock.h"
#include "engine/engine.h"
#include "state/keys.h"
#include "state/state_store.h"
#include "testing/src/path.h"
#include "testing/src/scripted_connector.h"

namespace rf::testing {
namespace {

using K = Expectation::Kind;

class OneRegistry : public engine::ConnectorRegistry {
 public:
  explicit OneRegistry(engine::Connector* c) : c_(c) {}
  engine::Connector* Find(const std::string&) override { return c_; }

 private:
  engine::Connector* c_;
};

std::string Text(const Value& v, std::string_view f) {
  const Value* x = v.Find(f);
  return x != nullptr && x->is_text() ? x->as_text() : std::string();
}

// One scenario on its own engine: nothing is shared between scenarios.
class Run {
 public:
  Run(const ir::Machine& flow, const std::string& source, const Scenario& s, const dsl::Catalog& catalog)
      : flow_(flow), source_(source), s_(s), start_(s.start_time.value_or(DefaultStartTime())), clock_(start_),
        connector_(s.answers, catalog, [this] { return clock_.Now(); }), registry_(&connector_) {}

  ScenarioResult Go() {
    auto wall0 = std::chrono::steady_clock::now();
    ScenarioResult r;
    r.title = s_.title;
    r.loc = s_.loc;
    Execute(r);
    Finish(r);
    r.wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - wall0).count();
    return r;
  }

 private:
  void Fail(ScenarioResult& r, SourceLoc loc, int length, std::string message) {
    if (!r.failure) r.failure = Failure{loc, std::max(1, length), std::move(message)};
  }

  void Execute(ScenarioResult& r) {
    Status f = state::keys::PrepareFormat(&store_);
    if (!f.ok()) return Fail(r, s_.loc, 8, "the memory store could not be prepared: " + f.message());
    io_thread_ = std::thread([this] { io_.run(); });
    engine::EngineOptions options;
    engine_ = std::make_unique<engine::Engine>(io_, &store_, &clock_, &registry_, options);
    Status rec = engine_->Recover();
    if (!rec.ok()) return Fail(r, s_.loc, 8, "the engine did not start: " + rec.message());
    auto dep = engine_->Deploy(flow_, source_);
    if (!dep.ok()) return Fail(r, s_.loc, 8, "the flow could not be deployed: " + dep.status().message());

    engine::StartRequest req;
    req.workflow = flow_.name;
    req.business_key = s_.business_key;
    if (s_.input_value) {
      req.input = *s_.input_value;
    } else {
      auto in = EvaluateConstant(s_.input, start_);
      if (!in.ok()) return Fail(r, s_.loc, 8, "the input: " + in.status().message());
      req.input = *in;
    }
    std::promise<Result<engine::StartResult>> p;
    engine_->Start(req, [&](Result<engine::StartResult> res) { p.set_value(std::move(res)); });
    auto started = p.get_future().get();
    if (!started.ok()) return Fail(r, s_.loc, 8, "the instance did not start: " + started.status().message());
    id_ = started->instance_id;
    Settle();
    for (const auto& a : s_.actions) {
      if (runaway_) break;
      if (!Act(r, a)) return;
    }
    if (runaway_)
      Fail(r, s_.loc, 8, "the flow kept running on its own through " + std::to_string(kMaxTimers) +
                             " timers without waiting for anyone (a loop?); the scenario was stopped at " + Where());
  }

  Value Instance() {
    auto v = engine_->GetInstance(id_);
    return v.ok() ? *v : Value();
  }

  // A person or an event must act: the runner does not move time on its own then.
  bool WaitsForTheWorld(const Value& inst) {
    const Value* threads = inst.Find("threads");
    if (threads == nullptr || !threads->is_list()) return false;
    for (const auto& t : threads->as_list()) {
      std::string phase = Text(t, "phase");
      if (phase == "task" || phase == "event") return true;
    }
    return false;
  }

  std::optional<Time> NextTimer() {
    std::optional<Time> due;
    (void)store_.ScanPrefix(state::keys::TimerPrefix(), [&](std::string_view k, std::string_view) {
      auto t = state::keys::ParseTimer(k);
      if (t && t->instance_id == id_) {
        due = t->due;
        return false;
      }
      return true;
    });
    return due;
  }

  // The engine's quiescence (nothing posted, no commit pending, no call in flight), sampled as
  // Engine::WaitSettled does (three quiet samples in a row) but every 20 µs instead of 200 µs: a
  // scenario waits for quiescence after every step of virtual time, so this is its wall time.
  void Quiesce() {
    for (int quiet = 0; quiet < 3;) {
      std::this_thread::sleep_for(std::chrono::microseconds(20));
      quiet = engine_->Busy() ? 0 : quiet + 1;
    }
  }

  void Tick() {
    engine_->Tick();
    Quiesce();
  }

  // Runs until the instance ends or waits for the world, moving the clock to each due timer. A
  // flow that keeps itself busy on timers (a polling loop) is stopped after kMaxTimers of them.
  static constexpr int kMaxTimers = 10000;
  void Settle() {
    Quiesce();
    for (int guard = 0; guard < kMaxTimers; ++guard) {
      Value inst = Instance();
      if (engine::IsTerminalStatus(Text(inst, "status")) || WaitsForTheWorld(inst)) return;
      auto due = NextTimer();
      if (!due) return;
      if (due->ms > clock_.Now().ms) clock_.Set(*due);
      Tick();
    }
    runaway_ = true;
  }

  // Moves the clock by `d`, firing every timer on the way at its own time.
  void Advance(Duration d) {
    Time target{clock_.Now().ms + d.ms};
    for (int guard = 0; guard < 100000; ++guard) {
      auto due = NextTimer();
      if (!due || due->ms > target.ms) break;
      if (due->ms > clock_.Now().ms) clock_.Set(*due);
      Tick();
      if (engine::IsTerminalStatus(Text(Instance(), "status"))) break;
    }
    if (target.ms > clock_.Now().ms) clock_.Set(target);
    Tick();
    Settle();
  }

  std::optional<Value> OpenTask(const std::string& state) {
    auto tasks = engine_->ListTasks("", "open", 100000);
    if (!tasks.ok()) return std::nullopt;
    for (const auto& t : *tasks)
      if (Text(t, "instance") == id_ && Text(t, "state") == state) return t;
    return std::nullopt;
  }
  std::optional<Value> LastTask(const std::string& state) {
    auto tasks = engine_->ListTasks("", "", 100000);
    if (!tasks.ok()) return std::nullopt;
    std::optional<Value> last;
    for (const auto& t : *tasks)
      if (Text(t, "instance") == id_ && Text(t, "state") == state) last = t;
    return last;
  }

  std::string Where() {
    Value inst = Instance();
    std::string st = Text(inst, "status");
    std::vector<std::string> at;
    if (const Value* th = inst.Find("threads"); th && th->is_list())
      for (const auto& t : th->as_list())
        if (Text(t, "phase") != "done") at.push_back(Text(t, "state"));
    std::string out = "the instance is " + st;
    if (!at.empty() && !engine::IsTerminalStatus(st)) {
      out += " at ";
      for (size_t i = 0; i < at.size(); ++i) out += (i ? ", " : "") + at[i];
    }
    return out;
  }

  bool Act(ScenarioResult& r, const Action& a) {
    using AK = Action::Kind;
    switch (a.kind) {
      case AK::kAfter: Advance(a.after); return true;
      case AK::kApprove:
      case AK::kReject: {
        auto task = OpenTask(a.state.text);
        if (!task) {
          Fail(r, a.state.loc, static_cast<int>(a.state.text.size()), "nobody is asked to decide at " + a.state.text + " now: " + Where());
          return false;
        }
        std::promise<Result<bool>> p;
        engine_->CompleteTask({Text(*task, "id"), a.kind == AK::kApprove ? "approve" : "reject", a.actor, a.comment},
                              [&](Result<bool> res) { p.set_value(std::move(res)); });
        auto done = p.get_future().get();
        if (!done.ok()) {
          Fail(r, a.loc, 7, "the decision was refused: " + done.status().message());
          return false;
        }
        Settle();
        return true;
      }
      case AK::kNobodyDecides: {
        auto task = OpenTask(a.state.text);
        if (!task) {
          Fail(r, a.state.loc, static_cast<int>(a.state.text.size()), "nobody is asked to decide at " + a.state.text + " now: " + Where());
          return false;
        }
        const Value* dl = task->Find("deadline");
        if (dl == nullptr || !dl->is_time()) {
          Fail(r, a.loc, 6, a.state.text + " has no deadline: with nobody deciding it waits for ever");
          return false;
        }
        Duration d{dl->as_time().ms - clock_.Now().ms};
        Advance(Duration{std::max<std::int64_t>(d.ms, 0)});
        return true;
      }
      case AK::kEvent: {
        auto key = EvaluateConstant(a.key, clock_.Now());
        auto data = a.data ? EvaluateConstant(a.data, clock_.Now()) : Result<Value>(Value(Record{}));
        if (!key.ok() || !data.ok()) {
          Fail(r, a.loc, 5, "the event's key or data: " + (key.ok() ? data.status().message() : key.status().message()));
          return false;
        }
        std::promise<Result<int>> p;
        engine_->DeliverEvent(a.event.text, key->ToDisplayString(), *data, [&](Result<int> res) { p.set_value(std::move(res)); });
        auto done = p.get_future().get();
        if (!done.ok()) {
          Fail(r, a.loc, 5, "the event was refused: " + done.status().message());
          return false;
        }
        Settle();
        return true;
      }
      case AK::kExpect: {
        ++r.expectations;
        std::string why = Check(a.expect);
        if (!why.empty()) {
          Fail(r, a.expect.loc, a.expect.length, "expected " + a.expect.source.substr(7) + ", but " + why);
          return false;
        }
        return true;
      }
    }
    return true;
  }

  // "" when the expectation holds; otherwise what was found instead.
  std::string Check(const Expectation& x) {
    Value inst = Instance();
    std::string status = Text(inst, "status");
    std::vector<Value> hist;
    if (auto h = engine_->GetHistory(id_); h.ok()) hist = *h;
    Path path = PathOf(flow_, hist, inst);
    switch (x.kind) {
      case K::kEndsIn:
      case K::kFailsWith: {
        if (!engine::IsTerminalStatus(status)) return Where();
        if (path.final_state == x.state.text) {
          if (x.kind == K::kFailsWith && status == "completed") return "it completed";
          return "";
        }
        return "it ended in " + (path.final_state.empty() ? std::string("no state (" + status + ")") : path.final_state) + " (" + status + ")";
      }
      case K::kIsCompensated: return status == "compensated" ? "" : Where();
      case K::kStatusIs: return status == x.state.text ? "" : "the status is " + status;
      case K::kWaitsAt: {
        if (const Value* th = inst.Find("threads"); th && th->is_list() && status == "waiting")
          for (const auto& t : th->as_list())
            if (Text(t, "state") == x.state.text && Text(t, "phase") != "done") return "";
        return Where();
      }
      case K::kPassesThrough: {
        size_t k = 0;
        for (const auto& st : path.order)
          if (k < x.path.size() && st == x.path[k].text) ++k;
        if (k == x.path.size()) return "";
        std::string went;
        for (size_t i = 0; i < path.order.size(); ++i) went += (i ? " then " : "") + path.order[i];
        return "it did not pass through " + x.path[k].text + (k > 0 ? " after " + x.path[k - 1].text : "") + "; it went " + went;
      }
      case K::kNeverReaches:
        return path.states.count(x.state.text) ? "it reached " + x.state.text : "";
      case K::kCalled: {
        std::string op = x.connector.text + "." + x.operation.text;
        int n = 0;
        for (const auto& c : connector_.calls()) {
          if (c.op != op || c.undo) continue;
          bool all = true;
          for (const auto& m : x.with) {
            auto v = EvaluateConstant(m.value, clock_.Now());
            if (!v.ok() || !InputMatches(c.input, m.path.text, *v)) all = false;
          }
          n += all ? 1 : 0;
        }
        if (n == x.times) return "";
        std::string extra;
        if (!x.with.empty()) {
          for (const auto& c : connector_.calls())
            if (c.op == op && !c.undo) {
              extra = " (its first call had " + c.input.ToJson() + ")";
              break;
            }
        }
        return "it was called " + std::to_string(n) + (n == 1 ? " time" : " times") + extra;
      }
      case K::kUndone: {
        std::string op = x.connector.text + "." + x.operation.text;
        for (const auto& u : path.undone) if (StepOp(u) == op) return "";
        return path.undone.empty() ? "nothing was undone" : "only " + Join(path.undone) + " were undone";
      }
      case K::kOutcomeIs: {
        std::string o = Text(inst, "outcome");
        return o == x.text ? "" : "the outcome is \"" + o + "\"";
      }
      case K::kTaskTitleIs:
      case K::kTaskDetailsIs: {
        auto t = LastTask(x.state.text);
        if (!t) return "nobody was asked at " + x.state.text;
        std::string got = Text(*t, x.kind == K::kTaskTitleIs ? "title" : "details");
        return got == x.text ? "" : "it is \"" + got + "\"";
      }
      case K::kEscalates: {
        std::optional<Time> asked, escalated;
        std::string to;
        for (const auto& e : hist) {
          const Value* at = e.Find("at");
          if (at == nullptr || !at->is_time() || Text(e, "state") != x.state.text) continue;
          if (Text(e, "type") == "task_created" && !asked) asked = at->as_time();
          if (Text(e, "type") == "approval_escalated" && !escalated) {
            escalated = at->as_time();
            to = Text(e, "to");
          }
        }
        if (!asked) return "nobody was asked at " + x.state.text;
        if (!escalated) return x.state.text + " did not escalate: " + Where();
        if (to != x.target.text) return "it escalated to " + to;
        Duration took{escalated->ms - asked->ms};
        if (took.ms != x.after.ms) return "it escalated after " + FormatDuration(took);
        return "";
      }
      case K::kDataIs: {
        const Value* d = inst.Find("data");
        auto want = EvaluateConstant(x.value, clock_.Now());
        if (!want.ok()) return want.status().message();
        if (d != nullptr && InputMatches(*d, x.field.text, *want)) return "";
        const Value* v = d;
        for (size_t start = 0; v != nullptr;) {
          size_t dot = x.field.text.find('.', start);
          v = v->Find(x.field.text.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
          if (dot == std::string::npos) break;
          start = dot + 1;
        }
        return v == nullptr ? x.field.text + " is not set" : x.field.text + " is " + v->ToJson();
      }
    }
    return "";
  }

  std::string StepOp(const std::string& step) {
    const ir::State* s = FindState(flow_.main, step);
    return s ? s->call.connector + "." + s->call.operation : std::string();
  }
  static std::string Join(const std::vector<std::string>& v) {
    std::string out;
    for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + v[i];
    return out;
  }

  void Finish(ScenarioResult& r) {
    if (engine_ != nullptr && !id_.empty()) {
      Quiesce();
      Value inst = Instance();
      r.status = Text(inst, "status");
      r.outcome = Text(inst, "outcome");
      std::vector<Value> hist;
      if (auto h = engine_->GetHistory(id_); h.ok()) hist = *h;
      Path path = PathOf(flow_, hist, inst);
      r.visits = path.visits;
      r.trace = TraceOf(hist, start_);
      std::string missing = connector_.unanswered();
      if (!missing.empty())
        Fail(r, s_.loc, 8, "the flow called " + missing + ", but the scenario gives no answer for it and the catalog declares no outputs; add `answer " + missing + " with {...}`");
    }
    r.virtual_time = Duration{clock_.Now().ms - start_.ms};
    r.passed = !r.failure.has_value();
    if (engine_ != nullptr) {
      engine_->WaitSettled();
      engine_.reset();
    }
    work_.reset();
    if (io_thread_.joinable()) io_thread_.join();
  }

  const ir::Machine& flow_;
  const std::string& source_;
  const Scenario& s_;
  Time start_;
  engine::ManualClock clock_;
  state::MemoryStore store_;
  ScriptedConnector connector_;
  OneRegistry registry_;
  boost::asio::io_context io_;
  std::unique_ptr<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_ =
      std::make_unique<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>(io_.get_executor());
  std::thread io_thread_;
  std::unique_ptr<engine::Engine> engine_;
  std::string id_;
  bool runaway_ = false;
};

}  // namespace

ScenarioResult RunScenario(const ir::Machine& flow, const std::string& flow_source, const Scenario& scenario,
                           const dsl::Catalog& catalog) {
  return Run(flow, flow_source, scenario, catalog).Go();
}

}  // namespace rf::testing
