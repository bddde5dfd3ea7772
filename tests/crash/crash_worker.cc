// rf_crash_worker DIR RUN: the engine as a separate process under a mixed load, meant to be
// killed with SIGKILL at any moment and restarted (tests/crash/crash_test.cc does that; RUN
// numbers its runs 1, 2, ...).
//
//   DIR/engine     the engine's LevelDB (sync = true), SystemClock, ticking every 20ms
//   DIR/effects    the `sim` connector's own LevelDB: the downstream system's durable effects
//   DIR/epoch      written by the test: the monotonic time the planned starts are spread from
//   DIR/plan_size  written by the test once it stops killing: the plan's size (until then, new
//                  instances keep arriving, see crash_plan.h)
//   DIR/at_start   one line per run: what the store held when it began (ReportStoreAtStart)
//   DIR/done       written once the plan is closed and all of it is terminal; the worker idles
//
// The `sim` connector behaves like a real downstream system that honours idempotency keys: an
// invocation whose key it has seen gets the stored answer back and nothing is applied again;
// otherwise it writes the effect {key, op, instance, count, seq, ...} with sync = true and only
// then answers. Answers come after a small pseudo-random delay on its own thread (never blocking
// the engine), and some attempts fail with `unavailable` (deterministic by key and attempt, at
// most the first two attempts) so that retries and undo retries happen.
//
// The driver (main thread) repeats, on every run, until every planned instance is terminal:
// start each planned instance when its time has come (idempotent by business key; instances
// already terminal are skipped by the status index), deliver its
// event as planned (before the start, right after it, or once the instance waits) unless the
// engine's committed state shows it was delivered already, and decide the open approvals as
// planned (a task completed meanwhile answers FailedPrecondition, which is fine).
//
// `rf_crash_worker --check` only compiles the flows and prints their diagnostics;
// `rf_crash_worker --dump DIR PREFIX` prints the engine's keys under PREFIX (a kept directory).
#include <fcntl.h>
#include <leveldb/db.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <future>
#include <iostream>
#include <map>
#include <mutex>
#include <queue>
#include <set>
#include <thread>

#include "dsl/compiler.h"
#include "engine/engine.h"
#include "engine/test_connector.h"
#include "state/keys.h"
#include "state/leveldb_store.h"
#include "state/state_store.h"
#include "tests/crash/crash_plan.h"

namespace rf::crash {
namespace {

using engine::CallResult;
using engine::Invocation;
using SteadyTime = std::chrono::steady_clock::time_point;

[[noreturn]] void Die(const std::string& what) {
  std::cerr << "rf_crash_worker: fatal: " << what << std::endl;
  std::_Exit(2);
}

std::uint64_t Fnv(const std::string& s) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string TextOf(const Value* v) { return v != nullptr && v->is_text() ? v->as_text() : std::string(); }

// ------------------------------------------------------------------------------ the connector

class SimConnector : public engine::Connector {
 public:
  explicit SimConnector(leveldb::DB* db) : db_(db) {
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
    for (it->Seek("e/"); it->Valid() && it->key().starts_with("e/"); it->Next()) {
      auto v = Value::FromJson(it->value().ToString());
      if (!v.ok()) Die("effects: unreadable record " + it->key().ToString());
      const Value* seq = v->Find("seq");
      if (seq != nullptr && seq->is_number()) next_seq_ = std::max(next_seq_, seq->as_number().ToInt64().value_or(0));
    }
    thread_ = std::thread([this] { Run(); });
  }
  ~SimConnector() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  void Invoke(const Invocation& call, std::function<void(CallResult)> done) override {
    const auto delay = std::chrono::milliseconds(Fnv("delay#" + call.idempotency_key + "#" + std::to_string(call.attempt)) % 6);
    {
      std::lock_guard lock(mu_);
      queue_.push(Item{std::chrono::steady_clock::now() + delay, ++order_, call, std::move(done)});
    }
    cv_.notify_one();
  }

 private:
  struct Item {
    SteadyTime due;
    std::uint64_t order;
    Invocation call;
    std::function<void(CallResult)> done;
    bool operator>(const Item& o) const { return due != o.due ? due > o.due : order > o.order; }
  };

  void Run() {
    std::unique_lock lock(mu_);
    while (!stop_) {
      if (queue_.empty()) {
        cv_.wait(lock);
        continue;
      }
      if (queue_.top().due > std::chrono::steady_clock::now()) {
        cv_.wait_until(lock, queue_.top().due);
        continue;
      }
      Item item = queue_.top();
      queue_.pop();
      lock.unlock();
      CallResult r = Handle(item.call);
      item.done(std::move(r));
      lock.lock();
    }
  }

  // Runs on the connector's single thread, so look-up-then-apply is atomic per key.
  CallResult Handle(const Invocation& call) {
    const std::string& key = call.idempotency_key;
    if (key.empty()) Die("an invocation without idempotency key: " + call.operation);
    if (call.attempt <= 2 && Fnv("outage#" + key + "#" + std::to_string(call.attempt)) % 4 == 0)
      return CallResult::Failure("unavailable", "sim: injected outage");
    std::string stored;
    leveldb::Status s = db_->Get(leveldb::ReadOptions(), "e/" + key, &stored);
    if (s.ok()) {
      auto v = Value::FromJson(stored);
      if (!v.ok() || v->Find("answer") == nullptr) Die("effects: unreadable record for " + key);
      const Value* op = v->Find("op");
      if (op == nullptr || !op->is_text() || op->as_text() != call.operation)
        Die("idempotency key " + key + " reused for another operation: " + call.operation);
      // Count the replay (not an effect): shows the crash windows were hit.
      std::string replays = "0";
      (void)db_->Get(leveldb::ReadOptions(), "r/" + key, &replays);
      (void)db_->Put(leveldb::WriteOptions(), "r/" + key, std::to_string(std::atoi(replays.c_str()) + 1));
      return CallResult::Success(*v->Find("answer"));
    }
    if (!s.IsNotFound()) Die("effects: " + s.ToString());
    const std::string ref = TextOf(call.input.Find("ref"));
    // Business refusals: nothing is applied.
    if (call.operation == "ship" && TextOf(call.input.Find("mode")) == "fail")
      return CallResult::Failure("rejected", "sim: ship refused for " + ref);
    if (call.operation == "post" && TextOf(call.input.Find("sku")) == "BAD")
      return CallResult::Failure("conflict", "sim: sku BAD refused for " + ref);
    Record answer;
    answer["key"] = Value(key);
    answer["op"] = Value(call.operation);
    answer["ref"] = Value(ref);
    Record rec;
    rec["key"] = Value(key);
    rec["op"] = Value(call.operation);
    rec["instance"] = Value(call.instance_id);
    rec["count"] = Value(1);
    rec["seq"] = Value(++next_seq_);
    rec["attempt"] = Value(std::int64_t{call.attempt});
    rec["input"] = call.input;
    rec["answer"] = Value(answer);
    leveldb::WriteOptions sync;
    sync.sync = true;
    s = db_->Put(sync, "e/" + key, Value(std::move(rec)).ToJson());
    if (!s.ok()) Die("effects: " + s.ToString());
    return CallResult::Success(Value(std::move(answer)));
  }

  leveldb::DB* db_;
  std::int64_t next_seq_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::priority_queue<Item, std::vector<Item>, std::greater<>> queue_;
  std::uint64_t order_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

// ------------------------------------------------------------------------------------ flows

std::vector<std::pair<ir::Machine, std::string>> CompileFlows(bool print) {
  dsl::Catalog catalog;
  Status s = catalog.AddJson(kCatalog, "crash catalog");
  if (!s.ok()) Die("catalog: " + s.message());
  std::vector<std::pair<ir::Machine, std::string>> out;
  for (const char* source : {kOrderFlow, kFanoutFlow}) {
    dsl::Diagnostics diags;
    auto m = dsl::CompileSource(source, catalog, diags);
    std::string all;
    for (const auto& d : diags.all()) all += dsl::RenderText(d, "crash.flow", source);
    if (print || !m) std::cerr << all;
    if (!m) Die("a crash test flow does not compile");
    out.emplace_back(std::move(*m), source);
  }
  return out;
}

void WriteFileAtomically(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) Die("cannot write " + tmp);
  if (::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) Die("cannot write " + tmp);
  ::fsync(fd);
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) Die("cannot rename " + tmp);
}

bool ReadFile(const std::string& path, std::string* out) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return false;
  out->clear();
  char buf[256];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out->append(buf, static_cast<size_t>(n));
  ::close(fd);
  return true;
}

// ----------------------------------------------------------------------------------- driver

class Driver {
 public:
  Driver(engine::Engine* e, state::StateStore* store) : engine_(e), store_(store) {
    // Instances already terminal (from earlier runs) are known from the status index, so a
    // restart does not look at each of them again.
    for (const std::string& st : engine::StatusNames()) {
      if (!engine::IsTerminalStatus(st)) continue;
      const std::string prefix = state::keys::StatusIndexPrefix(st);
      Status s = store_->ScanPrefix(prefix, [&](std::string_view k, std::string_view) {
        if (auto id = state::keys::IndexedInstance(k, prefix)) terminal_ids_.insert(*id);
        return true;
      });
      if (!s.ok()) Die("scan " + prefix + ": " + s.message());
    }
  }

  // One pass over the instances due by now (at most `limit`, the closed plan's size, or no limit
  // while the plan is open). True when the plan is closed and every instance of it is terminal.
  bool Pass(std::int64_t epoch_ms, int limit) {
    const int due = std::min(limit, DueCount(MonotonicMs() - epoch_ms));
    std::vector<const PlanEntry*> to_start;
    while (static_cast<int>(plan_.size()) < due) {
      plan_.push_back(MakeEntry(static_cast<int>(plan_.size()) + 1));
      const PlanEntry& e = plan_.back();
      std::string id;
      if (store_->Get(state::keys::BusinessKey(e.workflow, e.key()), &id).ok() && terminal_ids_.count(id) != 0) {
        ids_[e.n] = id;  // done in an earlier run
        continue;
      }
      // Early events first: they must be buffered before their instance exists.
      if (e.event_mode == "early" && !EventDelivered(e)) Deliver(e);
      to_start.push_back(&e);  // idempotent by business key if an earlier run started it
      open_.insert(e.n);
    }
    StartAll(to_start);
    for (auto it = open_.begin(); it != open_.end();) {
      const PlanEntry& e = plan_[static_cast<size_t>(*it - 1)];
      auto inst = engine_->GetInstance(ids_.at(e.n));
      if (!inst.ok()) Die("instance " + ids_.at(e.n) + " of " + e.key() + ": " + inst.status().message());
      if (engine::IsTerminalStatus(TextOf(inst->Find("status")))) {
        it = open_.erase(it);
        continue;
      }
      ++it;
      if (!e.wants_event() || delivered_.count(e.n) != 0) continue;
      if (e.event_mode == "during" || (e.event_mode == "late" && WaitsForEvent(*inst))) {
        if (!EventDelivered(e)) Deliver(e);
      }
    }
    DecideTasks();
    return due == limit && open_.empty();
  }

 private:
  static bool WaitsForEvent(const Value& inst) {
    const Value* threads = inst.Find("threads");
    if (threads == nullptr || !threads->is_list()) return false;
    for (const auto& t : threads->as_list())
      if (TextOf(t.Find("phase")) == "event") return true;
    return false;
  }

  // From the engine's committed state: buffered and not yet taken, or received by the instance.
  bool EventDelivered(const PlanEntry& e) {
    if (delivered_.count(e.n) != 0) return true;
    bool found = false;
    Status s = store_->ScanPrefix(state::keys::BufferedEventPrefix("pickup", e.key()), [&](std::string_view, std::string_view) {
      found = true;
      return false;
    });
    if (!s.ok()) Die("scan evbuf: " + s.message());
    // The instance may exist from an earlier run that this run has not started (looked up) yet.
    std::string id;
    if (auto it = ids_.find(e.n); it != ids_.end()) {
      id = it->second;
    } else if (!store_->Get(state::keys::BusinessKey(e.workflow, e.key()), &id).ok()) {
      id.clear();
    }
    if (!found && !id.empty()) {
      auto hist = engine_->GetHistory(id);
      if (!hist.ok()) Die("history: " + hist.status().message());
      for (const auto& h : *hist)
        if (TextOf(h.Find("type")) == "event_received") found = true;
    }
    if (found) delivered_.insert(e.n);
    return found;
  }

  void Deliver(const PlanEntry& e) {
    Record data;
    data["order_ref"] = Value(e.key());
    data["who"] = Value(e.who());
    std::promise<Result<int>> p;
    engine_->DeliverEvent("pickup", e.key(), Value(std::move(data)), [&](Result<int> r) { p.set_value(std::move(r)); });
    auto r = p.get_future().get();
    if (!r.ok()) Die("deliver pickup " + e.key() + ": " + r.status().message());
    delivered_.insert(e.n);
  }

  // Starts (or, for those an earlier run started, looks up by business key: the idempotent
  // start must answer the instance the key already names).
  void StartAll(const std::vector<const PlanEntry*>& entries) {
    std::vector<std::future<Result<engine::StartResult>>> futures;
    std::vector<std::string> known;
    for (const PlanEntry* e : entries) {
      std::string id;
      known.push_back(store_->Get(state::keys::BusinessKey(e->workflow, e->key()), &id).ok() ? id : std::string());
      engine::StartRequest req;
      req.workflow = e->workflow;
      req.business_key = e->key();
      Record input;
      input["n"] = Value(e->key());
      input["path"] = Value(e->path);
      if (e->workflow == "crash_order") {
        input["amount"] = Value(e->amount);
      } else {
        List lines;
        for (const auto& [sku, qty] : e->lines) lines.push_back(Value(Record{{"sku", Value(sku)}, {"qty", Value(qty)}}));
        input["lines"] = Value(std::move(lines));
      }
      req.input = Value(std::move(input));
      auto p = std::make_shared<std::promise<Result<engine::StartResult>>>();
      futures.push_back(p->get_future());
      engine_->Start(std::move(req), [p](Result<engine::StartResult> r) { p->set_value(std::move(r)); });
    }
    for (size_t i = 0; i < entries.size(); ++i) {
      auto r = futures[i].get();
      if (!r.ok()) Die("start " + entries[i]->key() + ": " + r.status().message());
      if (!known[i].empty() && r->instance_id != known[i])
        Die("start " + entries[i]->key() + " answered " + r->instance_id + ", but its business key names " + known[i]);
      ids_[entries[i]->n] = r->instance_id;
      by_id_[r->instance_id] = entries[i];
    }
  }

  void DecideTasks() {
    auto tasks = engine_->ListOpenTasks("manager");
    if (!tasks.ok()) Die("list tasks: " + tasks.status().message());
    for (const auto& t : *tasks) {
      auto it = by_id_.find(TextOf(t.Find("instance")));
      if (it == by_id_.end()) continue;  // not started by this run yet: next pass
      const PlanEntry& e = *it->second;
      if (e.decision().empty()) continue;
      engine::TaskDecision d{TextOf(t.Find("id")), e.decision(), e.actor(), "comment-" + e.key()};
      std::promise<Result<bool>> p;
      engine_->CompleteTask(d, [&](Result<bool> r) { p.set_value(std::move(r)); });
      auto r = p.get_future().get();
      if (!r.ok() && r.status().code() != Status::Code::kFailedPrecondition)
        Die("complete task " + d.task_id + ": " + r.status().message());
    }
  }

  engine::Engine* engine_;
  state::StateStore* store_;
  std::deque<PlanEntry> plan_;  // entries 1 .. plan_.size(); a deque: pointers to them stay valid
  std::set<std::string> terminal_ids_;
  std::map<int, std::string> ids_;
  std::map<std::string, const PlanEntry*> by_id_;
  std::set<int> open_, delivered_;  // open_: due, started by this run, not terminal yet
};

// What the store holds as this run begins, i.e. what was durable when the previous run was
// killed: instances not in a terminal status, and outbox entries (invocations issued and not
// yet answered). Appended as "RUN NONTERMINAL OUTBOX" to DIR/at_start before the engine
// touches anything, so that a run killed before it wrote the line left the store as it found it.
void ReportStoreAtStart(state::StateStore* store, const std::string& dir, const std::string& run) {
  long nonterminal = 0, outbox = 0;
  Status s = Status::Ok();
  for (const std::string& st : engine::StatusNames()) {
    if (engine::IsTerminalStatus(st) || !s.ok()) continue;
    s = store->ScanPrefix(state::keys::StatusIndexPrefix(st), [&](std::string_view, std::string_view) {
      ++nonterminal;
      return true;
    });
  }
  if (s.ok()) s = store->ScanPrefix(state::keys::OutboxPrefix(), [&](std::string_view, std::string_view) {
      ++outbox;
      return true;
    });
  if (!s.ok()) Die("scan at start: " + s.message());
  const std::string line = run + " " + std::to_string(nonterminal) + " " + std::to_string(outbox) + "\n";
  int fd = ::open((dir + "/at_start").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0 || ::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) Die("cannot write at_start");
  ::close(fd);
}

int Main(int argc, char** argv) {
  if (argc == 2 && std::string(argv[1]) == "--check") {
    CompileFlows(true);
    std::cerr << "flows compile\n";
    return 0;
  }
  if (argc == 4 && std::string(argv[1]) == "--dump") {
    // Debugging a kept directory (no worker running): prints the engine keys under a prefix.
    state::LevelDbOptions ro;
    ro.create_if_missing = false;
    auto db = state::OpenLevelDb(std::string(argv[2]) + "/engine", ro);
    if (!db.ok()) Die(db.status().message());
    Status s = (*db)->ScanPrefix(argv[3], [](std::string_view k, std::string_view v) {
      std::cout << k << "  " << v << "\n";
      return true;
    });
    return s.ok() ? 0 : 2;
  }
  if (argc != 3) {
    std::cerr << "usage: rf_crash_worker DIR RUN | --check | --dump DIR PREFIX\n";
    return 2;
  }
  const std::string dir = argv[1];
  const std::string run = argv[2];
  const std::int64_t started = NowMs();

  std::string epoch_text;
  if (!ReadFile(dir + "/epoch", &epoch_text) || epoch_text.empty()) Die("no " + dir + "/epoch (the test writes it)");
  const std::int64_t epoch = std::stoll(epoch_text);

  state::LevelDbOptions lo;
  lo.sync = true;
  auto store = state::OpenLevelDb(dir + "/engine", lo);
  if (!store.ok()) Die(store.status().message());
  if (Status f = state::keys::PrepareFormat(store->get()); !f.ok()) Die(f.message());
  ReportStoreAtStart(store->get(), dir, run);

  leveldb::Options eo;
  eo.create_if_missing = true;
  leveldb::DB* raw = nullptr;
  leveldb::Status ls = leveldb::DB::Open(eo, dir + "/effects", &raw);
  if (!ls.ok()) Die("effects: " + ls.ToString());
  std::unique_ptr<leveldb::DB> effects(raw);

  SimConnector sim(effects.get());
  engine::TestRegistry registry;
  registry.Add("sim", &sim);

  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  // Two threads and two partitions: kills land while both partitions are mid-commit.
  std::thread io_thread([&io] { io.run(); });
  std::thread io_thread2([&io] { io.run(); });

  engine::SystemClock clock;
  engine::EngineOptions options;
  options.tick_interval = Duration{20};
  options.partitions = 2;
  options.undo_first_wait = Duration{30};
  options.undo_max_wait = Duration{300};
  engine::Engine eng(io, store->get(), &clock, &registry, options);
  Status s = eng.Recover();
  if (!s.ok()) Die("recover: " + s.message());
  for (const auto& [machine, source] : CompileFlows(false)) {
    auto r = eng.Deploy(machine, source);
    if (!r.ok()) Die("deploy " + machine.name + ": " + r.status().message());
  }
  std::cerr << "rf_crash_worker " << ::getpid() << ": recovered and deployed in " << NowMs() - started << "ms"
            << std::endl;

  Driver driver(&eng, store->get());
  bool announced = false;
  while (true) {
    // DIR/plan_size appears once the test has stopped killing: the plan is closed there.
    std::string size_text;
    const int limit = ReadFile(dir + "/plan_size", &size_text) && !size_text.empty() ? std::stoi(size_text) : INT_MAX;
    if (driver.Pass(epoch, limit) && !announced) {
      WriteFileAtomically(dir + "/done", std::to_string(NowMs()));
      std::cerr << "rf_crash_worker " << ::getpid() << ": every planned instance is terminal" << std::endl;
      announced = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(announced ? 200 : 20));
  }
}

}  // namespace
}  // namespace rf::crash

int main(int argc, char** argv) { return rf::crash::Main(argc, argv); }
