// The LevelDB implementation of StateStore (target rf_state_leveldb). Only hosts — the CLI, the
// service, tests and benchmarks — open a store; the engine sees StateStore alone.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "state/state_store.h"

namespace rf::state {

struct LevelDbOptions {
  bool sync = true;  // fsync every commit (durability trade-off: state/FORMAT.md)
  size_t block_cache_bytes = 32 << 20;
  size_t write_buffer_bytes = 16 << 20;
  bool create_if_missing = true;
};

// Opens (creating if allowed) a LevelDB database in `dir`. Errors name the directory; a second
// process opening the same directory gets an IOError about the lock.
Result<std::unique_ptr<StateStore>> OpenLevelDb(const std::string& dir, const LevelDbOptions& options);

}  // namespace rf::state
