// The crash test's shared knowledge: the flows the worker deploys, the catalog of its `sim`
// connector, the plan of instances to start (and how each is to be driven), and what each
// instance must end with. Both rf_crash_worker (which drives the load) and rf_crash_tests
// (which kills the worker and checks the result) include it, so they cannot disagree.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace rf::crash {

inline const char* kCatalog = R"({"format": "retailflow.catalog/1", "connectors": [
  {"name": "sim", "system": "sim", "operations": [
    {"name": "reserve", "writes": "stock"}, {"name": "release", "writes": "stock"},
    {"name": "charge", "writes": "accounting"}, {"name": "refund", "writes": "accounting"},
    {"name": "ship", "writes": "shipment"}, {"name": "unship", "writes": "shipment"},
    {"name": "post", "writes": "ledger"}, {"name": "unpost", "writes": "ledger"},
    {"name": "notify", "compensable": false}]}]})";

// Steps with undo and retries, a 300ms timer, an event wait (long `within`, or a 1s one whose
// timeout path is taken), an approval (long deadline decided by the driver, or a 1s deadline that
// escalates), a step refused by the downstream system, and four `fail` ends that run the undo
// chain.
inline const char* kOrderFlow = R"(workflow crash_order version 1
  "Crash test: steps with undo, retries, a timer, an event, an approval."

uses sim

input
  n text
  path text
  amount money

step reserve
  call sim.reserve with ref = input.n, qty = 2
  save result as reservation
  retry up to 8 times waiting 30ms
  undo call sim.release with ref = input.n, reservation = reservation.key

step charge
  call sim.charge with ref = input.n, amount = input.amount
  save result as payment
  retry up to 8 times waiting 30ms doubling up to 300ms
  undo call sim.refund with ref = input.n, payment = payment.key

wait cool
  for 300ms

decide route_wait
  when input.path == "timeout" go to quick_pickup
  otherwise go to pickup

wait quick_pickup
  for event pickup where order_ref == input.n within 1s
  save event as picked
  on timeout go to no_show
  then go to route_approval

wait pickup
  for event pickup where order_ref == input.n within 10m
  save event as picked
  on timeout go to no_show

decide route_approval
  when input.path == "expire" go to quick_check
  otherwise go to check

approval quick_check
  ask manager "Quick decision on order {input.n}?"
  if nobody decides within 1s go to expired
  if approved go to ship
  if rejected go to declined
  save decision as review

approval check
  ask manager "Charge {input.amount} for order {input.n}?"
  if nobody decides within 10m go to expired
  if approved go to ship
  if rejected go to declined
  save decision as review

step ship
  call sim.ship with ref = input.n, mode = input.path
  save result as shipment
  retry up to 8 times waiting 30ms
  on error rejected go to ship_refused
  undo call sim.unship with ref = input.n

step tell
  call sim.notify with ref = input.n, who = picked.who
  retry up to 8 times waiting 30ms

finish shipped "order {input.n} shipped to {picked.who}, approved by {review.actor}"
fail no_show "order {input.n}: no pickup"
fail declined "order {input.n} declined by {review.actor}"
fail expired "order {input.n}: nobody decided"
fail ship_refused "order {input.n}: ship refused"
)";

// A parallel and a for each (2 rounds at a time) of steps with undo, a timer, and two failing
// paths: a `fail` after everything, and a round refused by the downstream system (an unhandled
// error while the other round may be in flight).
inline const char* kFanoutFlow = R"(workflow crash_fanout version 1
  "Crash test: parallel, for each, undo of both."

uses sim

input
  n text
  path text
  lines list

parallel both
  branch a
    step hold_a
      call sim.reserve with ref = input.n, part = "a"
      save result as held_a
      retry up to 8 times waiting 30ms
      undo call sim.release with ref = input.n, part = "a"
  branch b
    step hold_b
      call sim.charge with ref = input.n, part = "b"
      save result as held_b
      retry up to 8 times waiting 30ms
      undo call sim.refund with ref = input.n, part = "b"
end

for each line in input.lines as rounds at most 2 at a time
  step post
    call sim.post with ref = input.n, sku = line.sku, qty = line.qty
    save result as posted
    retry up to 8 times waiting 30ms
    undo call sim.unpost with ref = input.n, sku = line.sku
  set doubled
    twice = line.qty * 2
end

wait settle
  for 300ms

decide route
  when input.path == "fail" go to broken
  otherwise go to done

finish done "fanout {input.n}: {count(rounds)} rounds, total {sum(rounds, item.twice)}"
fail broken "fanout {input.n} failed"
)";

struct PlanEntry {
  int n = 0;                 // business key and event correlation key: std::to_string(n)
  std::string workflow;      // crash_order | crash_fanout
  std::string path;          // order: ok reject timeout expire fail; fanout: ok fail bad
  std::string event_mode;    // order: early (before the start: buffered), during (right after
                             // the start: buffered), late (once the instance waits), none
  int amount = 0;            // order
  std::vector<std::pair<std::string, int>> lines;  // fanout: (sku, qty)

  std::string key() const { return std::to_string(n); }
  bool wants_event() const { return workflow == "crash_order" && path != "timeout"; }
  // The approval decision the driver takes ("" = leave it to the deadline / no approval).
  std::string decision() const {
    if (workflow != "crash_order" || path == "timeout" || path == "expire") return "";
    return path == "reject" ? "reject" : "approve";
  }
  std::string actor() const { return "actor-" + key(); }
  std::string who() const { return "who-" + key(); }

  std::string expected_status() const {
    if (path == "ok") return "completed";
    return "compensated";  // every failing path has completed steps to undo
  }
  std::string expected_outcome() const {
    const std::string k = key();
    if (workflow == "crash_order") {
      if (path == "ok") return "order " + k + " shipped to " + who() + ", approved by " + actor();
      if (path == "reject") return "order " + k + " declined by " + actor();
      if (path == "timeout") return "order " + k + ": no pickup";
      if (path == "expire") return "order " + k + ": nobody decided";
      return "order " + k + ": ship refused";
    }
    if (path == "ok") {
      int total = 0;
      for (const auto& l : lines) total += 2 * l.second;
      return "fanout " + k + ": " + std::to_string(lines.size()) + " rounds, total " + std::to_string(total);
    }
    if (path == "fail") return "fanout " + k + " failed";
    return "sim: sku BAD refused for " + k;  // the unhandled error's message
  }
  // The operations whose effects must exist exactly once each, for the deterministic paths
  // (sorted). Empty for "bad", whose set depends on timing: checked by balance instead.
  std::vector<std::string> expected_ops() const {
    std::vector<std::string> ops;
    if (workflow == "crash_order") {
      if (path == "ok") ops = {"charge", "notify", "reserve", "ship"};
      else ops = {"charge", "refund", "release", "reserve"};
    } else if (path == "ok" || path == "fail") {
      ops = {"charge", "reserve"};
      for (size_t i = 0; i < lines.size(); ++i) ops.push_back("post");
      if (path == "fail") {
        ops.push_back("refund");
        ops.push_back("release");
        for (size_t i = 0; i < lines.size(); ++i) ops.push_back("unpost");
      }
    }
    std::sort(ops.begin(), ops.end());
    return ops;
  }
};

// The load is open-ended: instance n (1, 2, ...) is due at epoch + (n - 1) * kStartSpacingMs, so
// new instances keep arriving, with their timers, events and approvals due, for as long as the
// test keeps killing; the test then closes the plan at the number of instances due by then.
// Both processes measure time on the system-wide monotonic clock (steady_clock is
// CLOCK_MONOTONIC on Linux), the epoch being written by the test before the first worker starts.
inline constexpr int kStartSpacingMs = 110;

inline std::int64_t MonotonicMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// How many instances are due `elapsed_ms` after the epoch.
inline int DueCount(std::int64_t elapsed_ms) {
  return elapsed_ms < 0 ? 0 : static_cast<int>(elapsed_ms / kStartSpacingMs) + 1;
}

// Instance n of the plan (n >= 1): five orders for every three fanouts, cycling through every
// path and event mode.
inline PlanEntry MakeEntry(int n) {
  static const char* kOrderPaths[] = {"ok", "reject", "timeout", "expire", "fail"};
  static const char* kModes[] = {"early", "during", "late"};
  static const char* kFanoutPaths[] = {"ok", "fail", "bad"};
  // Orders among 1 .. n-1 (those m with m % 8 < 5), and fanouts among them.
  const int m = n - 1;
  const int k = (m / 8) * 5 + std::min(m % 8, 4) + 1 - 1;
  const int j = m - k;
  PlanEntry e;
  e.n = n;
  if (n % 8 < 5) {
    e.workflow = "crash_order";
    e.path = kOrderPaths[k % 5];
    e.event_mode = e.path == "timeout" ? "none" : kModes[(k / 5) % 3];
    e.amount = 20 + n;
  } else {
    e.workflow = "crash_fanout";
    e.path = kFanoutPaths[j % 3];
    e.event_mode = "none";
    int count = 2 + (j / 3) % 3;
    for (int i = 0; i < count; ++i)
      e.lines.emplace_back(e.path == "bad" && i == 1 ? "BAD" : "S" + std::to_string(n) + "-" + std::to_string(i), i + 1);
  }
  return e;
}

inline std::vector<PlanEntry> MakePlan(int count) {
  std::vector<PlanEntry> plan;
  for (int n = 1; n <= count; ++n) plan.push_back(MakeEntry(n));
  return plan;
}

// Operations that undo another one (their effect keys end with ":undo").
inline std::string UndoOf(const std::string& op) {
  if (op == "reserve") return "release";
  if (op == "charge") return "refund";
  if (op == "ship") return "unship";
  if (op == "post") return "unpost";
  return "";
}

}  // namespace rf::crash
