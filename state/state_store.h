// The only door to durable data (DESIGN §5). The LevelDB implementation is declared in
// state/leveldb_store.h, in its own target, so that the engine never links LevelDB. Ordered keys, atomic batches, point reads, ordered
// range scans. LevelDB now; a PostgreSQL implementation can follow for several engine nodes.
//
// Thread safety: every method may be called from any thread concurrently.
// Durability: when Commit returns OK on a store opened with sync = true, the batch survives a
// process crash and a power loss; with sync = false it survives a process crash (the OS has the
// data) but may be lost on power loss — the documented trade-off of `sync` (state/FORMAT.md).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace rf::state {

class WriteBatch {
 public:
  struct Op {
    std::string key;
    std::optional<std::string> value;  // nullopt = delete
  };
  void Put(std::string key, std::string value) {
    bytes_ += key.size() + value.size();
    ops_.push_back({std::move(key), std::move(value)});
  }
  void Delete(std::string key) {
    bytes_ += key.size();
    ops_.push_back({std::move(key), std::nullopt});
  }
  // Appends another batch's operations after this one's (later operations win on equal keys).
  void Append(const WriteBatch& other) {
    ops_.insert(ops_.end(), other.ops_.begin(), other.ops_.end());
    bytes_ += other.bytes_;
  }
  const std::vector<Op>& ops() const { return ops_; }
  size_t bytes() const { return bytes_; }
  bool empty() const { return ops_.empty(); }
  void Clear() {
    ops_.clear();
    bytes_ = 0;
  }

 private:
  std::vector<Op> ops_;
  size_t bytes_ = 0;
};

// Visitor for Scan: return false to stop early.
using ScanFn = std::function<bool(std::string_view key, std::string_view value)>;

class StateStore {
 public:
  virtual ~StateStore() = default;

  // Applies every operation of the batch or none of them.
  virtual Status Commit(const WriteBatch& batch) = 0;
  // NotFound when the key is absent.
  virtual Status Get(std::string_view key, std::string* value) = 0;
  // Keys in [begin, end) in byte order, from one consistent snapshot. An empty `end` means "to
  // the end of the key space".
  virtual Status Scan(std::string_view begin, std::string_view end, const ScanFn& fn) = 0;
  // Keys starting with `prefix`, in order.
  Status ScanPrefix(std::string_view prefix, const ScanFn& fn);
};

// An in-memory store for tests. Commits are applied at once; `SimulateCrash` on a store created
// with `durable_on_commit = false` throws away every commit since the last `Sync()`, as a crash
// would with sync = false.
class MemoryStore : public StateStore {
 public:
  explicit MemoryStore(bool durable_on_commit = true);
  ~MemoryStore() override;
  Status Commit(const WriteBatch& batch) override;
  Status Get(std::string_view key, std::string* value) override;
  Status Scan(std::string_view begin, std::string_view end, const ScanFn& fn) override;
  void Sync();
  void SimulateCrash();
  size_t size() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Wraps a store and injects faults, for crash and error-path tests (after leveldb's
// fault_injection_test and Temporal's persistence fault injection).
class FaultInjectingStore : public StateStore {
 public:
  explicit FaultInjectingStore(StateStore* target);  // not owned
  // The Nth Commit from now (1 = the next one) fails with IOError and applies nothing.
  void FailCommitAfter(int n);
  // The Nth Commit from now applies the batch but returns IOError ("written, but the caller saw
  // a timeout").
  void LoseAckAfter(int n);
  // Every Commit from now fails until Heal().
  void BreakCommits();
  void Heal();
  int commits() const;

  Status Commit(const WriteBatch& batch) override;
  Status Get(std::string_view key, std::string* value) override;
  Status Scan(std::string_view begin, std::string_view end, const ScanFn& fn) override;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
  StateStore* target_;
};

}  // namespace rf::state
