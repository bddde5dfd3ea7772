// GroupCommitter: one writer thread commits everything queued as one batch.
//
// Flush() queues a marker (an empty batch whose callback is a FlushMarker) and waits until the
// writer has handled it: since the queue is FIFO and a group's callbacks run only after its
// commit, every batch submitted before the marker is committed by then — even while other
// threads keep submitting (no waiting for the queue to go idle, which could starve). Markers are
// not counted in stats and a group made only of markers does not touch the store.
//
// The mutex is never held while committing or while calling callbacks, so a callback may call
// Submit() again. Flush() called on the writer thread (from a callback) cannot wait for the
// writer; it returns at once (the only way not to deadlock).
#include <memory>
#include <utility>
#include <vector>

#include "state/group_commit.h"

namespace rf::state {

namespace {

struct FlushState {
  bool done = false;
};

// The callback of a Flush marker: marks its FlushState done and wakes the flushers.
struct FlushMarker {
  std::mutex* mu;
  std::condition_variable* cv;
  std::shared_ptr<FlushState> state;
  void operator()(const Status&) const {
    {
      std::lock_guard lock(*mu);
      state->done = true;
    }
    cv->notify_all();
  }
};

bool IsFlushMarker(const GroupCommitter::Callback& cb) { return cb.target<FlushMarker>() != nullptr; }

}  // namespace

GroupCommitter::GroupCommitter(StateStore* store, size_t max_group_bytes)
    : store_(store), max_group_bytes_(max_group_bytes) {
  writer_ = std::thread([this] { Run(); });
}

GroupCommitter::~GroupCommitter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
}

void GroupCommitter::Submit(WriteBatch batch, Callback done) {
  {
    std::lock_guard lock(mu_);
    queue_.emplace_back(std::move(batch), std::move(done));
  }
  cv_.notify_one();
}

void GroupCommitter::Flush() {
  if (std::this_thread::get_id() == writer_.get_id()) return;
  auto state = std::make_shared<FlushState>();
  std::unique_lock lock(mu_);
  queue_.emplace_back(WriteBatch(), FlushMarker{&mu_, &idle_cv_, state});
  cv_.notify_one();
  idle_cv_.wait(lock, [&] { return state->done; });
}

GroupCommitter::Stats GroupCommitter::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void GroupCommitter::Run() {
  std::vector<std::pair<WriteBatch, Callback>> group;
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) break;  // stopping and drained

    // Take everything queued, up to max_group_bytes (at least one batch).
    group.clear();
    size_t group_bytes = 0;
    while (!queue_.empty()) {
      size_t next = queue_.front().first.bytes();
      if (!group.empty() && group_bytes + next > max_group_bytes_) break;
      group_bytes += next;
      group.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    writing_ = true;
    lock.unlock();

    std::uint64_t batches = 0;
    WriteBatch combined;
    const WriteBatch* to_commit = nullptr;
    for (const auto& [batch, done] : group) {
      if (IsFlushMarker(done)) continue;
      ++batches;
      if (batch.empty()) continue;
      if (to_commit == nullptr) {
        to_commit = &batch;  // a group of one batch is committed without a copy
      } else {
        if (to_commit != &combined) {
          combined.Append(*to_commit);
          to_commit = &combined;
        }
        combined.Append(batch);
      }
    }
    Status status = to_commit != nullptr ? store_->Commit(*to_commit) : Status::Ok();

    lock.lock();
    if (batches > 0) {
      stats_.groups += 1;
      stats_.batches += batches;
      stats_.bytes += group_bytes;
    }
    lock.unlock();

    for (auto& entry : group) {
      if (entry.second) entry.second(status);
    }
    group.clear();  // destroy batches and callbacks outside the lock

    lock.lock();
    writing_ = false;
  }
}

}  // namespace rf::state
