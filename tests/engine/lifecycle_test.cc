// Idempotent start (business keys) and versioning of deployed definitions.
#include "state/keys.h"
#include "tests/engine/harness.h"

namespace rf::engine::testing {
namespace {

const char* kHold = R"(workflow hold version 1
input ref text
wait pause
  for 1h
finish done "done {input.ref}"
)";

TEST(EngineStart, SameBusinessKeyReturnsTheSameInstance) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kHold);
  auto a = h.TryStart(EngineHarness::Req("hold", R"({"ref": "1"})", "K1"));
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->created);
  auto b = h.TryStart(EngineHarness::Req("hold", R"({"ref": "other input"})", "K1"));
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->created);
  EXPECT_EQ(a->instance_id, b->instance_id);
  auto c = h.TryStart(EngineHarness::Req("hold", R"({"ref": "2"})", "K2"));
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->created);
  EXPECT_NE(a->instance_id, c->instance_id);
  EXPECT_EQ(2u, h.Keys(state::keys::InstancePrefix()).size());
  EXPECT_EQ("1", TextOf(h.Data(a->instance_id, "input"), "ref")) << "the first start's input is kept";
  EXPECT_EQ(a->instance_id, [&] {
    std::string v;
    (void)store.Get(state::keys::BusinessKey("hold", "K1"), &v);
    return v;
  }());
  // Still the same after it finished, and after a restart.
  h.AdvanceMs(kHour);
  ASSERT_EQ("completed", h.Status(a->instance_id));
  h.Restart();
  auto d = h.TryStart(EngineHarness::Req("hold", R"({"ref": "1"})", "K1"));
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->created);
  EXPECT_EQ(a->instance_id, d->instance_id);
  EXPECT_EQ(2u, h.Keys(state::keys::InstancePrefix()).size());
}

TEST(EngineStart, BusinessKeysArePerWorkflow) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kHold);
  h.Deploy(R"(workflow other version 1
input ref text
finish done "x"
)");
  std::string a = h.Start("hold", R"({"ref": "1"})", "SHARED");
  std::string b = h.Start("other", R"({"ref": "1"})", "SHARED");
  EXPECT_NE(a, b);
  EXPECT_EQ("completed", h.Status(b));
}

TEST(EngineStart, SecondStartWhileTheFirstCommitIsInFlightGetsTheSameInstance) {
  state::MemoryStore mem;
  GatedStore gated(&mem);
  EngineHarness h(&gated);
  h.Deploy(kHold);
  gated.Close();
  auto first = h.StartAsync(EngineHarness::Req("hold", R"({"ref": "1"})", "RACE"));
  ASSERT_TRUE(h.Eventually([&] { return gated.waiting() == 1; }));
  auto second = h.StartAsync(EngineHarness::Req("hold", R"({"ref": "1"})", "RACE"));
  // Neither is answered before the first start is durable.
  EXPECT_EQ(std::future_status::timeout, first.wait_for(std::chrono::milliseconds(20)));
  EXPECT_EQ(std::future_status::timeout, second.wait_for(std::chrono::milliseconds(1)));
  gated.Open();
  auto a = first.get();
  auto b = second.get();
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(a->instance_id, b->instance_id);
  EXPECT_TRUE(a->created);
  EXPECT_FALSE(b->created);
  h.Settle();
  EXPECT_EQ(1u, h.Keys(state::keys::InstancePrefix()).size());
  EXPECT_EQ(1u, h.engine().stats().instances_started);
}

TEST(EngineStart, ManyConcurrentStartsWithOneKeyMakeOneInstance) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kHold);
  std::vector<std::future<Result<StartResult>>> futures;
  for (int i = 0; i < 20; ++i) futures.push_back(h.StartAsync(EngineHarness::Req("hold", R"({"ref": "1"})", "BURST")));
  std::set<std::string> ids;
  int created = 0;
  for (auto& f : futures) {
    auto r = f.get();
    ASSERT_TRUE(r.ok()) << r.status().message();
    ids.insert(r->instance_id);
    created += r->created ? 1 : 0;
  }
  EXPECT_EQ(1u, ids.size());
  EXPECT_EQ(1, created);
  h.Settle();
  EXPECT_EQ(1u, h.Keys(state::keys::InstancePrefix()).size());
}

// ------------------------------------------------------------------------------- versions

const char* kPromoV1 = R"(workflow promo version 1
wait pause
  for 1h
finish done "v1"
)";
const char* kPromoV1Changed = R"(workflow promo version 1
wait pause
  for 3h
finish done "v1 changed"
)";
const char* kPromoV2 = R"(workflow promo version 2
set mark
  tag = "two"
wait pause2
  for 2h
finish done2 "v2 {tag}"
)";

TEST(EngineVersions, WaitingInstanceFinishesOnItsVersionAndNewStartsUseTheLatest) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kPromoV1);
  std::string old = h.Start("promo", "{}");
  EXPECT_EQ("waiting", h.Status(old));
  auto v2 = h.TryDeploy(kPromoV2);
  ASSERT_TRUE(v2.ok()) << v2.status().message();
  EXPECT_EQ(2, v2->version);
  EXPECT_TRUE(v2->created);
  std::string fresh = h.Start("promo", "{}");
  EXPECT_EQ(Value(2), *h.Instance(fresh).Find("version"));
  EXPECT_EQ(Value(1), *h.Instance(old).Find("version"));
  h.AdvanceMs(kHour);
  ASSERT_EQ("completed", h.Status(old)) << h.Instance(old).ToJson();
  EXPECT_EQ("v1", h.Outcome(old));
  EXPECT_EQ("waiting", h.Status(fresh));
  h.AdvanceMs(kHour);
  EXPECT_EQ("v2 two", h.Outcome(fresh));
  // A start may still ask for an older version explicitly.
  StartRequest req = EngineHarness::Req("promo", "{}");
  req.version = 1;
  auto pinned = h.TryStart(req);
  ASSERT_TRUE(pinned.ok());
  EXPECT_EQ(Value(1), *h.Instance(pinned->instance_id).Find("version"));
  req.version = 3;
  auto missing = h.TryStart(req);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(rf::Status::Code::kNotFound, missing.status().code());
}

TEST(EngineVersions, OldVersionSurvivesARestartWhileANewerIsDeployed) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kPromoV1);
  std::string old = h.Start("promo", "{}");
  h.Deploy(kPromoV2);
  h.Restart();
  h.AdvanceMs(kHour);
  EXPECT_EQ("v1", h.Outcome(old));
  std::string fresh = h.Start("promo", "{}");
  EXPECT_EQ(Value(2), *h.Instance(fresh).Find("version"));
}

TEST(EngineVersions, RedeployingAVersionNeedsTheSameSource) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kPromoV1);
  auto same = h.TryDeploy(kPromoV1);
  ASSERT_TRUE(same.ok()) << same.status().message();
  EXPECT_FALSE(same->created);
  EXPECT_EQ(1, same->version);
  auto changed = h.TryDeploy(kPromoV1Changed);
  ASSERT_FALSE(changed.ok());
  EXPECT_EQ(rf::Status::Code::kAlreadyExists, changed.status().code());
  // The stored definition is still the original one.
  std::string id = h.Start("promo", "{}");
  h.AdvanceMs(kHour);
  EXPECT_EQ("v1", h.Outcome(id));
  // Also after a restart (the source is read back from the store).
  h.Restart();
  auto again = h.TryDeploy(kPromoV1);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  auto changed2 = h.TryDeploy(kPromoV1Changed);
  ASSERT_FALSE(changed2.ok());
  EXPECT_EQ(rf::Status::Code::kAlreadyExists, changed2.status().code());
  auto defs = h.engine().ListDefinitions();
  ASSERT_TRUE(defs.ok());
  EXPECT_EQ(1u, defs->size());
}

TEST(EngineVersions, DeployingAnOlderVersionLaterKeepsTheLatest) {
  state::MemoryStore store;
  EngineHarness h(&store);
  h.Deploy(kPromoV2);
  h.Deploy(kPromoV1);  // an older version deployed after a newer one
  std::string id = h.Start("promo", "{}");
  EXPECT_EQ(Value(2), *h.Instance(id).Find("version"));
  // state/FORMAT.md: deflatest/<workflow> is the latest version number.
  std::string latest;
  ASSERT_TRUE(store.Get(state::keys::DefinitionLatest("promo"), &latest).ok());
  EXPECT_EQ("2", latest);
  h.Restart();
  std::string after = h.Start("promo", "{}");
  EXPECT_EQ(Value(2), *h.Instance(after).Find("version"));
}

}  // namespace
}  // namespace rf::engine::testing
