// Lenient readers of stored records' fields: a missing or mistyped field reads as the fallback.
// Callers that must tell "absent" from "bad" check the field themselves (snapshot_codec.cc).
#pragma once

#include <cstdint>
#include <string>

#include "common/value.h"

namespace rf::engine {

inline std::int64_t IntField(const Value* v, std::int64_t fallback = 0) {
  if (v == nullptr || !v->is_number()) return fallback;
  return v->as_number().ToInt64().value_or(fallback);
}
inline std::string TextField(const Value* v) { return v != nullptr && v->is_text() ? v->as_text() : std::string(); }
inline bool FlagField(const Value* v) { return v != nullptr && v->is_bool() && v->as_bool(); }

}  // namespace rf::engine
