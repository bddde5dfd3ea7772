// The LevelDB limit of this disk, the baseline the engine benchmark compares against:
//   (a) one writer, one small record per commit, sync = true: commits/s and p50 latency;
//   (b) N threads (default 8) each submitting 5-record batches through GroupCommitter, sync =
//       true, each thread waiting for its ack before the next batch (like N instances):
//       batches/s, records/s, average group size;
//   (c) one writer, 5-record batches, sync = false: batches/s.
// Each figure is the median of 3 runs, each on a fresh database in a temporary directory
// (TMPDIR or /tmp, or --dir=PATH). The whole run takes about 20 s. Prints; asserts nothing.
//
//   rf_bench_store [--threads=N] [--dir=PATH]
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "state/group_commit.h"
#include "state/leveldb_store.h"
#include "state/state_store.h"

namespace {

using Clock = std::chrono::steady_clock;
using rf::Status;
using rf::state::GroupCommitter;
using rf::state::LevelDbOptions;
using rf::state::StateStore;
using rf::state::WriteBatch;

constexpr int kRuns = 3;
constexpr double kSyncedSeconds = 2.0;
constexpr double kGroupSeconds = 2.5;
constexpr double kUnsyncedSeconds = 1.0;
constexpr int kRecordsPerBatch = 5;
const std::string kValue(100, 'v');  // a small record

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string Key(int writer, long seq) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "bench/%02d/%010ld", writer, seq);
  return buf;
}

class Bench {
 public:
  explicit Bench(std::string root) : root_(std::move(root)) {}

  std::unique_ptr<StateStore> Open(bool sync) {
    LevelDbOptions options;
    options.sync = sync;
    std::string dir = root_ + "/db" + std::to_string(next_db_++);
    auto store = rf::state::OpenLevelDb(dir, options);
    if (!store.ok()) {
      std::fprintf(stderr, "open failed: %s\n", store.status().ToString().c_str());
      std::exit(1);
    }
    return std::move(store).value();
  }

  static void Check(const Status& s) {
    if (!s.ok()) {
      std::fprintf(stderr, "commit failed: %s\n", s.ToString().c_str());
      std::exit(1);
    }
  }

  // (a) Returns commits/s; appends per-commit latencies in µs.
  double SyncedSingle(std::vector<double>* latencies_us) {
    auto store = Open(true);
    long n = 0;
    auto start = Clock::now();
    auto deadline = start + std::chrono::duration<double>(kSyncedSeconds);
    Clock::time_point now;
    do {
      WriteBatch b;
      b.Put(Key(0, n), kValue);
      auto t0 = Clock::now();
      Check(store->Commit(b));
      now = Clock::now();
      latencies_us->push_back(Seconds(now - t0) * 1e6);
      ++n;
    } while (now < deadline);
    return n / Seconds(now - start);
  }

  struct GroupResult {
    double batches_per_s;
    double avg_group;
  };
  // (b)
  GroupResult Group(int threads) {
    auto store = Open(true);
    GroupCommitter committer(store.get());
    std::atomic<bool> stop{false};
    std::atomic<long> done{0};
    std::vector<std::thread> workers;
    auto start = Clock::now();
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        std::mutex mu;
        std::condition_variable cv;
        long seq = 0;
        while (!stop.load(std::memory_order_relaxed)) {
          WriteBatch b;
          for (int r = 0; r < kRecordsPerBatch; ++r) b.Put(Key(t, seq++), kValue);
          bool acked = false;
          committer.Submit(std::move(b), [&](const Status& s) {
            Check(s);
            {
              std::lock_guard lock(mu);
              acked = true;
            }
            cv.notify_one();
          });
          std::unique_lock lock(mu);
          cv.wait(lock, [&] { return acked; });
          done.fetch_add(1, std::memory_order_relaxed);
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(kGroupSeconds));
    stop.store(true);
    for (auto& w : workers) w.join();
    double elapsed = Seconds(Clock::now() - start);
    committer.Flush();
    GroupCommitter::Stats stats = committer.stats();
    return {done.load() / elapsed,
            stats.groups ? static_cast<double>(stats.batches) / static_cast<double>(stats.groups) : 0};
  }

  // (c)
  double UnsyncedBatches() {
    auto store = Open(false);
    long n = 0, seq = 0;
    auto start = Clock::now();
    auto deadline = start + std::chrono::duration<double>(kUnsyncedSeconds);
    Clock::time_point now;
    do {
      WriteBatch b;
      for (int r = 0; r < kRecordsPerBatch; ++r) b.Put(Key(0, seq++), kValue);
      Check(store->Commit(b));
      ++n;
      now = Clock::now();
    } while (now < deadline);
    return n / Seconds(now - start);
  }

 private:
  std::string root_;
  int next_db_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  int threads = 8;
  std::string base;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.rfind("--threads=", 0) == 0) {
      threads = std::max(1, std::atoi(argv[i] + 10));
    } else if (arg.rfind("--dir=", 0) == 0) {
      base = std::string(arg.substr(6));
    } else {
      std::fprintf(stderr, "usage: %s [--threads=N] [--dir=PATH]\n", argv[0]);
      return 2;
    }
  }
  std::error_code ec;
  if (base.empty()) base = std::filesystem::temp_directory_path(ec).string();
  if (base.empty()) base = "/tmp";
  std::string pattern = base + "/rf_store_bench_XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::string root = pattern;
  std::printf("store benchmark: LevelDB in %s, median of %d runs, records of %zu bytes\n",
              root.c_str(), kRuns, kValue.size());

  Bench bench(root);
  std::vector<double> a_rates, a_lat, b_rates, b_groups, c_rates;
  for (int run = 0; run < kRuns; ++run) {
    a_rates.push_back(bench.SyncedSingle(&a_lat));
    auto g = bench.Group(threads);
    b_rates.push_back(g.batches_per_s);
    b_groups.push_back(g.avg_group);
    c_rates.push_back(bench.UnsyncedBatches());
  }
  std::filesystem::remove_all(root, ec);

  double a = Median(a_rates);
  double b = Median(b_rates);
  double c = Median(c_rates);
  std::printf("(a) single writer, 1 record/commit, sync=true:   %10.0f commits/s   p50 latency %.0f us\n",
              a, Median(a_lat));
  std::printf("(b) group commit, %d threads, %d records/batch, sync=true: %10.0f batches/s  %10.0f records/s"
              "   avg group %.2f batches\n",
              threads, kRecordsPerBatch, b, b * kRecordsPerBatch, Median(b_groups));
  std::printf("(c) single writer, %d records/batch, sync=false:  %10.0f batches/s  %10.0f records/s\n",
              kRecordsPerBatch, c, c * kRecordsPerBatch);
  std::printf("ratio (b)/(a) batches: %.2fx\n", a > 0 ? b / a : 0);
  return 0;
}
