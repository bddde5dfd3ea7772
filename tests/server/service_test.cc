// The service over real sockets on port 0, with a real LevelDB directory, the real fraud plugin
// (dlopen) and the http connector: the API, the route × role matrix, webhook signatures, limits,
// metrics (promtool), logs without secrets, shutdown and restart.
#include <gtest/gtest.h>

#include <cstring>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "connectors/builtin/standard_webhooks.h"
#include "server/api.h"
#include "server/auth.h"
#include "server/config.h"
#include "server/service.h"
#include "server/webhooks.h"
#include "state/keys.h"
#include "state/leveldb_store.h"
#include "state/state_store.h"
#include "tests/server/client.h"

namespace rf::server {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::Bearer;
using testing::Call;
using testing::Reply;

const char* kPosSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const char* kPosSecretNew = "whsec_c2VjcmV0LWFmdGVyLXJvdGF0aW9uLTEyMzQ1Ng==";

// One token per role the service knows.
const std::map<std::string, std::string>& Tokens() {
  static const std::map<std::string, std::string> t{
      {"admin", "tok-admin-0123456789"},
      {"operator", "tok-operator-0123456789"},
      {"viewer", "tok-viewer-0123456789"},
      {"deployer", "tok-deployer-0123456789"},
      {"token_admin", "tok-token-admin-0123456789"},
      {"repairer", "tok-repairer-0123456789"},
      {"approver:store_manager", "tok-approver-sm-0123456789"},
      {"approver:regional_manager", "tok-approver-rm-0123456789"},
      {"webhook:pos", "tok-webhook-pos-0123456789"},
  };
  return t;
}

// A port nothing listens on: bound, then closed.
int ClosedPort() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json ConfigJson(const fs::path& dir, const json& limits) {
  json tokens = json::array();
  for (const auto& [role, token] : Tokens())
    tokens.push_back({{"name", "test-" + role}, {"sha256", Sha256Hex(token)}, {"roles", {role}}});
  json ledger_ops = json::array({{{"name", "post"},
                                  {"method", "POST"},
                                  {"path", "/entries"},
                                  {"input", {{{"name", "entry_id"}, {"type", "text"}}}},
                                  {"side_effects", true},
                                  {"compensable", false}}});
  return {
      {"listen", "127.0.0.1:0"},
      {"data_dir", (dir / "data").string()},
      {"workflow_dirs", {(fs::path(RF_SOURCE_DIR) / "tests/server/flows").string()}},
      {"plugin_dirs", {RF_PLUGIN_DIR}},
      {"tick_interval", "20ms"},
      {"hold_failed_steps", true},
      {"connectors",
       {{{"name", "fraud"}, {"type", "plugin"}, {"system", "fraud"}, {"library", "fraud_plugin.so"}},
        {{"name", "ledger"},
         {"type", "http"},
         {"system", "ledger"},
         {"settings", {{"base_url", "http://127.0.0.1:" + std::to_string(ClosedPort())}, {"operations", ledger_ops}}},
         {"limits", {{"timeout", "2s"}}}}}},
      {"tokens", tokens},
      {"webhooks",
       {{"pos",
         {{"secrets", {kPosSecret, kPosSecretNew}},
          {"routes",
           {{{"type", "return.initiated"}, {"action", "start"}, {"workflow", "refund_review"}, {"key", "/data/return_id"}},
            {{"type", "parcel.collected"}, {"action", "event"}, {"event", "parcel_collected"}, {"key", "/data/return_id"}},
            {{"type", "sale.completed"}, {"action", "ignore"}}}}}}}},
      {"limits", limits},
      {"log", {{"level", "info"}, {"file", (dir / "service.log").string()}}},
  };
}

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("rf_service_test_" + std::to_string(::getpid()) + "_" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    service_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void StartService(json limits = json::object()) {
    if (limits.empty())
      limits = {{"max_body_bytes", 65536}, {"header_timeout", "500ms"}, {"body_timeout", "500ms"}};
    auto config = ParseConfig(ConfigJson(dir_, limits).dump(), dir_);
    ASSERT_TRUE(config.ok()) << config.status().message();
    service_ = std::make_unique<Service>(std::move(*config), "");
    Status s = service_->Start();
    ASSERT_TRUE(s.ok()) << s.message();
    port_ = service_->port();
  }

  Reply As(const std::string& role, const std::string& method, const std::string& target,
           const std::string& body = {}) {
    return Call(port_, method, target, body, Bearer(Tokens().at(role)));
  }

  json WaitForStatus(const std::string& id, const std::string& status) {
    json inst;
    for (int i = 0; i < 500; ++i) {
      inst = As("viewer", "GET", "/v1/instances/" + id).json();
      if (inst.value("status", "") == status) return inst;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "instance " << id << " never reached " << status << ": " << inst.dump();
    return inst;
  }

  std::string OpenTaskOf(const std::string& instance) {
    for (int i = 0; i < 500; ++i) {
      json tasks = As("approver:store_manager", "GET", "/v1/tasks?role=store_manager").json();
      for (const auto& t : tasks["items"])
        if (t.value("instance", "") == instance) return t["id"].get<std::string>();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "no open task for " << instance;
    return "";
  }

  Reply Webhook(const std::string& source, const std::string& id, const std::string& body,
                const std::string& secret, std::int64_t ts_offset = 0, const std::string& sent_body = {}) {
    std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count() +
                       ts_offset;
    auto sig = connectors::standard_webhooks::Sign(secret, id, now, body);
    return Call(port_, "POST", "/v1/webhooks/" + source, sent_body.empty() ? body : sent_body,
                {{"webhook-id", id}, {"webhook-timestamp", std::to_string(now)}, {"webhook-signature", *sig}});
  }

  fs::path dir_;
  std::unique_ptr<Service> service_;
  unsigned short port_ = 0;
};

std::string StartBody(const std::string& return_id, const std::string& amount = "120.50") {
  return R"({"business_key": ")" + return_id + R"(", "input": {"return_id": ")" + return_id +
         R"(", "amount": )" + amount + R"(, "customer_ref": "CUST-0007"}})";
}

TEST_F(ServiceTest, HealthReadinessAndOpenApiArePublic) {
  StartService();
  EXPECT_EQ(Call(port_, "GET", "/healthz").status, 200);
  Reply ready = Call(port_, "GET", "/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.json()["status"], "ready");
  Reply doc = Call(port_, "GET", "/v1/openapi.json");
  ASSERT_EQ(doc.status, 200);
  json j = doc.json();
  EXPECT_EQ(j["openapi"], "3.0.3");
  // Every route the service answers is described, with its method.
  ApiDeps deps;
  Api api(deps);
  for (const auto& r : api.routes()) {
    std::string m = r.method;
    std::transform(m.begin(), m.end(), m.begin(), ::tolower);
    EXPECT_TRUE(j["paths"].contains(r.pattern) && j["paths"][r.pattern].contains(m)) << r.method << " " << r.pattern;
  }
  EXPECT_GE(api.routes().size(), 20u);
}

TEST_F(ServiceTest, EveryRouteTimesEveryRole) {
  StartService();
  ApiDeps deps;
  Api api(deps);
  std::vector<std::string> roles;
  for (const auto& [role, _] : Tokens()) roles.push_back(role);
  int checked = 0;
  for (const auto& r : api.routes()) {
    std::string target = r.pattern;
    for (auto pos = target.find('{'); pos != std::string::npos; pos = target.find('{'))
      target.replace(pos, target.find('}', pos) - pos + 1, "nosuch");
    std::string body = r.method == "POST" ? "{}" : "";
    SCOPED_TRACE(r.method + " " + r.pattern);
    Reply anon = Call(port_, r.method, target, body);
    if (r.roles.empty()) {
      EXPECT_NE(anon.status, 401);
      EXPECT_NE(anon.status, 403);
      continue;
    }
    EXPECT_EQ(anon.status, 401);
    EXPECT_TRUE(anon.json()["error"].contains("code")) << anon.body;
    if (r.roles.front() == "signature") continue;  // covered by the webhook tests
    Reply bad = Call(port_, r.method, target, body, Bearer("not-a-token"));
    EXPECT_EQ(bad.status, 401);
    for (const auto& role : roles) {
      Principal p{"x", {role}, ""};
      Reply got = As(role, r.method, target, body);
      if (Allowed(p, r.roles)) {
        EXPECT_NE(got.status, 401) << role;
        EXPECT_NE(got.status, 403) << role << " " << got.body;
      } else {
        EXPECT_EQ(got.status, 403) << role << " " << got.body;
        EXPECT_EQ(got.json()["error"]["code"], "forbidden");
      }
      ++checked;
    }
  }
  EXPECT_GE(checked, 100);
  // Every answer above had a status its route declares (and so the OpenAPI document lists).
  std::string metrics = As("viewer", "GET", "/metrics").body;
  EXPECT_EQ(metrics.find("retailflow_api_undeclared_responses_total{"), std::string::npos) << metrics;
}

TEST_F(ServiceTest, StartApproveEventCompleteThroughTheApi) {
  StartService();
  Reply first = As("operator", "POST", "/v1/workflows/refund_review/instances", StartBody("R-1"));
  ASSERT_EQ(first.status, 201) << first.body;
  std::string id = first.json()["id"];
  Reply again = As("operator", "POST", "/v1/workflows/refund_review/instances", StartBody("R-1"));
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.json()["id"], id);
  EXPECT_EQ(again.json()["created"], false);

  std::string task = OpenTaskOf(id);
  ASSERT_FALSE(task.empty());
  // The wrong approver role may neither see nor decide it.
  EXPECT_EQ(As("approver:regional_manager", "GET", "/v1/tasks/" + task).status, 403);
  EXPECT_EQ(As("approver:regional_manager", "POST", "/v1/tasks/" + task + "/complete", R"({"decision":"approve"})").status, 403);
  EXPECT_EQ(As("approver:store_manager", "POST", "/v1/tasks/" + task + "/complete", R"({"decision":"maybe"})").status, 400);
  Reply decided = As("approver:store_manager", "POST", "/v1/tasks/" + task + "/complete",
                     R"({"decision":"approve","comment":"receipt checked"})");
  EXPECT_EQ(decided.status, 202) << decided.body;
  // A task is decided once.
  Reply twice = As("approver:store_manager", "POST", "/v1/tasks/" + task + "/complete", R"({"decision":"reject"})");
  EXPECT_EQ(twice.status, 409) << twice.body;
  json t = As("viewer", "GET", "/v1/tasks/" + task).json();
  EXPECT_EQ(t["actor"], "test-approver:store_manager") << t.dump();

  WaitForStatus(id, "waiting");
  Reply ev = As("operator", "POST", "/v1/events/parcel_collected", R"({"key":"R-1","data":{"by":"courier"}})");
  EXPECT_EQ(ev.status, 202) << ev.body;
  json inst = WaitForStatus(id, "completed");
  EXPECT_EQ(inst["data"]["parcel"]["by"], "courier");
  EXPECT_EQ(inst["data"]["input"]["amount"], 120.50);

  json listed = As("viewer", "GET", "/v1/instances?workflow=refund_review&status=completed").json();
  ASSERT_EQ(listed["items"].size(), 1u);
  EXPECT_EQ(listed["items"][0]["id"], id);
  json by_key = As("viewer", "GET", "/v1/instances?workflow=refund_review&business_key=R-1").json();
  ASSERT_EQ(by_key["items"].size(), 1u);
  json hist = As("viewer", "GET", "/v1/instances/" + id + "/history").json();
  EXPECT_GE(hist["items"].size(), 5u);
  EXPECT_EQ(As("viewer", "GET", "/v1/instances/nosuch").status, 404);
  EXPECT_EQ(As("viewer", "GET", "/v1/instances?status=sleeping").status, 400);
}

TEST_F(ServiceTest, InstanceListPagesWithACursor) {
  StartService();
  std::set<std::string> ids;
  for (int i = 0; i < 5; ++i)
    ids.insert(As("operator", "POST", "/v1/workflows/refund_review/instances", StartBody("P-" + std::to_string(i))).json()["id"].get<std::string>());
  std::set<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    json page = As("viewer", "GET", "/v1/instances?workflow=refund_review&limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor)).json();
    for (const auto& i : page["items"]) seen.insert(i["id"].get<std::string>());
    cursor = page.value("next_cursor", "");
    ++pages;
  } while (!cursor.empty() && pages < 10);
  EXPECT_EQ(seen, ids);
  EXPECT_EQ(pages, 3);
}

TEST_F(ServiceTest, CancelRunsTheUndoChainAndRefusesTwice) {
  StartService();
  std::string id = As("operator", "POST", "/v1/workflows/refund_review/instances", StartBody("C-1")).json()["id"];
  OpenTaskOf(id);
  Reply c = As("operator", "POST", "/v1/instances/" + id + "/cancel", R"({"reason":"customer left"})");
  EXPECT_EQ(c.status, 202) << c.body;
  WaitForStatus(id, "cancelled");
  EXPECT_EQ(As("operator", "POST", "/v1/instances/" + id + "/cancel", "{}").status, 409);
}

TEST_F(ServiceTest, HeldStepIsRepairedByRetryAndSkip) {
  StartService();
  std::string id = As("operator", "POST", "/v1/workflows/ledger_post/instances", R"({"input":{"entry_id":"E-1"}})").json()["id"];
  json held = WaitForStatus(id, "held");
  EXPECT_EQ(held["error"]["kind"], "unavailable") << held.dump();
  json dead = As("viewer", "GET", "/v1/dead-letters").json();
  ASSERT_EQ(dead["items"].size(), 1u);
  // Only admins repair.
  EXPECT_EQ(As("operator", "POST", "/v1/instances/" + id + "/retry", "{}").status, 403);
  EXPECT_EQ(As("admin", "POST", "/v1/instances/" + id + "/retry", R"({"patch": [1]})").status, 400);
  EXPECT_EQ(As("admin", "POST", "/v1/instances/" + id + "/retry", R"({"patch":{"note":"again"}})").status, 202);
  held = WaitForStatus(id, "held");  // the ledger is still down
  EXPECT_EQ(held["data"]["note"], "again");
  EXPECT_EQ(As("admin", "POST", "/v1/instances/" + id + "/skip", "{}").status, 202);
  WaitForStatus(id, "completed");
  EXPECT_EQ(As("admin", "POST", "/v1/instances/" + id + "/skip", "{}").status, 409);
  json conns = As("viewer", "GET", "/v1/connectors").json();
  bool found = false;
  for (const auto& c : conns["items"])
    if (c["name"] == "ledger") {
      found = true;
      EXPECT_GE(c["errors"].value("unavailable", 0), 2);
    }
  EXPECT_TRUE(found);
}

TEST_F(ServiceTest, DeployRefusesBrokenFlowsAndVersionsTheRest) {
  StartService();
  std::string broken = "workflow refund_review version 2\n  \"x\"\nuses fraud\nstep a\n  call fraud.nope with x = 1\nfinish done\n";
  Reply r = As("admin", "POST", "/v1/workflows", broken);
  ASSERT_EQ(r.status, 422) << r.body;
  json err = r.json()["error"];
  EXPECT_EQ(err["code"], "invalid_workflow");
  ASSERT_FALSE(err["details"]["diagnostics"].empty());
  EXPECT_EQ(err["details"]["diagnostics"][0]["line"], 5);
  // The running version stays.
  EXPECT_EQ(As("viewer", "GET", "/v1/workflows/refund_review").json()["version"], 1);

  std::string source = ReadAll(fs::path(RF_SOURCE_DIR) / "tests/server/flows/refund_review.flow");
  std::string v2 = source;
  v2.replace(v2.find("version 1"), 9, "version 2");
  EXPECT_EQ(As("admin", "POST", "/v1/workflows", v2).status, 201);
  EXPECT_EQ(As("admin", "POST", "/v1/workflows", v2).status, 200);
  std::string changed = v2 + "\n# a change without a new version\n";
  Reply conflict = As("admin", "POST", "/v1/workflows", changed);
  EXPECT_EQ(conflict.status, 409) << conflict.body;
  json wf = As("viewer", "GET", "/v1/workflows/refund_review").json();
  EXPECT_EQ(wf["version"], 2);
  EXPECT_EQ(wf["versions"], json::array({1, 2}));
  EXPECT_NE(wf["graph"]["dot"].get<std::string>().find("digraph"), std::string::npos);
  EXPECT_NE(wf["graph"]["mermaid"].get<std::string>().find("flowchart"), std::string::npos);
  EXPECT_EQ(As("operator", "POST", "/v1/workflows", v2).status, 403);
}

TEST_F(ServiceTest, WebhookSignaturesReplaysAndRotation) {
  StartService();
  std::string body = R"({"type":"return.initiated","timestamp":"2026-11-27T10:00:00Z","data":{"return_id":"W-1","amount":75.00,"customer_ref":"CUST-0001"}})";
  Reply ok = Webhook("pos", "msg_1", body, kPosSecret);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.json()["status"], "accepted");
  std::string id = ok.json()["instance"];
  // The same delivery again (a sender retry): acknowledged, nothing new.
  Reply replay = Webhook("pos", "msg_1", body, kPosSecret);
  EXPECT_EQ(replay.status, 200);
  EXPECT_EQ(replay.json()["status"], "duplicate");
  // The same return under a new webhook-id (the POS sent it twice): the business key holds.
  Reply dup = Webhook("pos", "msg_2", body, kPosSecret);
  EXPECT_EQ(dup.json()["status"], "duplicate");
  EXPECT_EQ(dup.json()["instance"], id);
  // The new key of a rotation is accepted too.
  std::string body2 = R"({"type":"return.initiated","data":{"return_id":"W-2","amount":10,"customer_ref":"CUST-0002"}})";
  EXPECT_EQ(Webhook("pos", "msg_3", body2, kPosSecretNew).json()["status"], "accepted");
  // Refused, and nothing happens: wrong secret, stale, from the future, tampered, unknown source.
  std::string body3 = R"({"type":"return.initiated","data":{"return_id":"W-3","amount":10,"customer_ref":"CUST-0003"}})";
  EXPECT_EQ(Webhook("pos", "msg_4", body3, "whsec_d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA==").status, 401);
  EXPECT_EQ(Webhook("pos", "msg_5", body3, kPosSecret, -600).status, 401);
  EXPECT_EQ(Webhook("pos", "msg_6", body3, kPosSecret, +600).status, 401);
  std::string tampered = body3;
  tampered.replace(tampered.find("10"), 2, "99");
  EXPECT_EQ(Webhook("pos", "msg_7", body3, kPosSecret, 0, tampered).status, 401);
  EXPECT_EQ(Webhook("till", "msg_8", body3, kPosSecret).status, 401);
  EXPECT_EQ(Call(port_, "POST", "/v1/webhooks/pos", body3).status, 401);
  json none = As("viewer", "GET", "/v1/instances?workflow=refund_review&business_key=W-3").json();
  EXPECT_TRUE(none["items"].empty());
  // An ignored type is acknowledged; an event type is delivered.
  EXPECT_EQ(Webhook("pos", "msg_9", R"({"type":"sale.completed","data":{}})", kPosSecret).json()["status"], "ignored");
  std::string metrics = As("viewer", "GET", "/metrics").body;
  // wrong secret, stale, future, tampered (the unsigned and unknown-source ones count apart).
  EXPECT_NE(metrics.find("retailflow_webhooks_total{source=\"pos\",outcome=\"rejected\",reason=\"signature\"} 5"), std::string::npos)
      << metrics;
  json all = As("viewer", "GET", "/v1/instances?workflow=refund_review").json();
  EXPECT_EQ(all["items"].size(), 2u);
}

TEST_F(ServiceTest, MalformedOversizedAndSlowRequests) {
  StartService();
  Reply bad = As("operator", "POST", "/v1/workflows/refund_review/instances", "{\"input\": ");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.json()["error"]["code"], "invalid_json");
  Reply not_obj = As("operator", "POST", "/v1/workflows/refund_review/instances", "[1,2]");
  EXPECT_EQ(not_obj.status, 400);
  Reply wrong_input = As("operator", "POST", "/v1/workflows/refund_review/instances", R"({"input":{"return_id":5}})");
  EXPECT_EQ(wrong_input.status, 422) << wrong_input.body;
  Reply big = As("operator", "POST", "/v1/workflows/refund_review/instances", std::string(70000, ' '));
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(big.json()["error"]["code"], "payload_too_large");
  EXPECT_EQ(Call(port_, "DELETE", "/v1/instances").status, 405);
  EXPECT_EQ(Call(port_, "GET", "/v1/nothing-here").status, 404);
  // Nothing was started by any of them.
  EXPECT_TRUE(As("viewer", "GET", "/v1/instances").json()["items"].empty());

  // A client that sends half a request head and stalls is disconnected after header_timeout.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port_);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const char partial[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
  ASSERT_GT(::write(fd, partial, sizeof partial - 1), 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[256];
  ssize_t n = ::read(fd, buf, sizeof buf);
  EXPECT_EQ(n, 0) << "the server should close the stalled connection";
  ::close(fd);
  // The service still answers others.
  EXPECT_EQ(Call(port_, "GET", "/healthz").status, 200);
}

TEST_F(ServiceTest, PerTokenRateLimitAndOverload) {
  StartService({{"token_rate_per_second", 0.5}, {"token_burst", 2}});
  EXPECT_EQ(As("viewer", "GET", "/v1/workflows").status, 200);
  EXPECT_EQ(As("viewer", "GET", "/v1/workflows").status, 200);
  Reply limited = As("viewer", "GET", "/v1/workflows");
  EXPECT_EQ(limited.status, 429);
  EXPECT_FALSE(limited.headers["retry-after"].empty());
  // Another token has its own bucket.
  EXPECT_EQ(As("operator", "GET", "/v1/workflows").status, 200);
  service_.reset();

  StartService({{"max_in_flight", 0}});
  Reply busy = Call(port_, "GET", "/healthz");
  EXPECT_EQ(busy.status, 503);
  EXPECT_EQ(busy.headers["retry-after"], "1");
  EXPECT_EQ(busy.json()["error"]["code"], "overloaded");
}

TEST_F(ServiceTest, MetricsPassPromtoolAndLogsCarryNoSecrets) {
  StartService();
  std::string id = As("operator", "POST", "/v1/workflows/refund_review/instances", StartBody("M-1")).json()["id"];
  OpenTaskOf(id);
  std::string created = As("admin", "POST", "/v1/tokens", R"({"name":"pos-till-7","roles":["operator"]})").json()["token"];
  std::string rotated =
      As("token_admin", "POST", "/v1/tokens/pos-till-7/rotate", R"({"overlap":"1m"})").json()["token"];
  As("token_admin", "DELETE", "/v1/tokens/pos-till-7");
  Webhook("pos", "msg_m1", R"({"type":"return.initiated","data":{"return_id":"M-2","amount":1,"customer_ref":"C"}})", "whsec_d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA==");
  Reply m = As("viewer", "GET", "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.headers["content-type"].find("text/plain"), std::string::npos);
  for (const char* family : {"retailflow_instances_started_total", "retailflow_transitions_total",
                             "retailflow_step_seconds_bucket", "retailflow_open_tasks{role=\"store_manager\"} 1",
                             "retailflow_http_requests_total", "retailflow_commit_seconds_bucket",
                             "retailflow_circuit_breaker_open{connector=\"fraud\"} 0", "retailflow_webhooks_total",
                             "retailflow_dead_letters", "retailflow_pending_timers"})
    EXPECT_NE(m.body.find(family), std::string::npos) << family;
  // The engine's own counters: the start above committed, and at least one partition runs.
  for (const char* engine_family : {"\nretailflow_engine_commit_groups_total ", "\nretailflow_engine_partitions ",
                                    "\nretailflow_engine_invocations_total "}) {
    size_t at = m.body.find(engine_family);
    ASSERT_NE(at, std::string::npos) << engine_family << m.body;
    EXPECT_GE(std::stod(m.body.substr(at + std::strlen(engine_family))), 1.0) << engine_family;
  }
  EXPECT_NE(m.body.find("\nretailflow_engine_errors_dropped_total 0\n"), std::string::npos);
  fs::path file = dir_ / "metrics.txt";
  std::ofstream(file) << m.body;
  std::string cmd = "promtool check metrics < " + file.string() + " > " + (dir_ / "promtool.out").string() + " 2>&1";
  int rc = std::system(cmd.c_str());
  EXPECT_EQ(rc, 0) << ReadAll(dir_ / "promtool.out");

  service_->Shutdown();
  std::string log = ReadAll(dir_ / "service.log");
  EXPECT_NE(log.find("\"msg\":\"request\""), std::string::npos);
  EXPECT_NE(log.find("\"msg\":\"transition\""), std::string::npos);
  EXPECT_NE(log.find(id), std::string::npos);
  for (const auto& [role, token] : Tokens()) {
    EXPECT_EQ(log.find(token), std::string::npos) << role;
    EXPECT_EQ(m.body.find(token), std::string::npos) << role;
  }
  for (const std::string& token : {created, rotated}) {  // created, rotated and revoked through the API
    ASSERT_EQ(token.rfind("rf_", 0), 0u);
    EXPECT_EQ(log.find(token), std::string::npos);
    EXPECT_EQ(log.find(Sha256Hex(token)), std::string::npos);
    EXPECT_EQ(m.body.find(token), std::string::npos);
  }
  for (const char* secret : {kPosSecret, kPosSecretNew, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
    EXPECT_EQ(log.find(secret), std::string::npos);
  // Every log line is one JSON object.
  std::istringstream lines(log);
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    EXPECT_FALSE(json::parse(line, nullptr, false).is_discarded()) << line;
    ++count;
  }
  EXPECT_GT(count, 5);
}

TEST_F(ServiceTest, TokensCreatedThroughTheApiAreStoredHashed) {
  StartService();
  Reply created = As("admin", "POST", "/v1/tokens", R"({"name":"manager-paris","roles":["approver:store_manager"]})");
  ASSERT_EQ(created.status, 201) << created.body;
  std::string token = created.json()["token"];
  EXPECT_EQ(Call(port_, "GET", "/v1/tasks", "", Bearer(token)).status, 200);
  EXPECT_EQ(Call(port_, "GET", "/v1/instances", "", Bearer(token)).status, 403);
  EXPECT_EQ(As("admin", "POST", "/v1/tokens", R"({"name":"x","roles":["superuser"]})").status, 400);
  json list = As("admin", "GET", "/v1/tokens").json();
  EXPECT_EQ(list.dump().find(token), std::string::npos);
  service_->Shutdown();
  service_.reset();
  // The token survives a restart, and the store never held it in clear.
  StartService();
  EXPECT_EQ(Call(port_, "GET", "/v1/tasks", "", Bearer(token)).status, 200);
  service_.reset();
  std::string grep = "grep -r -q '" + token + "' " + (dir_ / "data").string();
  EXPECT_NE(std::system(grep.c_str()), 0);
}

TEST_F(ServiceTest, RestartResumesWaitingInstances) {
  StartService();
  std::string id = As("operator", "POST", "/v1/workflows/refund_review/instances", StartBody("S-1")).json()["id"];
  std::string task = OpenTaskOf(id);
  service_->Shutdown();
  service_.reset();
  StartService();
  EXPECT_EQ(As("viewer", "GET", "/v1/instances/" + id).json()["status"], "waiting");
  EXPECT_EQ(As("approver:store_manager", "POST", "/v1/tasks/" + task + "/complete", R"({"decision":"reject"})").status, 202);
  json inst = WaitForStatus(id, "failed");
  EXPECT_EQ(inst["error"]["state"], "declined") << inst.dump();
}

// The real binary: SIGTERM while serving → exit 0; the embedded default prints.
TEST(ServeBinaryTest, SigtermShutsDownCleanly) {
  fs::path dir = fs::temp_directory_path() / ("rf_serve_bin_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  json config = ConfigJson(dir, json::object());
  std::ofstream(dir / "config.json") << config.dump(2);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::execl(RF_CLI_PATH, "retailflow", "serve", "--config", (dir / "config.json").c_str(), nullptr);
    _exit(127);
  }
  // Wait for readiness by polling the log for the ready line.
  bool ready = false;
  for (int i = 0; i < 300 && !ready; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ready = ReadAll(dir / "service.log").find("service ready") != std::string::npos;
  }
  EXPECT_TRUE(ready);
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_NE(ReadAll(dir / "service.log").find("\"msg\":\"stopped\""), std::string::npos);
  std::error_code ec;
  fs::remove_all(dir, ec);
}

// A store written by a newer retailflow: `serve` refuses it with a message naming both formats,
// exits non-zero, and leaves the store as it was.
TEST(ServeBinaryTest, RefusesAStoreOfAnUnknownFormat) {
  fs::path dir = fs::temp_directory_path() / ("rf_serve_format_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "data");
  std::string store_dir = (dir / "data" / "store").string();
  {
    auto store = state::OpenLevelDb(store_dir, {});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    state::WriteBatch b;
    b.Put(state::keys::MetaFormat(), "99");
    b.Put("future/record", "kept");
    ASSERT_TRUE((*store)->Commit(b).ok());
  }
  std::ofstream(dir / "config.json") << ConfigJson(dir, json::object()).dump(2);
  fs::path err = dir / "stderr.txt";
  pid_t pid = ::fork();
  if (pid == 0) {
    std::FILE* f = std::freopen(err.c_str(), "w", stderr);
    if (f == nullptr) _exit(126);
    ::execl(RF_CLI_PATH, "retailflow", "serve", "--config", (dir / "config.json").c_str(), nullptr);
    _exit(127);
  }
  int status = 0;
  pid_t done = 0;
  for (int i = 0; i < 600 && done == 0; ++i) {  // up to 60 s for the refusal, then fail loudly
    done = ::waitpid(pid, &status, WNOHANG);
    if (done == 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (done == 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    FAIL() << "serve did not refuse the store; stderr: " << ReadAll(err);
  }
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_NE(WEXITSTATUS(status), 0);
  std::string text = ReadAll(err);
  EXPECT_NE(text.find("written by storage format 99"), std::string::npos) << text;
  EXPECT_NE(text.find("reads storage format 2"), std::string::npos) << text;
  EXPECT_NE(text.find("upgrade retailflow"), std::string::npos) << text;
  EXPECT_NE(text.find(store_dir), std::string::npos) << text;
  EXPECT_EQ(text.find("serving on"), std::string::npos) << text;
  auto store = state::OpenLevelDb(store_dir, {});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  std::vector<std::string> keys;
  ASSERT_TRUE((*store)->Scan("", "", [&](std::string_view k, std::string_view) {
                        keys.emplace_back(k);
                        return true;
                      }).ok());
  EXPECT_EQ(keys, (std::vector<std::string>{"future/record", state::keys::MetaFormat()})) << "the store was not changed";
  store->reset();
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace rf::server

namespace rf::server {
namespace {

// docs/service.md lists every route with its roles: the table cannot drift from the code.
TEST(ServiceDocsTest, EveryRouteIsDocumentedWithItsRoles) {
  std::ifstream in(std::string(RF_SOURCE_DIR) + "/docs/service.md");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string doc = ss.str();
  ApiDeps deps;
  Api api(deps);
  for (const auto& r : api.routes()) {
    std::string row = "| `" + r.method + " " + r.pattern + "` | ";
    size_t at = doc.find(row);
    ASSERT_NE(at, std::string::npos) << "docs/service.md has no row for " << r.method << " " << r.pattern;
    std::string roles = doc.substr(at + row.size(), doc.find(" |", at + row.size()) - at - row.size());
    std::string want = r.roles.empty() ? "public" : "";
    for (size_t i = 0; i < r.roles.size(); ++i) want += (i ? ", " : "") + r.roles[i];
    EXPECT_EQ(roles, want) << r.method << " " << r.pattern;
  }
}

}  // namespace
}  // namespace rf::server

namespace rf::server {
namespace {

// HTTPS when a certificate is configured: a self-signed one made with the openssl command, and
// curl as an independent client (it must verify the chain against the CA file).
TEST(ServiceTlsTest, ServesHttpsWithTheConfiguredCertificate) {
  fs::path dir = fs::temp_directory_path() / ("rf_service_tls_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string gen = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
                    "-addext subjectAltName=IP:127.0.0.1 -keyout " + (dir / "key.pem").string() +
                    " -out " + (dir / "cert.pem").string() + " > /dev/null 2>&1";
  ASSERT_EQ(std::system(gen.c_str()), 0);
  json config = ConfigJson(dir, json::object());
  config["tls"] = {{"cert", (dir / "cert.pem").string()}, {"key", (dir / "key.pem").string()}};
  auto parsed = ParseConfig(config.dump(), dir);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  Service service(std::move(*parsed), "");
  ASSERT_TRUE(service.Start().ok());
  std::string url = "https://127.0.0.1:" + std::to_string(service.port()) + "/healthz";
  std::string out = (dir / "curl.out").string();
  std::string ok = "curl -s --max-time 10 --cacert " + (dir / "cert.pem").string() + " " + url + " > " + out;
  EXPECT_EQ(std::system(ok.c_str()), 0);
  EXPECT_EQ(ReadAll(out), "{\"status\":\"ok\"}");
  // Without the CA the client refuses the certificate; plain HTTP gets no answer.
  std::string untrusted = "curl -s --max-time 10 " + url + " > /dev/null";
  EXPECT_NE(std::system(untrusted.c_str()), 0);
  std::string plain = "curl -s --max-time 5 http://127.0.0.1:" + std::to_string(service.port()) + "/healthz > " + out;
  (void)std::system(plain.c_str());
  EXPECT_EQ(ReadAll(out).find("\"ok\""), std::string::npos);
  service.Shutdown();
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace rf::server

namespace rf::server {
namespace {

TEST(WebhookIngressTest, DeliveryIdsAreForgottenAfterTheirReplayWindow) {
  state::MemoryStore store;
  Metrics metrics;
  WebhookSource pos;
  pos.name = "pos";
  pos.secrets = {kPosSecret};
  pos.tolerance_seconds = 300;
  WebhookIngress ingress({{"pos", pos}}, &store, nullptr, &metrics);
  state::WriteBatch b;
  b.Put(state::keys::WebhookDelivery("pos", "old"), R"({"status":"accepted","received_at":1000})");
  b.Put(state::keys::WebhookDelivery("pos", "recent"), R"({"status":"accepted","received_at":1500})");
  ASSERT_TRUE(store.Commit(b).ok());
  auto swept = ingress.SweepOldDeliveries(1000 + 600 + 1);  // `old` is past 2 × 300 s
  ASSERT_TRUE(swept.ok());
  EXPECT_EQ(*swept, 1u);
  std::string v;
  EXPECT_FALSE(store.Get(state::keys::WebhookDelivery("pos", "old"), &v).ok());
  EXPECT_TRUE(store.Get(state::keys::WebhookDelivery("pos", "recent"), &v).ok());
}

}  // namespace
}  // namespace rf::server
