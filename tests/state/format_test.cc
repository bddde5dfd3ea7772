// keys::PrepareFormat: the meta/format marker, refusal of unknown versions, and the migration of
// a format-1 store (first-edition spellings, as engine/src/engine.cc wrote them at e7d45b6).
#include <map>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "state/keys.h"
#include "state/leveldb_store.h"
#include "state/state_store.h"
#include "tests/state/test_util.h"

namespace rf::state::keys {
namespace {

using Dump = std::map<std::string, std::string>;

Dump DumpAll(StateStore& store) {
  Dump out;
  Status s = store.Scan("", "", [&](std::string_view k, std::string_view v) {
    out.emplace(std::string(k), std::string(v));
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

const char* kId = "00-1764230400000-000001";
const char* kId2 = "00-1764230400000-000002";

// A snapshot in the first edition's shape: thread 1 waits for event `pickup` with key "PAR/01"
// (its subscription key spelled by format 1) and has a timeout timer; compensation has a timer.
std::string Format1Snapshot(const std::string& id, const std::string& event_key) {
  Record thread;
  thread["id"] = Value(std::int64_t{1});
  thread["phase"] = Value("event");
  thread["state"] = Value("wait_pickup");
  thread["subscription"] = Value("sub/pickup/" + event_key + "/" + id + "/000001");
  thread["event"] = Value("pickup");
  thread["event_key"] = Value(event_key);
  thread["timer"] = Value("timer/001764234000000/" + id + "/000001");
  Record top;
  top["id"] = Value(std::int64_t{0});
  top["phase"] = Value("joining");
  Record snap;
  snap["id"] = Value(id);
  snap["workflow"] = Value("click_collect");
  snap["business_key"] = Value("ORD/7");
  snap["status"] = Value("waiting");
  snap["created_at"] = Value(Time{1764230400000});
  snap["data"] = Value(Record{{"note", Value("a/b %2F")}});
  snap["threads"] = Value(List{Value(top), Value(thread)});
  return Value(snap).ToTaggedJson();
}

// Every key kind format 1 wrote, free-text parts holding '/' and '%' where the product allows them.
Dump Format1Store() {
  return {
      {"def/click_collect/00000001", R"({"name":"click_collect"})"},
      {"deflatest/click_collect", "1"},
      {std::string("inst/") + kId, Format1Snapshot(kId, "PAR/01")},
      {std::string("inst/") + kId2, R"({"id":"00-1764230400000-000002","status":"completed","threads":[]})"},
      {std::string("hist/") + kId + "/0000000001", R"({"type":"instance_started"})"},
      {std::string("timer/001764234000000/") + kId + "/000001", R"({"thread":1})"},
      {std::string("outbox/") + kId2 + "/1.0.0", "{}"},
      {std::string("task/") + kId + ":2.0:approve", R"({"role":"store/manager"})"},
      {std::string("taskopen/store/manager/") + kId + ":2.0:approve", ""},
      {std::string("sub/pickup/PAR/01/") + kId + "/000001", ""},
      {"evbuf/pickup/A/B/C/1764230400000-000001", R"({"data":{}})"},
      {"evbuf/pickup/50%/1764230400000-000002", R"({"data":{}})"},
      {"bkey/click_collect/ORD/7", kId},
      {"bkey/click_collect/a%", kId2},
      {"bkey/click_collect/a%25", "other"},
      {"bkey/click_collect/plain", "plain"},
      {std::string("idx/status/waiting/") + kId, ""},
      {std::string("idx/workflow/click_collect/") + kId, ""},
      {std::string("dead/") + kId2, "{}"},
      {"sched/nightly/0", R"({"$time":1764230400000})"},
      {"auth/token/0123abcd", R"({"name":"ops","roles":["operator"]})"},
      {"webhook/pos/msg/1", R"({"status":"accepted","received_at":1})"},
      {"webhook/pos/msg_2", R"({"status":"accepted","received_at":2})"},
  };
}

enum class Kind { kLevelDb, kMemory };

class PrepareFormatTest : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    if (GetParam() == Kind::kLevelDb) {
      auto opened = OpenLevelDb(dir_.Sub("db"), LevelDbOptions{});
      ASSERT_TRUE(opened.ok()) << opened.status().ToString();
      store_ = std::move(opened).value();
    } else {
      store_ = std::make_unique<MemoryStore>();
    }
  }
  void Put(const Dump& kvs) {
    WriteBatch b;
    for (const auto& [k, v] : kvs) b.Put(k, v);
    ASSERT_TRUE(store_->Commit(b).ok());
  }
  testing::TempDir dir_;
  std::unique_ptr<StateStore> store_;
};

TEST_P(PrepareFormatTest, AnEmptyStoreGetsTheCurrentMarker) {
  FormatChange change;
  ASSERT_TRUE(PrepareFormat(store_.get(), &change).ok());
  EXPECT_EQ(DumpAll(*store_), (Dump{{"meta/format", "2"}}));
  EXPECT_EQ(change.to, 2);
  ASSERT_TRUE(PrepareFormat(store_.get(), &change).ok());
  EXPECT_EQ(change.from, 2);
  EXPECT_EQ(change.to, 0) << "nothing written the second time";
}

TEST_P(PrepareFormatTest, TheCurrentFormatIsAcceptedAndNothingChanges) {
  Put({{"meta/format", "2"}, {"bkey/w/a%2Fb", "x"}, {"bkey/w/a/b", "not touched: format 2 never migrates"}});
  Dump before = DumpAll(*store_);
  ASSERT_TRUE(PrepareFormat(store_.get()).ok());
  EXPECT_EQ(DumpAll(*store_), before);
}

TEST_P(PrepareFormatTest, ANewerOrUnknownFormatIsRefusedAndTheStoreIsUnchanged) {
  for (std::string marker : {"99", "3", "0", "banana", ""}) {
    SCOPED_TRACE(marker);
    Put({{"meta/format", marker}, {"bkey/w/a/b", "x"}});
    Dump before = DumpAll(*store_);
    Status s = PrepareFormat(store_.get());
    EXPECT_EQ(s.code(), Status::Code::kFailedPrecondition) << s.ToString();
    EXPECT_NE(s.message().find("reads storage format 2"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("not changed"), std::string::npos) << s.message();
    EXPECT_EQ(DumpAll(*store_), before);
  }
  Put({{"meta/format", "99"}});
  Status s = PrepareFormat(store_.get());
  EXPECT_NE(s.message().find("written by storage format 99"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("upgrade retailflow"), std::string::npos) << s.message();
}

TEST_P(PrepareFormatTest, AFormat1StoreIsMigrated) {
  for (bool with_marker : {false, true}) {
    SCOPED_TRACE(with_marker ? "meta/format 1" : "no marker");
    Dump old = Format1Store();
    if (with_marker) old["meta/format"] = "1";
    Put(old);
    FormatChange change;
    Status s = PrepareFormat(store_.get(), &change);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(change.from, 1);
    EXPECT_EQ(change.to, 2);
    EXPECT_EQ(change.snapshots_rewritten, 1u);

    Dump got = DumpAll(*store_);
    Dump want = Format1Store();
    auto move = [&](const std::string& from, const std::string& to) {
      ASSERT_EQ(want.count(from), 1u) << from;
      want[to] = want[from];
      want.erase(from);
    };
    move("taskopen/store/manager/" + std::string(kId) + ":2.0:approve",
         OpenTask("store/manager", std::string(kId) + ":2.0:approve"));
    move("sub/pickup/PAR/01/" + std::string(kId) + "/000001", Subscription("pickup", "PAR/01", kId, 1));
    move("evbuf/pickup/A/B/C/1764230400000-000001", BufferedEvent("pickup", "A/B/C", Time{1764230400000}, 1));
    move("evbuf/pickup/50%/1764230400000-000002", BufferedEvent("pickup", "50%", Time{1764230400000}, 2));
    // "a%25" is both an old spelling (of "a%25") and a new one (of "a%"): both survive, apart.
    std::string a_percent = want["bkey/click_collect/a%"], a_percent25 = want["bkey/click_collect/a%25"];
    want.erase("bkey/click_collect/a%");
    want.erase("bkey/click_collect/a%25");
    want[BusinessKey("click_collect", "a%")] = a_percent;
    want[BusinessKey("click_collect", "a%25")] = a_percent25;
    move("bkey/click_collect/ORD/7", BusinessKey("click_collect", "ORD/7"));
    move("webhook/pos/msg/1", WebhookDelivery("pos", "msg/1"));
    want[Instance(kId)] = got[Instance(kId)];  // checked field by field below
    want["meta/format"] = "2";
    EXPECT_EQ(got, want);
    EXPECT_EQ(change.keys_rewritten, 8u);
    EXPECT_EQ(got[BusinessKey("click_collect", "a%")], kId2);
    EXPECT_EQ(got[BusinessKey("click_collect", "a%25")], "other");

    // The snapshot names the new subscription key; everything else in it is as it was.
    auto snap = Value::FromTaggedJson(got[Instance(kId)]);
    auto old_snap = Value::FromTaggedJson(Format1Snapshot(kId, "PAR/01"));
    ASSERT_TRUE(snap.ok() && old_snap.ok());
    const Value& thread = snap->Find("threads")->as_list()[1];
    EXPECT_EQ(thread.Find("subscription")->as_text(), Subscription("pickup", "PAR/01", kId, 1));
    ASSERT_TRUE(got.count(thread.Find("subscription")->as_text()));
    EXPECT_EQ(thread.Find("timer")->as_text(), "timer/001764234000000/" + std::string(kId) + "/000001");
    ASSERT_TRUE(got.count(thread.Find("timer")->as_text())) << "timer keys keep their bytes";
    Value expected = *old_snap;
    expected.as_record()["threads"].as_list()[1].as_record()["subscription"] = Value(thread.Find("subscription")->as_text());
    EXPECT_EQ(snap->ToTaggedJson(), expected.ToTaggedJson());

    // Every migrated key parses in format 2.
    EXPECT_TRUE(ParseSubscription(Subscription("pickup", "PAR/01", kId, 1)));
    auto bk = ParseBusinessKey(BusinessKey("click_collect", "ORD/7"));
    EXPECT_EQ(bk->business_key, "ORD/7");

    // Idempotent: a second PrepareFormat finds format 2 and changes nothing.
    ASSERT_TRUE(PrepareFormat(store_.get()).ok());
    EXPECT_EQ(DumpAll(*store_), got);

    WriteBatch clear;
    for (const auto& [k, _] : got) clear.Delete(k);
    ASSERT_TRUE(store_->Commit(clear).ok());
  }
}

TEST_P(PrepareFormatTest, AFailedMigrationCommitLeavesTheFormat1StoreWhole) {
  Put(Format1Store());
  Dump before = DumpAll(*store_);
  FaultInjectingStore faulty(store_.get());
  faulty.FailCommitAfter(1);
  EXPECT_FALSE(PrepareFormat(&faulty).ok());
  EXPECT_EQ(DumpAll(*store_), before) << "one atomic commit: nothing or everything";
  ASSERT_TRUE(PrepareFormat(&faulty).ok()) << "the next open migrates";
  std::string v;
  ASSERT_TRUE(store_->Get(MetaFormat(), &v).ok());
  EXPECT_EQ(v, "2");
}

TEST_P(PrepareFormatTest, AnUnreadableSnapshotWithASubscriptionStopsTheMigration) {
  Dump old = Format1Store();
  old["inst/00-1-000009"] = R"({"threads":[{"subscription":"sub/e/k/00-1-000009/000001")";  // cut short
  Put(old);
  Dump before = DumpAll(*store_);
  Status s = PrepareFormat(store_.get());
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_NE(s.message().find("inst/00-1-000009"), std::string::npos) << s.message();
  EXPECT_EQ(DumpAll(*store_), before);
}

INSTANTIATE_TEST_SUITE_P(Stores, PrepareFormatTest, ::testing::Values(Kind::kLevelDb, Kind::kMemory),
                         [](const auto& info) { return info.param == Kind::kLevelDb ? "LevelDb" : "Memory"; });

TEST(Format1KeyToFormat2, EscapesTheFreePartOfEachShape) {
  EXPECT_EQ(Format1KeyToFormat2("sub/e/a/b/i/000001"), "sub/e/a%2Fb/i/000001");
  EXPECT_EQ(Format1KeyToFormat2("sub/e//i/000001"), "sub/e//i/000001") << "an empty event key";
  EXPECT_EQ(Format1KeyToFormat2("evbuf/e/x/1-2"), "evbuf/e/x/1-2");
  EXPECT_EQ(Format1KeyToFormat2("evbuf/e/%/1-2"), "evbuf/e/%25/1-2");
  EXPECT_EQ(Format1KeyToFormat2("bkey/w/a/b/c"), "bkey/w/a%2Fb%2Fc");
  EXPECT_EQ(Format1KeyToFormat2("taskopen/r/x/t"), "taskopen/r%2Fx/t");
  EXPECT_EQ(Format1KeyToFormat2("idx/workflow/w/i"), "idx/workflow/w/i");
  EXPECT_EQ(Format1KeyToFormat2("def/w/00000001"), "def/w/00000001");
  EXPECT_EQ(Format1KeyToFormat2("sched/w/0"), "sched/w/0");
  EXPECT_EQ(Format1KeyToFormat2("deflatest/w"), "deflatest/w");
  EXPECT_EQ(Format1KeyToFormat2("webhook/pos/a%b"), "webhook/pos/a%25b");
  EXPECT_EQ(Format1KeyToFormat2("inst/i"), "inst/i");
  EXPECT_EQ(Format1KeyToFormat2("timer/001/i/000001"), "timer/001/i/000001");
  // Too few parts for its shape, or no known shape: kept as it is.
  EXPECT_EQ(Format1KeyToFormat2("sub/e/k"), "sub/e/k");
  EXPECT_EQ(Format1KeyToFormat2("bkey/w"), "bkey/w");
  EXPECT_EQ(Format1KeyToFormat2("zzz/a%/b"), "zzz/a%/b");
}

}  // namespace
}  // namespace rf::state::keys
