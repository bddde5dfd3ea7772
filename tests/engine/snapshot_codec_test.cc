// The stored form of an instance: encode/decode round trips, and the data record's per-entry
// encoding (instance_data.h) always gives the bytes a fresh encoding of the whole record gives.
#include <gtest/gtest.h>

#include "common/decimal.h"
#include "engine/src/instance.h"
#include "engine/src/snapshot_codec.h"

namespace rf::engine {
namespace {

std::string Fresh(const InstanceData& d) {
  std::string out;
  Value::AppendTaggedJson(out, d.record());
  return out;
}
std::string Cached(const InstanceData& d) {
  std::string out;
  d.AppendTaggedJson(out);
  return out;
}

TEST(InstanceData, EachEncodingEqualsAFreshOneAcrossSetsAndReplacements) {
  InstanceData d;
  EXPECT_EQ(Cached(d), "{}");
  d.Set("input", Value(Record{{"amount", Value(*Decimal::Parse("12.50"))}, {"store", Value(std::string("PAR-01"))}}));
  d.Set("last_error", Value());
  EXPECT_EQ(Cached(d), Fresh(d));
  d.Set("refund", Value(Record{{"name", Value(std::string("RINV/\"1\"\n"))}, {"at", Value(Time{1767225600000})}}));
  EXPECT_EQ(Cached(d), Fresh(d));
  // Replacing an entry after it was encoded: the new value is what is written.
  d.Set("last_error", Value(Record{{"kind", Value(std::string("unavailable"))}}));
  std::string after = Cached(d);
  EXPECT_EQ(after, Fresh(d));
  EXPECT_NE(after.find("unavailable"), std::string::npos);
  // A copy carries its encodings but changes independently.
  InstanceData copy = d;
  copy.Set("input", Value(std::string("other")));
  EXPECT_EQ(Cached(copy), Fresh(copy));
  EXPECT_EQ(Cached(d), after);
  d.Assign(Record{{"only", Value(std::int64_t{1})}});
  EXPECT_EQ(Cached(d), "{\"only\":1}");
}

TEST(SnapshotCodec, ARoundTripKeepsTheDataAndReencodesToTheSameBytes) {
  Instance in;
  in.id = "01-abc";
  in.workflow = "store_return";
  in.version = 3;
  in.status = InstanceStatus::kRunning;
  in.data.Set("input", Value(Record{{"amount", Value(*Decimal::Parse("-0.05"))}}));
  in.data.Set("credit_note", Value(List{Value(std::string("a")), Value(true)}));
  Thread t;
  t.id = 0;
  t.state = "restock";
  t.phase = ThreadPhase::kCalling;
  t.invocation = "inv-1";
  in.threads.push_back(t);
  std::string first = EncodeSnapshot(in);
  auto back = DecodeSnapshot(first, "inst/01-abc");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->data.record(), in.data.record());
  EXPECT_EQ(EncodeSnapshot(*back), first);
  EXPECT_FALSE(DecodeSnapshot("{\"id\":\"x\"}", "inst/x").ok());
}

}  // namespace
}  // namespace rf::engine
