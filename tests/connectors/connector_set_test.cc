// ConnectorSet: building from configuration entries (with errors that name the entry), the
// catalog document that the checker loads, and the per-connector states.
#include "connectors/connector_set.h"

#include <fstream>
#include <sstream>

#include "dsl/catalog.h"
#include "tests/connectors/test_util.h"

namespace rf::connectors::testing {
namespace {

using nlohmann::json;

ConnectorSetOptions Options() {
  ConnectorSetOptions o;
  o.plugin_dirs = {std::filesystem::path(RF_FRAUD_PLUGIN).parent_path(), RF_TEST_PLUGIN_DIR};
  // A built-in type as the host would add it; here a connector that holds its calls.
  auto state = std::make_shared<HeldConnector::State>();
  o.factories["held"] =
      [state](const InstanceConfig&,
              boost::asio::io_context&) -> Result<std::unique_ptr<ConnectorInstance>> {
    return std::unique_ptr<ConnectorInstance>(std::make_unique<HeldConnector>(state));
  };
  return o;
}

std::string CreateError(const json& entries, const ConnectorSetOptions& o = Options()) {
  boost::asio::io_context io;
  auto set = ConnectorSet::Create(entries, o, io);
  EXPECT_FALSE(set.ok()) << entries.dump();
  return set.ok() ? std::string() : set.status().message();
}

const json kFraud = {{"name", "fraud"},
                     {"type", "plugin"},
                     {"library", "fraud_plugin.so"},
                     {"settings", {{"now", "2026-11-27T12:00:00Z"}}},
                     {"limits", {{"timeout", "5s"}, {"max_concurrency", 4}}}};

TEST(ConnectorSet, ErrorsNameTheEntry) {
  std::string e = CreateError(json::array({kFraud, {{"name", "pos"}, {"type", "plugn"}}}));
  EXPECT_NE(e.find("connectors[1] (pos): unknown type \"plugn\""), std::string::npos) << e;
  EXPECT_NE(e.find("known: held, plugin"), std::string::npos) << e;

  e = CreateError(json::array({kFraud, kFraud}));
  EXPECT_NE(e.find("connectors[1] (fraud): a connector named \"fraud\" is already configured"),
            std::string::npos)
      << e;

  json bad_limits = kFraud;
  bad_limits["limits"] = {{"timeout", "soon"}};
  e = CreateError(json::array({bad_limits}));
  EXPECT_NE(e.find("connectors[0] (fraud): limits.timeout"), std::string::npos) << e;

  e = CreateError(json::array({{{"name", "Bad Name"}, {"type", "held"}}}));
  EXPECT_NE(e.find("connectors[0]: needs a \"name\""), std::string::npos) << e;

  e = CreateError(json::array({{{"name", "x"}, {"type", "plugin"}, {"library", "wrong_abi.so"}}}));
  EXPECT_NE(e.find("connectors[0] (x): "), std::string::npos) << e;
  EXPECT_NE(e.find("speaks connector ABI version 2"), std::string::npos) << e;

  e = CreateError(json::array({{{"name", "x"}, {"type", "plugin"}}}));
  EXPECT_NE(e.find("a plugin needs a \"library\""), std::string::npos) << e;

  e = CreateError(json{{"name", "x"}});
  EXPECT_NE(e.find("must be a list"), std::string::npos) << e;
}

TEST(ConnectorSet, CatalogLoadsInTheChecker) {
  boost::asio::io_context io;
  auto set = ConnectorSet::Create(
      json::array({kFraud, {{"name", "pos"}, {"type", "held"}, {"system", "till"}}}), Options(),
      io);
  ASSERT_TRUE(set.ok()) << set.status().message();
  json doc = (*set)->Catalog({{"sales", "till"}});
  dsl::Catalog catalog;
  Status s = catalog.AddJson(doc.dump(), "connector set");
  ASSERT_TRUE(s.ok()) << s.message() << "\n" << doc.dump(2);
  const dsl::ConnectorSpec* fraud = catalog.Find("fraud");
  ASSERT_NE(nullptr, fraud);
  const dsl::OperationSpec* op = fraud->Find("score_return");
  ASSERT_NE(nullptr, op);
  EXPECT_FALSE(op->side_effects);
  ASSERT_NE(nullptr, op->FindInput("amount"));
  EXPECT_EQ("money", op->FindInput("amount")->type);
  EXPECT_FALSE(op->FindInput("customer_ref")->required);
  ASSERT_NE(nullptr, catalog.Find("pos"));
  EXPECT_EQ("till", catalog.Find("pos")->system);
  EXPECT_EQ("till", catalog.owners().at("sales"));
}

// The plugin declares exactly what the shipped retail catalog says about `fraud`.
TEST(ConnectorSet, FraudPluginMatchesTheRetailCatalog) {
  std::ifstream in(std::string(RF_SOURCE_DIR) + "/workflows/connectors/retail.json");
  ASSERT_TRUE(in);
  std::stringstream text;
  text << in.rdbuf();
  json retail = json::parse(text.str(), nullptr, true, /*ignore_comments=*/true);
  json expected;
  for (const auto& c : retail["connectors"])
    if (c["name"] == "fraud") expected = c;
  ASSERT_TRUE(expected.is_object());

  boost::asio::io_context io;
  auto set = ConnectorSet::Create(json::array({kFraud}), Options(), io);
  ASSERT_TRUE(set.ok()) << set.status().message();
  json got = (*set)->Catalog()["connectors"][0];
  EXPECT_EQ(expected["operations"], got["operations"]) << got.dump(2);
  EXPECT_EQ(expected["system"], got["system"]);
  EXPECT_EQ(expected["description"], got["description"]);
}

TEST(ConnectorSet, FindStatesAndShutdown) {
  IoThread io;
  auto set = ConnectorSet::Create(json::array({kFraud}), Options(), io.io());
  ASSERT_TRUE(set.ok()) << set.status().message();
  EXPECT_EQ(nullptr, (*set)->Find("nope"));
  engine::Connector* fraud = (*set)->Find("fraud");
  ASSERT_NE(nullptr, fraud);
  Answers answers;
  auto input = Value::FromJson(R"({"amount": 10, "sold_at": "2026-11-20T10:00:00Z",
                                   "reason": "wrong size", "customer_ref": "C-1",
                                   "store_id": "S1"})");
  ASSERT_TRUE(input.ok());
  fraud->Invoke(MakeCall("c1", "score_return", *input), answers.Callback(1));
  fraud->Invoke(MakeCall("c2", "no_such_op", *input), answers.Callback(2));
  ASSERT_TRUE(answers.Get(1));
  ASSERT_TRUE(answers.Get(2));
  EXPECT_EQ("rejected", answers.Get(2)->error_kind);

  auto states = (*set)->States();
  ASSERT_EQ(1u, states.size());
  EXPECT_EQ("fraud", states[0].name);
  EXPECT_EQ("plugin", states[0].type);
  EXPECT_EQ("fraud", states[0].system);
  EXPECT_EQ("closed", states[0].breaker);
  EXPECT_EQ(2u, states[0].counters.calls);
  EXPECT_EQ(1u, states[0].counters.succeeded);
  EXPECT_EQ(1u, states[0].counters.errors["rejected"]);

  (*set)->Shutdown();
  fraud->Invoke(MakeCall("c3", "score_return", *input), answers.Callback(3));
  EXPECT_EQ("unavailable", answers.Get(3)->error_kind);
}

TEST(ConnectorSet, ObserverGetsEveryCall) {
  IoThread io;
  ConnectorSetOptions o = Options();
  std::atomic<int> observed{0};
  o.on_call = [&](const engine::Invocation& call, const engine::CallResult&,
                  std::chrono::nanoseconds) {
    if (call.connector == "test") ++observed;
  };
  auto set = ConnectorSet::Create(json::array({kFraud}), o, io.io());
  ASSERT_TRUE(set.ok()) << set.status().message();
  Answers answers;
  (*set)->Find("fraud")->Invoke(MakeCall("c1", "score_return"), answers.Callback(1));
  ASSERT_TRUE(answers.Get(1));
  EXPECT_EQ("rejected", answers.Get(1)->error_kind);  // no amount
  EXPECT_EQ(1, observed.load());
}

}  // namespace
}  // namespace rf::connectors::testing
