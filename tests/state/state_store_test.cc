// The StateStore contract, run against the LevelDB store (in a fresh temp dir) and MemoryStore.
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "state/keys.h"
#include "state/leveldb_store.h"
#include "state/state_store.h"
#include "tests/state/test_util.h"

namespace rf::state {
namespace {

using testing::TempDir;
using KVs = std::vector<std::pair<std::string, std::string>>;

KVs ScanAll(StateStore& store, std::string_view begin, std::string_view end) {
  KVs out;
  Status s = store.Scan(begin, end, [&](std::string_view k, std::string_view v) {
    out.emplace_back(std::string(k), std::string(v));
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

KVs ScanPrefixAll(StateStore& store, std::string_view prefix) {
  KVs out;
  Status s = store.ScanPrefix(prefix, [&](std::string_view k, std::string_view v) {
    out.emplace_back(std::string(k), std::string(v));
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

std::string GetOr(StateStore& store, std::string_view key, std::string fallback = "<absent>") {
  std::string v;
  Status s = store.Get(key, &v);
  if (s.code() == Status::Code::kNotFound) return fallback;
  EXPECT_TRUE(s.ok()) << s.ToString();
  return v;
}

enum class Kind { kLevelDb, kMemory };

class StoreContractTest : public ::testing::TestWithParam<Kind> {
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
  void Put(std::vector<std::pair<std::string, std::string>> kvs) {
    WriteBatch b;
    for (auto& [k, v] : kvs) b.Put(k, v);
    Status s = store_->Commit(b);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  TempDir dir_;
  std::unique_ptr<StateStore> store_;
};

TEST_P(StoreContractTest, GetMissingIsNotFound) {
  std::string v = "unchanged";
  Status s = store_->Get("nope", &v);
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  EXPECT_NE(s.message().find("nope"), std::string::npos) << s.message();
}

TEST_P(StoreContractTest, PutDeleteOverwriteWithinOneBatchLaterWins) {
  Put({{"a", "old"}, {"gone", "x"}});
  WriteBatch b;
  b.Put("a", "1");
  b.Put("a", "2");          // overwrite within the batch
  b.Delete("gone");         // delete an existing key
  b.Put("c", "first");
  b.Delete("c");            // put then delete: absent
  b.Delete("d");
  b.Put("d", "revived");    // delete then put: present
  b.Delete("never");        // deleting an absent key is fine
  ASSERT_TRUE(store_->Commit(b).ok());
  EXPECT_EQ(GetOr(*store_, "a"), "2");
  EXPECT_EQ(GetOr(*store_, "gone"), "<absent>");
  EXPECT_EQ(GetOr(*store_, "c"), "<absent>");
  EXPECT_EQ(GetOr(*store_, "d"), "revived");
  EXPECT_EQ(GetOr(*store_, "never"), "<absent>");
}

TEST_P(StoreContractTest, EmptyBatchAndBinaryValues) {
  ASSERT_TRUE(store_->Commit(WriteBatch()).ok());
  std::string key("k\0\xff", 3);
  std::string value("v\0\x01\xfe", 4);
  Put({{key, value}, {"", "empty key"}});
  EXPECT_EQ(GetOr(*store_, key), value);
  EXPECT_EQ(GetOr(*store_, ""), "empty key");
}

TEST_P(StoreContractTest, ScanIsOrderedAndBounded) {
  Put({{"b", "2"}, {"a", "1"}, {"d", "4"}, {"c", "3"}, {"e", "5"}});
  EXPECT_EQ(ScanAll(*store_, "", ""), (KVs{{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}, {"e", "5"}}));
  EXPECT_EQ(ScanAll(*store_, "b", "d"), (KVs{{"b", "2"}, {"c", "3"}}));   // end exclusive
  EXPECT_EQ(ScanAll(*store_, "bb", "cc"), (KVs{{"c", "3"}}));             // bounds between keys
  EXPECT_EQ(ScanAll(*store_, "c", ""), (KVs{{"c", "3"}, {"d", "4"}, {"e", "5"}}));
  EXPECT_EQ(ScanAll(*store_, "c", "c"), KVs{});
  EXPECT_EQ(ScanAll(*store_, "d", "b"), KVs{});                           // inverted range
  EXPECT_EQ(ScanAll(*store_, "f", ""), KVs{});
}

TEST_P(StoreContractTest, ScanStopsEarly) {
  Put({{"a", "1"}, {"b", "2"}, {"c", "3"}});
  std::vector<std::string> seen;
  ASSERT_TRUE(store_->Scan("", "", [&](std::string_view k, std::string_view) {
    seen.emplace_back(k);
    return seen.size() < 2;
  }).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b"}));
}

TEST_P(StoreContractTest, ZeroPaddedNumbersScanInNumericOrder) {
  using keys::History;
  Put({{History("i1", 10), "10"}, {History("i1", 2), "2"}, {History("i1", 100), "100"}, {History("i10", 1), "other"}});
  KVs got = ScanPrefixAll(*store_, keys::HistoryPrefix("i1"));
  EXPECT_EQ(got, (KVs{{History("i1", 2), "2"}, {History("i1", 10), "10"}, {History("i1", 100), "100"}}));
}

TEST_P(StoreContractTest, PrefixScan) {
  // "inst0", "ins", "instz": keys beside the prefix, which no scan of it may return.
  Put({{keys::Instance("1"), "a"}, {keys::Instance("2"), "b"}, {"inst0", "not"}, {"ins", "not"}, {"instz", "not"},
       {keys::Timer(Time{1}, "1", 1), "t"}});
  EXPECT_EQ(ScanPrefixAll(*store_, keys::InstancePrefix()), (KVs{{keys::Instance("1"), "a"}, {keys::Instance("2"), "b"}}));
  EXPECT_EQ(ScanPrefixAll(*store_, "nothing/"), KVs{});
  EXPECT_EQ(ScanPrefixAll(*store_, "").size(), 6u);
}

TEST_P(StoreContractTest, PrefixScanWithHighBytes) {
  std::string p("p\xff", 2);
  std::string pff("p\xff\xff", 3);
  Put({{p + "a", "1"}, {pff, "2"}, {pff + "z", "3"}, {"q", "4"}, {"p", "0"}});
  EXPECT_EQ(ScanPrefixAll(*store_, p), (KVs{{p + "a", "1"}, {pff, "2"}, {pff + "z", "3"}}));
  EXPECT_EQ(ScanPrefixAll(*store_, pff), (KVs{{pff, "2"}, {pff + "z", "3"}}));
  std::string all_ff("\xff\xff", 2);
  Put({{all_ff + "x", "5"}});
  EXPECT_EQ(ScanPrefixAll(*store_, all_ff), (KVs{{all_ff + "x", "5"}}));
}

TEST_P(StoreContractTest, ScanSeesOneSnapshotWhileWritesHappen) {
  Put({{"k/1", "v"}, {"k/2", "v"}, {"k/3", "v"}});
  std::vector<std::string> seen;
  ASSERT_TRUE(store_->ScanPrefix("k/", [&](std::string_view k, std::string_view) {
    seen.emplace_back(k);
    if (seen.size() == 1) {
      // A visitor may read and write the same store; writes after the scan began are not seen.
      std::string v;
      EXPECT_TRUE(store_->Get("k/2", &v).ok());
      WriteBatch b;
      b.Delete("k/2");
      b.Put("k/25", "new");
      EXPECT_TRUE(store_->Commit(b).ok());
    }
    return true;
  }).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"k/1", "k/2", "k/3"}));
  EXPECT_EQ(ScanPrefixAll(*store_, "k/"), (KVs{{"k/1", "v"}, {"k/25", "new"}, {"k/3", "v"}}));
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreContractTest, ::testing::Values(Kind::kLevelDb, Kind::kMemory),
                         [](const ::testing::TestParamInfo<Kind>& param_info) {
                           return param_info.param == Kind::kLevelDb ? std::string("LevelDb")
                                                               : std::string("Memory");
                         });

// ---- LevelDB specifics ----------------------------------------------------------------------

TEST(LevelDbStoreTest, PersistsAcrossCloseAndReopen) {
  TempDir dir;
  const std::string path = dir.Sub("db");
  {
    auto store = OpenLevelDb(path, LevelDbOptions{});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    WriteBatch b;
    for (int i = 0; i < 100; ++i) b.Put("key/" + std::to_string(1000 + i), std::to_string(i));
    b.Delete("key/1050");
    ASSERT_TRUE((*store)->Commit(b).ok());
  }
  auto store = OpenLevelDb(path, LevelDbOptions{});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(GetOr(**store, "key/1000"), "0");
  EXPECT_EQ(GetOr(**store, "key/1099"), "99");
  EXPECT_EQ(GetOr(**store, "key/1050"), "<absent>");
  EXPECT_EQ(ScanPrefixAll(**store, "key/").size(), 99u);
}

TEST(LevelDbStoreTest, UnsyncedStoreAlsoPersistsAcrossCleanReopen) {
  TempDir dir;
  LevelDbOptions options;
  options.sync = false;
  {
    auto store = OpenLevelDb(dir.Sub("db"), options);
    ASSERT_TRUE(store.ok());
    WriteBatch b;
    b.Put("x", "y");
    ASSERT_TRUE((*store)->Commit(b).ok());
  }
  auto store = OpenLevelDb(dir.Sub("db"), options);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(GetOr(**store, "x"), "y");
}

TEST(LevelDbStoreTest, SecondOpenOfSameDirFailsNamingTheDir) {
  TempDir dir;
  const std::string path = dir.Sub("db");
  auto first = OpenLevelDb(path, LevelDbOptions{});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = OpenLevelDb(path, LevelDbOptions{});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Status::Code::kIOError);
  EXPECT_NE(second.status().message().find(path), std::string::npos) << second.status().message();
  EXPECT_NE(second.status().message().find("LOCK"), std::string::npos) << second.status().message();
  // The first store keeps working.
  WriteBatch b;
  b.Put("still", "here");
  EXPECT_TRUE((*first)->Commit(b).ok());
}

TEST(LevelDbStoreTest, OpenWithoutCreateFailsNamingTheDir) {
  TempDir dir;
  const std::string path = dir.Sub("missing");
  LevelDbOptions options;
  options.create_if_missing = false;
  auto store = OpenLevelDb(path, options);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find(path), std::string::npos) << store.status().message();
}

TEST(LevelDbStoreTest, CreatesNestedDirectories) {
  TempDir dir;
  auto store = OpenLevelDb(dir.Sub("a/b/c"), LevelDbOptions{});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
}

TEST(LevelDbStoreTest, ManyKeysScanInOrderAfterCompactionSizedWrites) {
  TempDir dir;
  LevelDbOptions options;
  options.write_buffer_bytes = 64 << 10;  // force several memtable flushes
  options.sync = false;
  auto store = OpenLevelDb(dir.Sub("db"), options);
  ASSERT_TRUE(store.ok());
  std::string filler(200, 'x');
  for (int round = 0; round < 20; ++round) {
    WriteBatch b;
    for (int i = round; i < 5000; i += 20) {
      char key[32];
      std::snprintf(key, sizeof key, "n/%08d", i);
      b.Put(key, filler);
    }
    ASSERT_TRUE((*store)->Commit(b).ok());
  }
  int expected = 0;
  bool ordered = true;
  ASSERT_TRUE((*store)->ScanPrefix("n/", [&](std::string_view k, std::string_view) {
    char key[32];
    std::snprintf(key, sizeof key, "n/%08d", expected++);
    if (k != key) ordered = false;
    return ordered;
  }).ok());
  EXPECT_TRUE(ordered);
  EXPECT_EQ(expected, 5000);
}

// ---- MemoryStore crash simulation -----------------------------------------------------------

TEST(MemoryStoreTest, CrashDropsUnsyncedCommitsKeepsSynced) {
  MemoryStore store(/*durable_on_commit=*/false);
  WriteBatch b1;
  b1.Put("a", "1");
  b1.Put("b", "1");
  ASSERT_TRUE(store.Commit(b1).ok());
  store.Sync();
  WriteBatch b2;
  b2.Put("a", "2");
  b2.Delete("b");
  b2.Put("c", "new");
  ASSERT_TRUE(store.Commit(b2).ok());
  EXPECT_EQ(GetOr(store, "a"), "2");
  EXPECT_EQ(store.size(), 2u);
  store.SimulateCrash();
  EXPECT_EQ(GetOr(store, "a"), "1");
  EXPECT_EQ(GetOr(store, "b"), "1");
  EXPECT_EQ(GetOr(store, "c"), "<absent>");
  EXPECT_EQ(store.size(), 2u);
}

TEST(MemoryStoreTest, CrashBeforeAnySyncLosesEverything) {
  MemoryStore store(/*durable_on_commit=*/false);
  WriteBatch b;
  b.Put("a", "1");
  ASSERT_TRUE(store.Commit(b).ok());
  store.SimulateCrash();
  EXPECT_EQ(store.size(), 0u);
}

TEST(MemoryStoreTest, DurableOnCommitSurvivesCrash) {
  MemoryStore store;
  WriteBatch b;
  b.Put("a", "1");
  ASSERT_TRUE(store.Commit(b).ok());
  store.SimulateCrash();
  EXPECT_EQ(GetOr(store, "a"), "1");
}

}  // namespace
}  // namespace rf::state
