// Standard Webhooks signing/verification and the outbound `webhook` connector.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdlib>

#include "connectors/builtin/standard_webhooks.h"
#include "connectors/builtin/webhook_connector.h"
#include "tests/builtin/builtin_test_util.h"
#include "tests/builtin/rest_test_server.h"

namespace rf::connectors {
namespace {

namespace sw = standard_webhooks;
using nlohmann::json;
using rf::testing::InvokeSync;
using rf::testing::IoThread;
using rf::testing::MakeCall;
using rf::testing::Reply;
using rf::testing::RestTestServer;

// The example of the Standard Webhooks specification; the signature was also derived with
//   python3 -c "import hmac,hashlib,base64; k=base64.b64decode('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
//   print(base64.b64encode(hmac.new(k, b'msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.'
//   b'{\"test\": 2432232314}', hashlib.sha256).digest()))"
constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr std::int64_t kTimestamp = 1614265330;
constexpr const char* kBody = R"({"test": 2432232314})";
constexpr const char* kSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

// An independent computation with OpenSSL directly (not through the code under test).
std::string IndependentSignature(const std::string& key_b64, const std::string& content) {
  unsigned char key[256];
  int key_len = EVP_DecodeBlock(key, reinterpret_cast<const unsigned char*>(key_b64.data()),
                                static_cast<int>(key_b64.size()));
  if (key_b64.size() >= 1 && key_b64.back() == '=') --key_len;  // EVP counts the padding
  if (key_b64.size() >= 2 && key_b64[key_b64.size() - 2] == '=') --key_len;
  unsigned char mac[32];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key, key_len, reinterpret_cast<const unsigned char*>(content.data()),
       content.size(), mac, &mac_len);
  unsigned char b64[64];
  int n = EVP_EncodeBlock(b64, mac, static_cast<int>(mac_len));
  return "v1," + std::string(reinterpret_cast<char*>(b64), static_cast<size_t>(n));
}

TEST(StandardWebhooks, SignMatchesTheKnownVector) {
  auto sig = sw::Sign(kSecret, kId, kTimestamp, kBody);
  ASSERT_TRUE(sig);
  EXPECT_EQ(*sig, kSignature);
  EXPECT_EQ(*sig, IndependentSignature("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                                       std::string(kId) + "." + std::to_string(kTimestamp) +
                                           "." + kBody));
  EXPECT_FALSE(sw::Sign("whsec_not base64!", kId, kTimestamp, kBody));
}

TEST(StandardWebhooks, Base64RoundTrip) {
  for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "abcd",
                                                       std::string("\0\xff\x10", 3)}) {
    auto back = sw::Base64Decode(sw::Base64Encode(s));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, s);
  }
  EXPECT_FALSE(sw::Base64Decode("abc"));
  EXPECT_FALSE(sw::Base64Decode("a*c="));
}

TEST(StandardWebhooks, VerifyAcceptsAValidDelivery) {
  auto v = sw::Verify({kSecret}, kId, std::to_string(kTimestamp), kSignature, kBody,
                      kTimestamp + 10);
  EXPECT_TRUE(v.ok) << v.error;
}

TEST(StandardWebhooks, VerifyRejectsWrongSecretTamperingAndStaleTimestamps) {
  const std::string ts = std::to_string(kTimestamp);
  auto wrong = sw::Verify({"whsec_" + sw::Base64Encode("another key")}, kId, ts, kSignature,
                          kBody, kTimestamp);
  EXPECT_FALSE(wrong.ok);
  EXPECT_EQ(wrong.error, "no matching signature");
  EXPECT_FALSE(sw::Verify({kSecret}, kId, ts, kSignature, R"({"test": 2432232315})", kTimestamp)
                   .ok);
  EXPECT_FALSE(sw::Verify({kSecret}, "msg_other", ts, kSignature, kBody, kTimestamp).ok);
  auto stale = sw::Verify({kSecret}, kId, ts, kSignature, kBody, kTimestamp + 301);
  EXPECT_FALSE(stale.ok);
  EXPECT_NE(stale.error.find("too old"), std::string::npos);
  auto future = sw::Verify({kSecret}, kId, ts, kSignature, kBody, kTimestamp - 301);
  EXPECT_FALSE(future.ok);
  EXPECT_NE(future.error.find("future"), std::string::npos);
  EXPECT_TRUE(sw::Verify({kSecret}, kId, ts, kSignature, kBody, kTimestamp + 300).ok);
  EXPECT_FALSE(sw::Verify({kSecret}, kId, "12x", kSignature, kBody, kTimestamp).ok);
  EXPECT_FALSE(sw::Verify({kSecret}, kId, ts, "v2,abc=", kBody, kTimestamp).ok);
  EXPECT_FALSE(sw::Verify({kSecret}, "", ts, kSignature, kBody, kTimestamp).ok);
  EXPECT_FALSE(sw::Verify({}, kId, ts, kSignature, kBody, kTimestamp).ok);
  // Error texts never contain the secret.
  EXPECT_EQ(wrong.error.find("MfKQ9r8"), std::string::npos);
}

TEST(StandardWebhooks, VerifySupportsKeyRotation) {
  const std::string ts = std::to_string(kTimestamp);
  const std::string new_secret = "whsec_" + sw::Base64Encode("the new key, 32 bytes long......");
  auto new_sig = sw::Sign(new_secret, kId, kTimestamp, kBody);
  ASSERT_TRUE(new_sig);
  // The sender signs with both keys during the rotation; the receiver knows only the new one.
  std::string both = std::string(kSignature) + " " + *new_sig;
  EXPECT_TRUE(sw::Verify({new_secret}, kId, ts, both, kBody, kTimestamp).ok);
  EXPECT_TRUE(sw::Verify({kSecret}, kId, ts, both, kBody, kTimestamp).ok);
  // The receiver accepts old and new while the sender still signs with the old one.
  EXPECT_TRUE(sw::Verify({new_secret, kSecret}, kId, ts, kSignature, kBody, kTimestamp).ok);
  EXPECT_FALSE(sw::Verify({new_secret}, kId, ts, kSignature, kBody, kTimestamp).ok);
}

class WebhookConnectorTest : public ::testing::Test {
 protected:
  std::unique_ptr<ConnectorInstance> Make(json settings) {
    InstanceConfig config;
    config.name = "notify";
    config.type = "webhook";
    config.system = "notify";
    config.settings = std::move(settings);
    auto made = MakeWebhookConnector(config, io_.io());
    EXPECT_TRUE(made.ok()) << made.status().message();
    return made.ok() ? std::move(*made) : nullptr;
  }
  json Settings() {
    return {{"url", server_.base_url() + "/hooks"}, {"secret", kSecret},
            {"event_type", "notification.requested"}};
  }
  IoThread io_;
  RestTestServer server_;
};

TEST_F(WebhookConnectorTest, SendsASignedEnvelopeThatVerifiesIndependently) {
  server_.Route("/hooks", Reply::Json(200, "OK"));  // receivers often answer plain text
  auto c = Make(Settings());
  ASSERT_TRUE(c);
  auto input = Value::FromJson(R"({"to": "a@b.c", "amount": 19.99})");
  ASSERT_TRUE(input.ok());
  auto r = InvokeSync(*c, MakeCall("send", *input));
  ASSERT_TRUE(r.ok) << r.error_kind << ": " << r.message;
  EXPECT_EQ(r.output.Find("webhook_id")->as_text(), "idem-42");
  EXPECT_EQ(r.output.Find("status")->as_number().ToString(), "200");

  auto got = server_.last_request();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->method, "POST");
  EXPECT_EQ(got->path, "/hooks");
  EXPECT_EQ(got->Header("webhook-id"), "idem-42");
  EXPECT_EQ(got->Header("Idempotency-Key"), "idem-42");
  const std::string ts = got->Header("webhook-timestamp");
  ASSERT_FALSE(ts.empty());
  EXPECT_EQ(got->Header("webhook-signature"),
            IndependentSignature("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                                 got->Header("webhook-id") + "." + ts + "." + got->body));
  auto v = sw::Verify({kSecret}, got->Header("webhook-id"), ts, got->Header("webhook-signature"),
                      got->body, std::stoll(ts));
  EXPECT_TRUE(v.ok) << v.error;

  auto body = Value::FromJson(got->body);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(body->Find("type")->as_text(), "notification.requested");
  EXPECT_EQ(*body->Find("data"), *input);
  EXPECT_NE(got->body.find("19.99"), std::string::npos);
  auto stamp = body->Find("timestamp");
  ASSERT_TRUE(stamp && stamp->is_text());
  EXPECT_EQ(stamp->as_text().back(), 'Z');
}

TEST_F(WebhookConnectorTest, RetriedSendKeepsTheWebhookId) {
  server_.Route("/hooks", Reply::Json(503, "busy"));
  auto c = Make(Settings());
  ASSERT_TRUE(c);
  auto call = MakeCall("send", Value(Record{}));
  auto first = InvokeSync(*c, call);
  EXPECT_EQ(first.error_kind, "unavailable");
  server_.Route("/hooks", Reply::Json(204, ""));
  call.attempt = 2;
  call.invocation_id = "inv-2";
  EXPECT_TRUE(InvokeSync(*c, call).ok);
  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].Header("webhook-id"), reqs[1].Header("webhook-id"));
}

TEST_F(WebhookConnectorTest, NamedOperationsWithTheirOwnEventTypeAndPath) {
  server_.Route("/hooks/orders", Reply::Json(202, "{}"));
  json s = Settings();
  s["operations"] = {{{"name", "order_paid"},
                      {"event_type", "order.paid"},
                      {"path", "/orders"},
                      {"body", {{"order", "{input.id}"}, {"total", "{input.total}"}}}}};
  auto c = Make(s);
  ASSERT_TRUE(c);
  auto input = Value::FromJson(R"({"id": "SO1", "total": 0.30, "ignored": true})");
  ASSERT_TRUE(input.ok());
  ASSERT_TRUE(InvokeSync(*c, MakeCall("order_paid", *input)).ok);
  auto got = server_.last_request();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->path, "/hooks/orders");
  auto body = Value::FromJson(got->body);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(body->Find("type")->as_text(), "order.paid");
  EXPECT_EQ(body->Find("data")->ToJson(), R"({"order":"SO1","total":0.3})");
  // `send` stays available next to the named operations.
  json d = c->Describe();
  ASSERT_EQ(d["operations"].size(), 2u);
  EXPECT_EQ(d["operations"][1]["name"], "send");
  EXPECT_EQ(d["operations"][1]["compensable"], false);
  EXPECT_EQ(d["operations"][1]["side_effects"], true);
}

TEST_F(WebhookConnectorTest, SecretComesFromTheEnvironmentAndStaysOutOfMessages) {
  ::setenv("RF_TEST_WEBHOOK_SECRET", kSecret, 1);
  server_.SetHandler([](const rf::testing::RecordedRequest&) -> std::optional<Reply> {
    return Reply::Json(400, std::string("rejected; we know your secret ") + kSecret);
  });
  json s = Settings();
  s["secret"] = {{"env", "RF_TEST_WEBHOOK_SECRET"}};
  auto c = Make(s);
  ASSERT_TRUE(c);
  auto r = InvokeSync(*c, MakeCall("send", Value(Record{})));
  EXPECT_EQ(r.error_kind, "rejected");
  EXPECT_EQ(r.message.find("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), std::string::npos) << r.message;
}

TEST_F(WebhookConnectorTest, BadSettingsAreCreationErrors) {
  IoThread io;
  auto make = [&](json s) {
    InstanceConfig config;
    config.name = "notify";
    config.type = "webhook";
    config.settings = std::move(s);
    return MakeWebhookConnector(config, io.io());
  };
  json s = Settings();
  s.erase("secret");
  auto no_secret = make(s);
  ASSERT_FALSE(no_secret.ok());
  EXPECT_NE(no_secret.status().message().find("secret"), std::string::npos);
  s["secret"] = "whsec_***";
  EXPECT_FALSE(make(s).ok());
  ::unsetenv("RF_TEST_NO_SUCH_SECRET");
  s["secret"] = {{"env", "RF_TEST_NO_SUCH_SECRET"}};
  auto missing = make(s);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("RF_TEST_NO_SUCH_SECRET"), std::string::npos);
  s = Settings();
  s["operations"] = {{{"name", "x"}, {"method", "GET"}}};
  EXPECT_FALSE(make(s).ok());
}

}  // namespace
}  // namespace rf::connectors
