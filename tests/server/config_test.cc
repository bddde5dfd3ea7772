#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

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
      {"{\"token_expiry\": {\"operator\": \"soon\"}}", "positive duration"},
      {"{\"token_expiry\": {\"superuser\": \"1d\"}}", "unknown role"},
  };
  for (const auto& c : cases) {
    auto r = ParseConfig(c.text, "/");
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos) << r.status().message();
  }
}

TEST(ConfigTest, TokenExpiryByRole) {
  auto r = ParseConfig(R"({"token_expiry": {"operator": "90d", "approver:*": "8h", "deployer": "1h"}})", "/");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->token_expiry.at("operator").ms, 90LL * 86400000);
  EXPECT_EQ(r->token_expiry.at("approver:*").ms, 8LL * 3600000);
  EXPECT_EQ(r->token_expiry.at("deployer").ms, 3600000);
}

TEST(ConfigTest, SecretsFromFilesArePermissionChecked) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("rf_secret_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string value = "odoo-api-key-VALUE-never-shown";
  fs::path good = dir / "odoo_key", open_file = dir / "open_key";
  std::ofstream(good) << value << "\n";
  std::ofstream(open_file) << value << "\n";
  fs::permissions(good, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
  fs::permissions(open_file, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read,
                  fs::perm_options::replace);
  auto ok = ResolveSecrets(nlohmann::json{{"settings", {{"api_key", {{"file", good.string()}}}}}}, "connectors/0");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ((*ok)["settings"]["api_key"], value);
  for (const fs::path& bad : {open_file, dir / "missing", dir}) {
    auto r = ResolveSecrets(nlohmann::json{{"api_key", {{"file", bad.string()}}}}, "connectors/0");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find(bad.string()), std::string::npos) << r.status().message();
    EXPECT_EQ(r.status().message().find(value), std::string::npos) << r.status().message();
  }
  auto open_error = ResolveSecret(nlohmann::json{{"file", open_file.string()}}, "webhooks/pos/secret");
  EXPECT_NE(open_error.status().message().find("mode 0644"), std::string::npos) << open_error.status().message();
  // A webhook secret from a file, through the whole configuration.
  fs::path whsec = dir / "pos_secret";
  std::ofstream(whsec) << "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n";
  fs::permissions(whsec, fs::perms::owner_read, fs::perm_options::replace);
  auto c = ParseConfig(nlohmann::json{{"webhooks", {{"pos", {{"secret", {{"file", whsec.string()}}}, {"routes", nlohmann::json::array()}}}}}}.dump(), "/");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->webhooks.at("pos").secrets.at(0), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  fs::remove_all(dir);
}

TEST(ConfigTest, SecretsFromTheEnvironment) {
  ::setenv("RF_TEST_KEY", "s3cret", 1);
  auto r = ResolveSecrets(nlohmann::json::parse(R"({"a": {"env": "RF_TEST_KEY"}, "b": [{"env": "RF_TEST_KEY"}], "c": 1})"), "x");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)["a"], "s3cret");
  EXPECT_EQ((*r)["b"][0], "s3cret");
  EXPECT_EQ((*r)["c"], 1);
}

// One default per limit: the code's (Limits{}), the embedded configuration's and docs/service.md's
// table agree.
TEST(ServiceDocsTest, DefaultLimitsAreTheDocumentedOnes) {
  const Limits code;
  ::setenv("RETAILFLOW_POS_WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 1);
  auto embedded = ParseConfig(EmbeddedDefaultConfig(), "/srv");
  ::unsetenv("RETAILFLOW_POS_WEBHOOK_SECRET");
  ASSERT_TRUE(embedded.ok()) << embedded.status().message();
  EXPECT_EQ(embedded->limits.token_rate_per_second, code.token_rate_per_second);
  EXPECT_EQ(embedded->limits.token_burst, code.token_burst);
  EXPECT_EQ(embedded->limits.max_in_flight, code.max_in_flight);
  EXPECT_EQ(embedded->limits.max_body_bytes, code.max_body_bytes);
  std::ifstream in(std::string(RF_SOURCE_DIR) + "/docs/service.md");
  std::stringstream ss;
  ss << in.rdbuf();
  auto row = [](const std::string& setting, const std::string& value) {
    return "| " + setting + " | " + value + " |";
  };
  auto whole = [](double v) { return std::to_string(static_cast<long long>(v)); };
  EXPECT_NE(ss.str().find(row("`limits.token_rate_per_second`, `limits.token_burst`",
                              whole(code.token_rate_per_second) + ", " + whole(code.token_burst))),
            std::string::npos);
  EXPECT_NE(ss.str().find(row("`limits.max_in_flight`", std::to_string(code.max_in_flight))), std::string::npos);
}

TEST(ConfigTest, StrictReadingNamesTheSettingByItsPath) {
  struct Case {
    const char* text;
    const char* expect;
  } cases[] = {
      {R"({"limits": {"max_bdy": 3}})", "/limits/max_bdy: unknown setting"},
      {R"({"http_threads": 0})", "/http_threads: must be between 1 and 64"},
      {R"({"hold_failed_steps": "yes"})", "/hold_failed_steps: expected true or false"},
      {R"({"limits": {"max_body_bytes": "big"}})", "/limits/max_body_bytes: expected a whole number"},
      {R"({"tokens": [{"name": "a\nb", "sha256": "0000000000000000000000000000000000000000000000000000000000000000", "roles": ["admin"]}]})",
       "/tokens/0/name"},
      {R"({"tokens": [{"name": "hook", "sha256": "0000000000000000000000000000000000000000000000000000000000000000", "roles": ["webhook:nosuch"]}]})",
       "no webhook source nosuch"},
      {R"({"webhooks": {"pos": {"secret": "whsec_x", "routes": [{"action": "start", "key": "/k"}]}}})",
       "/webhooks/pos/routes/0/workflow: start needs a workflow"},
      {"{\"data_dir\": \"\xff\"}", "not valid UTF-8"},
      {R"({"a": 1, "a": 2})", "duplicate key"},
  };
  for (const auto& c : cases) {
    auto r = ParseConfig(c.text, "/");
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos) << r.status().message();
  }
  std::string deep = "{\"owners\": " + std::string(100, '[') + std::string(100, ']') + "}";
  EXPECT_NE(ParseConfig(deep, "/").status().message().find("deeper than 64"), std::string::npos);
}

}  // namespace
}  // namespace rf::server
