// A small flow and catalog for the scenario module's tests, and helpers to parse, check and run.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "dsl/compiler.h"
#include "testing/runner.h"
#include "testing/scenario.h"

namespace rf::scenario_test {

inline const char* kCatalog = R"({"format": "retailflow.catalog/1", "connectors": [
  {"name": "shop", "system": "shop", "operations": [
    {"name": "reserve", "output": [{"name": "id", "type": "text"}]},
    {"name": "release"},
    {"name": "charge"},
    {"name": "lookup", "side_effects": false}]}]})";

// Every kind of state a scenario can drive: a retried step with an undo, a decide, an approval
// with a deadline, a step with an error route, an event wait with a 30-day limit.
inline const char* kFlow = R"(workflow order version 1
uses shop
input
  order_id text
  amount number

step reserve
  call shop.reserve with order = input.order_id
  save result as reservation
  retry up to 11 times waiting 1s doubling up to 1m
  undo call shop.release with id = reservation.id

decide big
  when input.amount > 100 go to approve_it
  otherwise go to charge

approval approve_it
  ask manager "Approve order {input.order_id} of {input.amount}?"
  details "Reserved as {reservation.id}."
  if nobody decides within 4h go to declined
  if approved go to charge
  if rejected go to declined

step charge
  call shop.charge with amount = input.amount, order = input.order_id
  save result as payment
  on error rejected go to declined

wait for_pickup
  for event picked where order == input.order_id within 30 days
  save event as pickup
  on timeout go to done
  then go to done

finish done "Order {input.order_id} paid as {payment.id}."
fail declined "Order {input.order_id} declined."
)";

struct Fixture {
  dsl::Catalog catalog;
  std::optional<ir::Machine> machine;
  Fixture() {
    Status s = catalog.AddJson(kCatalog, "test");
    EXPECT_TRUE(s.ok()) << s.message();
    dsl::Diagnostics d;
    machine = dsl::CompileSource(kFlow, catalog, d);
    std::string all;
    for (const auto& x : d.all()) all += dsl::RenderText(x, "order.flow", kFlow);
    EXPECT_TRUE(machine.has_value()) << all;
  }
};

inline const Fixture& Shared() {
  static Fixture f;
  return f;
}

// Parses and checks; the rendered diagnostics (empty when clean).
inline std::string Diagnose(const std::string& text, testing::ScenarioFile* out = nullptr) {
  dsl::Diagnostics d;
  testing::ScenarioFile f = testing::ParseScenarios(text, d);
  if (!d.HasErrors()) testing::CheckScenarios(f, *Shared().machine, Shared().catalog, d);
  std::string all;
  for (const auto& x : d.all()) all += dsl::RenderText(x, "order.tests", text) + "\n";
  if (out != nullptr) *out = std::move(f);
  return all;
}

// Parses, checks (which must be clean) and runs the only scenario of `text`.
inline testing::ScenarioResult RunOne(const std::string& text) {
  testing::ScenarioFile f;
  std::string diags = Diagnose(text, &f);
  EXPECT_EQ(diags, "");
  EXPECT_EQ(f.scenarios.size(), 1u);
  if (!diags.empty() || f.scenarios.size() != 1) return {};
  return testing::RunScenario(*Shared().machine, kFlow, f.scenarios[0], Shared().catalog);
}

// A scenario: the header, a scenario with `body`, its end. Line 1 is the header, line 2 the
// scenario title, so the body's first line is line 3.
inline std::string Scenario(const std::string& body) {
  return "tests for order\nscenario \"s\"\n" + body + "end\n";
}

}  // namespace rf::scenario_test
