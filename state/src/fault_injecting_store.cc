// FaultInjectingStore: decides under a mutex what the next Commit does, then forwards to the
// target outside the mutex so concurrent commits still reach the target concurrently.
//
// Counting: every Commit call counts (commits() included), whether it succeeds or not, and
// every call advances both countdowns ("the Nth Commit from now"). When a FailCommitAfter and a
// LoseAckAfter countdown expire on the same call, the failure wins (nothing is applied).
// n <= 0 disarms the countdown. Get and Scan are forwarded untouched.
#include <mutex>
#include <string>

#include "state/state_store.h"

namespace rf::state {

struct FaultInjectingStore::Impl {
  mutable std::mutex mu;
  int fail_countdown = 0;  // 0 = disarmed
  int lose_ack_countdown = 0;
  bool broken = false;
  int commits = 0;
};

FaultInjectingStore::FaultInjectingStore(StateStore* target)
    : impl_(std::make_shared<Impl>()), target_(target) {}

void FaultInjectingStore::FailCommitAfter(int n) {
  std::lock_guard lock(impl_->mu);
  impl_->fail_countdown = n > 0 ? n : 0;
}

void FaultInjectingStore::LoseAckAfter(int n) {
  std::lock_guard lock(impl_->mu);
  impl_->lose_ack_countdown = n > 0 ? n : 0;
}

void FaultInjectingStore::BreakCommits() {
  std::lock_guard lock(impl_->mu);
  impl_->broken = true;
}

void FaultInjectingStore::Heal() {
  std::lock_guard lock(impl_->mu);
  impl_->broken = false;
}

int FaultInjectingStore::commits() const {
  std::lock_guard lock(impl_->mu);
  return impl_->commits;
}

Status FaultInjectingStore::Commit(const WriteBatch& batch) {
  bool fail = false;
  bool lose_ack = false;
  int number = 0;
  {
    std::lock_guard lock(impl_->mu);
    number = ++impl_->commits;
    if (impl_->fail_countdown > 0 && --impl_->fail_countdown == 0) fail = true;
    if (impl_->lose_ack_countdown > 0 && --impl_->lose_ack_countdown == 0) lose_ack = true;
    if (impl_->broken) fail = true;
  }
  if (fail) {
    return Status::IOError("fault injection: commit #" + std::to_string(number) +
                           " failed, nothing applied");
  }
  Status s = target_->Commit(batch);
  if (!s.ok()) return s;
  if (lose_ack) {
    return Status::IOError("fault injection: commit #" + std::to_string(number) +
                           " applied but its acknowledgement was lost");
  }
  return s;
}

Status FaultInjectingStore::Get(std::string_view key, std::string* value) {
  return target_->Get(key, value);
}

Status FaultInjectingStore::Scan(std::string_view begin, std::string_view end, const ScanFn& fn) {
  return target_->Scan(begin, end, fn);
}

}  // namespace rf::state
