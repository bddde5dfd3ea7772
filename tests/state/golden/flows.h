// The flows of the format-1 golden store (tests/state/golden/README.md). The fixture writer, built
// against the first edition, and the golden test, built against today's code, both deploy them;
// they must not change, or the deployed definitions in the fixture would no longer match.
#pragma once

namespace rf::golden {

// Parked on an event whose correlation key holds a '/' ("PAR/01"), or not ("PAR").
inline const char* kClickCollect = R"(workflow click_collect version 1
input parcel text
wait for_pickup
  for event pickup where parcel == input.parcel within 30 days
  save event as pickup
  on timeout go to no_show
finish collected "by {pickup.who}"
fail no_show "no show"
)";

// Parked on an approval (a task, an open-task index entry and a deadline timer).
inline const char* kReturnReview = R"(workflow return_review version 1
input return_id text
approval manager_ok
  ask store_manager "Refund {input.return_id}?"
  if nobody decides within 7 days go to expired
  if approved go to refunded
  if rejected go to declined
finish refunded "approved by {manager_ok.actor}"
fail declined "rejected"
fail expired "nobody decided"
)";

// Parked on a timer.
inline const char* kCoolOff = R"(workflow cool_off version 1
wait cool
  for 1h
finish done "cooled off"
)";

inline constexpr long long kStartMs = 1764230400000;  // 2026-11-27T08:00:00Z, the writer's clock

}  // namespace rf::golden
