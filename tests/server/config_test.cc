#include <gtest/gtest.h>

#include "server/config.h"

namespace rf::server {
namespace {

TEST(ConfigTest, EmbeddedDefaultParses) {
  ::setenv("RETAILFLOW_POS_WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 1);
  auto c = ParseConfig(EmbeddedDefaultConfig(), "/srv");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->listen_port, 8080);
  EXPECT_EQ(c->listen_host, "127.0.0.1");
  EXPECT_EQ(c->Resolve(c->data_dir), "/srv/data");
  ASSERT_EQ(c->connectors.size(), 5u);
  std::set<std::string> names;
  for (const auto& e : c->connectors) names.insert(e["name"].get<std::string>());
  EXPECT_EQ(names, (std::set<std::string>{"pos", "inventory", "notify", "odoo", "fraud"}));
  ASSERT_TRUE(c->webhooks.count("pos"));
  EXPECT_EQ(c->webhooks["pos"].secrets.size(), 1u);
  ::unsetenv("RETAILFLOW_POS_WEBHOOK_SECRET");
  auto generated = ParseConfig(EmbeddedDefaultConfig(), "/srv");
  ASSERT_TRUE(generated.ok()) << generated.status().message();
  EXPECT_TRUE(generated->webhooks["pos"].secret_from_data_dir);
}

TEST(ConfigTest, MistakesAreNamed) {
  struct Case {
    const char* text;
    const char* expect;
  } cases[] = {
      {"{\"listen\": \"localhost\"}", "listen"},
      {"{\"lisen\": \"127.0.0.1:1\"}", "lisen: unknown setting"},
      {"{\"tokens\": [{\"name\": \"a\", \"sha256\": \"abc\", \"roles\": [\"admin\"]}]}", "64 hex"},
      {"{\"webhooks\": {\"pos\": {\"routes\": []}}}", "needs a secret"},
      {"{\"webhooks\": {\"pos\": {\"secret\": \"plain\"}}}", "whsec_"},
      {"{\"webhooks\": {\"pos\": {\"secret\": {\"env\": \"RF_NOT_SET_ANYWHERE\"}}}}", "RF_NOT_SET_ANYWHERE"},
      {"{\"limits\": {\"header_timeout\": \"soon\"}}", "/limits/header_timeout"},
      {"{\"durability\": \"maybe\"}", "durability"},
      {"{\"connectors\": {}}", "connectors"},
      {"{ not json", "not valid JSON"},
  };
  for (const auto& c : cases) {
    auto r = ParseConfig(c.text, "/");
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos) << r.status().message();
  }
}

TEST(ConfigTest, SecretsFromTheEnvironment) {
  ::setenv("RF_TEST_KEY", "s3cret", 1);
  auto r = ResolveSecrets(nlohmann::json::parse(R"({"a": {"env": "RF_TEST_KEY"}, "b": [{"env": "RF_TEST_KEY"}], "c": 1})"), "x");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)["a"], "s3cret");
  EXPECT_EQ((*r)["b"][0], "s3cret");
  EXPECT_EQ((*r)["c"], 1);
}

}  // namespace
}  // namespace rf::server
