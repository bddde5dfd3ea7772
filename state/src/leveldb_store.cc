// The LevelDB implementation of StateStore. One process owns a directory at a time (LevelDB's
// LOCK file); every method is safe to call concurrently (LevelDB serializes writers itself).
#include <exception>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <utility>

#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/filter_policy.h>
#include <leveldb/iterator.h>
#include <leveldb/options.h>
#include <leveldb/write_batch.h>

#include "state/leveldb_store.h"

namespace rf::state {

namespace {

leveldb::Slice ToSlice(std::string_view s) { return leveldb::Slice(s.data(), s.size()); }
std::string_view ToView(const leveldb::Slice& s) { return std::string_view(s.data(), s.size()); }

// Maps a LevelDB status onto ours; `what` names the operation and the directory.
Status Convert(const leveldb::Status& s, const std::string& what) {
  if (s.ok()) return Status::Ok();
  // leveldb's text is "<kind>: <detail>"; our Status prints its own kind, so keep the detail.
  std::string text = s.ToString();
  if (auto colon = text.find(": "); colon != std::string::npos) text.erase(0, colon + 2);
  std::string message = what + ": " + text;
  if (s.IsNotFound()) return Status::NotFound(std::move(message));
  if (s.IsCorruption()) return Status::Corruption(std::move(message));
  if (s.IsInvalidArgument()) return Status::InvalidArgument(std::move(message));
  if (s.IsNotSupportedError()) return Status::FailedPrecondition(std::move(message));
  return Status::IOError(std::move(message));
}

class LevelDbStore final : public StateStore {
 public:
  LevelDbStore(std::string dir, bool sync, std::unique_ptr<leveldb::Cache> cache,
               std::unique_ptr<const leveldb::FilterPolicy> filter, std::unique_ptr<leveldb::DB> db)
      : dir_(std::move(dir)),
        sync_(sync),
        cache_(std::move(cache)),
        filter_(std::move(filter)),
        db_(std::move(db)) {}

  // Members are destroyed in reverse order: the DB first, then the filter policy and the cache
  // it uses.
  ~LevelDbStore() override = default;

  Status Commit(const WriteBatch& batch) override {
    if (batch.empty()) return Status::Ok();
    try {
      leveldb::WriteBatch wb;
      for (const auto& op : batch.ops()) {
        if (op.value) {
          wb.Put(op.key, *op.value);
        } else {
          wb.Delete(op.key);
        }
      }
      leveldb::WriteOptions wo;
      wo.sync = sync_;
      return Convert(db_->Write(wo, &wb), "LevelDB store " + dir_ + ": commit");
    } catch (const std::exception& e) {
      return Status::Internal("LevelDB store " + dir_ + ": commit: " + e.what());
    }
  }

  Status Get(std::string_view key, std::string* value) override {
    try {
      leveldb::Status s = db_->Get(leveldb::ReadOptions(), ToSlice(key), value);
      if (s.IsNotFound()) {
        return Status::NotFound("LevelDB store " + dir_ + ": key not found: " + std::string(key));
      }
      return Convert(s, "LevelDB store " + dir_ + ": get " + std::string(key));
    } catch (const std::exception& e) {
      return Status::Internal("LevelDB store " + dir_ + ": get: " + e.what());
    }
  }

  // The visitor runs while the snapshot and iterator are held; exceptions it throws propagate
  // to the caller after both are released.
  Status Scan(std::string_view begin, std::string_view end, const ScanFn& fn) override {
    struct SnapshotGuard {
      leveldb::DB* db;
      const leveldb::Snapshot* snapshot;
      ~SnapshotGuard() { db->ReleaseSnapshot(snapshot); }
    };
    SnapshotGuard guard{db_.get(), db_->GetSnapshot()};
    leveldb::ReadOptions ro;
    ro.snapshot = guard.snapshot;
    ro.fill_cache = true;
    // The iterator must be destroyed before the snapshot is released (declared after the guard).
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(ro));
    for (it->Seek(ToSlice(begin)); it->Valid(); it->Next()) {
      std::string_view key = ToView(it->key());
      if (!end.empty() && key >= end) break;
      if (!fn(key, ToView(it->value()))) break;
    }
    return Convert(it->status(), "LevelDB store " + dir_ + ": scan");
  }

 private:
  std::string dir_;
  bool sync_;
  std::unique_ptr<leveldb::Cache> cache_;
  std::unique_ptr<const leveldb::FilterPolicy> filter_;
  std::unique_ptr<leveldb::DB> db_;
};

}  // namespace

Result<std::unique_ptr<StateStore>> OpenLevelDb(const std::string& dir, const LevelDbOptions& options) {
  if (dir.empty()) return Status::InvalidArgument("LevelDB store: empty directory name");
  try {
    if (options.create_if_missing) {
      std::error_code ec;
      std::filesystem::create_directories(dir, ec);
      if (ec) {
        return Status::IOError("cannot open LevelDB store at " + dir +
                               ": cannot create the directory: " + ec.message());
      }
    }
    std::unique_ptr<leveldb::Cache> cache(leveldb::NewLRUCache(options.block_cache_bytes));
    std::unique_ptr<const leveldb::FilterPolicy> filter(leveldb::NewBloomFilterPolicy(10));
    leveldb::Options lo;
    lo.create_if_missing = options.create_if_missing;
    lo.block_cache = cache.get();
    lo.filter_policy = filter.get();
    lo.write_buffer_size = options.write_buffer_bytes;
    leveldb::DB* raw = nullptr;
    leveldb::Status s = leveldb::DB::Open(lo, dir, &raw);
    std::unique_ptr<leveldb::DB> db(raw);
    if (!s.ok()) {
      Status st = Convert(s, "cannot open LevelDB store at " + dir);
      // LevelDB reports "IO error: lock <dir>/LOCK: already held by process" (this process) or
      // "Resource temporarily unavailable" (another process).
      if (st.code() == Status::Code::kIOError && s.ToString().find("LOCK") != std::string::npos) {
        return Status::IOError(st.message() +
                               " (another process or store already has this directory open)");
      }
      return st;
    }
    return std::unique_ptr<StateStore>(std::make_unique<LevelDbStore>(
        dir, options.sync, std::move(cache), std::move(filter), std::move(db)));
  } catch (const std::exception& e) {
    return Status::Internal("cannot open LevelDB store at " + dir + ": " + e.what());
  }
}

}  // namespace rf::state
