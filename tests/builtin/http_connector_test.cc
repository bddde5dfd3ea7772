// The `http` connector end to end against the scriptable server: status and fault mapping,
// headers, templates, response mapping, exact decimals, secrets, configuration errors.
#include "connectors/builtin/http_connector.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <future>

#include "connectors/builtin/builtin.h"
#include "engine/clock.h"
#include "tests/builtin/builtin_test_util.h"
#include "tests/builtin/rest_test_server.h"

namespace rf::connectors {
namespace {

using engine::CallResult;
using nlohmann::json;
using rf::testing::InvokeSync;
using rf::testing::IoThread;
using rf::testing::MakeCall;
using rf::testing::Reply;
using rf::testing::RestTestServer;

Value V(const std::string& json_text) {
  auto v = Value::FromJson(json_text);
  EXPECT_TRUE(v.ok()) << json_text;
  return v.ok() ? *v : Value();
}

class HttpConnectorTest : public ::testing::Test {
 protected:
  json Settings() {
    return json::parse(R"({
      "auth": {"type": "bearer", "token": "s3cr3t-token-value"},
      "headers": {"X-Tenant": "demo"},
      "operations": [
        {"name": "reserve", "description": "Hold stock.", "method": "POST",
         "path": "/v1/reservations/{input.location}",
         "query": {"ref": "{input.reference}", "opt": "{input.missing}"},
         "body": {"lines": "{input.lines}", "qty": "{input.qty}",
                  "note": "Ref {input.reference} x{input.qty}", "fixed": 19.99},
         "input": [{"name": "location", "type": "text"}, {"name": "lines", "type": "list"}],
         "output": [{"name": "reservation_id", "type": "text"}],
         "side_effects": true, "writes": "stock", "compensable": true,
         "response": {"reservation_id": "/id", "expires_at": "/expires_at",
                      "first_sku": "/lines/0/sku", "nothing": "/absent"}},
        {"name": "get", "path": "/v1/thing"},
        {"name": "create", "method": "POST", "path": "/v1/thing"},
        {"name": "remove", "method": "DELETE", "path": "/v1/thing/{input.id}",
         "statuses": {"404": "ok", "422": "conflict"}}
      ]})");
  }

  std::unique_ptr<ConnectorInstance> Make(json settings, std::string base_url = "") {
    if (!settings.contains("base_url")) {
      settings["base_url"] = base_url.empty() ? server_.base_url() : base_url;
    }
    InstanceConfig config;
    config.name = "inventory";
    config.type = "http";
    config.system = "inventory";
    config.settings = settings;
    auto made = MakeHttpConnector(config, io_.io());
    EXPECT_TRUE(made.ok()) << made.status().message();
    return made.ok() ? std::move(*made) : nullptr;
  }

  Status MakeError(json settings) {
    InstanceConfig config;
    config.name = "inventory";
    config.type = "http";
    config.settings = settings;
    auto made = MakeHttpConnector(config, io_.io());
    EXPECT_FALSE(made.ok());
    return made.ok() ? Status::Ok() : made.status();
  }

  CallResult Call(ConnectorInstance& c, const std::string& op, Value input = Value(Record{}),
                  int timeout_ms = 10000) {
    return InvokeSync(c, MakeCall(op, std::move(input), timeout_ms));
  }

  IoThread io_;
  RestTestServer server_;
};

TEST_F(HttpConnectorTest, RendersPathQueryBodyAndMapsResponseByPointer) {
  server_.Route("/v1/reservations/Store%201%2FA",
                Reply::Json(201, R"({"id": "R-9", "expires_at": "2026-01-01T00:00:00Z",
                                     "lines": [{"sku": "A-1"}], "extra": 1})"));
  auto c = Make(Settings());
  ASSERT_TRUE(c);
  auto r = Call(*c, "reserve",
                V(R"({"location": "Store 1/A", "reference": "SO 7&8", "qty": 3,
                      "lines": [{"sku": "A-1", "qty": 2.50}]})"));
  ASSERT_TRUE(r.ok) << r.error_kind << ": " << r.message;
  EXPECT_EQ(r.output, V(R"({"reservation_id": "R-9", "expires_at": "2026-01-01T00:00:00Z",
                            "first_sku": "A-1"})"));
  auto got = server_.last_request();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->method, "POST");
  EXPECT_EQ(got->target, "/v1/reservations/Store%201%2FA?ref=SO%207%268");
  // Single placeholders keep their JSON type; longer strings interpolate as text.
  EXPECT_EQ(V(got->body), V(R"({"lines": [{"sku": "A-1", "qty": 2.50}], "qty": 3,
                                "note": "Ref SO 7&8 x3", "fixed": 19.99})"));
  EXPECT_NE(got->body.find("\"qty\":3"), std::string::npos) << got->body;
}

TEST_F(HttpConnectorTest, EveryRequestCarriesTheStandardHeaders) {
  server_.Route("/v1/thing", Reply::Json(200, "{}"));
  auto c = Make(Settings());
  ASSERT_TRUE(c);
  ASSERT_TRUE(Call(*c, "get").ok);
  auto got = server_.last_request();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->Header("Idempotency-Key"), "idem-42");
  EXPECT_EQ(got->Header("X-Correlation-Id"), "corr-7");
  EXPECT_EQ(got->Header("Content-Type"), "application/json");
  EXPECT_EQ(got->Header("User-Agent"), "retailflow/0.1");
  EXPECT_EQ(got->Header("Authorization"), "Bearer s3cr3t-token-value");
  EXPECT_EQ(got->Header("X-Tenant"), "demo");
  EXPECT_EQ(got->body, "");  // GET without a body template sends none
}

TEST_F(HttpConnectorTest, BasicAndApiKeyAuth) {
  server_.Route("/v1/thing", Reply::Json(200, "{}"));
  json s = Settings();
  s["auth"] = {{"type", "basic"}, {"user", "alice"}, {"password", "wonder land"}};
  auto basic = Make(s);
  ASSERT_TRUE(basic);
  ASSERT_TRUE(Call(*basic, "get").ok);
  // python3 -c "import base64; print(base64.b64encode(b'alice:wonder land'))"
  EXPECT_EQ(server_.last_request()->Header("Authorization"), "Basic YWxpY2U6d29uZGVyIGxhbmQ=");

  s["auth"] = {{"type", "api_key"}, {"header", "X-Api-Key"}, {"key", "k-123"}};
  auto api = Make(s);
  ASSERT_TRUE(api);
  ASSERT_TRUE(Call(*api, "get").ok);
  EXPECT_EQ(server_.last_request()->Header("X-Api-Key"), "k-123");
  EXPECT_EQ(server_.last_request()->Header("Authorization"), "");
}

TEST_F(HttpConnectorTest, WholeInputIsTheBodyWhenNoTemplateIsGiven) {
  server_.Route("/v1/thing", Reply::Json(200, R"({"ok": true})"));
  auto c = Make(Settings());
  ASSERT_TRUE(c);
  auto r = Call(*c, "create", V(R"({"name": "x", "price": 19.99})"));
  ASSERT_TRUE(r.ok) << r.message;
  EXPECT_EQ(r.output, V(R"({"ok": true})"));
  EXPECT_EQ(server_.last_request()->body, R"({"name":"x","price":19.99})");
}

TEST_F(HttpConnectorTest, ExactDecimalsSurviveBothWays) {
  server_.Route("/v1/thing",
                Reply::Json(200, R"({"price": 19.99, "sum": 0.3, "a": 0.1, "b": 0.2,
                                     "big": 12345678901234567890.123456789012})"));
  auto c = Make(Settings());
  ASSERT_TRUE(c);
  auto r = Call(*c, "create", V(R"({"amount": 0.30000000000000000001, "unit": 19.99})"));
  ASSERT_TRUE(r.ok) << r.message;
  EXPECT_EQ(server_.last_request()->body, R"({"amount":0.30000000000000000001,"unit":19.99})");
  const Value* price = r.output.Find("price");
  ASSERT_TRUE(price && price->is_number());
  EXPECT_EQ(price->as_number().ToString(), "19.99");
  EXPECT_EQ(r.output.Find("big")->as_number().ToString(), "12345678901234567890.123456789012");
  // 0.1 + 0.2 == 0.3 exactly, as decimals.
  EXPECT_EQ((r.output.Find("a")->as_number() + r.output.Find("b")->as_number()).ToString(),
            r.output.Find("sum")->as_number().ToString());
}

TEST_F(HttpConnectorTest, StatusesMapToErrorKinds) {
  json s = Settings();
  s["operations"] = json::array();
  struct Case {
    int status;
    const char* kind;
  };
  const Case cases[] = {{404, "not_found"}, {409, "conflict"},    {422, "rejected"},
                        {400, "rejected"},  {401, "rejected"},    {408, "unavailable"},
                        {429, "unavailable"}, {500, "unavailable"}, {501, "unavailable"},
                        {502, "unavailable"}, {503, "unavailable"}, {504, "unavailable"}};
  for (const Case& c : cases) {
    s["operations"].push_back({{"name", "s" + std::to_string(c.status)},
                               {"path", "/status/" + std::to_string(c.status)}});
    server_.Route("/status/" + std::to_string(c.status),
                  Reply::Json(c.status, R"({"error": "status )" + std::to_string(c.status) +
                                            R"( happened"})"));
  }
  auto conn = Make(s);
  ASSERT_TRUE(conn);
  for (const Case& c : cases) {
    auto r = Call(*conn, "s" + std::to_string(c.status));
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error_kind, c.kind) << c.status;
    EXPECT_NE(r.message.find("HTTP " + std::to_string(c.status)), std::string::npos)
        << r.message;
    EXPECT_NE(r.message.find("happened"), std::string::npos) << r.message;  // body excerpt
  }
}

TEST_F(HttpConnectorTest, RetryableStatusesAndOverridesAreConfigurable) {
  json s = Settings();
  s["retryable_statuses"] = {418};
  server_.Route("/v1/thing/1", Reply::Json(404, "{}"));
  server_.Route("/v1/thing/2", Reply::Json(422, "{}"));
  server_.Route("/v1/thing", Reply::Json(418, "{}"));
  auto c = Make(s);
  ASSERT_TRUE(c);
  auto gone = Call(*c, "remove", V(R"({"id": 1})"));
  EXPECT_TRUE(gone.ok) << gone.message;  // "404": "ok" for an idempotent delete
  EXPECT_EQ(Call(*c, "remove", V(R"({"id": 2})")).error_kind, "conflict");
  EXPECT_EQ(Call(*c, "get").error_kind, "unavailable");
}

TEST_F(HttpConnectorTest, LongErrorBodiesAreTruncated) {
  server_.Route("/v1/thing", Reply::Json(400, std::string(5000, 'e')));
  auto c = Make(Settings());
  ASSERT_TRUE(c);
  auto r = Call(*c, "get");
  EXPECT_EQ(r.error_kind, "rejected");
  EXPECT_LT(r.message.size(), 400u);
  EXPECT_NE(r.message.find("..."), std::string::npos);
}

TEST_F(HttpConnectorTest, SuccessBodiesMustBeJsonObjects) {
  auto c = Make(Settings());
  ASSERT_TRUE(c);
  server_.Route("/v1/thing", Reply::Json(200, "<html>proxy error</html>"));
  auto html = Call(*c, "get");
  EXPECT_EQ(html.error_kind, "unavailable");
  EXPECT_NE(html.message.find("malformed response"), std::string::npos) << html.message;

  server_.Route("/v1/thing", Reply::Json(200, "[1, 2]"));
  EXPECT_EQ(Call(*c, "get").error_kind, "unavailable");

  server_.Route("/v1/thing", Reply::Json(204, ""));
  auto empty = Call(*c, "get");
  ASSERT_TRUE(empty.ok) << empty.message;
  EXPECT_EQ(empty.output, Value(Record{}));
}

// A downstream's answer is input like any other: 200,000 nested brackets (or objects) are refused
// as a malformed response by the bounded reader, without recursion, and the call ends cleanly.
TEST_F(HttpConnectorTest, PathologicallyNestedAnswersAreMalformedNotACrash) {
  auto c = Make(Settings());
  ASSERT_TRUE(c);
  const std::string arrays = "{\"a\":" + std::string(200000, '[') + std::string(200000, ']') + "}";
  server_.Route("/v1/thing", Reply::Json(200, arrays));
  auto deep = Call(*c, "get");
  EXPECT_FALSE(deep.ok);
  EXPECT_EQ(deep.error_kind, "unavailable");
  EXPECT_NE(deep.message.find("malformed response"), std::string::npos) << deep.message;

  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
  objects += "1" + std::string(100000, '}');
  server_.Route("/v1/thing", Reply::Json(200, objects));
  EXPECT_EQ(Call(*c, "get").error_kind, "unavailable");

  // Legal nesting still reads.
  server_.Route("/v1/thing", Reply::Json(200, R"({"a":[[[[{"b":[1]}]]]]})"));
  EXPECT_TRUE(Call(*c, "get").ok);
}

TEST_F(HttpConnectorTest, TransportFaultsMapToKinds) {
  auto c = Make(Settings());
  ASSERT_TRUE(c);
  Reply slow = Reply::Json(200, "{}");
  slow.delay = std::chrono::seconds(5);
  server_.Route("/v1/thing", slow);
  auto timeout = Call(*c, "get", Value(Record{}), /*timeout_ms=*/150);
  EXPECT_EQ(timeout.error_kind, "timeout") << timeout.message;

  Reply cut = Reply::Json(200, R"({"aaaaaaaaaaaaaaaaaaaaaaaaaaaa": 1})");
  cut.close_mid_response = true;
  server_.Route("/v1/thing", cut);
  EXPECT_EQ(Call(*c, "get").error_kind, "unavailable");

  server_.Route("/v1/thing", Reply::Json(200, std::string((8 << 20) + 1, ' ')));
  auto huge = Call(*c, "get");
  EXPECT_EQ(huge.error_kind, "unavailable");
  EXPECT_NE(huge.message.find("protocol error"), std::string::npos) << huge.message;
  EXPECT_NE(huge.message.find("exceeds"), std::string::npos) << huge.message;

  Reply chunked = Reply::Json(200, R"({"chunked": "yes, in three parts"})");
  chunked.chunked = true;
  server_.Route("/v1/thing", chunked);
  auto ok = Call(*c, "get");
  ASSERT_TRUE(ok.ok) << ok.message;
  EXPECT_EQ(ok.output, V(R"({"chunked": "yes, in three parts"})"));

  auto refused = Make(Settings(), "http://127.0.0.1:" +
                                      std::to_string(RestTestServer::RefusedPort()));
  ASSERT_TRUE(refused);
  EXPECT_EQ(Call(*refused, "get").error_kind, "unavailable");
}

TEST_F(HttpConnectorTest, ExpiredInvocationDeadlineIsTimeout) {
  server_.Route("/v1/thing", Reply::Json(200, "{}"));
  auto c = Make(Settings());
  ASSERT_TRUE(c);
  EXPECT_EQ(Call(*c, "get", Value(Record{}), /*timeout_ms=*/-1000).error_kind, "timeout");
}

// The deadline is on the deployment's clock, however far it is from the wall clock: with the
// engine's clock 4 h ahead, a 150 ms budget still ends the call after 150 ms of real time
// (converted with the wall clock, it would be 4 h away and the slow answer would arrive); with
// the clock months behind, a 10 s budget is not taken for a deadline long passed.
TEST_F(HttpConnectorTest, DeadlineIsTheBudgetLeftOnTheDeploymentClock) {
  Reply slow = Reply::Json(200, "{}");
  slow.delay = std::chrono::seconds(30);  // cut short when the server stops
  server_.Route("/v1/slow", slow);
  server_.Route("/v1/thing", Reply::Json(200, R"({"fine": true})"));
  json settings = Settings();
  settings["operations"].push_back({{"name", "slow"}, {"path", "/v1/slow"}});

  engine::AdjustableClock ahead;
  ahead.Advance(Duration{4 * 3600 * 1000});
  auto make = [&](const engine::Clock* clock) {
    InstanceConfig config;
    config.name = "inventory";
    config.type = "http";
    config.settings = settings;
    config.settings["base_url"] = server_.base_url();
    config.clock = clock;
    auto made = MakeHttpConnector(config, io_.io());
    EXPECT_TRUE(made.ok()) << made.status().message();
    return made.ok() ? std::move(*made) : nullptr;
  };
  auto c = make(&ahead);
  ASSERT_TRUE(c);
  auto call = MakeCall("slow", Value(Record{}));
  call.deadline = Time{ahead.Now().ms + 150};
  auto r = InvokeSync(*c, call);
  EXPECT_EQ(r.error_kind, "timeout") << r.message;
  EXPECT_NE(r.message.find("deadline"), std::string::npos) << r.message;

  engine::ManualClock behind(Time{1'767'225'600'000});  // 2026-01-01T00:00:00Z
  auto b = make(&behind);
  ASSERT_TRUE(b);
  auto fine = MakeCall("get", Value(Record{}));
  fine.deadline = Time{behind.Now().ms + 10'000};
  auto ok = InvokeSync(*b, fine);
  EXPECT_TRUE(ok.ok) << ok.error_kind << ": " << ok.message;
  c->Shutdown();
  b->Shutdown();
}

TEST_F(HttpConnectorTest, MissingPathInputIsRejectedBeforeSending) {
  auto c = Make(Settings());
  ASSERT_TRUE(c);
  auto r = Call(*c, "remove", V("{}"));
  EXPECT_EQ(r.error_kind, "rejected");
  EXPECT_NE(r.message.find("input.id is missing"), std::string::npos) << r.message;
  EXPECT_TRUE(server_.requests().empty());
}

TEST_F(HttpConnectorTest, UnknownOperationIsInternal) {
  auto c = Make(Settings());
  ASSERT_TRUE(c);
  EXPECT_EQ(Call(*c, "nope").error_kind, "internal");
}

TEST_F(HttpConnectorTest, SecretsNeverAppearInMessages) {
  // A server that echoes the request's credentials in its error body.
  server_.SetHandler([](const rf::testing::RecordedRequest& req) -> std::optional<Reply> {
    return Reply::Json(401, "bad credentials: " + req.Header("Authorization") + " / " +
                                req.Header("X-Api-Key"));
  });
  ::setenv("RF_TEST_HTTP_TOKEN", "env-token-987654", 1);
  json s = Settings();
  s["auth"] = {{"type", "bearer"}, {"token", {{"env", "RF_TEST_HTTP_TOKEN"}}}};
  s["headers"]["X-Api-Key"] = {{"env", "RF_TEST_HTTP_TOKEN"}};
  auto c = Make(s);
  ASSERT_TRUE(c);
  auto r = Call(*c, "get");
  EXPECT_EQ(r.error_kind, "rejected");
  EXPECT_NE(r.message.find("bad credentials"), std::string::npos) << r.message;
  EXPECT_EQ(r.message.find("env-token-987654"), std::string::npos) << r.message;
  EXPECT_EQ(server_.last_request()->Header("Authorization"), "Bearer env-token-987654");

  s = Settings();
  s["auth"] = {{"type", "basic"}, {"user", "bob"}, {"password", "pa55word-xyz"}};
  auto b = Make(s);
  ASSERT_TRUE(b);
  auto rb = Call(*b, "get");
  EXPECT_EQ(rb.message.find("pa55word-xyz"), std::string::npos) << rb.message;
  EXPECT_EQ(rb.message.find("Ym9iOnBhNTV3b3JkLXh5eg=="), std::string::npos) << rb.message;
}

TEST_F(HttpConnectorTest, MissingEnvironmentSecretIsACreationError) {
  ::unsetenv("RF_TEST_NOT_SET");
  json s = Settings();
  s["base_url"] = "http://127.0.0.1:1";
  s["auth"] = {{"type", "bearer"}, {"token", {{"env", "RF_TEST_NOT_SET"}}}};
  Status st = MakeError(s);
  EXPECT_NE(st.message().find("RF_TEST_NOT_SET is not set"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("auth.token"), std::string::npos) << st.message();
}

TEST_F(HttpConnectorTest, ConfigurationErrorsAreClear) {
  auto err = [&](const std::function<void(json&)>& edit) {
    json s = Settings();
    s["base_url"] = "http://127.0.0.1:1";
    edit(s);
    return MakeError(s).message();
  };
  EXPECT_NE(err([](json& s) { s.erase("base_url"); }).find("base_url"), std::string::npos);
  EXPECT_NE(err([](json& s) { s["base_url"] = "ftp://x"; }).find("scheme"), std::string::npos);
  EXPECT_NE(err([](json& s) { s["operations"][0]["method"] = "FETCH"; }).find("method"),
            std::string::npos);
  EXPECT_NE(err([](json& s) { s["operations"][0]["response"]["x"] = "id"; }).find("pointer"),
            std::string::npos);
  EXPECT_NE(err([](json& s) { s["operations"][1]["name"] = "reserve"; }).find("twice"),
            std::string::npos);
  EXPECT_NE(err([](json& s) { s["operations"][3]["statuses"]["404"] = "gone"; })
                .find("statuses.404"),
            std::string::npos);
  EXPECT_NE(err([](json& s) { s["operations"][1]["path"] = "/x/{other.id}"; }).find("input"),
            std::string::npos);
  EXPECT_NE(err([](json& s) { s["auth"]["type"] = "oauth"; }).find("auth.type"),
            std::string::npos);
  EXPECT_NE(err([](json& s) { s["tls"] = {{"ca_file", "/no/such/ca.pem"}}; }).find("ca_file"),
            std::string::npos);
  EXPECT_NE(err([](json& s) { s["operations"] = json::array(); }).find("operations"),
            std::string::npos);
}

TEST_F(HttpConnectorTest, DescribeReturnsTheCatalogForm) {
  auto c = Make(Settings());
  ASSERT_TRUE(c);
  json d = c->Describe();
  EXPECT_EQ(d["name"], "inventory");
  EXPECT_EQ(d["system"], "inventory");
  ASSERT_EQ(d["operations"].size(), 4u);
  const json& reserve = d["operations"][0];
  EXPECT_EQ(reserve["name"], "reserve");
  EXPECT_EQ(reserve["description"], "Hold stock.");
  EXPECT_EQ(reserve["writes"], "stock");
  EXPECT_EQ(reserve["side_effects"], true);
  EXPECT_EQ(reserve["compensable"], true);
  EXPECT_EQ(reserve["input"][0]["name"], "location");
  EXPECT_EQ(reserve["output"][0]["name"], "reservation_id");
  const json& get = d["operations"][1];
  EXPECT_EQ(get["side_effects"], false);  // GET defaults to no side effects
  EXPECT_FALSE(get.contains("input"));    // undeclared: any argument goes
}

TEST_F(HttpConnectorTest, SequentialCallsShareOneConnection) {
  server_.Route("/v1/thing", Reply::Json(200, "{}"));
  auto c = Make(Settings());
  ASSERT_TRUE(c);
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(Call(*c, "get").ok);
  EXPECT_EQ(server_.connections_accepted(), 1u);
}

TEST_F(HttpConnectorTest, PoolLimitHoldsUnderConcurrentInvokes) {
  Reply slow = Reply::Json(200, "{}");
  slow.delay = std::chrono::milliseconds(30);
  server_.Route("/v1/thing", slow);
  json s = Settings();
  s["pool"] = {{"max_connections_per_host", 2}};
  auto c = Make(s);
  ASSERT_TRUE(c);
  std::vector<std::future<CallResult>> futures;
  for (int i = 0; i < 10; ++i) {
    auto p = std::make_shared<std::promise<CallResult>>();
    futures.push_back(p->get_future());
    c->Invoke(MakeCall("get", Value(Record{})), [p](CallResult r) { p->set_value(r); });
  }
  for (auto& f : futures) {
    ASSERT_EQ(f.wait_for(rf::testing::kHangGuard), std::future_status::ready);
    EXPECT_TRUE(f.get().ok);
  }
  EXPECT_EQ(server_.connections_accepted(), 2u);
  EXPECT_LE(server_.max_concurrent_requests(), 2u);
}

TEST_F(HttpConnectorTest, ShutdownMakesCallsUnavailable) {
  auto c = Make(Settings());
  ASSERT_TRUE(c);
  c->Shutdown();
  c->Shutdown();  // idempotent
  EXPECT_EQ(Call(*c, "get").error_kind, "unavailable");
}

TEST(BuiltinFactories, RegistersHttpAndWebhook) {
  FactoryMap factories;
  AddBuiltinFactories(factories);
  EXPECT_TRUE(factories.count("http"));
  EXPECT_TRUE(factories.count("webhook"));
#if __has_include("connectors/builtin/odoo_connector.h")
  EXPECT_TRUE(factories.count("odoo"));
#endif
  IoThread io;
  InstanceConfig config;
  config.name = "x";
  config.type = "http";
  config.settings = {{"base_url", "http://127.0.0.1:1"},
                     {"operations", {{{"name", "get"}, {"path", "/"}}}}};
  auto made = factories["http"](config, io.io());
  EXPECT_TRUE(made.ok()) << made.status().message();
}

}  // namespace
}  // namespace rf::connectors
