// MemoryStore: a std::map under a mutex, for tests. With durable_on_commit = false it keeps the
// state as of the last Sync() so SimulateCrash() can return to it.
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "state/state_store.h"

namespace rf::state {

using Map = std::map<std::string, std::string, std::less<>>;

struct MemoryStore::Impl {
  explicit Impl(bool durable) : durable_on_commit(durable) {}
  const bool durable_on_commit;
  mutable std::mutex mu;
  Map data;
  Map synced;  // the state a crash returns to; used only when !durable_on_commit
};

MemoryStore::MemoryStore(bool durable_on_commit) : impl_(std::make_unique<Impl>(durable_on_commit)) {}
MemoryStore::~MemoryStore() = default;

Status MemoryStore::Commit(const WriteBatch& batch) {
  std::lock_guard lock(impl_->mu);
  for (const auto& op : batch.ops()) {
    if (op.value) {
      impl_->data.insert_or_assign(op.key, *op.value);
    } else {
      impl_->data.erase(op.key);
    }
  }
  return Status::Ok();
}

Status MemoryStore::Get(std::string_view key, std::string* value) {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->data.find(key);
  if (it == impl_->data.end()) return Status::NotFound("memory store: key not found: " + std::string(key));
  *value = it->second;
  return Status::Ok();
}

// The range is copied under the lock and visited without it: the copy is the consistent
// snapshot, and a visitor may call Get or Commit on this store without deadlocking.
Status MemoryStore::Scan(std::string_view begin, std::string_view end, const ScanFn& fn) {
  std::vector<std::pair<std::string, std::string>> range;
  {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->data.lower_bound(begin);
    for (; it != impl_->data.end(); ++it) {
      if (!end.empty() && std::string_view(it->first) >= end) break;
      range.emplace_back(it->first, it->second);
    }
  }
  for (const auto& [key, value] : range) {
    if (!fn(key, value)) break;
  }
  return Status::Ok();
}

void MemoryStore::Sync() {
  std::lock_guard lock(impl_->mu);
  if (!impl_->durable_on_commit) impl_->synced = impl_->data;
}

void MemoryStore::SimulateCrash() {
  std::lock_guard lock(impl_->mu);
  if (!impl_->durable_on_commit) impl_->data = impl_->synced;
}

size_t MemoryStore::size() const {
  std::lock_guard lock(impl_->mu);
  return impl_->data.size();
}

}  // namespace rf::state
