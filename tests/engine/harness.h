// A reusable harness for engine tests: compiles real .flow text against a small catalog, runs an
// Engine on a given StateStore with a ManualClock and in-process TestConnectors, and offers
// blocking helpers for every stimulus (start, event, task, cancel, tick).
//
// Each engine "incarnation" gets its own io_context and thread, so a restart (Shutdown + Boot)
// destroys everything the old engine posted before the new one starts; connectors and the clock
// survive restarts (they model the outside world).
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/time_text.h"
#include "dsl/compiler.h"
#include "engine/engine.h"
#include "engine/test_connector.h"
#include "state/keys.h"
#include "state/leveldb_store.h"
#include "state/state_store.h"

namespace rf::engine::testing {

inline constexpr std::int64_t kSecond = 1000;
inline constexpr std::int64_t kMinute = 60 * kSecond;
inline constexpr std::int64_t kHour = 60 * kMinute;
inline constexpr std::int64_t kDay = 24 * kHour;

inline const char* kCatalogJson = R"({"format": "retailflow.catalog/1", "connectors": [
  {"name": "shop", "operations": [
    {"name": "reserve", "writes": "stock"}, {"name": "release", "writes": "stock"},
    {"name": "charge", "writes": "accounting"}, {"name": "refund", "writes": "accounting"},
    {"name": "ship", "writes": "shipping"}, {"name": "unship", "writes": "shipping"},
    {"name": "lookup", "side_effects": false}, {"name": "slow", "side_effects": false}]},
  {"name": "notify", "operations": [{"name": "send", "compensable": false}]}]})";

// Compiles `source`; on failure returns nullopt and puts the rendered diagnostics in `errors`.
inline std::optional<ir::Machine> CompileFlow(const std::string& source, std::string* errors) {
  dsl::Catalog catalog;
  Status cs = catalog.AddJson(kCatalogJson, "test");
  if (!cs.ok()) {
    if (errors) *errors = "catalog: " + cs.message();
    return std::nullopt;
  }
  dsl::Diagnostics diags;
  auto m = dsl::CompileSource(source, catalog, diags);
  std::string all;
  for (const auto& d : diags.all()) all += dsl::RenderText(d, "test.flow", source);
  if (errors) *errors = all;
  return m;
}

inline Time T(const std::string& iso) {
  auto t = ParseTime(iso);
  EXPECT_TRUE(t.has_value()) << iso;
  return t.value_or(Time{});
}

inline Value J(const std::string& json) {
  auto v = Value::FromJson(json);
  EXPECT_TRUE(v.ok()) << json;
  return v.ok() ? *v : Value();
}

inline std::string TextOf(const Value& v, std::string_view field) {
  const Value* f = v.Find(field);
  return f != nullptr && f->is_text() ? f->as_text() : std::string();
}

inline std::int64_t IntOf(const Value* v, std::int64_t fallback = -1) {
  if (v == nullptr || !v->is_number()) return fallback;
  return v->as_number().ToInt64().value_or(fallback);
}

// A temporary directory removed (recursively) when the object goes away.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    auto base = std::filesystem::temp_directory_path();
    for (int i = 0; i < 100; ++i) {
      auto p = base / ("rf_engine_test_" + std::to_string(rd()) + "_" + std::to_string(i));
      std::error_code ec;
      if (std::filesystem::create_directory(p, ec)) {
        path_ = p;
        return;
      }
    }
    ADD_FAILURE() << "cannot create a temp dir";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

inline std::unique_ptr<state::StateStore> OpenDb(const std::string& dir) {
  state::LevelDbOptions o;
  o.sync = false;  // a clean close keeps everything; tests do not simulate power loss
  auto s = state::OpenLevelDb(dir, o);
  EXPECT_TRUE(s.ok()) << s.status().message();
  if (!s.ok()) return nullptr;
  Status f = state::keys::PrepareFormat(s->get());
  EXPECT_TRUE(f.ok()) << f.message();
  return std::move(*s);
}

// A connector that holds every call until the test releases it, one at a time and in any order;
// it remembers how many calls were outstanding at most. Answers with `answer` (default: success
// with the call's input echoed under "echo").
class GateConnector : public Connector {
 public:
  using Handler = std::function<CallResult(const Invocation&)>;
  void Invoke(const Invocation& call, std::function<void(CallResult)> done) override {
    std::lock_guard lock(mu_);
    pending_.emplace_back(call, std::move(done));
    all_.push_back(call);
    max_pending_ = std::max(max_pending_, pending_.size());
  }
  size_t pending() const {
    std::lock_guard lock(mu_);
    return pending_.size();
  }
  size_t max_pending() const {
    std::lock_guard lock(mu_);
    return max_pending_;
  }
  std::vector<Invocation> all() const {
    std::lock_guard lock(mu_);
    return all_;
  }
  std::vector<Invocation> pending_calls() const {
    std::lock_guard lock(mu_);
    std::vector<Invocation> out;
    for (const auto& [c, _] : pending_) out.push_back(c);
    return out;
  }
  void SetAnswer(Handler h) {
    std::lock_guard lock(mu_);
    answer_ = std::move(h);
  }
  // Answers the pending call at `index` (0 = oldest; -1 = newest). False when none is pending.
  bool ReleaseAt(int index, std::optional<CallResult> result = std::nullopt) {
    std::pair<Invocation, std::function<void(CallResult)>> call;
    Handler answer;
    {
      std::lock_guard lock(mu_);
      if (pending_.empty()) return false;
      size_t i = index < 0 ? pending_.size() - 1 : static_cast<size_t>(index);
      if (i >= pending_.size()) return false;
      call = std::move(pending_[i]);
      pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(i));
      answer = answer_;
    }
    CallResult r;
    if (result) {
      r = *result;
    } else if (answer) {
      r = answer(call.first);
    } else {
      Record out;
      out["echo"] = call.first.input;
      r = CallResult::Success(Value(std::move(out)));
    }
    call.second(std::move(r));
    return true;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::pair<Invocation, std::function<void(CallResult)>>> pending_;
  std::vector<Invocation> all_;
  size_t max_pending_ = 0;
  Handler answer_;
};

// A store whose commits can be held back (blocked) until the test opens the gate: "the commit is
// in flight". Reads pass through.
class GatedStore : public state::StateStore {
 public:
  explicit GatedStore(state::StateStore* target) : target_(target) {}
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  void Open() {
    {
      std::lock_guard lock(mu_);
      closed_ = false;
    }
    cv_.notify_all();
  }
  // Commits currently blocked at the gate.
  int waiting() const {
    std::lock_guard lock(mu_);
    return waiting_;
  }
  rf::Status Commit(const state::WriteBatch& batch) override {
    {
      std::unique_lock lock(mu_);
      ++waiting_;
      cv_.wait(lock, [&] { return !closed_; });
      --waiting_;
    }
    return target_->Commit(batch);
  }
  rf::Status Get(std::string_view key, std::string* value) override { return target_->Get(key, value); }
  rf::Status Scan(std::string_view begin, std::string_view end, const state::ScanFn& fn) override {
    return target_->Scan(begin, end, fn);
  }

 private:
  state::StateStore* target_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool closed_ = false;
  int waiting_ = 0;
};

class EngineHarness {
 public:
  explicit EngineHarness(state::StateStore* store, EngineOptions options = {},
                         Time start = T("2026-11-27T08:00:00Z"))
      : store_(store), clock_(start), options_(options) {
    registry_.Add("shop", &shop_);
    registry_.Add("notify", &notify_);
    Boot();
  }
  ~EngineHarness() { Shutdown(); }
  EngineHarness(const EngineHarness&) = delete;
  EngineHarness& operator=(const EngineHarness&) = delete;

  // Starts a new engine incarnation on store_ and recovers it.
  void Boot() {
    io_ = std::make_unique<boost::asio::io_context>();
    work_ = std::make_unique<Guard>(io_->get_executor());
    io_thread_ = std::thread([io = io_.get()] { io->run(); });
    engine_ = std::make_unique<Engine>(*io_, store_, &clock_, &registry_, options_);
    recover_status_ = engine_->Recover();
    EXPECT_TRUE(recover_status_.ok()) << recover_status_.message();
  }

  // Destroys the engine and everything it posted. Held connector calls stay held (their answer
  // callbacks then find the engine gone).
  void Shutdown() {
    if (!engine_) return;
    engine_->WaitSettled();
    engine_.reset();
    work_.reset();
    io_thread_.join();
    io_.reset();
  }

  // Restart on the same store, or on `store` (e.g. a reopened LevelDB).
  void Restart(state::StateStore* store = nullptr) {
    Shutdown();
    if (store != nullptr) store_ = store;
    Boot();
  }

  Engine& engine() { return *engine_; }

  Result<DeployResult> TryDeploy(const std::string& source) {
    std::string errors;
    auto m = CompileFlow(source, &errors);
    if (!m) return rf::Status::InvalidArgument("does not compile:\n" + errors);
    return engine_->Deploy(*m, source);
  }
  void Deploy(const std::string& source) {
    auto r = TryDeploy(source);
    ASSERT_TRUE(r.ok()) << r.status().message();
  }

  // Start without waiting for anything.
  std::future<Result<StartResult>> StartAsync(StartRequest req) {
    auto p = std::make_shared<std::promise<Result<StartResult>>>();
    auto f = p->get_future();
    engine_->Start(std::move(req), [p](Result<StartResult> r) { p->set_value(std::move(r)); });
    return f;
  }
  static StartRequest Req(const std::string& wf, const std::string& input_json, const std::string& key = "") {
    StartRequest req;
    req.workflow = wf;
    req.input = J(input_json);
    req.business_key = key;
    return req;
  }
  Result<StartResult> TryStart(StartRequest req) {
    auto r = StartAsync(std::move(req)).get();
    engine_->WaitSettled();
    return r;
  }
  std::string Start(const std::string& wf, const std::string& input_json, const std::string& key = "") {
    auto r = TryStart(Req(wf, input_json, key));
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? r->instance_id : "";
  }

  void Settle() { engine_->WaitSettled(); }

  Value Instance(const std::string& id) {
    auto v = engine_->GetInstance(id);
    EXPECT_TRUE(v.ok()) << id << ": " << v.status().message();
    return v.ok() ? *v : Value();
  }
  std::string Status(const std::string& id) { return TextOf(Instance(id), "status"); }
  std::string Outcome(const std::string& id) { return TextOf(Instance(id), "outcome"); }
  Value Data(const std::string& id, const std::string& name) {
    Value in = Instance(id);
    const Value* d = in.Find("data");
    const Value* v = d ? d->Find(name) : nullptr;
    return v ? *v : Value();
  }

  std::vector<Value> History(const std::string& id) {
    auto h = engine_->GetHistory(id);
    EXPECT_TRUE(h.ok()) << h.status().message();
    return h.ok() ? *h : std::vector<Value>{};
  }
  std::vector<std::string> HistoryTypes(const std::string& id) {
    std::vector<std::string> out;
    for (const auto& e : History(id)) out.push_back(TextOf(e, "type"));
    return out;
  }
  int CountHistory(const std::string& id, const std::string& type) {
    int n = 0;
    for (const auto& t : HistoryTypes(id)) n += t == type ? 1 : 0;
    return n;
  }

  // Moves the clock and lets the engine fire what is due (twice: timers armed by the first
  // round that are already due fire in the second). Does not wait for held calls.
  void Advance(Duration d) {
    clock_.Advance(d);
    TickNow();
  }
  void AdvanceMs(std::int64_t ms) { Advance(Duration{ms}); }
  void SetTime(Time t) {
    clock_.Set(t);
    TickNow();
  }
  void TickNow() {
    engine_->Tick();
    engine_->WaitSettled();
    engine_->Tick();
    engine_->WaitSettled();
  }

  Result<int> TryDeliver(const std::string& ev, const std::string& key, const std::string& json = "{}") {
    std::promise<Result<int>> p;
    engine_->DeliverEvent(ev, key, J(json), [&](Result<int> r) { p.set_value(std::move(r)); });
    auto r = p.get_future().get();
    engine_->WaitSettled();
    return r;
  }
  int Deliver(const std::string& ev, const std::string& key, const std::string& json = "{}") {
    auto r = TryDeliver(ev, key, json);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : -1;
  }

  Result<bool> Decide(const std::string& task, const std::string& decision, const std::string& actor = "ann",
                      const std::string& comment = "ok") {
    std::promise<Result<bool>> p;
    engine_->CompleteTask({task, decision, actor, comment}, [&](Result<bool> r) { p.set_value(std::move(r)); });
    auto r = p.get_future().get();
    engine_->WaitSettled();
    return r;
  }

  Result<bool> Cancel(const std::string& id, const std::string& reason = "operator") {
    std::promise<Result<bool>> p;
    engine_->Cancel(id, reason, [&](Result<bool> r) { p.set_value(std::move(r)); });
    auto r = p.get_future().get();
    engine_->WaitSettled();
    return r;
  }

  std::vector<Value> OpenTasks(const std::string& role) {
    auto t = engine_->ListOpenTasks(role);
    EXPECT_TRUE(t.ok()) << t.status().message();
    return t.ok() ? *t : std::vector<Value>{};
  }
  std::vector<Value> DeadLetters() {
    auto d = engine_->ListDeadLetters();
    EXPECT_TRUE(d.ok()) << d.status().message();
    return d.ok() ? *d : std::vector<Value>{};
  }
  std::vector<Value> Instances(const std::string& status, size_t limit = 100000) {
    auto l = engine_->ListInstances(status, limit);
    EXPECT_TRUE(l.ok()) << l.status().message();
    return l.ok() ? *l : std::vector<Value>{};
  }

  // Raw store access (for checking the key layout and that failed commits left nothing).
  bool HasKey(const std::string& key) {
    std::string v;
    return store_->Get(key, &v).ok();
  }
  std::vector<std::string> Keys(const std::string& prefix) {
    std::vector<std::string> out;
    (void)store_->ScanPrefix(prefix, [&](std::string_view k, std::string_view) {
      out.emplace_back(k);
      return true;
    });
    return out;
  }
  // Every key/value of the store, for "nothing changed" comparisons.
  std::vector<std::pair<std::string, std::string>> Dump() {
    std::vector<std::pair<std::string, std::string>> out;
    (void)store_->Scan("", "", [&](std::string_view k, std::string_view v) {
      out.emplace_back(std::string(k), std::string(v));
      return true;
    });
    return out;
  }

  // Idempotency keys of the invocations of `operation`, in dispatch order.
  std::vector<Invocation> Calls(TestConnector& c, const std::string& operation) {
    std::vector<Invocation> out;
    for (auto& inv : c.invocations())
      if (inv.operation == operation) out.push_back(inv);
    return out;
  }

  // Polls (bounded) until `pred` holds; for held calls whose dispatch races the test thread.
  template <typename Pred>
  bool Eventually(Pred pred) {
    for (int i = 0; i < 20000; ++i) {
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    return pred();
  }

  using Guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;

  state::StateStore* store_;
  ManualClock clock_;
  EngineOptions options_;
  TestConnector shop_, notify_;
  TestRegistry registry_;
  rf::Status recover_status_;
  std::unique_ptr<boost::asio::io_context> io_;
  std::unique_ptr<Guard> work_;
  std::thread io_thread_;
  std::unique_ptr<Engine> engine_;
};

}  // namespace rf::engine::testing
