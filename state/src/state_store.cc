// StateStore::ScanPrefix: a prefix scan is a range scan over [prefix, successor(prefix)).
#include "state/state_store.h"

namespace rf::state {

namespace {

// The smallest key greater than every key that starts with `prefix`: drop trailing 0xff bytes,
// then increment the last byte. Empty when no such key exists (empty prefix, or all 0xff bytes),
// which Scan reads as "to the end of the key space".
std::string PrefixSuccessor(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto last = static_cast<unsigned char>(end.back());
    if (last != 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return end;
}

}  // namespace

Status StateStore::ScanPrefix(std::string_view prefix, const ScanFn& fn) {
  return Scan(prefix, PrefixSuccessor(prefix), fn);
}

}  // namespace rf::state
