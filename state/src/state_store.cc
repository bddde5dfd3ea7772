// StateStore::ScanPrefix: a prefix scan is a range scan over [prefix, PrefixEnd(prefix)).
#include "state/state_store.h"

#include "state/keys.h"

namespace rf::state {

Status StateStore::ScanPrefix(std::string_view prefix, const ScanFn& fn) {
  return Scan(prefix, keys::PrefixEnd(prefix), fn);
}

}  // namespace rf::state
