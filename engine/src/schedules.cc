#include "schedules.h"

#include "common/cron.h"
#include "common/time_text.h"
#include "engine/ir/eval.h"
#include "state/keys.h"

namespace rf::engine {

std::vector<ScheduledStart> DueStarts(const std::vector<DefinitionRegistry::Scheduled>& workflows,
                                      const std::map<std::string, Time>& last_fired, Time now, bool catch_up_all) {
  std::vector<ScheduledStart> out;
  for (const auto& w : workflows) {
    const ir::Machine& m = *w.machine;
    for (size_t i = 0; i < m.schedules.size(); ++i) {
      const auto& sc = m.schedules[i];
      auto cron = CronSchedule::Parse(sc.cron, sc.time_zone);
      if (!cron.ok()) continue;  // the checker refuses these; a stored one is skipped
      std::string key = state::keys::ScheduleSlot(m.name, i);
      auto it = last_fired.find(key);
      Time slot = cron->NextAfter(it != last_fired.end() ? it->second : w.deployed_at);
      if (slot > now) continue;
      std::vector<Time> slots = {slot};
      for (int guard = 0; guard < 100000; ++guard) {
        Time n = cron->NextAfter(slots.back());
        if (n > now) break;
        if (catch_up_all) {
          slots.push_back(n);
        } else {
          slots.back() = n;
        }
      }
      for (Time s : slots) {
        ScheduledStart start;
        start.request.workflow = m.name;
        start.request.version = m.version;
        Record input;
        ir::Scope scope;
        scope.now = now;
        for (const auto& [name, expr] : sc.input) {
          auto v = ir::Evaluate(expr, scope);
          input[name] = v.ok() ? *v : Value();
        }
        start.request.input = Value(std::move(input));
        start.request.business_key = "schedule-" + std::to_string(i) + "-" + FormatTime(s);
        start.slot_key = key;
        start.slot = s;
        out.push_back(std::move(start));
      }
    }
  }
  return out;
}

}  // namespace rf::engine
