// The stored form of an instance (the `inst/<id>` value): tagged JSON, documented in
// docs/engine.md. Decoding is strict about what the engine relies on: a snapshot that is not a
// record, or lacks its id, workflow, version or a known status, is Corruption naming the key.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "instance.h"

namespace rf::engine {

std::string EncodeSnapshot(const Instance& in);
// `key` only names the record in errors. The result has no machine: the caller pins it.
Result<Instance> DecodeSnapshot(std::string_view text, std::string_view key);

Value ThreadToValue(const Thread& t);
// A thread's region path as a list of [state, branch] pairs (snapshot and view alike).
Value PathToValue(const Thread& t);

}  // namespace rf::engine
