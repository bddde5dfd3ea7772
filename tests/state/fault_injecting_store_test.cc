// FaultInjectingStore over a real LevelDB store.
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "state/leveldb_store.h"
#include "state/state_store.h"
#include "tests/state/test_util.h"

namespace rf::state {
namespace {

using testing::TempDir;

class FaultInjectingStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = OpenLevelDb(dir_.Sub("db"), LevelDbOptions{});
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    base_ = std::move(opened).value();
    faulty_ = std::make_unique<FaultInjectingStore>(base_.get());
  }
  static WriteBatch Batch(const std::string& key, const std::string& value) {
    WriteBatch b;
    b.Put(key, value);
    return b;
  }
  bool Has(const std::string& key) {
    std::string v;
    return base_->Get(key, &v).ok();
  }
  TempDir dir_;
  std::unique_ptr<StateStore> base_;
  std::unique_ptr<FaultInjectingStore> faulty_;
};

TEST_F(FaultInjectingStoreTest, PassesThroughWhenNoFault) {
  ASSERT_TRUE(faulty_->Commit(Batch("a", "1")).ok());
  std::string v;
  ASSERT_TRUE(faulty_->Get("a", &v).ok());
  EXPECT_EQ(v, "1");
  int n = 0;
  ASSERT_TRUE(faulty_->ScanPrefix("", [&](std::string_view, std::string_view) { return ++n, true; }).ok());
  EXPECT_EQ(n, 1);
  EXPECT_EQ(faulty_->commits(), 1);
}

TEST_F(FaultInjectingStoreTest, FailedCommitAppliesNothingOfTheBatch) {
  ASSERT_TRUE(faulty_->Commit(Batch("keep", "old")).ok());
  faulty_->FailCommitAfter(1);
  WriteBatch b;
  b.Put("x", "1");
  b.Put("y", "2");
  b.Delete("keep");
  Status s = faulty_->Commit(b);
  EXPECT_EQ(s.code(), Status::Code::kIOError);
  EXPECT_FALSE(Has("x"));
  EXPECT_FALSE(Has("y"));
  EXPECT_TRUE(Has("keep"));
  // Only the one commit fails.
  EXPECT_TRUE(faulty_->Commit(b).ok());
  EXPECT_TRUE(Has("x"));
  EXPECT_FALSE(Has("keep"));
}

TEST_F(FaultInjectingStoreTest, FailsExactlyTheNthCommit) {
  faulty_->FailCommitAfter(3);
  EXPECT_TRUE(faulty_->Commit(Batch("1", "")).ok());
  EXPECT_TRUE(faulty_->Commit(Batch("2", "")).ok());
  EXPECT_FALSE(faulty_->Commit(Batch("3", "")).ok());
  EXPECT_TRUE(faulty_->Commit(Batch("4", "")).ok());
  EXPECT_TRUE(Has("1"));
  EXPECT_TRUE(Has("2"));
  EXPECT_FALSE(Has("3"));
  EXPECT_TRUE(Has("4"));
  EXPECT_EQ(faulty_->commits(), 4);
}

TEST_F(FaultInjectingStoreTest, LostAckMeansWrittenButCallerSawError) {
  faulty_->LoseAckAfter(2);
  EXPECT_TRUE(faulty_->Commit(Batch("a", "1")).ok());
  Status s = faulty_->Commit(Batch("b", "2"));
  EXPECT_EQ(s.code(), Status::Code::kIOError);
  EXPECT_NE(s.message().find("acknowledgement"), std::string::npos) << s.message();
  EXPECT_TRUE(Has("b"));  // the data is there
  EXPECT_TRUE(faulty_->Commit(Batch("c", "3")).ok());
}

TEST_F(FaultInjectingStoreTest, BreakAndHeal) {
  faulty_->BreakCommits();
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(faulty_->Commit(Batch("k" + std::to_string(i), "")).ok());
  // Reads still work while commits are broken.
  std::string v;
  EXPECT_EQ(faulty_->Get("k0", &v).code(), Status::Code::kNotFound);
  faulty_->Heal();
  EXPECT_TRUE(faulty_->Commit(Batch("k9", "")).ok());
  EXPECT_FALSE(Has("k0"));
  EXPECT_TRUE(Has("k9"));
  EXPECT_EQ(faulty_->commits(), 4);
}

TEST_F(FaultInjectingStoreTest, DisarmWithZero) {
  faulty_->FailCommitAfter(1);
  faulty_->FailCommitAfter(0);
  EXPECT_TRUE(faulty_->Commit(Batch("a", "")).ok());
}

TEST_F(FaultInjectingStoreTest, FailureWinsOverLostAckOnTheSameCommit) {
  faulty_->FailCommitAfter(1);
  faulty_->LoseAckAfter(1);
  EXPECT_FALSE(faulty_->Commit(Batch("a", "")).ok());
  EXPECT_FALSE(Has("a"));
}

TEST_F(FaultInjectingStoreTest, TargetErrorsPropagateAndCountAsCommits) {
  FaultInjectingStore outer(faulty_.get());
  faulty_->BreakCommits();
  Status s = outer.Commit(Batch("a", "1"));
  EXPECT_EQ(s.code(), Status::Code::kIOError);
  EXPECT_EQ(outer.commits(), 1);
  EXPECT_FALSE(Has("a"));
  // A lost ack on the outer store is not reported when the target itself failed: the target's
  // error is what the caller sees, and nothing was written.
  outer.LoseAckAfter(1);
  s = outer.Commit(Batch("b", "1"));
  EXPECT_NE(s.message().find("nothing applied"), std::string::npos) << s.message();
  EXPECT_FALSE(Has("b"));
}

}  // namespace
}  // namespace rf::state
