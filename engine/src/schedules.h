// Schedules (`every day at 06:00 in Europe/Paris`): which starts are due. Pure: the engine keeps
// the last fired slot of each schedule (`sched/` keys) and starts what this returns; a slot counts
// as fired when its start is durable, in the start's own batch.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "definitions.h"
#include "engine/engine.h"

namespace rf::engine {

struct ScheduledStart {
  StartRequest request;  // business key "schedule-<index>-<slot>": one instance per slot
  std::string slot_key;  // the sched/ key to record the slot under
  Time slot;
};

// After an outage only the most recent missed slot fires, unless catch_up_all (every missed slot
// once). A schedule that has never fired counts from its version's deployment.
std::vector<ScheduledStart> DueStarts(const std::vector<DefinitionRegistry::Scheduled>& workflows,
                                      const std::map<std::string, Time>& last_fired, Time now, bool catch_up_all);

}  // namespace rf::engine
