// The read model of an instance, as the API and the console show it (docs/engine.md): what an
// operator needs, not the engine's bookkeeping (history sequence, id counters, visit counts,
// timer and subscription keys, idempotency keys, undo inputs are left out), so the stored form
// can change without breaking a client.
#pragma once

#include "common/value.h"
#include "instance.h"

namespace rf::engine {

Value InstanceView(const Instance& in);

}  // namespace rf::engine
