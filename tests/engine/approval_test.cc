// Approvals: tasks by role, decisions recorded in data and history, deadline escalation, and the
// CompleteTask error contract.
#include "state/keys.h"
#include "tests/engine/harness.h"

namespace rf::engine::testing {
namespace {

const char* kRefund = R"(workflow refund version 1
input order_ref text, amount money
approval manager_ok
  ask manager "Refund {input.amount} for {input.order_ref}?"
  details "Order {input.order_ref}, amount {input.amount}."
  if nobody decides within 7 days go to regional
  if approved go to approved_end
  if rejected go to rejected_end
  save decision as mgr
approval regional
  ask regional_manager "Escalated: refund {input.amount}?"
  if approved go to regional_ok
  if rejected go to rejected_end
finish approved_end "approved by {mgr.actor}: {mgr.comment}"
finish regional_ok "regional ok by {regional.actor} after {mgr.decision}"
fail rejected_end "rejected"
)";

std::string OnlyTask(EngineHarness& h, const std::string& role) {
  auto tasks = h.OpenTasks(role);
  EXPECT_EQ(1u, tasks.size()) << role;
  return tasks.empty() ? "" : TextOf(tasks[0], "id");
}

TEST(EngineApproval, TaskIsListedByRoleWithInterpolatedTitleAndDetails) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kRefund);
  Time t0 = h.clock_.Now();
  std::string id = h.Start("refund", R"({"order_ref": "O-1", "amount": 49.95})");
  EXPECT_EQ("waiting", h.Status(id));
  auto tasks = h.OpenTasks("manager");
  ASSERT_EQ(1u, tasks.size());
  const Value& t = tasks[0];
  EXPECT_EQ("Refund 49.95 for O-1?", TextOf(t, "title"));
  EXPECT_EQ("Order O-1, amount 49.95.", TextOf(t, "details"));
  EXPECT_EQ("manager", TextOf(t, "role"));
  EXPECT_EQ(id, TextOf(t, "instance"));
  EXPECT_EQ("refund", TextOf(t, "workflow"));
  EXPECT_EQ("manager_ok", TextOf(t, "state"));
  EXPECT_EQ("open", TextOf(t, "status"));
  ASSERT_TRUE(t.Find("deadline") && t.Find("deadline")->is_time());
  EXPECT_EQ(t0.ms + 7 * kDay, t.Find("deadline")->as_time().ms);
  EXPECT_TRUE(h.OpenTasks("regional_manager").empty());
  EXPECT_EQ(1u, h.OpenTasks("").size()) << "an empty role lists every open task";
  EXPECT_EQ(1, h.CountHistory(id, "task_created"));
}

TEST(EngineApproval, DecisionActorAndCommentAreRecordedInDataAndHistory) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kRefund);
  std::string id = h.Start("refund", R"({"order_ref": "O-2", "amount": 10})");
  std::string task = OnlyTask(h, "manager");
  h.AdvanceMs(kHour);
  Time decided = h.clock_.Now();
  auto r = h.Decide(task, "approve", "mia", "fine by me");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(*r);
  ASSERT_EQ("completed", h.Status(id));
  EXPECT_EQ("approved by mia: fine by me", h.Outcome(id));
  Value mgr = h.Data(id, "mgr");
  EXPECT_EQ("approve", TextOf(mgr, "decision"));
  EXPECT_EQ("mia", TextOf(mgr, "actor"));
  EXPECT_EQ("fine by me", TextOf(mgr, "comment"));
  ASSERT_TRUE(mgr.Find("decided_at") && mgr.Find("decided_at")->is_time());
  EXPECT_EQ(decided, mgr.Find("decided_at")->as_time());
  EXPECT_EQ(Value(false), *mgr.Find("escalated"));
  bool seen = false;
  for (const auto& e : h.History(id))
    if (TextOf(e, "type") == "task_completed") {
      seen = true;
      EXPECT_EQ("approve", TextOf(e, "decision"));
      EXPECT_EQ("mia", TextOf(e, "actor"));
      EXPECT_EQ("fine by me", TextOf(e, "comment"));
      EXPECT_EQ(task, TextOf(e, "task"));
    }
  EXPECT_TRUE(seen);
  EXPECT_TRUE(h.OpenTasks("manager").empty());
  EXPECT_TRUE(h.Keys(state::keys::TimerPrefix()).empty()) << "the deadline timer is removed";
}

TEST(EngineApproval, RejectionGoesToTheRejectedState) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kRefund);
  std::string id = h.Start("refund", R"({"order_ref": "O-3", "amount": 10})");
  auto r = h.Decide(OnlyTask(h, "manager"), "reject", "max", "no receipt");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ("failed", h.Status(id));
  EXPECT_EQ("rejected", h.Outcome(id));
  EXPECT_EQ("reject", TextOf(h.Data(id, "mgr"), "decision"));
}

TEST(EngineApproval, CompletingATaskTwiceIsAFailedPrecondition) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kRefund);
  std::string id = h.Start("refund", R"({"order_ref": "O-4", "amount": 10})");
  std::string task = OnlyTask(h, "manager");
  ASSERT_TRUE(h.Decide(task, "approve").ok());
  auto again = h.Decide(task, "reject", "eve");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(rf::Status::Code::kFailedPrecondition, again.status().code()) << again.status().message();
  // The first decision stands.
  EXPECT_EQ("approve", TextOf(h.Data(id, "mgr"), "decision"));
  EXPECT_EQ("ann", TextOf(h.Data(id, "mgr"), "actor"));
  EXPECT_EQ(1, h.CountHistory(id, "task_completed"));
}

TEST(EngineApproval, UnknownTaskIsNotFoundAndABadDecisionIsInvalid) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kRefund);
  std::string id = h.Start("refund", R"({"order_ref": "O-5", "amount": 10})");
  for (const std::string& bogus : {std::string("nonsense"), std::string("no-such-instance:0.1:manager_ok"),
                                   id + ":0.9:manager_ok", id + ":7.1:other"}) {
    auto r = h.Decide(bogus, "approve");
    ASSERT_FALSE(r.ok()) << bogus;
    EXPECT_EQ(rf::Status::Code::kNotFound, r.status().code()) << bogus << ": " << r.status().message();
  }
  auto bad = h.Decide(OnlyTask(h, "manager"), "maybe");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(rf::Status::Code::kInvalidArgument, bad.status().code());
  EXPECT_EQ("waiting", h.Status(id));
  EXPECT_EQ(1u, h.OpenTasks("manager").size());
}

TEST(EngineApproval, WeekLongDeadlineEscalatesInVirtualTime) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kRefund);
  std::string id = h.Start("refund", R"({"order_ref": "O-6", "amount": 700})");
  std::string task = OnlyTask(h, "manager");
  h.AdvanceMs(7 * kDay - 1);
  EXPECT_EQ("waiting", h.Status(id));
  EXPECT_EQ(1u, h.OpenTasks("manager").size());
  EXPECT_TRUE(h.OpenTasks("regional_manager").empty());
  h.AdvanceMs(1);
  EXPECT_EQ("waiting", h.Status(id));
  EXPECT_TRUE(h.OpenTasks("manager").empty()) << "the expired task is closed";
  std::string regional = OnlyTask(h, "regional_manager");
  EXPECT_EQ("Escalated: refund 700?", TextOf(h.OpenTasks("regional_manager")[0], "title"));
  Value mgr = h.Data(id, "mgr");
  EXPECT_EQ("none", TextOf(mgr, "decision"));
  EXPECT_EQ(Value(true), *mgr.Find("escalated"));
  EXPECT_EQ(1, h.CountHistory(id, "approval_escalated"));
  // The expired task can no longer be decided.
  auto late = h.Decide(task, "approve");
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(rf::Status::Code::kFailedPrecondition, late.status().code());
  // No deadline on the regional approval: it waits for as long as it takes.
  h.AdvanceMs(365 * kDay);
  EXPECT_EQ("waiting", h.Status(id));
  ASSERT_TRUE(h.Decide(regional, "approve", "bob").ok());
  EXPECT_EQ("regional ok by bob after none", h.Outcome(id));
  Value reg = h.Data(id, "regional");  // no `save decision as`: saved under the approval's name
  EXPECT_EQ("bob", TextOf(reg, "actor"));
}

TEST(EngineApproval, CancelClosesTheOpenTask) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kRefund);
  std::string id = h.Start("refund", R"({"order_ref": "O-7", "amount": 10})");
  std::string task = OnlyTask(h, "manager");
  ASSERT_TRUE(h.Cancel(id, "customer withdrew").ok());
  EXPECT_EQ("cancelled", h.Status(id));
  EXPECT_TRUE(h.OpenTasks("manager").empty());
  EXPECT_TRUE(h.Keys(state::keys::TimerPrefix()).empty());
  auto r = h.Decide(task, "approve");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(rf::Status::Code::kFailedPrecondition, r.status().code());
}

}  // namespace
}  // namespace rf::engine::testing
