// state/keys.h: the spelling of every key (format 2), round trips with hostile parts, parse
// failures, PrefixEnd, byte order, and the prefix collision of the first edition.
#include "state/keys.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "state/leveldb_store.h"
#include "state/state_store.h"
#include "tests/state/test_util.h"

namespace rf::state::keys {
namespace {

using namespace std::string_literals;

// Parts that broke or could break the first edition's keys.
const std::vector<std::string>& Hostile() {
  static const std::vector<std::string> parts = {
      "a/b", "%", "%2F", "%25", "", "/", "//", "a%2Fb", "ünï/çødé €", "nul\0inside"s, "\xff\xfe", "PAR/01", "plain"};
  return parts;
}

TEST(KeysEscape, EscapesOnlyPercentAndSlash) {
  EXPECT_EQ(Escape("plain-Part_1.x:y"), "plain-Part_1.x:y");
  EXPECT_EQ(Escape("a/b"), "a%2Fb");
  EXPECT_EQ(Escape("%"), "%25");
  EXPECT_EQ(Escape("%2F"), "%252F");
  EXPECT_EQ(Escape(""), "");
  EXPECT_EQ(Escape("nul\0/"s), "nul\0%2F"s);
  for (const auto& p : Hostile()) {
    EXPECT_EQ(Escape(p).find('/'), std::string::npos) << p;
    EXPECT_EQ(Unescape(Escape(p)), p) << p;
  }
}

TEST(KeysEscape, UnescapeRefusesWhatEscapeNeverWrites) {
  for (std::string bad : {"%", "%2", "%zz", "%2f", "%41", "a/b", "x%", "%%25"}) EXPECT_FALSE(Unescape(bad)) << bad;
  EXPECT_EQ(Unescape("%252F"), "%2F");
}

TEST(KeysSpelling, MatchesFormatMdAndTheFirstEditionForPlainParts) {
  // Parts without '%' or '/' keep the exact bytes format 1 wrote (engine/src/engine.cc, e7d45b6).
  EXPECT_EQ(Definition("store_return", 3), "def/store_return/00000003");
  EXPECT_EQ(DefinitionLatest("store_return"), "deflatest/store_return");
  EXPECT_EQ(Instance("00-1764230400000-000001"), "inst/00-1764230400000-000001");
  EXPECT_EQ(History("00-1-000001", 42), "hist/00-1-000001/0000000042");
  EXPECT_EQ(HistoryPrefix("i"), "hist/i/");
  EXPECT_EQ(Timer(Time{1764230400000}, "i", 7), "timer/001764230400000/i/000007");
  EXPECT_EQ(TimersDueBy(Time{99}), "timer/000000000000100");
  EXPECT_EQ(Outbox("i", "2.1.0"), "outbox/i/2.1.0");
  EXPECT_EQ(OutboxPrefix("i"), "outbox/i/");
  EXPECT_EQ(Task("i:1.0:approve"), "task/i:1.0:approve");
  EXPECT_EQ(OpenTask("store_manager", "i:1.0:approve"), "taskopen/store_manager/i:1.0:approve");
  EXPECT_EQ(Subscription("pickup", "ORD-1", "i", 3), "sub/pickup/ORD-1/i/000003");
  EXPECT_EQ(SubscriptionPrefix("pickup", "ORD-1"), "sub/pickup/ORD-1/");
  EXPECT_EQ(SubscriptionPrefix("pickup"), "sub/pickup/");
  EXPECT_EQ(BufferedEvent("pickup", "ORD-1", Time{5}, 2), "evbuf/pickup/ORD-1/0000000000005-000002");
  EXPECT_EQ(BufferedEventPrefix("pickup", "ORD-1"), "evbuf/pickup/ORD-1/");
  EXPECT_EQ(BusinessKey("refund", "R-1"), "bkey/refund/R-1");
  EXPECT_EQ(StatusIndex("waiting", "i"), "idx/status/waiting/i");
  EXPECT_EQ(WorkflowIndex("refund", "i"), "idx/workflow/refund/i");
  EXPECT_EQ(DeadLetter("i"), "dead/i");
  EXPECT_EQ(ScheduleSlot("nightly", 12), "sched/nightly/12");
  EXPECT_EQ(AuthToken("ab12"), "auth/token/ab12");
  EXPECT_EQ(WebhookDelivery("pos", "msg_1"), "webhook/pos/msg_1");
  EXPECT_EQ(MetaFormat(), "meta/format");
}

TEST(KeysSpelling, EscapesEveryVariablePart) {
  EXPECT_EQ(BusinessKey("w", "PAR/01"), "bkey/w/PAR%2F01");
  EXPECT_EQ(Subscription("e", "a/b", "i", 0), "sub/e/a%2Fb/i/000000");
  EXPECT_EQ(BufferedEventPrefix("e", "50%"), "evbuf/e/50%25/");
  EXPECT_EQ(OpenTask("a/b", "t"), "taskopen/a%2Fb/t");
  EXPECT_EQ(WebhookDelivery("pos", "id/1"), "webhook/pos/id%2F1");
  EXPECT_EQ(StatusIndexPrefix("x/y"), "idx/status/x%2Fy/");
  EXPECT_EQ(WorkflowIndexPrefix("x/y"), "idx/workflow/x%2Fy/");
}

TEST(KeysRoundTrip, EveryKindWithHostileParts) {
  for (const auto& p : Hostile()) {
    SCOPED_TRACE(::testing::PrintToString(p));
    auto def = ParseDefinition(Definition(p, 12));
    ASSERT_TRUE(def);
    EXPECT_EQ(def->workflow, p);
    EXPECT_EQ(def->version, 12);

    auto bk = ParseBusinessKey(BusinessKey(p, p + "/k"));
    ASSERT_TRUE(bk);
    EXPECT_EQ(bk->workflow, p);
    EXPECT_EQ(bk->business_key, p + "/k");

    auto sub = ParseSubscription(Subscription(p, p, "00-1-000001", 4));
    ASSERT_TRUE(sub);
    EXPECT_EQ(sub->event, p);
    EXPECT_EQ(sub->key, p);
    EXPECT_EQ(sub->instance_id, "00-1-000001");
    EXPECT_EQ(sub->thread, 4);

    auto ev = ParseBufferedEvent(BufferedEvent(p, p, Time{1764230400000}, 9));
    ASSERT_TRUE(ev);
    EXPECT_EQ(ev->event, p);
    EXPECT_EQ(ev->key, p);
    EXPECT_EQ(ev->arrival.ms, 1764230400000);
    EXPECT_EQ(ev->seq, 9);

    auto open = ParseOpenTask(OpenTask(p, "i:1.0:approve"));
    ASSERT_TRUE(open);
    EXPECT_EQ(open->role, p);
    EXPECT_EQ(open->task_id, "i:1.0:approve");

    auto slot = ParseScheduleSlot(ScheduleSlot(p, 3));
    ASSERT_TRUE(slot);
    EXPECT_EQ(slot->workflow, p);
    EXPECT_EQ(slot->index, 3u);

    auto hook = ParseWebhookDelivery(WebhookDelivery(p, p));
    ASSERT_TRUE(hook);
    EXPECT_EQ(hook->source, p);
    EXPECT_EQ(hook->delivery_id, p);

    EXPECT_EQ(IndexedInstance(StatusIndex(p, "i-1"), StatusIndexPrefix(p)), "i-1");
    EXPECT_EQ(IndexedInstance(WorkflowIndex(p, "i-1"), WorkflowIndexPrefix(p)), "i-1");
    EXPECT_EQ(DefinitionLatest(p), "deflatest/" + Escape(p));
    if (!p.empty()) {
      // Ids are escaped too (a no-op for the engine's ids), so even a hostile one stays one part.
      EXPECT_EQ(ParseInstance(Instance(p)), p);
      EXPECT_EQ(ParseAuthToken(AuthToken(p)), p);
      auto timer = ParseTimer(Timer(Time{7}, p, 2));
      ASSERT_TRUE(timer);
      EXPECT_EQ(timer->instance_id, p);
      auto sub2 = ParseSubscription(Subscription("e", "k", p, 1));
      ASSERT_TRUE(sub2);
      EXPECT_EQ(sub2->instance_id, p);
    }
  }
  auto timer = ParseTimer(Timer(Time{1764230400000}, "00-1-000001", 123));
  ASSERT_TRUE(timer);
  EXPECT_EQ(timer->due.ms, 1764230400000);
  EXPECT_EQ(timer->instance_id, "00-1-000001");
  EXPECT_EQ(timer->n, 123);
}

TEST(KeysRoundTrip, NumbersWiderThanTheirPaddingAreWrittenInFullAndParsed) {
  auto t = ParseTimer(Timer(Time{0}, "i", 1234567));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->n, 1234567);
  auto s = ParseSubscription(Subscription("e", "k", "i", 1000000));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->thread, 1000000);
}

TEST(KeysParse, MalformedKeysAreRefused) {
  EXPECT_FALSE(ParseTimer("timer/"));
  EXPECT_FALSE(ParseTimer("timer/001764230400000/i"));
  EXPECT_FALSE(ParseTimer("timer/1764230400000/i/000001")) << "due not padded to 15";
  EXPECT_FALSE(ParseTimer("timer/00176423040000x/i/000001"));
  EXPECT_FALSE(ParseTimer("timer/001764230400000//000001")) << "empty instance id";
  EXPECT_FALSE(ParseTimer("timer/001764230400000/i/000001/extra"));
  EXPECT_FALSE(ParseTimer("sub/001764230400000/i/000001"));
  EXPECT_FALSE(ParseSubscription("sub/e/a/b/i/000001")) << "a format-1 key with a slash in its event key";
  EXPECT_FALSE(ParseSubscription("sub/e/k/i/1"));
  EXPECT_FALSE(ParseSubscription("sub/e/k/i/-00001"));
  EXPECT_FALSE(ParseSubscription("sub/e/%zz/i/000001"));
  EXPECT_FALSE(ParseSubscription("sub/e/k/000001"));
  EXPECT_FALSE(ParseOpenTask("taskopen/role"));
  EXPECT_FALSE(ParseOpenTask("taskopen/role/"));
  EXPECT_FALSE(ParseOpenTask("taskopen/a/b/t"));
  EXPECT_FALSE(ParseOpenTask("task/role/t"));
  EXPECT_FALSE(ParseBusinessKey("bkey/w"));
  EXPECT_FALSE(ParseBusinessKey("bkey/w/PAR/01"));
  EXPECT_FALSE(ParseBufferedEvent("evbuf/e/k/0000000000005"));
  EXPECT_FALSE(ParseBufferedEvent("evbuf/e/k/0000000000005-"));
  EXPECT_FALSE(ParseBufferedEvent("evbuf/e/k/5-000001"));
  EXPECT_FALSE(ParseDefinition("def/w/3"));
  EXPECT_FALSE(ParseDefinition("def/w/999999999999"));
  EXPECT_FALSE(ParseScheduleSlot("sched/w/01"));
  EXPECT_FALSE(ParseScheduleSlot("sched/w/"));
  EXPECT_FALSE(ParseScheduleSlot("sched/w/x"));
  EXPECT_FALSE(ParseAuthToken("auth/token/"));
  EXPECT_FALSE(ParseAuthToken("auth/token/a/b"));
  EXPECT_FALSE(ParseWebhookDelivery("webhook/pos"));
  EXPECT_FALSE(ParseWebhookDelivery("webhook/pos/a/b"));
  EXPECT_FALSE(ParseInstance("inst/"));
  EXPECT_FALSE(ParseInstance("inst/a/b"));
  EXPECT_FALSE(IndexedInstance("idx/status/waiting/i", StatusIndexPrefix("running")));
  EXPECT_FALSE(IndexedInstance("idx/status/waiting/i/x", StatusIndexPrefix("waiting")));
  EXPECT_FALSE(IndexedInstance("idx/status/waiting/", StatusIndexPrefix("waiting")));
}

TEST(KeysPrefixEnd, IsTheSmallestKeyAfterEveryKeyWithThePrefix) {
  EXPECT_EQ(PrefixEnd("sub/e/k/"), "sub/e/k0");
  EXPECT_EQ(PrefixEnd("a\xff"), "b");
  EXPECT_EQ(PrefixEnd("a\xfe\xff\xff"), "a\xff");
  EXPECT_EQ(PrefixEnd(""), "");
  EXPECT_EQ(PrefixEnd("\xff\xff"), "");
  std::string p = SubscriptionPrefix("e", "k");
  EXPECT_LT(p + "\xff\xff\xff", PrefixEnd(p));
  EXPECT_GT(PrefixEnd(p), p);
}

TEST(KeysOrder, PaddedNumbersSortNumerically) {
  const std::vector<std::int64_t> ms = {0, 9, 10, 99, 100, 1764230399999, 1764230400000, 999999999999999};
  std::vector<std::string> timers, hist, bufs;
  for (auto v : ms) {
    timers.push_back(Timer(Time{v}, "i", 1));
    hist.push_back(History("i", v % 10000000000));
    bufs.push_back(BufferedEvent("e", "k", Time{v % 10000000000000}, 1));
  }
  for (auto* keys : {&timers, &hist, &bufs}) EXPECT_TRUE(std::is_sorted(keys->begin(), keys->end()));
  EXPECT_LT(Definition("w", 9), Definition("w", 10));
  EXPECT_LT(Subscription("e", "k", "i", 9), Subscription("e", "k", "i", 10));
  EXPECT_LT(Timer(Time{5}, "i", 9), Timer(Time{5}, "i", 10));
  // A timer due at `now` is inside the scan; one a millisecond later is not.
  EXPECT_LT(Timer(Time{100}, "zz-999", 999999), TimersDueBy(Time{100}));
  EXPECT_GE(Timer(Time{101}, "00", 0), TimersDueBy(Time{100}));
  // Escaping keeps the order of parts holding neither '%' nor '/'.
  EXPECT_LT(BusinessKey("w", "A-1"), BusinessKey("w", "A-2"));
  EXPECT_LT(BusinessKey("w", "A"), BusinessKey("w", "B"));
}

// The first edition's bug: an event key holding '/' fell inside another key's subscription scan
// ("sub/pickup/PAR/" also matched the waiter on "PAR/01"). Shown on the real stores.
class KeysCollisionTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam()) {
      auto opened = OpenLevelDb(dir_.Sub("db"), LevelDbOptions{});
      ASSERT_TRUE(opened.ok()) << opened.status().ToString();
      store_ = std::move(opened).value();
    } else {
      store_ = std::make_unique<MemoryStore>();
    }
  }
  std::vector<std::string> Scan(const std::string& prefix) {
    std::vector<std::string> out;
    Status s = store_->ScanPrefix(prefix, [&](std::string_view k, std::string_view) {
      out.emplace_back(k);
      return true;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }
  testing::TempDir dir_;
  std::unique_ptr<StateStore> store_;
};

TEST_P(KeysCollisionTest, AKeyWithASlashStaysOutOfAnotherKeysScan) {
  WriteBatch b;
  b.Put(Subscription("pickup", "PAR", "00-1-000001", 0), "");
  b.Put(Subscription("pickup", "PAR/01", "00-1-000002", 0), "");
  b.Put(Subscription("pickup", "PAR%2F01", "00-1-000003", 0), "");
  b.Put(Subscription("pickup/PAR", "01", "00-1-000004", 0), "");
  b.Put(BufferedEvent("pickup", "PAR/01", Time{1}, 1), "");
  b.Put(BufferedEvent("pickup", "PAR", Time{1}, 2), "");
  b.Put(BusinessKey("w", "a"), "1");
  b.Put(BusinessKey("w", "a/b"), "2");
  ASSERT_TRUE(store_->Commit(b).ok());

  auto only = [&](const std::string& prefix, const std::string& instance) {
    auto found = Scan(prefix);
    ASSERT_EQ(found.size(), 1u) << prefix;
    auto parsed = ParseSubscription(found[0]);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->instance_id, instance);
  };
  only(SubscriptionPrefix("pickup", "PAR"), "00-1-000001");
  only(SubscriptionPrefix("pickup", "PAR/01"), "00-1-000002");
  only(SubscriptionPrefix("pickup", "PAR%2F01"), "00-1-000003");
  only(SubscriptionPrefix("pickup/PAR", "01"), "00-1-000004");
  EXPECT_EQ(Scan(SubscriptionPrefix("pickup")).size(), 3u) << "event pickup/PAR is another event";
  // Format 1 spelled PAR/01's waiter "sub/pickup/PAR/01/...", inside the scan for PAR.
  EXPECT_EQ(Subscription("pickup", "PAR/01", "00-1-000002", 0).rfind(SubscriptionPrefix("pickup", "PAR"), 0),
            std::string::npos);
  EXPECT_EQ(Scan(BufferedEventPrefix("pickup", "PAR")).size(), 1u);
  EXPECT_EQ(Scan(BufferedEventPrefix("pickup", "PAR/01")).size(), 1u);
  EXPECT_EQ(Scan(BusinessKeyPrefix("w")).size(), 2u);
  std::string v;
  ASSERT_TRUE(store_->Get(BusinessKey("w", "a/b"), &v).ok());
  EXPECT_EQ(v, "2");
}

INSTANTIATE_TEST_SUITE_P(Stores, KeysCollisionTest, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "LevelDb" : "Memory"; });

}  // namespace
}  // namespace rf::state::keys
