// Group commit: many instances' transitions share one synced write, so the cost of fsync is paid
// once per group instead of once per transition (DESIGN §4).
//
// Submit() queues a batch and returns at once; a single writer thread takes everything queued,
// appends it into one WriteBatch (in submission order, so a later batch's writes win), commits
// it, and then calls every callback of the group with the commit's Status. A group is capped by
// `max_group_bytes`; the writer never waits for more work to arrive (no added latency when idle).
// Callbacks run on the writer thread and must be quick (post the real work elsewhere).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "state/state_store.h"

namespace rf::state {

class GroupCommitter {
 public:
  using Callback = std::function<void(const Status&)>;

  GroupCommitter(StateStore* store, size_t max_group_bytes = 4 << 20);  // store not owned
  ~GroupCommitter();  // commits what is queued, then stops

  void Submit(WriteBatch batch, Callback done);
  // Blocks until everything submitted before the call is committed.
  void Flush();

  struct Stats {
    std::uint64_t groups = 0;
    std::uint64_t batches = 0;
    std::uint64_t bytes = 0;
  };
  Stats stats() const;

 private:
  void Run();

  StateStore* store_;
  size_t max_group_bytes_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  std::deque<std::pair<WriteBatch, Callback>> queue_;
  bool stopping_ = false;
  bool writing_ = false;
  Stats stats_;
  std::thread writer_;
};

}  // namespace rf::state
