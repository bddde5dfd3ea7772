// The real-process crash test (the engine issue's contract): run the engine as a separate process
// (rf_crash_worker, see crash_worker.cc) under a mixed load of steps, retries, timers, approvals,
// events and undo chains; kill it with SIGKILL at random moments at least 20 times, restarting it
// each time, while new instances keep arriving (the load lasts as long as the killing: see
// crash_plan.h); close the plan, let it finish; then, with no worker running, read both LevelDB
// directories and check
//   - every planned instance exists once and has exactly the status and outcome its input dictates;
//   - every downstream effect was applied once per idempotency key, at most once per step of an
//     instance, and matches the instance's history one for one (steps and undo actions);
//   - the failing paths undid exactly what they had done, newest work first;
//   - every planned approval decision is recorded with its actor, every deadline and timer fired,
//     every event (buffered or not) reached its instance, and nothing is left behind (outbox,
//     subscriptions, buffered events, open tasks, timers).
// A kill lands "mid-load" when the store held, at that moment, an instance in a non-terminal
// status or an outbox entry (an invocation issued and not yet answered), as the next run finds
// it before touching anything; at least 20 kills must. The kill delays come from a seeded PRNG,
// so a failing schedule can be replayed (the arrivals follow the clock, so not exactly).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <leveldb/db.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "common/value.h"
#include "state/keys.h"
#include "state/leveldb_store.h"
#include "state/state_store.h"
#include "tests/crash/crash_plan.h"

namespace rf::crash {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// RF_CRASH_SEED and RF_CRASH_KILLS override these, to replay a schedule or to soak.
constexpr int kKills = 50;
constexpr int kMinDelayMs = 20, kMaxDelayMs = 300;
constexpr std::uint64_t kSeed = 20261127;
constexpr auto kFinishLimit = std::chrono::seconds(120);

pid_t SpawnWorker(const std::string& dir, int run) {
  const std::string run_text = std::to_string(run);
  const std::string log = dir + "/worker.log";
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    ::execl(RF_CRASH_WORKER, RF_CRASH_WORKER, dir.c_str(), run_text.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

bool WriteFileAtomically(const std::string& path, const std::string& text) {
  {
    std::ofstream f(path + ".tmp", std::ios::trunc);
    if (!(f << text) || !f.flush()) return false;
  }
  return ::rename((path + ".tmp").c_str(), path.c_str()) == 0;
}

std::string Tail(const std::string& path, size_t lines) {
  std::ifstream f(path);
  std::vector<std::string> all;
  for (std::string l; std::getline(f, l);) all.push_back(l);
  std::string out;
  for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) out += "  | " + all[i] + "\n";
  return out;
}

std::string Describe(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

std::string TextOf(const Value* v) { return v != nullptr && v->is_text() ? v->as_text() : std::string(); }
std::int64_t IntOf(const Value* v) {
  return v != nullptr && v->is_number() ? v->as_number().ToInt64().value_or(-1) : -1;
}
const Value* Path(const Value& v, std::initializer_list<const char*> path) {
  const Value* cur = &v;
  for (const char* p : path) {
    if (cur == nullptr || !cur->is_record()) return nullptr;
    cur = cur->Find(p);
  }
  return cur;
}

// One downstream effect, as the sim connector recorded it.
struct Effect {
  std::string key, op, instance;
  std::string vkey;   // the step's state path inside the instance (e.g. rounds[#0]/post)
  std::string state;  // its last component (post)
  std::string visit;
  bool undo = false;
  std::int64_t count = 0, seq = 0, replays = 0;
};

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

// Collects problems instead of stopping at the first, so one run shows everything wrong.
class Problems {
 public:
  void Add(const std::string& what) {
    if (list_.size() < 200) list_.push_back(what);
    ++count_;
  }
  size_t count() const { return count_; }
  std::string Text() const {
    std::string out;
    for (const auto& p : list_) out += "  - " + p + "\n";
    if (count_ > list_.size()) out += "  ... and " + std::to_string(count_ - list_.size()) + " more\n";
    return out;
  }

 private:
  std::vector<std::string> list_;
  size_t count_ = 0;
};

struct Summary {
  int kills = 0, kills_mid_load = 0, kills_mid_call = 0;
  size_t instances = 0, effects = 0, undo_effects = 0, replayed_answers = 0, replayed_keys = 0;
  size_t history_events = 0, dead_letters = 0, retried_attempts = 0, buffered_events = 0;
  std::map<std::string, int> statuses;
};

// Reads both stores and checks every promise of the contract.
void Verify(const std::string& dir, int plan_size, Summary& sum, Problems& bad) {
  state::LevelDbOptions lo;
  lo.create_if_missing = false;
  lo.sync = false;
  auto opened = state::OpenLevelDb(dir + "/engine", lo);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  state::StateStore& store = **opened;
  std::string format;
  if (!store.Get(state::keys::MetaFormat(), &format).ok() || format != std::to_string(state::keys::kFormatVersion))
    bad.Add("meta/format is \"" + format + "\", not the current format: the worker did not prepare the store");

  auto get_tagged = [&](const std::string& key) -> std::optional<Value> {
    std::string text;
    if (!store.Get(key, &text).ok()) return std::nullopt;
    auto v = Value::FromTaggedJson(text);
    if (!v.ok()) {
      bad.Add("unreadable value at " + key);
      return std::nullopt;
    }
    return *v;
  };
  auto keys_with = [&](const std::string& prefix) {
    std::vector<std::string> keys;
    Status s = store.ScanPrefix(prefix, [&](std::string_view k, std::string_view) {
      keys.emplace_back(k);
      return true;
    });
    EXPECT_TRUE(s.ok()) << s.message();
    return keys;
  };

  // ---- the effects, from the sim's own LevelDB
  leveldb::Options eo;
  eo.create_if_missing = false;
  leveldb::DB* raw = nullptr;
  leveldb::Status ls = leveldb::DB::Open(eo, dir + "/effects", &raw);
  ASSERT_TRUE(ls.ok()) << ls.ToString();
  std::unique_ptr<leveldb::DB> edb(raw);
  std::map<std::string, Effect> effects;                         // by idempotency key
  std::map<std::string, std::vector<const Effect*>> by_instance;  // instance id → effects
  {
    std::unique_ptr<leveldb::Iterator> it(edb->NewIterator(leveldb::ReadOptions()));
    for (it->Seek("e/"); it->Valid() && it->key().starts_with("e/"); it->Next()) {
      auto v = Value::FromJson(it->value().ToString());
      if (!v.ok()) {
        bad.Add("unreadable effect " + it->key().ToString());
        continue;
      }
      Effect e;
      e.key = TextOf(v->Find("key"));
      e.op = TextOf(v->Find("op"));
      e.instance = TextOf(v->Find("instance"));
      e.count = IntOf(v->Find("count"));
      e.seq = IntOf(v->Find("seq"));
      if (e.key != it->key().ToString().substr(2)) bad.Add("effect record under the wrong key: " + e.key);
      auto parts = Split(e.key, ':');
      if (parts.size() < 3 || parts.size() > 4 || (parts.size() == 4 && parts[3] != "undo") || parts[0] != e.instance) {
        bad.Add("unexpected idempotency key shape: " + e.key);
        continue;
      }
      e.vkey = parts[1];
      e.visit = parts[2];
      e.undo = parts.size() == 4;
      e.state = e.vkey.substr(e.vkey.rfind('/') == std::string::npos ? 0 : e.vkey.rfind('/') + 1);
      effects[e.key] = e;
    }
    for (it->Seek("r/"); it->Valid() && it->key().starts_with("r/"); it->Next()) {
      std::string key = it->key().ToString().substr(2);
      std::int64_t n = std::atoll(it->value().ToString().c_str());
      sum.replayed_answers += static_cast<size_t>(n);
      ++sum.replayed_keys;
      if (effects.count(key) == 0) bad.Add("a replayed answer for a key without effect: " + key);
      else effects[key].replays = n;
    }
  }
  for (const auto& [k, e] : effects) {
    by_instance[e.instance].push_back(&e);
    // Exactly once per idempotency key (the sim never re-applies; a second application would show here).
    if (e.count != 1) bad.Add("effect " + k + " applied " + std::to_string(e.count) + " times");
    if (e.undo) ++sum.undo_effects;
  }
  sum.effects = effects.size();

  // ---- every planned instance
  const std::vector<PlanEntry> plan = MakePlan(plan_size);
  std::set<std::string> planned_ids, bad_path_ids;
  for (const PlanEntry& p : plan) {
    const std::string who = p.workflow + " #" + p.key() + " (" + p.path + ", event " + p.event_mode + ")";
    std::string id;
    if (!store.Get(state::keys::BusinessKey(p.workflow, p.key()), &id).ok()) {
      bad.Add(who + ": never started (no business key)");
      continue;
    }
    planned_ids.insert(id);
    if (p.path == "bad") bad_path_ids.insert(id);
    auto inst = get_tagged(state::keys::Instance(id));
    if (!inst) {
      bad.Add(who + ": business key points to missing instance " + id);
      continue;
    }
    const std::string status = TextOf(inst->Find("status"));
    const std::string outcome = TextOf(inst->Find("outcome"));
    ++sum.statuses[status];
    if (status != p.expected_status() || outcome != p.expected_outcome())
      bad.Add(who + " " + id + ": ended " + status + " \"" + outcome + "\", expected " + p.expected_status() + " \"" +
              p.expected_outcome() + "\"");

    // History.
    std::vector<Value> hist;
    Status hs = store.ScanPrefix(state::keys::HistoryPrefix(id), [&](std::string_view, std::string_view v) {
      auto h = Value::FromTaggedJson(v);
      if (h.ok()) hist.push_back(*h);
      return true;
    });
    EXPECT_TRUE(hs.ok());
    sum.history_events += hist.size();
    std::map<std::string, int> type_count;
    std::multiset<std::string> completed_steps, undone_steps;
    std::int64_t expect_seq = 0;
    bool buffered_received = false;
    std::map<std::string, int> waits_finished;
    std::string task_id;
    for (const Value& h : hist) {
      const std::string type = TextOf(h.Find("type"));
      ++type_count[type];
      if (IntOf(h.Find("seq")) != ++expect_seq) bad.Add(who + ": history sequence has a gap or a repeat at " + type);
      if (type == "step_completed" || type == "step_completed_after_cancel") completed_steps.insert(TextOf(h.Find("state")));
      if (type == "undo_completed") undone_steps.insert(TextOf(h.Find("step")));
      if (type == "attempt_failed" || type == "undo_failed") ++sum.retried_attempts;
      if (type == "event_received") {
        const Value* b = h.Find("buffered");
        if (b != nullptr && b->is_bool() && b->as_bool()) buffered_received = true;
      }
      if (type == "wait_finished") ++waits_finished[TextOf(h.Find("state"))];
      if (type == "task_created") task_id = TextOf(h.Find("task"));
    }
    if (type_count["instance_started"] != 1) bad.Add(who + ": instance_started " + std::to_string(type_count["instance_started"]) + " times");
    const std::string end_event = "instance_" + status;
    if (type_count[end_event] != 1)
      bad.Add(who + ": " + end_event + " recorded " + std::to_string(type_count[end_event]) + " times");

    // Effects against the history, one for one.
    std::multiset<std::string> effect_steps, undo_effect_steps;
    std::vector<std::string> ops;
    std::map<std::string, int> per_step_path;
    std::int64_t max_forward = -1, min_undo = INT64_MAX;
    std::map<std::string, std::int64_t> undo_seq_by_op;
    for (const Effect* e : by_instance[id]) {
      ops.push_back(e->op);
      if (e->undo) {
        undo_effect_steps.insert(e->state);
        min_undo = std::min(min_undo, e->seq);
        undo_seq_by_op[e->op] = e->seq;
        // Every undo undoes a forward effect of the same step execution.
        auto fwd = effects.find(e->key.substr(0, e->key.size() - 5));
        if (fwd == effects.end()) bad.Add(who + ": undo effect " + e->key + " without the effect it undoes");
        else if (UndoOf(fwd->second.op) != e->op) bad.Add(who + ": " + e->key + " is " + e->op + ", undoing " + fwd->second.op);
      } else {
        effect_steps.insert(e->state);
        max_forward = std::max(max_forward, e->seq);
        if (++per_step_path[e->vkey] > 1) bad.Add(who + ": step " + e->vkey + " applied its effect more than once (new key " + e->key + ")");
        if (e->visit != "1") bad.Add(who + ": step " + e->vkey + " ran again (visit " + e->visit + ")");
        const std::string undo_op = UndoOf(e->op);
        if (status == "compensated" && !undo_op.empty()) {
          auto u = effects.find(e->key + ":undo");
          if (u == effects.end()) bad.Add(who + ": effect " + e->key + " (" + e->op + ") was never undone");
        }
      }
    }
    std::sort(ops.begin(), ops.end());
    if (completed_steps != effect_steps) {
      std::ostringstream m;
      m << who << ": completed steps in history [";
      for (const auto& s : completed_steps) m << s << " ";
      m << "] but effects [";
      for (const auto& s : effect_steps) m << s << " ";
      m << "]";
      bad.Add(m.str());
    }
    if (undone_steps != undo_effect_steps) {
      std::ostringstream m;
      m << who << ": undone steps in history [";
      for (const auto& s : undone_steps) m << s << " ";
      m << "] but undo effects [";
      for (const auto& s : undo_effect_steps) m << s << " ";
      m << "]";
      bad.Add(m.str());
    }
    if (status == "completed" && !undo_effect_steps.empty()) bad.Add(who + ": completed, yet something was undone");
    if (!undo_effect_steps.empty() && min_undo < max_forward)
      bad.Add(who + ": an undo action ran before the last forward effect");
    const auto expected_ops = p.expected_ops();
    if (!expected_ops.empty() && ops != expected_ops) {
      std::string got, want;
      for (const auto& o : ops) got += o + " ";
      for (const auto& o : expected_ops) want += o + " ";
      bad.Add(who + ": effects [" + got + "], expected [" + want + "]");
    }
    if (p.workflow == "crash_order" && p.expected_status() == "compensated" &&
        !(undo_seq_by_op.count("refund") && undo_seq_by_op.count("release") &&
          undo_seq_by_op["refund"] < undo_seq_by_op["release"]))
      bad.Add(who + ": the undo chain did not run refund then release (newest first)");
    if (p.path == "bad") {
      // The refused round never applied; the parallel's two steps were undone.
      for (const Effect* e : by_instance[id])
        if (e->op == "post" && e->key.find("BAD") != std::string::npos) bad.Add(who + ": BAD applied");
      if (!(undo_effect_steps.count("hold_a") == 1 && undo_effect_steps.count("hold_b") == 1))
        bad.Add(who + ": the parallel branches' steps were not both undone");
    }

    // Approvals: the planned decision and actor, or the deadline's escalation.
    const Value& data = *inst->Find("data");
    if (p.workflow == "crash_order" && p.path != "timeout") {
      const Value* review = data.Find("review");
      const std::string decision = TextOf(Path(data, {"review", "decision"}));
      const Value* escalated = Path(data, {"review", "escalated"});
      std::optional<Value> task;
      if (task_id.empty()) bad.Add(who + ": no task was created");
      else task = get_tagged(state::keys::Task(task_id));
      const std::string task_status = task ? TextOf(task->Find("status")) : "(missing)";
      if (p.path == "expire") {
        if (decision != "none" || escalated == nullptr || !escalated->is_bool() || !escalated->as_bool() ||
            type_count["approval_escalated"] != 1 || type_count["task_completed"] != 0 || task_status != "expired")
          bad.Add(who + ": the approval deadline did not escalate exactly once (review " +
                  (review ? review->ToJson() : std::string("null")) + ", task " + task_status + ")");
      } else {
        const std::string want_task = p.decision() == "approve" ? "approved" : "rejected";
        if (decision != p.decision() || TextOf(Path(data, {"review", "actor"})) != p.actor() ||
            TextOf(Path(data, {"review", "comment"})) != "comment-" + p.key() || escalated == nullptr ||
            !escalated->is_bool() || escalated->as_bool() || type_count["task_completed"] != 1 ||
            type_count["approval_escalated"] != 0 || task_status != want_task)
          bad.Add(who + ": the planned decision " + p.decision() + " by " + p.actor() + " is not what was recorded (review " +
                  (review ? review->ToJson() : std::string("null")) + ", task " + task_status + ")");
      }
    }
    // Events: delivered exactly once, buffered ones included; the timeout path timed out.
    if (p.workflow == "crash_order") {
      const std::string picked_who = TextOf(Path(data, {"picked", "who"}));
      if (p.wants_event()) {
        if (picked_who != p.who() || type_count["event_received"] != 1 || type_count["event_timed_out"] != 0)
          bad.Add(who + ": event not received exactly once (picked.who \"" + picked_who + "\", received " +
                  std::to_string(type_count["event_received"]) + ")");
        if (p.event_mode == "early" && !buffered_received) bad.Add(who + ": the early event was not taken from the buffer");
        if (buffered_received) ++sum.buffered_events;
      } else if (type_count["event_timed_out"] != 1 || type_count["event_received"] != 0 || !picked_who.empty()) {
        bad.Add(who + ": the event wait did not time out exactly once");
      }
      if (waits_finished["cool"] != 1) bad.Add(who + ": the 300ms timer finished " + std::to_string(waits_finished["cool"]) + " times");
    } else if (p.path != "bad" && waits_finished["settle"] != 1) {
      bad.Add(who + ": the 300ms timer finished " + std::to_string(waits_finished["settle"]) + " times");
    }

    // Listing index: exactly one status entry, the right one.
    auto idx = std::vector<std::string>();
    for (const auto& st : {"running", "waiting", "compensating", "completed", "compensated", "failed", "cancelled",
                           "compensation_failed"}) {
      std::string ignored;
      if (store.Get(state::keys::StatusIndex(st, id), &ignored).ok()) idx.push_back(st);
    }
    if (idx.size() != 1 || idx[0] != status) {
      std::string got;
      for (const auto& s : idx) got += s + " ";
      bad.Add(who + ": status index [" + got + "] for status " + status);
    }
  }
  sum.instances = planned_ids.size();

  // ---- nothing else, nothing left behind
  auto all_inst = keys_with(state::keys::InstancePrefix());
  if (all_inst.size() != plan.size())
    bad.Add(std::to_string(all_inst.size()) + " instances in the store for " + std::to_string(plan.size()) + " planned");
  for (const auto& [inst, list] : by_instance)
    if (planned_ids.count(inst) == 0) bad.Add(std::to_string(list.size()) + " effects for unplanned instance " + inst);
  for (const std::string& prefix : {state::keys::OutboxPrefix(), state::keys::SubscriptionPrefix(),
                                    state::keys::BufferedEventPrefix(), state::keys::OpenTaskPrefix(),
                                    state::keys::TimerPrefix()}) {
    auto left = keys_with(prefix);
    if (!left.empty()) bad.Add(std::to_string(left.size()) + " keys left under " + prefix + " (first: " + left[0] + ")");
  }
  std::set<std::string> dead;
  for (const auto& k : keys_with(state::keys::DeadLetterPrefix()))
    if (auto id = state::keys::ParseDeadLetter(k)) dead.insert(*id);
  sum.dead_letters = dead.size();
  if (dead != bad_path_ids)
    bad.Add(std::to_string(dead.size()) + " dead letters, expected exactly the " + std::to_string(bad_path_ids.size()) +
            " instances whose round was refused");
}

TEST(CrashTest, KillNineAtRandomMomentsLosesAndDuplicatesNothing) {
  const auto t0 = Clock::now();
  std::string tmpl = (fs::temp_directory_path() / "rf-crash-XXXXXX").string();
  ASSERT_NE(nullptr, ::mkdtemp(tmpl.data()));
  const std::string dir = tmpl;
  pid_t pid = -1;
  // Kills a worker still running; removes the directory after a passing run, keeps it otherwise.
  struct Cleanup {
    const std::string& dir;
    pid_t& pid;
    ~Cleanup() {
      if (pid > 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
      }
      if (::testing::Test::HasFailure()) {
        std::cout << "crash test directory kept: " << dir << "\nworker log tail:\n" << Tail(dir + "/worker.log", 30);
      } else {
        std::error_code ec;
        fs::remove_all(dir, ec);
      }
    }
  } cleanup{dir, pid};

  const char* seed_env = std::getenv("RF_CRASH_SEED");
  const char* kills_env = std::getenv("RF_CRASH_KILLS");
  const std::uint64_t seed = seed_env != nullptr ? std::strtoull(seed_env, nullptr, 10) : kSeed;
  const int kills = kills_env != nullptr ? std::max(20, std::atoi(kills_env)) : kKills;
  std::cout << "crash test: seed " << seed << ", " << kills << " kills, directory " << dir << std::endl;
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> delay(kMinDelayMs, kMaxDelayMs);
  Summary sum;
  const std::int64_t epoch = MonotonicMs();
  ASSERT_TRUE(WriteFileAtomically(dir + "/epoch", std::to_string(epoch)));
  for (int i = 0; i < kills; ++i) {
    pid = SpawnWorker(dir, i + 1);
    ASSERT_GT(pid, 0) << "fork failed";
    std::this_thread::sleep_for(std::chrono::milliseconds(delay(rng)));
    int status = 0;
    ASSERT_EQ(0, ::waitpid(pid, &status, WNOHANG)) << "the worker stopped on its own before kill " << i + 1 << ": "
                                                   << Describe(status);
    ASSERT_EQ(0, ::kill(pid, SIGKILL));
    ASSERT_EQ(pid, ::waitpid(pid, &status, 0));
    pid = -1;
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << Describe(status);
    ++sum.kills;
  }
  // No worker runs now, so no instance is due that was not counted: close the plan there.
  const int plan_size = DueCount(MonotonicMs() - epoch);
  ASSERT_TRUE(WriteFileAtomically(dir + "/plan_size", std::to_string(plan_size)));

  // The last run: until every planned instance is terminal.
  pid = SpawnWorker(dir, kills + 1);
  ASSERT_GT(pid, 0);
  const auto limit = Clock::now() + kFinishLimit;
  while (!fs::exists(dir + "/done")) {
    int status = 0;
    ASSERT_EQ(0, ::waitpid(pid, &status, WNOHANG)) << "the worker stopped on its own: " << Describe(status);
    ASSERT_LT(Clock::now(), limit) << "the instances did not all finish within " << kFinishLimit.count() << "s";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  pid = -1;

  // Work in flight at each kill, from what the next run found in the store (see
  // ReportStoreAtStart in crash_worker.cc). A run killed before it wrote its line changed
  // nothing, so kill k is described by the first run after k that reported.
  std::map<int, std::pair<long, long>> at_start;  // run → (non-terminal instances, outbox entries)
  {
    std::ifstream f(dir + "/at_start");
    int run = 0;
    long nonterminal = 0, outbox = 0;
    while (f >> run >> nonterminal >> outbox) at_start[run] = {nonterminal, outbox};
  }
  ASSERT_EQ(1u, at_start.count(kills + 1)) << "the last run did not report what it found";
  for (int k = 1; k <= kills; ++k) {
    const auto& [nonterminal, outbox] = at_start.upper_bound(k)->second;
    if (nonterminal > 0 || outbox > 0) ++sum.kills_mid_load;
    if (outbox > 0) ++sum.kills_mid_call;
  }

  Problems bad;
  Verify(dir, plan_size, sum, bad);
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  std::cout << "crash test: " << sum.kills << " kills, " << sum.kills_mid_load << " mid-load ("
            << 100.0 * sum.kills_mid_load / sum.kills << "%: a non-terminal instance or an outbox entry in the store), "
            << sum.kills_mid_call << " with a call in flight (an outbox entry); " << sum.instances << " instances [";
  for (const auto& [st, n] : sum.statuses) std::cout << st << " " << n << ", ";
  std::cout << "], " << sum.effects << " effects (" << sum.undo_effects << " undo), " << sum.replayed_answers
            << " answers replayed for " << sum.replayed_keys << " keys after crashes, " << sum.retried_attempts
            << " failed attempts retried, " << sum.buffered_events << " events taken from the buffer, "
            << sum.dead_letters << " dead letters, " << sum.history_events << " history events, " << secs << "s\n";
  EXPECT_GE(sum.kills_mid_load, 20) << "too few kills landed while work was in flight: the test proves little";
  EXPECT_EQ(0u, bad.count()) << bad.count() << " problems:\n" << bad.Text();
}

}  // namespace
}  // namespace rf::crash
