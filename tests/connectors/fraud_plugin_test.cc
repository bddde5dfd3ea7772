// The fraud example plugin: deterministic scores through the real loader, and a flow that calls
// fraud.score_return run by the real engine over the ConnectorSet.
#include <future>

#include "common/time_text.h"
#include "connectors/connector_set.h"
#include "dsl/compiler.h"
#include "engine/clock.h"
#include "engine/engine.h"
#include "state/state_store.h"
#include "tests/connectors/test_util.h"

namespace rf::connectors::testing {
namespace {

using nlohmann::json;

const json kFraud = {{"name", "fraud"},
                     {"type", "plugin"},
                     {"library", RF_FRAUD_PLUGIN},
                     {"settings", {{"now", "2026-11-27T12:00:00Z"}, {"watchlist", {"C-666"}}}},
                     {"limits", {{"timeout", "5s"}}}};

class FraudPlugin : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = ConnectorSet::Create(json::array({kFraud}), {}, io_.io());
    ASSERT_TRUE(s.ok()) << s.status().message();
    set_ = std::move(*s);
  }
  engine::CallResult Score(const std::string& input_json) {
    auto input = Value::FromJson(input_json);
    EXPECT_TRUE(input.ok()) << input_json;
    int i = next_++;
    set_->Find("fraud")->Invoke(MakeCall("c" + std::to_string(i), "score_return", *input),
                                answers_.Callback(i));
    auto r = answers_.Get(i);
    EXPECT_TRUE(r.has_value());
    return r.value_or(engine::CallResult::Failure("internal", "no answer"));
  }
  static std::vector<std::string> Reasons(const engine::CallResult& r) {
    std::vector<std::string> out;
    const Value* list = r.output.Find("reasons");
    if (list == nullptr || !list->is_list()) return out;
    for (const auto& v : list->as_list()) out.push_back(v.as_text());
    return out;
  }
  static std::int64_t ScoreOf(const engine::CallResult& r) {
    const Value* s = r.output.Find("score");
    return s != nullptr && s->is_number() ? s->as_number().ToInt64().value_or(-1) : -1;
  }

  IoThread io_;
  std::unique_ptr<ConnectorSet> set_;
  Answers answers_;
  int next_ = 0;
};

TEST_F(FraudPlugin, ScoresByTheDocumentedRules) {
  auto a = Score(R"({"amount": 1200, "sold_at": "2026-10-27T12:00:00Z", "reason": "No receipt",
                     "store_id": "S1"})");
  ASSERT_TRUE(a.ok) << a.message;
  EXPECT_EQ(85, ScoreOf(a));
  EXPECT_EQ((std::vector<std::string>{"amount over 1000", "late in the return window (31 days)",
                                      "no receipt", "anonymous customer"}),
            Reasons(a));

  auto b = Score(R"({"amount": 49.99, "sold_at": "2026-11-20T10:00:00Z", "reason": "wrong size",
                     "customer_ref": "C-1", "store_id": "S1"})");
  ASSERT_TRUE(b.ok) << b.message;
  EXPECT_EQ(0, ScoreOf(b));
  EXPECT_TRUE(Reasons(b).empty());

  auto c = Score(R"({"amount": 250, "sold_at": "2026-11-27T09:00:00+01:00",
                     "reason": "changed_mind", "customer_ref": "C-666", "store_id": "S1"})");
  EXPECT_EQ(65, ScoreOf(c));
  EXPECT_EQ((std::vector<std::string>{"amount over 200", "returned on the day of the sale",
                                      "changed mind", "customer on watchlist"}),
            Reasons(c));

  auto d = Score(R"({"amount": 500.00, "sold_at": "2026-11-28T00:00:00Z", "reason": "other",
                     "customer_ref": "", "store_id": "S1"})");
  EXPECT_EQ(80, ScoreOf(d));

  // Capped at 100.
  auto e = Score(R"({"amount": 5000, "sold_at": "2027-01-01", "reason": "",
                     "customer_ref": "C-666", "store_id": "S1"})");
  EXPECT_EQ(100, ScoreOf(e));
  // 499.99 is not over 500.
  auto f = Score(R"({"amount": 499.99, "sold_at": "2026-11-20T10:00:00Z", "reason": "broken",
                     "customer_ref": "C-2", "store_id": "S1"})");
  EXPECT_EQ(10, ScoreOf(f));
}

TEST_F(FraudPlugin, SameInputSameScore) {
  const char* in = R"({"amount": 777.70, "sold_at": "2026-11-01T08:00:00Z",
                       "reason": "no_receipt", "customer_ref": "C-9", "store_id": "S7"})";
  auto first = Score(in);
  for (int i = 0; i < 5; ++i) {
    auto again = Score(in);
    EXPECT_EQ(first.output, again.output);
  }
  EXPECT_EQ(55, ScoreOf(first));  // 20 + 15 + 20
}

TEST_F(FraudPlugin, BadInputIsRejected) {
  auto r = Score(R"({"sold_at": "2026-11-20T10:00:00Z", "reason": "x", "store_id": "S1"})");
  EXPECT_EQ("rejected", r.error_kind);
  EXPECT_NE(r.message.find("amount"), std::string::npos) << r.message;
  r = Score(R"({"amount": 10, "sold_at": "last tuesday", "reason": "x", "store_id": "S1"})");
  EXPECT_EQ("rejected", r.error_kind);
  EXPECT_NE(r.message.find("sold_at"), std::string::npos) << r.message;
}

TEST(FraudPluginSettings, BadSettingsRefuseTheInstance) {
  boost::asio::io_context io;
  json entry = kFraud;
  entry["settings"] = {{"now", "tomorrow"}};
  auto s = ConnectorSet::Create(json::array({entry}), {}, io);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("settings.now must be an ISO-8601 time"), std::string::npos)
      << s.status().message();
}

const char* kFlow = R"(workflow score_a_return version 1
uses fraud
input amount money, sold_at time, reason text, customer_ref text
step score_fraud
  call fraud.score_return with
    customer_ref = input.customer_ref,
    store_id = "S1",
    amount = input.amount,
    sold_at = input.sold_at,
    reason = input.reason
  save result as fraud_check
  timeout 5s
decide route
  when fraud_check.score >= 50 go to suspicious
  otherwise go to clean
finish clean "clean: {fraud_check.score}"
fail suspicious "suspicious: {fraud_check.score}"
)";

// The plugin under the real engine: the flow is checked against the set's own catalog, and each
// instance runs its step through the resilience layer and the loaded .so.
TEST(FraudPluginUnderEngine, FlowCallsScoreReturn) {
  IoThread io;
  engine::ManualClock clock(Time{0});
  ASSERT_TRUE(clock.Now().ms == 0);
  clock.Set(*ParseTime("2026-11-27T12:00:00Z"));
  ConnectorSetOptions opts;
  opts.clock = &clock;
  auto set = ConnectorSet::Create(json::array({kFraud}), opts, io.io());
  ASSERT_TRUE(set.ok()) << set.status().message();

  dsl::Catalog catalog;
  ASSERT_TRUE(catalog.AddJson((*set)->Catalog().dump(), "connector set").ok());
  dsl::Diagnostics diags;
  auto machine = dsl::CompileSource(kFlow, catalog, diags);
  std::string rendered;
  for (const auto& d : diags.all()) rendered += dsl::RenderText(d, "score.flow", kFlow);
  ASSERT_TRUE(machine.has_value()) << rendered;

  state::MemoryStore store;
  engine::Engine eng(io.io(), &store, &clock, set->get());
  ASSERT_TRUE(eng.Recover().ok());
  ASSERT_TRUE(eng.Deploy(*machine, kFlow).ok());

  auto start = [&](const std::string& input) {
    std::promise<Result<engine::StartResult>> p;
    engine::StartRequest req;
    req.workflow = "score_a_return";
    req.input = Value::FromJson(input).value();
    eng.Start(std::move(req), [&](Result<engine::StartResult> r) { p.set_value(std::move(r)); });
    auto r = p.get_future().get();
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? r->instance_id : std::string();
  };
  std::string clean = start(R"({"amount": 49.99, "sold_at": "2026-11-20T10:00:00Z",
                                "reason": "wrong size", "customer_ref": "C-1"})");
  std::string suspicious = start(R"({"amount": 1200, "sold_at": "2026-10-27T12:00:00Z",
                                     "reason": "no receipt", "customer_ref": ""})");
  eng.WaitIdle();

  auto view = [&](const std::string& id) {
    auto v = eng.GetInstance(id);
    EXPECT_TRUE(v.ok()) << v.status().message();
    return v.ok() ? *v : Value();
  };
  Value c = view(clean);
  EXPECT_EQ("completed", c.Find("status")->as_text()) << c.ToJson();
  EXPECT_EQ("clean: 0", c.Find("outcome")->as_text());
  Value s = view(suspicious);
  EXPECT_EQ("suspicious: 85", s.Find("outcome")->as_text()) << s.ToJson();
  const Value* reasons = s.Find("data")->Find("fraud_check")->Find("reasons");
  ASSERT_NE(nullptr, reasons);
  EXPECT_EQ(4u, reasons->as_list().size());

  auto states = (*set)->States();
  EXPECT_EQ(2u, states[0].counters.succeeded);
  (*set)->Shutdown();
}

}  // namespace
}  // namespace rf::connectors::testing
