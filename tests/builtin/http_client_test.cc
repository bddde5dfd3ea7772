// The HTTP client against the scriptable server: keep-alive, pool limit, deadlines, faults, TLS.
#include "connectors/builtin/http_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <random>

#include "tests/builtin/builtin_test_util.h"
#include "tests/builtin/rest_test_server.h"

namespace rf::connectors::http {
namespace {

using rf::testing::IoThread;
using rf::testing::Reply;
using rf::testing::RestTestServer;
using Outcome = std::variant<Response, Failure>;

Request Get(const std::string& url, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  Request r;
  r.method = "GET";
  r.url = url;
  r.deadline = std::chrono::steady_clock::now() + timeout;
  return r;
}

Outcome SendSync(Client& c, Request r) {
  auto p = std::make_shared<std::promise<Outcome>>();
  auto f = p->get_future();
  c.Send(std::move(r), [p](Outcome o) { p->set_value(std::move(o)); });
  if (f.wait_for(rf::testing::kHangGuard) != std::future_status::ready) {
    ADD_FAILURE() << "request did not complete";
    return Failure{FailureKind::kProtocol, "hang"};
  }
  return f.get();
}

const Failure& AsFailure(const Outcome& o) {
  static const Failure kNone{FailureKind::kProtocol, "<succeeded>"};
  if (auto* f = std::get_if<Failure>(&o)) return *f;
  ADD_FAILURE() << "expected a failure, got HTTP " << std::get<Response>(o).status;
  return kNone;
}

const Response& AsResponse(const Outcome& o) {
  static const Response kNone;
  if (auto* r = std::get_if<Response>(&o)) return *r;
  ADD_FAILURE() << "expected a response, got failure: " << std::get<Failure>(o).message;
  return kNone;
}

class HttpClientTest : public ::testing::Test {
 protected:
  IoThread io_;
  RestTestServer server_;
};

TEST_F(HttpClientTest, ParsesUrlsWithUriparser) {
  auto u = ParseUrl("https://example.com/a%20b/c?x=1&y=2");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "example.com");
  EXPECT_EQ(u->port, "443");
  EXPECT_EQ(u->target, "/a%20b/c?x=1&y=2");
  auto v = ParseUrl("http://[::1]:8080");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->host, "::1");
  EXPECT_EQ(v->port, "8080");
  EXPECT_EQ(v->target, "/");
  EXPECT_FALSE(ParseUrl("ftp://x/").ok());
  EXPECT_FALSE(ParseUrl("http://user:pw@x/").ok());
  EXPECT_FALSE(ParseUrl("not a url").ok());
  EXPECT_EQ(PercentEncode("a b/ü&"), "a%20b%2F%C3%BC%26");
  EXPECT_EQ(JoinUrl("http://h:1/api/", "/v1/x"), "http://h:1/api/v1/x");
  EXPECT_EQ(JoinUrl("http://h:1/api", "v1"), "http://h:1/api/v1");
}

TEST_F(HttpClientTest, KeepAliveReusesOneConnectionForSequentialRequests) {
  server_.Route("/ping", Reply::Json(200, R"({"pong": true})"));
  Client client(io_.io(), {});
  for (int i = 0; i < 10; ++i) {
    auto out = SendSync(client, Get(server_.base_url() + "/ping"));
    EXPECT_EQ(AsResponse(out).status, 200);
    EXPECT_EQ(AsResponse(out).body, R"({"pong": true})");
  }
  EXPECT_EQ(server_.connections_accepted(), 1u);
  EXPECT_EQ(client.ConnectionsOpened(), 1u);
}

TEST_F(HttpClientTest, ChainedRequestFromCallbackReusesTheConnection) {
  server_.Route("/ping", Reply::Json(200, "{}"));
  Client client(io_.io(), {});
  auto done = std::make_shared<std::promise<int>>();
  auto remaining = std::make_shared<std::atomic<int>>(5);
  auto step = std::make_shared<std::function<void()>>();
  *step = [&, step] {
    client.Send(Get(server_.base_url() + "/ping"), [&, step](Outcome o) {
      if (!std::holds_alternative<Response>(o) || --*remaining == 0) {
        done->set_value(*remaining);
        return;
      }
      (*step)();
    });
  };
  (*step)();
  auto f = done->get_future();
  ASSERT_EQ(f.wait_for(rf::testing::kHangGuard), std::future_status::ready);
  EXPECT_EQ(f.get(), 0);
  EXPECT_EQ(server_.connections_accepted(), 1u);
  *step = nullptr;
}

TEST_F(HttpClientTest, PoolLimitIsRespectedAndExcessRequestsQueue) {
  Reply slow = Reply::Json(200, "{}");
  slow.delay = std::chrono::milliseconds(50);
  server_.Route("/slow", slow);
  ClientOptions o;
  o.max_connections_per_host = 3;
  Client client(io_.io(), o);
  std::vector<std::future<Outcome>> futures;
  for (int i = 0; i < 12; ++i) {
    auto p = std::make_shared<std::promise<Outcome>>();
    futures.push_back(p->get_future());
    client.Send(Get(server_.base_url() + "/slow"), [p](Outcome out) { p->set_value(out); });
  }
  for (auto& f : futures) {
    ASSERT_EQ(f.wait_for(rf::testing::kHangGuard), std::future_status::ready);
    EXPECT_EQ(AsResponse(f.get()).status, 200);
  }
  EXPECT_EQ(server_.connections_accepted(), 3u);
  EXPECT_LE(server_.max_concurrent_requests(), 3u);
  EXPECT_EQ(server_.requests().size(), 12u);
}

TEST_F(HttpClientTest, SlowServerGivesTimeout) {
  Reply slow = Reply::Json(200, "{}");
  slow.delay = std::chrono::seconds(5);
  server_.Route("/slow", slow);
  Client client(io_.io(), {});
  auto out = SendSync(client, Get(server_.base_url() + "/slow", std::chrono::milliseconds(100)));
  EXPECT_EQ(AsFailure(out).kind, FailureKind::kTimeout) << AsFailure(out).message;
}

TEST_F(HttpClientTest, RefusedConnectionIsUnavailable) {
  Client client(io_.io(), {});
  auto port = RestTestServer::RefusedPort();
  auto out = SendSync(client, Get("http://127.0.0.1:" + std::to_string(port) + "/x"));
  EXPECT_EQ(AsFailure(out).kind, FailureKind::kUnavailable);
  EXPECT_NE(AsFailure(out).message.find("connect"), std::string::npos) << AsFailure(out).message;
}

TEST_F(HttpClientTest, ConnectionClosedMidResponseIsUnavailable) {
  Reply r = Reply::Json(200, R"({"a": "0123456789012345678901234567890123456789"})");
  r.close_mid_response = true;
  server_.Route("/cut", r);
  Client client(io_.io(), {});
  auto out = SendSync(client, Get(server_.base_url() + "/cut"));
  EXPECT_EQ(AsFailure(out).kind, FailureKind::kUnavailable);
  EXPECT_NE(AsFailure(out).message.find("mid-response"), std::string::npos)
      << AsFailure(out).message;
}

TEST_F(HttpClientTest, ConnectionClosedWithoutResponseIsUnavailable) {
  Reply r;
  r.close_without_response = true;
  server_.Route("/drop", r);
  Client client(io_.io(), {});
  auto out = SendSync(client, Get(server_.base_url() + "/drop"));
  EXPECT_EQ(AsFailure(out).kind, FailureKind::kUnavailable) << AsFailure(out).message;
}

TEST_F(HttpClientTest, StaleKeepAliveConnectionIsRetriedOnceOnAFreshOne) {
  auto count = std::make_shared<std::atomic<int>>(0);
  server_.SetHandler([count](const rf::testing::RecordedRequest&) -> std::optional<Reply> {
    if (++*count == 2) {  // the server "had closed" the idle connection
      Reply r;
      r.close_without_response = true;
      return r;
    }
    return Reply::Json(200, "{}");
  });
  Client client(io_.io(), {});
  EXPECT_EQ(AsResponse(SendSync(client, Get(server_.base_url() + "/a"))).status, 200);
  EXPECT_EQ(AsResponse(SendSync(client, Get(server_.base_url() + "/a"))).status, 200);
  EXPECT_EQ(server_.connections_accepted(), 2u);
  EXPECT_EQ(count->load(), 3);
}

TEST_F(HttpClientTest, MalformedHttpIsProtocolFailure) {
  Reply r;
  r.raw = "HTTP/1.1 two hundred\r\nwhat\r\n\r\n";
  server_.Route("/garbage", r);
  Client client(io_.io(), {});
  auto out = SendSync(client, Get(server_.base_url() + "/garbage"));
  EXPECT_EQ(AsFailure(out).kind, FailureKind::kProtocol) << AsFailure(out).message;
}

TEST_F(HttpClientTest, BodyOverTheLimitIsProtocolFailure) {
  server_.Route("/huge", Reply::Json(200, "\"" + std::string(64 * 1024, 'x') + "\""));
  ClientOptions o;
  o.max_body_bytes = 1024;
  Client client(io_.io(), o);
  auto out = SendSync(client, Get(server_.base_url() + "/huge"));
  EXPECT_EQ(AsFailure(out).kind, FailureKind::kProtocol);
  EXPECT_NE(AsFailure(out).message.find("exceeds 1024 bytes"), std::string::npos)
      << AsFailure(out).message;
}

TEST_F(HttpClientTest, DefaultLimitRejectsMoreThanEightMiB) {
  server_.Route("/huge", Reply::Json(200, std::string((8 << 20) + 10, ' ')));
  Client client(io_.io(), {});
  auto out = SendSync(client, Get(server_.base_url() + "/huge"));
  EXPECT_EQ(AsFailure(out).kind, FailureKind::kProtocol) << AsFailure(out).message;
}

TEST_F(HttpClientTest, ChunkedResponseIsAssembledAndConnectionReused) {
  Reply r = Reply::Json(200, R"({"items": [1, 2, 3], "note": "chunked body of some length"})");
  r.chunked = true;
  server_.Route("/chunked", r);
  Client client(io_.io(), {});
  for (int i = 0; i < 3; ++i) {
    auto out = SendSync(client, Get(server_.base_url() + "/chunked"));
    EXPECT_EQ(AsResponse(out).body, r.body);
  }
  EXPECT_EQ(server_.connections_accepted(), 1u);
}

TEST_F(HttpClientTest, ConnectionCloseAnswerIsNotReused) {
  Reply r = Reply::Json(200, "{}");
  r.close_after = true;
  server_.Route("/close", r);
  Client client(io_.io(), {});
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(AsResponse(SendSync(client, Get(server_.base_url() + "/close"))).status, 200);
  }
  EXPECT_EQ(server_.connections_accepted(), 3u);
}

TEST_F(HttpClientTest, SendsMethodHeadersAndBody) {
  server_.Route("/echo", Reply::Json(201, "{}"));
  Client client(io_.io(), {});
  Request r = Get(server_.base_url() + "/echo?q=1");
  r.method = "POST";
  r.body = R"({"x": 1})";
  r.headers = {{"X-Test", "yes"}};
  auto out = SendSync(client, r);
  EXPECT_EQ(AsResponse(out).status, 201);
  EXPECT_EQ(AsResponse(out).Header("content-type"), "application/json");
  auto got = server_.last_request();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->method, "POST");
  EXPECT_EQ(got->target, "/echo?q=1");
  EXPECT_EQ(got->body, R"({"x": 1})");
  EXPECT_EQ(got->Header("x-test"), "yes");
  EXPECT_EQ(got->Header("Host"), "127.0.0.1:" + std::to_string(server_.port()));
}

TEST_F(HttpClientTest, BadUrlIsProtocolFailure) {
  Client client(io_.io(), {});
  EXPECT_EQ(AsFailure(SendSync(client, Get("nonsense"))).kind, FailureKind::kProtocol);
}

TEST_F(HttpClientTest, ShutdownFailsQueuedRequestsAndRefusesNewOnes) {
  Reply slow = Reply::Json(200, "{}");
  slow.delay = std::chrono::seconds(30);
  server_.Route("/slow", slow);
  ClientOptions o;
  o.max_connections_per_host = 1;
  Client client(io_.io(), o);
  std::vector<std::future<Outcome>> futures;
  for (int i = 0; i < 3; ++i) {
    auto p = std::make_shared<std::promise<Outcome>>();
    futures.push_back(p->get_future());
    client.Send(Get(server_.base_url() + "/slow", std::chrono::seconds(60)),
                [p](Outcome out) { p->set_value(out); });
  }
  client.Shutdown();
  for (auto& f : futures) {
    ASSERT_EQ(f.wait_for(rf::testing::kHangGuard), std::future_status::ready);
    EXPECT_EQ(AsFailure(f.get()).kind, FailureKind::kUnavailable);
  }
  EXPECT_EQ(AsFailure(SendSync(client, Get(server_.base_url() + "/slow"))).kind,
            FailureKind::kUnavailable);
}

// TLS against a self-signed certificate made for this test.
class HttpsClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("rf-tls-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir_);
    ASSERT_TRUE(RestTestServer::MakeSelfSignedCert(dir_.string())) << "openssl req failed";
    RestTestServer::Options o;
    o.tls = true;
    o.cert_file = (dir_ / "cert.pem").string();
    o.key_file = (dir_ / "key.pem").string();
    server_ = std::make_unique<RestTestServer>(o);
    server_->Route("/secure", Reply::Json(200, R"({"tls": true})"));
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }
  IoThread io_;
  std::filesystem::path dir_;
  std::unique_ptr<RestTestServer> server_;
};

TEST_F(HttpsClientTest, VerifiesAgainstConfiguredCaFile) {
  ClientOptions o;
  o.ca_file = (dir_ / "cert.pem").string();
  Client client(io_.io(), o);
  for (int i = 0; i < 3; ++i) {
    auto out = SendSync(client, Get(server_->base_url() + "/secure"));
    EXPECT_EQ(AsResponse(out).body, R"({"tls": true})");
  }
  EXPECT_EQ(server_->connections_accepted(), 1u);
}

TEST_F(HttpsClientTest, UnknownCertificateIsUnavailableWithTlsMessage) {
  Client client(io_.io(), {});  // system CAs only
  auto out = SendSync(client, Get(server_->base_url() + "/secure"));
  EXPECT_EQ(AsFailure(out).kind, FailureKind::kUnavailable);
  EXPECT_NE(AsFailure(out).message.find("TLS"), std::string::npos) << AsFailure(out).message;
  EXPECT_NE(AsFailure(out).message.find("certificate"), std::string::npos)
      << AsFailure(out).message;
}

TEST_F(HttpsClientTest, VerificationCanBeTurnedOffForTests) {
  ClientOptions o;
  o.verify_tls = false;
  Client client(io_.io(), o);
  EXPECT_EQ(AsResponse(SendSync(client, Get(server_->base_url() + "/secure"))).status, 200);
}

TEST_F(HttpsClientTest, DnsNameIsVerifiedWithSni) {
  ClientOptions o;
  o.ca_file = (dir_ / "cert.pem").string();
  Client client(io_.io(), o);
  // The certificate names 127.0.0.1 and localhost: a host name goes through SNI and the
  // DNS-name check instead of the IP check.
  auto out = SendSync(client, Get("https://localhost:" + std::to_string(server_->port()) +
                                  "/secure"));
  EXPECT_EQ(AsResponse(out).status, 200);
}

}  // namespace
}  // namespace rf::connectors::http
