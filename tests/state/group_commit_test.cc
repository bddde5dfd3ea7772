// GroupCommitter over a real LevelDB store, with FaultInjectingStore for the error paths.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "state/group_commit.h"
#include "state/leveldb_store.h"
#include "state/state_store.h"
#include "tests/state/test_util.h"

namespace rf::state {
namespace {

using testing::TempDir;

class GroupCommitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = OpenLevelDb(dir_.Sub("db"), LevelDbOptions{});
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
  }
  bool Has(const std::string& key, std::string* value = nullptr) {
    std::string v;
    bool ok = store_->Get(key, &v).ok();
    if (value) *value = v;
    return ok;
  }
  TempDir dir_;
  std::unique_ptr<StateStore> store_;
};

TEST_F(GroupCommitTest, ManyThreadsEveryCallbackOnceAllDataPresent) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 100;
  constexpr int kTotal = kThreads * kPerThread;
  std::vector<std::atomic<int>> calls(kTotal);
  std::atomic<int> errors{0};
  {
    GroupCommitter committer(store_.get());
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          int id = t * kPerThread + i;
          WriteBatch b;
          for (int r = 0; r < 3; ++r) b.Put("t/" + std::to_string(id) + "/" + std::to_string(r), "v");
          committer.Submit(std::move(b), [&, id](const Status& s) {
            if (!s.ok()) errors.fetch_add(1);
            calls[id].fetch_add(1);
          });
        }
      });
    }
    for (auto& th : threads) th.join();
    committer.Flush();
    for (int id = 0; id < kTotal; ++id) ASSERT_EQ(calls[id].load(), 1) << "batch " << id;
    GroupCommitter::Stats stats = committer.stats();
    EXPECT_EQ(stats.batches, static_cast<std::uint64_t>(kTotal));
    EXPECT_LE(stats.groups, stats.batches);
    EXPECT_GE(stats.groups, 1u);
    EXPECT_GT(stats.bytes, 0u);
    // Not a timing assertion: printed for information.
    std::printf("groups=%llu batches=%llu\n", static_cast<unsigned long long>(stats.groups),
                static_cast<unsigned long long>(stats.batches));
  }
  EXPECT_EQ(errors.load(), 0);
  for (int id = 0; id < kTotal; ++id) {
    for (int r = 0; r < 3; ++r) ASSERT_TRUE(Has("t/" + std::to_string(id) + "/" + std::to_string(r)));
  }
}

TEST_F(GroupCommitTest, LaterSubmissionWinsOnEqualKeys) {
  GroupCommitter committer(store_.get());
  for (int i = 0; i < 200; ++i) {
    WriteBatch b;
    b.Put("k", std::to_string(i));
    if (i % 2 == 0) b.Delete("d");
    else b.Put("d", std::to_string(i));
    committer.Submit(std::move(b), nullptr);  // an empty callback is allowed
  }
  committer.Flush();
  std::string v;
  ASSERT_TRUE(Has("k", &v));
  EXPECT_EQ(v, "199");
  ASSERT_TRUE(Has("d", &v));
  EXPECT_EQ(v, "199");
}

TEST_F(GroupCommitTest, FlushWaitsForEverythingSubmittedBefore) {
  GroupCommitter committer(store_.get());
  std::atomic<int> done{0};
  for (int i = 0; i < 500; ++i) {
    WriteBatch b;
    b.Put("f/" + std::to_string(i), "v");
    committer.Submit(std::move(b), [&](const Status&) { done.fetch_add(1); });
  }
  committer.Flush();
  EXPECT_EQ(done.load(), 500);
  EXPECT_EQ(committer.stats().batches, 500u);
  // Flush with nothing queued returns and does not count a group.
  auto groups = committer.stats().groups;
  committer.Flush();
  EXPECT_EQ(committer.stats().groups, groups);
  EXPECT_EQ(committer.stats().batches, 500u);
}

TEST_F(GroupCommitTest, FlushFromManyThreadsWhileOthersSubmit) {
  GroupCommitter committer(store_.get());
  std::atomic<bool> stop{false};
  std::atomic<int> submitted{0};
  std::atomic<int> completed{0};
  std::thread submitter([&] {
    int i = 0;
    while (!stop.load()) {
      // Keep at most 200 batches in flight so the queue stays small.
      if (submitted.load() - completed.load() > 200) {
        std::this_thread::yield();
        continue;
      }
      WriteBatch b;
      b.Put("s/" + std::to_string(i++), "v");
      submitted.fetch_add(1);
      committer.Submit(std::move(b), [&](const Status&) { completed.fetch_add(1); });
    }
  });
  std::vector<std::thread> flushers;
  std::atomic<int> violations{0};
  for (int t = 0; t < 4; ++t) {
    flushers.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        WriteBatch b;
        std::string key = "flusher/" + std::to_string(t) + "/" + std::to_string(i);
        b.Put(key, "v");
        std::atomic<bool> mine{false};
        committer.Submit(std::move(b), [&mine](const Status&) { mine.store(true); });
        committer.Flush();
        if (!mine.load()) violations.fetch_add(1);
        std::string v;
        if (!store_->Get(key, &v).ok()) violations.fetch_add(1);
      }
    });
  }
  for (auto& f : flushers) f.join();
  stop.store(true);
  submitter.join();
  committer.Flush();
  EXPECT_EQ(violations.load(), 0);
  EXPECT_EQ(completed.load(), submitted.load());
}

TEST_F(GroupCommitTest, DestructorDrainsTheQueue) {
  std::atomic<int> done{0};
  {
    GroupCommitter committer(store_.get());
    for (int i = 0; i < 300; ++i) {
      WriteBatch b;
      b.Put("x/" + std::to_string(i), "v");
      committer.Submit(std::move(b), [&](const Status& s) {
        if (s.ok()) done.fetch_add(1);
      });
    }
  }
  EXPECT_EQ(done.load(), 300);
  EXPECT_TRUE(Has("x/0"));
  EXPECT_TRUE(Has("x/299"));
}

TEST_F(GroupCommitTest, CallbackMaySubmitAgainAndFlushFromCallbackDoesNotDeadlock) {
  std::atomic<int> chain{0};
  GroupCommitter committer(store_.get());
  std::function<void(const Status&)> next;
  next = [&](const Status& s) {
    ASSERT_TRUE(s.ok());
    int n = chain.fetch_add(1) + 1;
    committer.Flush();  // on the writer thread: must return, not deadlock
    if (n < 50) {
      WriteBatch b;
      b.Put("chain/" + std::to_string(n), "v");
      committer.Submit(std::move(b), next);
    }
  };
  WriteBatch first;
  first.Put("chain/0", "v");
  committer.Submit(std::move(first), next);
  // Each Flush returns after what was queued before it; the chain submits more afterwards, so
  // wait for the chain to finish.
  for (int i = 0; i < 10000 && chain.load() < 50; ++i) {
    committer.Flush();
    if (chain.load() < 50) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(chain.load(), 50);
  EXPECT_TRUE(Has("chain/49"));
}

TEST_F(GroupCommitTest, ErrorReachesEveryCallbackOfTheFailedGroup) {
  FaultInjectingStore faulty(store_.get());
  GroupCommitter committer(&faulty);
  faulty.BreakCommits();
  std::mutex mu;
  std::vector<Status> results;
  for (int i = 0; i < 20; ++i) {
    WriteBatch b;
    b.Put("e/" + std::to_string(i), "v");
    committer.Submit(std::move(b), [&](const Status& s) {
      std::lock_guard lock(mu);
      results.push_back(s);
    });
  }
  committer.Flush();
  ASSERT_EQ(results.size(), 20u);
  for (const auto& s : results) EXPECT_EQ(s.code(), Status::Code::kIOError);
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(Has("e/" + std::to_string(i)));
  // Healed: later groups succeed.
  faulty.Heal();
  Status last = Status::Internal("not called");
  WriteBatch b;
  b.Put("e/ok", "v");
  committer.Submit(std::move(b), [&](const Status& s) { last = s; });
  committer.Flush();
  EXPECT_TRUE(last.ok()) << last.ToString();
  EXPECT_TRUE(Has("e/ok"));
}

TEST_F(GroupCommitTest, FailedGroupIsAllOrNothing) {
  // One group made of several batches fails as a unit: every callback sees the error and none
  // of the batches is applied. A gate callback holds the writer so the next batches queue up.
  FaultInjectingStore faulty(store_.get());
  GroupCommitter committer(&faulty);
  std::mutex gate;
  gate.lock();
  WriteBatch first;
  first.Put("g/first", "v");
  committer.Submit(std::move(first), [&](const Status&) { std::lock_guard wait(gate); });
  // Wait until the first group has been committed (its callback now blocks on the gate).
  for (int i = 0; i < 5000 && faulty.commits() < 1; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_EQ(faulty.commits(), 1);
  faulty.FailCommitAfter(1);
  std::atomic<int> failed{0};
  for (int i = 0; i < 10; ++i) {
    WriteBatch b;
    b.Put("g/" + std::to_string(i), "v");
    committer.Submit(std::move(b), [&](const Status& s) {
      if (s.code() == Status::Code::kIOError) failed.fetch_add(1);
    });
  }
  gate.unlock();
  committer.Flush();
  EXPECT_EQ(failed.load(), 10);
  EXPECT_EQ(faulty.commits(), 2);  // the ten batches were one group
  EXPECT_TRUE(Has("g/first"));
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(Has("g/" + std::to_string(i)));
  GroupCommitter::Stats stats = committer.stats();
  EXPECT_EQ(stats.groups, 2u);
  EXPECT_EQ(stats.batches, 11u);
}

TEST_F(GroupCommitTest, GroupsAreCappedByBytes) {
  MemoryStore memory;
  FaultInjectingStore counting(&memory);
  std::mutex gate;
  gate.lock();
  std::uint64_t batches = 0;
  {
    GroupCommitter committer(&counting, /*max_group_bytes=*/1000);
    WriteBatch first;
    first.Put("first", "v");
    committer.Submit(std::move(first), [&](const Status&) { std::lock_guard wait(gate); });
    for (int i = 0; i < 5000 && counting.commits() < 1; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    for (int i = 0; i < 10; ++i) {
      WriteBatch b;
      b.Put("big/" + std::to_string(i), std::string(400, 'x'));  // ~2 per group
      committer.Submit(std::move(b), nullptr);
    }
    gate.unlock();
    committer.Flush();
    batches = committer.stats().batches;
    EXPECT_EQ(committer.stats().groups, 1u + 5u);
  }
  EXPECT_EQ(batches, 11u);
  EXPECT_EQ(counting.commits(), 6);
  EXPECT_EQ(memory.size(), 11u);
}

TEST_F(GroupCommitTest, OversizedBatchStillCommittedAlone) {
  GroupCommitter committer(store_.get(), /*max_group_bytes=*/10);
  Status result = Status::Internal("not called");
  WriteBatch b;
  b.Put("huge", std::string(1000, 'x'));
  committer.Submit(std::move(b), [&](const Status& s) { result = s; });
  committer.Flush();
  EXPECT_TRUE(result.ok());
  EXPECT_TRUE(Has("huge"));
}

}  // namespace
}  // namespace rf::state
