// The shared settings reader (connectors/builtin/src/connector_settings.h), directly and through
// the http and webhook connectors: a missing ca_file is refused with a clear error, secrets never
// appear in describe output or in errors, even when the service configuration resolved them
// before the connector saw them.
#include "connectors/builtin/src/connector_settings.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "connectors/builtin/http_connector.h"
#include "connectors/builtin/webhook_connector.h"
#include "tests/builtin/builtin_test_util.h"
#include "tests/builtin/rest_test_server.h"

namespace rf::connectors {
namespace {

using nlohmann::json;
using rf::testing::InvokeSync;
using rf::testing::IoThread;
using rf::testing::MakeCall;
using rf::testing::Reply;
using rf::testing::RestTestServer;

InstanceConfig Config(json settings, std::string type = "http") {
  InstanceConfig c;
  c.name = "inventory";
  c.type = std::move(type);
  c.settings = std::move(settings);
  return c;
}

TEST(ConnectorSettings, MissingCaFileIsRefusedWithItsResolvedPath) {
  auto dir = std::filesystem::temp_directory_path() / "rf_settings_test";
  std::filesystem::create_directories(dir);
  InstanceConfig c = Config({{"tls", {{"ca_file", "certs/nosuch.pem"}}}});
  c.base_dir = dir;
  settings::Reader in(c);
  auto t = in.Transport();
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(),
            "connector 'inventory' (http): settings.tls.ca_file: no such file: " +
                (dir / "certs/nosuch.pem").string());

  std::filesystem::create_directories(dir / "certs");
  std::ofstream(dir / "certs/ca.pem") << "not checked here, only found\n";
  InstanceConfig ok = Config({{"tls", {{"ca_file", "certs/ca.pem"}, {"verify", true}}},
                              {"pool", {{"max_connections_per_host", 3}}},
                              {"max_body_bytes", 1024}});
  ok.base_dir = dir;
  settings::Reader in2(ok);
  auto t2 = in2.Transport();
  ASSERT_TRUE(t2.ok()) << t2.status().message();
  EXPECT_EQ(t2->ca_file, (dir / "certs/ca.pem").string());
  EXPECT_EQ(t2->max_connections_per_host, 3u);
  EXPECT_EQ(t2->max_body_bytes, 1024u);
  std::filesystem::remove_all(dir);
}

TEST(ConnectorSettings, TransportAndTimeoutErrorsNameTheSetting) {
  auto message = [](json settings) {
    InstanceConfig c = Config(std::move(settings));
    settings::Reader in(c);
    auto t = in.Transport();
    if (!t.ok()) return t.status().message();
    auto d = in.Timeout(std::chrono::seconds(30));
    return d.ok() ? std::string() : d.status().message();
  };
  EXPECT_NE(message({{"pool", {{"max_connections_per_host", 0}}}})
                .find("settings.pool.max_connections_per_host: expected a positive integer"),
            std::string::npos);
  EXPECT_NE(message({{"pool", {{"size", 2}}}}).find("settings.pool.size: unknown setting"),
            std::string::npos);
  EXPECT_NE(message({{"tls", {{"verify", "yes"}}}}).find("settings.tls.verify"), std::string::npos);
  EXPECT_NE(message({{"max_body_bytes", -1}}).find("settings.max_body_bytes"), std::string::npos);
  EXPECT_NE(message({{"timeout", "soon"}}).find("settings.timeout"), std::string::npos);
  EXPECT_NE(message({{"timeout", "0s"}}).find("settings.timeout"), std::string::npos);
  EXPECT_EQ(message({{"timeout", "5s"}}), "");
}

TEST(ConnectorSettings, SecretsFromAnyOriginAreRedactedLongestFirst) {
  ::setenv("RF_SETTINGS_TEST_KEY", "env-key-1234", 1);
  InstanceConfig c = Config(
      {{"a", {{"env", "RF_SETTINGS_TEST_KEY"}}}, {"b", "literal-secret-5678"}, {"c", "plain"}});
  settings::Reader in(c);
  ASSERT_TRUE(in.TextOrEnv(c.settings["a"], "a", false).ok());     // env: always a secret
  ASSERT_TRUE(in.Secret(c.settings, "b").ok());                    // a credential: always
  ASSERT_EQ(*in.TextOrEnv(c.settings["c"], "c", false), "plain");  // not a secret
  in.secrets().Add("literal");                                     // contained in another
  std::string out = in.secrets().Redact("k=env-key-1234 s=literal-secret-5678 plain literal");
  EXPECT_EQ(out, "k=[redacted] s=[redacted] plain [redacted]");

  ::unsetenv("RF_SETTINGS_TEST_UNSET");
  auto missing = in.TextOrEnv(json{{"env", "RF_SETTINGS_TEST_UNSET"}}, "auth.token", false);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find(
                "settings.auth.token: environment variable RF_SETTINGS_TEST_UNSET is not set"),
            std::string::npos);
  EXPECT_FALSE(in.Secret(json{{"k", ""}}, "k").ok());
  EXPECT_FALSE(in.Secret(json::object(), "k").ok());
}

TEST(ConnectorSettings, SensitiveHeaderNames) {
  for (const char* h : {"Authorization", "proxy-authorization", "Cookie", "X-Api-Key",
                        "X-Auth-Token", "X-Client-Secret", "X-Password", "X-Signature"}) {
    EXPECT_TRUE(settings::IsSensitiveHeader(h)) << h;
  }
  for (const char* h : {"X-Tenant", "Accept-Language", "X-Request-Source"}) {
    EXPECT_FALSE(settings::IsSensitiveHeader(h)) << h;
  }
}

TEST(ConnectorSettings, UnknownKeysAreRefused) {
  IoThread io;
  auto made = MakeHttpConnector(Config({{"base_url", "http://127.0.0.1:1"},
                                        {"timout", "5s"},
                                        {"operations", {{{"name", "get"}}}}}),
                                io.io());
  ASSERT_FALSE(made.ok());
  EXPECT_NE(made.status().message().find("settings.timout: unknown setting"), std::string::npos)
      << made.status().message();
  auto op = MakeHttpConnector(Config({{"base_url", "http://127.0.0.1:1"},
                                      {"operations", {{{"name", "get"}, {"pth", "/"}}}}}),
                              io.io());
  ASSERT_FALSE(op.ok());
  EXPECT_NE(op.status().message().find("operations[0] (get).pth: unknown setting"),
            std::string::npos)
      << op.status().message();
}

// What `retailflow serve` hands the connector: its config resolved {"env": ...} already, so the
// credentials arrive as plain strings. They are redacted all the same.
TEST(ConnectorSettings, SecretsResolvedByTheServiceNeverAppearInDescribeOrErrors) {
  IoThread io;
  RestTestServer server;
  server.SetHandler([](const rf::testing::RecordedRequest& req) -> std::optional<Reply> {
    return Reply::Json(400, "you sent " + req.Header("Authorization") + " and " +
                                req.Header("X-Api-Key") + " and " + req.Header("X-Op-Token") +
                                " for " + req.Header("X-Tenant"));
  });
  json s = {
      {"base_url", server.base_url()},
      {"description", "Inventory"},
      {"auth", {{"type", "bearer"}, {"token", "resolved-token-111"}}},
      {"headers", {{"X-Api-Key", "resolved-key-222"}, {"X-Tenant", "demo"}}},
      {"operations",
       {{{"name", "get"}, {"path", "/x"}, {"headers", {{"X-Op-Token", "resolved-op-333"}}}}}}};
  auto made = MakeHttpConnector(Config(s), io.io());
  ASSERT_TRUE(made.ok()) << made.status().message();
  auto& c = **made;
  std::string describe = c.Describe().dump();
  auto r = InvokeSync(c, MakeCall("get", Value(Record{})));
  EXPECT_EQ(r.error_kind, "rejected");
  EXPECT_NE(r.message.find("you sent"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("demo"), std::string::npos);  // X-Tenant is no secret
  for (const char* secret : {"resolved-token-111", "resolved-key-222", "resolved-op-333"}) {
    EXPECT_EQ(r.message.find(secret), std::string::npos) << r.message;
    EXPECT_EQ(describe.find(secret), std::string::npos) << describe;
  }
  EXPECT_EQ(server.last_request()->Header("X-Api-Key"), "resolved-key-222");  // still sent

  const std::string whsec = "whsec_TWZLUTlyOEdLWXFyVHdqVVBEOElMUFpJbzJMYUxhU3c=";
  server.SetHandler([whsec](const rf::testing::RecordedRequest&) -> std::optional<Reply> {
    return Reply::Json(422, "your secret is " + whsec);
  });
  auto hook = MakeWebhookConnector(
      Config({{"url", server.base_url() + "/h"}, {"secret", whsec}}, "webhook"), io.io());
  ASSERT_TRUE(hook.ok()) << hook.status().message();
  auto rh = InvokeSync(**hook, MakeCall("send", Value(Record{})));
  EXPECT_EQ(rh.error_kind, "rejected");
  EXPECT_EQ(rh.message.find("TWZLUTlyOEdLWXFy"), std::string::npos) << rh.message;
  EXPECT_EQ((*hook)->Describe().dump().find("TWZLUTlyOEdLWXFy"), std::string::npos);
}

}  // namespace
}  // namespace rf::connectors
