// The http and webhook connectors against a server whose earlier request with the same
// idempotency key is still in flight: the IETF draft's 409 "request outstanding" is retried with
// backoff within the call's deadline (never turned into `conflict`), a business 409 still is
// `conflict`, and the effect happens once however the attempts interleave.
#include <gtest/gtest.h>

#include <future>

#include "connectors/builtin/http_connector.h"
#include "connectors/builtin/standard_webhooks.h"
#include "connectors/builtin/webhook_connector.h"
#include "tests/builtin/builtin_test_util.h"
#include "tests/builtin/rest_test_server.h"

namespace rf::connectors {
namespace {

using engine::CallResult;
using nlohmann::json;
using rf::testing::IdempotentEndpoint;
using rf::testing::InvokeSync;
using rf::testing::IoThread;
using rf::testing::MakeCall;
using rf::testing::RecordedRequest;
using rf::testing::Reply;
using rf::testing::RestTestServer;

constexpr auto kWaitLimit = std::chrono::seconds(30);  // turns a hang into a failure only
constexpr const char* kWebhookSecret = "whsec_TWZLUTlyOEdLWXFyVHdqVVBEOElMUFpJbzJMYUxhU3c=";

Reply InProgress(const std::string& type = IdempotentEndpoint::kSimulatorProblemType,
                 const std::string& title = "Request in progress") {
  Reply r = Reply::Json(409, json({{"type", type}, {"title", title}, {"status", 409}}).dump());
  r.content_type = "application/problem+json";
  return r;
}

class InProgressTest : public ::testing::Test {
 protected:
  json HttpSettings() {
    return {{"base_url", server_.base_url()},
            {"in_progress", {{"first_wait", "5ms"}, {"max_wait", "20ms"}}},
            {"operations",
             {{{"name", "reserve"},
               {"method", "POST"},
               {"path", "/v1/reservations"},
               {"response", {{"reservation_id", "/id"}}},
               {"statuses", {{"409", "conflict"}}}}}}};
  }

  std::unique_ptr<ConnectorInstance> Make(json settings, const std::string& type = "http") {
    InstanceConfig config;
    config.name = type == "http" ? "inventory" : "notify";
    config.type = type;
    config.settings = std::move(settings);
    auto made = type == "http" ? MakeHttpConnector(config, io_.io())
                               : MakeWebhookConnector(config, io_.io());
    EXPECT_TRUE(made.ok()) << made.status().message();
    return made.ok() ? std::move(*made) : nullptr;
  }

  // Answers `script` in order (the last one for ever after).
  void Script(std::vector<Reply> script) {
    auto n = std::make_shared<std::atomic<size_t>>(0);
    server_.SetHandler([script = std::move(script), n](const RecordedRequest&) {
      size_t i = n->fetch_add(1);
      return std::optional<Reply>(script[std::min(i, script.size() - 1)]);
    });
  }

  IoThread io_;
  RestTestServer server_;
};

TEST_F(InProgressTest, RetriesUntilTheFirstAttemptsStoredAnswer) {
  Script({InProgress(), InProgress(), Reply::Json(201, R"({"id": "RSV-1"})")});
  auto c = Make(HttpSettings());
  ASSERT_TRUE(c);
  auto r = InvokeSync(*c, MakeCall("reserve", *Value::FromJson(R"({"qty": 2})")));
  ASSERT_TRUE(r.ok) << r.error_kind << ": " << r.message;
  EXPECT_EQ(r.output.Find("reservation_id")->as_text(), "RSV-1");
  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 3u);
  for (const auto& q : reqs) {  // the same request every time
    EXPECT_EQ(q.Header("Idempotency-Key"), "idem-42");
    EXPECT_EQ(q.body, reqs[0].body);
  }
}

TEST_F(InProgressTest, ABusinessConflictIsStillConflictAndNotRetried) {
  Script({Reply::Json(409, R"({"error": {"code": "insufficient_stock"}})")});
  auto c = Make(HttpSettings());
  ASSERT_TRUE(c);
  auto r = InvokeSync(*c, MakeCall("reserve", Value(Record{})));
  EXPECT_EQ(r.error_kind, "conflict");
  EXPECT_NE(r.message.find("insufficient_stock"), std::string::npos) << r.message;
  EXPECT_EQ(server_.requests().size(), 1u);
}

TEST_F(InProgressTest, TheDraftsTitleAndConfiguredTypesAreRecognised) {
  json s = HttpSettings();
  s["in_progress"]["problem_types"] = {"https://api.example.com/problems/busy"};
  auto c = Make(s);
  ASSERT_TRUE(c);
  Script({InProgress("https://api.example.com/problems/busy"),
          InProgress("about:blank", "a request is outstanding for this idempotency-key"),
          Reply::Json(201, R"({"id": "RSV-2"})")});
  auto r = InvokeSync(*c, MakeCall("reserve", Value(Record{})));
  ASSERT_TRUE(r.ok) << r.message;
  EXPECT_EQ(server_.requests().size(), 3u);
  // Once other types are configured, the simulators' type alone is a business conflict.
  Script({InProgress()});
  EXPECT_EQ(InvokeSync(*c, MakeCall("reserve", Value(Record{}))).error_kind, "conflict");
}

TEST_F(InProgressTest, OnlyAKeyedRequestAndAnEnabledRuleAreRetried) {
  Script({InProgress()});
  auto c = Make(HttpSettings());
  ASSERT_TRUE(c);
  auto call = MakeCall("reserve", Value(Record{}));
  call.idempotency_key.clear();
  EXPECT_EQ(InvokeSync(*c, call).error_kind, "conflict");
  json s = HttpSettings();
  s["in_progress"] = false;
  auto off = Make(s);
  ASSERT_TRUE(off);
  EXPECT_EQ(InvokeSync(*off, MakeCall("reserve", Value(Record{}))).error_kind, "conflict");
  EXPECT_EQ(server_.requests().size(), 2u);
}

TEST_F(InProgressTest, StillInProgressAtTheDeadlineIsATimeout) {
  Script({InProgress()});
  auto c = Make(HttpSettings());
  ASSERT_TRUE(c);
  auto r = InvokeSync(*c, MakeCall("reserve", Value(Record{}), /*timeout_ms=*/300));
  EXPECT_EQ(r.error_kind, "timeout");
  EXPECT_NE(r.message.find("still being processed"), std::string::npos) << r.message;
  EXPECT_GE(server_.requests().size(), 2u);
}

TEST_F(InProgressTest, ShutdownAndCancelEndAWait) {
  Script({InProgress()});
  json s = HttpSettings();
  s["in_progress"] = {{"first_wait", "10s"}, {"max_wait", "10s"}};
  auto c = Make(s);
  ASSERT_TRUE(c);

  auto cancelled = std::make_shared<std::promise<CallResult>>();
  auto call = MakeCall("reserve", Value(Record{}), 60000);
  call.invocation_id = "inv-cancel";
  c->Invoke(call, [cancelled](CallResult r) { cancelled->set_value(std::move(r)); });
  auto f = cancelled->get_future();
  // The wait starts once the first 409 was answered; Cancel before that is a no-op, so repeat.
  while (f.wait_for(std::chrono::milliseconds(5)) != std::future_status::ready) {
    c->Cancel("inv-cancel");
  }
  EXPECT_EQ(f.get().error_kind, "timeout");

  auto stopped = std::make_shared<std::promise<CallResult>>();
  c->Invoke(MakeCall("reserve", Value(Record{}), 60000),
            [stopped](CallResult r) { stopped->set_value(std::move(r)); });
  auto g = stopped->get_future();
  size_t before = server_.requests().size();
  while (server_.requests().size() == before) std::this_thread::yield();  // 409 answered
  c->Shutdown();
  ASSERT_EQ(g.wait_for(kWaitLimit), std::future_status::ready);
  EXPECT_EQ(g.get().error_kind, "unavailable");
}

// The race of issue 16, in miniature: attempt 1 is held by the server after it claimed the key;
// attempt 2 (a re-dispatch after a crash) meets 409 in progress and waits; attempt 1 is then let
// through. Both complete with the one effect's answer.
TEST_F(InProgressTest, AnAttemptHeldAtTheServerAndItsRetryMakeOneEffect) {
  IdempotentEndpoint endpoint(Reply::Json(201, R"({"id": "RSV-9"})"));
  server_.SetHandler(endpoint.Handler("/v1/reservations"));
  auto c = Make(HttpSettings());
  ASSERT_TRUE(c);
  endpoint.Hold();
  auto first = std::make_shared<std::promise<CallResult>>();
  c->Invoke(MakeCall("reserve", Value(Record{}), 60000),
            [first](CallResult r) { first->set_value(std::move(r)); });
  ASSERT_TRUE(endpoint.WaitHeld(1, kWaitLimit));
  auto second = std::make_shared<std::promise<CallResult>>();
  auto retry = MakeCall("reserve", Value(Record{}), 60000);
  retry.invocation_id = "inv-2";
  retry.attempt = 2;
  c->Invoke(retry, [second](CallResult r) { second->set_value(std::move(r)); });
  ASSERT_TRUE(endpoint.WaitInProgressAnswers(2, kWaitLimit));  // it retried, still waiting
  EXPECT_EQ(endpoint.effects(), 0u);
  endpoint.Release();
  auto a = first->get_future(), b = second->get_future();
  ASSERT_EQ(a.wait_for(kWaitLimit), std::future_status::ready);
  ASSERT_EQ(b.wait_for(kWaitLimit), std::future_status::ready);
  CallResult ra = a.get(), rb = b.get();
  ASSERT_TRUE(ra.ok) << ra.message;
  ASSERT_TRUE(rb.ok) << rb.message;
  EXPECT_EQ(ra.output, rb.output);
  EXPECT_EQ(endpoint.effects(), 1u);
}

TEST_F(InProgressTest, AWebhookRetryKeepsItsIdAndIsSignedAnew) {
  IdempotentEndpoint endpoint(Reply::Json(200, R"({"message_id": "MSG-1"})"));
  server_.SetHandler(endpoint.Handler("/hooks"));
  json s = {{"url", server_.base_url() + "/hooks"},
            {"secret", kWebhookSecret},
            {"in_progress", {{"first_wait", "5ms"}, {"max_wait", "20ms"}}},
            {"operations", {{{"name", "send"}, {"response", {{"message_id", "/message_id"}}}}}}};
  auto c = Make(s, "webhook");
  ASSERT_TRUE(c);
  endpoint.Hold();
  auto first = std::make_shared<std::promise<CallResult>>();
  c->Invoke(MakeCall("send", Value(Record{}), 60000),
            [first](CallResult r) { first->set_value(std::move(r)); });
  ASSERT_TRUE(endpoint.WaitHeld(1, kWaitLimit));
  auto second = std::make_shared<std::promise<CallResult>>();
  c->Invoke(MakeCall("send", Value(Record{}), 60000),
            [second](CallResult r) { second->set_value(std::move(r)); });
  ASSERT_TRUE(endpoint.WaitInProgressAnswers(1, kWaitLimit));
  endpoint.Release();
  auto a = first->get_future(), b = second->get_future();
  ASSERT_EQ(a.wait_for(kWaitLimit), std::future_status::ready);
  ASSERT_EQ(b.wait_for(kWaitLimit), std::future_status::ready);
  CallResult ra = a.get(), rb = b.get();
  ASSERT_TRUE(ra.ok) << ra.message;
  ASSERT_TRUE(rb.ok) << rb.message;
  EXPECT_EQ(rb.output.Find("message_id")->as_text(), "MSG-1");
  EXPECT_EQ(endpoint.effects(), 1u);
  for (const auto& q : server_.requests()) {
    EXPECT_EQ(q.Header("webhook-id"), "idem-42");
    auto v = standard_webhooks::Verify({kWebhookSecret}, q.Header("webhook-id"),
                                       q.Header("webhook-timestamp"), q.Header("webhook-signature"),
                                       q.body, std::stoll(q.Header("webhook-timestamp")));
    EXPECT_TRUE(v.ok) << v.error;
  }
}

TEST_F(InProgressTest, BadRulesAreCreationErrors) {
  auto err = [&](json rule) {
    json s = HttpSettings();
    s["in_progress"] = std::move(rule);
    InstanceConfig config;
    config.name = "inventory";
    config.type = "http";
    config.settings = s;
    auto made = MakeHttpConnector(config, io_.io());
    return made.ok() ? std::string() : made.status().message();
  };
  EXPECT_NE(err({{"status", 200}}).find("in_progress.status"), std::string::npos);
  EXPECT_NE(err({{"problem_types", "x"}}).find("in_progress.problem_types"), std::string::npos);
  EXPECT_NE(err({{"first_wait", "5s"}, {"max_wait", "1s"}}).find("first_wait"), std::string::npos);
  EXPECT_NE(err({{"wait", "1s"}}).find("unknown setting"), std::string::npos);
  EXPECT_NE(err("yes").find("in_progress"), std::string::npos);
}

}  // namespace
}  // namespace rf::connectors
