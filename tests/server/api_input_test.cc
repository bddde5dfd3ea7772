// Bad input at the API: each gets a clear 4xx and changes nothing. Invalid UTF-8 in bodies and
// path parameters, token names and roles, storage details in errors, query parameters, deeply
// nested bodies, unknown members. Every response's status is one its route declares (the Api
// counts the others in retailflow_api_undeclared_responses_total, checked after each test).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "common/utf8.h"
#include "server/auth.h"
#include "server/config.h"
#include "server/service.h"
#include "state/keys.h"
#include "tests/server/client.h"

namespace rf::server {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::Bearer;
using testing::Call;
using testing::Reply;

const std::map<std::string, std::string>& Tokens() {
  static const std::map<std::string, std::string> t{
      {"admin", "in-admin-0123456789"},
      {"operator", "in-operator-0123456789"},
      {"viewer", "in-viewer-0123456789"},
      {"approver:store_manager", "in-approver-0123456789"},
  };
  return t;
}

long RssKb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return 0;
}

class ApiInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("rf_api_input_" + std::to_string(::getpid()) + "_" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
    json tokens = json::array();
    for (const auto& [role, token] : Tokens())
      tokens.push_back({{"name", "in-" + std::string(role == "approver:store_manager" ? "approver" : role)},
                        {"sha256", Sha256Hex(token)},
                        {"roles", {role}}});
    json config{
        {"listen", "127.0.0.1:0"},
        {"data_dir", (dir_ / "data").string()},
        {"workflow_dirs", {(fs::path(RF_SOURCE_DIR) / "tests/server/flows").string()}},
        {"plugin_dirs", {RF_PLUGIN_DIR}},
        {"tick_interval", "20ms"},
        {"connectors", {{{"name", "fraud"}, {"type", "plugin"}, {"system", "fraud"}, {"library", "fraud_plugin.so"}},
                        {{"name", "ledger"},
                         {"type", "http"},
                         {"system", "ledger"},
                         {"settings",
                          {{"base_url", "http://127.0.0.1:9"},
                           {"operations", {{{"name", "post"}, {"method", "POST"}, {"path", "/entries"},
                                            {"input", {{{"name", "entry_id"}, {"type", "text"}}}},
                                            {"side_effects", true}, {"compensable", false}}}}}}}}},
        {"tokens", tokens},
        {"webhooks", {{"pos", {{"secrets", {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}}, {"routes", json::array()}}}}},
        {"log", {{"level", "info"}, {"file", (dir_ / "service.log").string()}}},
    };
    auto parsed = ParseConfig(config.dump(), dir_);
    ASSERT_TRUE(parsed.ok()) << parsed.status().message();
    service_ = std::make_unique<Service>(std::move(*parsed), "");
    Status s = service_->Start();
    ASSERT_TRUE(s.ok()) << s.message();
    port_ = service_->port();
  }
  void TearDown() override {
    if (service_) {
      std::string metrics = As("viewer", "GET", "/metrics").body;
      EXPECT_EQ(metrics.find("retailflow_api_undeclared_responses_total{"), std::string::npos)
          << "a route answered a status it does not declare:\n" << metrics;
    }
    service_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  Reply As(const std::string& role, const std::string& method, const std::string& target, const std::string& body = {}) {
    return Call(port_, method, target, body, Bearer(Tokens().at(role)));
  }

  // A 400 with this code, a message that is valid UTF-8 text, and nothing of the store in it.
  void ExpectRefused(const Reply& r, const std::string& code) {
    EXPECT_EQ(r.status, 400) << r.body;
    json j = r.json();
    ASSERT_TRUE(j.is_object()) << r.body;
    EXPECT_EQ(j["error"]["code"], code) << r.body;
    EXPECT_TRUE(IsValidUtf8(j["error"]["message"].get<std::string>()));
    EXPECT_EQ(r.body.find("json.exception"), std::string::npos) << r.body;
  }

  size_t InstanceCount() { return As("viewer", "GET", "/v1/instances").json()["items"].size(); }

  fs::path dir_;
  std::unique_ptr<Service> service_;
  unsigned short port_ = 0;
};

const std::string kBad = "\xff\xfe";

TEST_F(ApiInputTest, InvalidUtf8InABodyIs400InvalidUtf8AndChangesNothing) {
  std::string id = As("operator", "POST", "/v1/workflows/refund_review/instances",
                      R"({"business_key":"U-1","input":{"return_id":"U-1","amount":5,"customer_ref":"C"}})")
                       .json()["id"];
  ASSERT_FALSE(id.empty());
  ExpectRefused(As("operator", "POST", "/v1/workflows/refund_review/instances",
                   R"({"business_key":"U-2","input":{"return_id":")" + kBad + R"(","amount":5,"customer_ref":"C"}})"),
                "invalid_utf8");
  ExpectRefused(As("operator", "POST", "/v1/workflows/refund_review/instances", R"({"business_key":"\udc00"})"),
                "invalid_utf8");
  ExpectRefused(As("operator", "POST", "/v1/events/parcel_collected", R"({"key":")" + kBad + R"("})"), "invalid_utf8");
  ExpectRefused(As("operator", "POST", "/v1/instances/" + id + "/cancel", R"({"reason":")" + kBad + R"("})"),
                "invalid_utf8");
  ExpectRefused(As("admin", "POST", "/v1/tokens", R"({"name":")" + kBad + R"(","roles":["viewer"]})"), "invalid_utf8");
  std::string flow = "workflow caf\xe9 version 1\n  \"x\"\nstep a\n  call fraud.score with x = 1\nfinish done\n";
  ExpectRefused(As("admin", "POST", "/v1/workflows", flow), "invalid_utf8");
  // Nothing changed: one instance, still running; the workflows as deployed.
  EXPECT_EQ(InstanceCount(), 1u);
  EXPECT_NE(As("viewer", "GET", "/v1/instances/" + id).json()["status"], "cancelled");
  EXPECT_EQ(As("viewer", "GET", "/v1/workflows").json()["items"].size(), 2u);
}

TEST_F(ApiInputTest, PathParametersMustBeValidTextOfTheirKind) {
  ExpectRefused(As("operator", "POST", "/v1/events/%ff", R"({"key":"K-1"})"), "invalid_utf8");
  ExpectRefused(As("operator", "POST", "/v1/events/caf%C3%A9%20x", R"({"key":"K-1"})"), "invalid_request");
  ExpectRefused(As("viewer", "GET", "/v1/workflows/%ff"), "invalid_utf8");
  ExpectRefused(As("viewer", "GET", "/v1/tasks/%ff"), "invalid_utf8");
  ExpectRefused(As("viewer", "GET", "/v1/instances/%ff%fe"), "invalid_utf8");
  ExpectRefused(As("viewer", "GET", "/v1/instances/a%0Ab"), "invalid_request");
  ExpectRefused(As("operator", "POST", "/v1/workflows/%ff/instances", "{}"), "invalid_utf8");
  // A target that is not UTF-8 is a malformed request: the HTTP edge refuses it before any
  // authentication, so an anonymous caller learns nothing about routes from it.
  EXPECT_EQ(Call(port_, "GET", "/v1/workflows/%ff").status, 400);
  // A well-formed but badly kinded parameter from an anonymous caller: 401 before the check.
  EXPECT_EQ(Call(port_, "GET", "/v1/instances/a%0Ab").status, 401);
  // A well-formed name that is not deployed is still a plain 404.
  EXPECT_EQ(As("viewer", "GET", "/v1/workflows/nosuch").status, 404);
}

TEST_F(ApiInputTest, TokenNamesAndRolesAreValidated) {
  auto create = [&](const json& body) { return As("admin", "POST", "/v1/tokens", body.dump()); };
  ExpectRefused(create({{"name", "till\n7"}, {"roles", {"operator"}}}), "invalid_request");
  ExpectRefused(create({{"name", std::string(65, 'a')}, {"roles", {"operator"}}}), "invalid_request");
  ExpectRefused(create({{"name", ""}, {"roles", {"operator"}}}), "invalid_request");
  ExpectRefused(create({{"name", "hook"}, {"roles", {"webhook:nosuch"}}}), "invalid_request");
  ExpectRefused(create({{"name", "mgr"}, {"roles", {"approver:store manager"}}}), "invalid_request");
  ExpectRefused(create({{"name", "mgr"}, {"roles", {"approver:"}}}), "invalid_request");
  ExpectRefused(create({{"name", "x"}, {"roles", {"superuser"}}}), "invalid_request");
  ExpectRefused(create({{"name", "x"}, {"roles", json::array()}}), "invalid_request");
  ExpectRefused(create({{"name", "x"}, {"roles", {"viewer"}}, {"expires", "1d"}}), "invalid_request");
  Reply no_source = create({{"name", "hook"}, {"roles", {"webhook:nosuch"}}});
  EXPECT_NE(no_source.json()["error"]["message"].get<std::string>().find("nosuch"), std::string::npos);
  json before = As("admin", "GET", "/v1/tokens").json();
  EXPECT_EQ(before["items"].size(), Tokens().size());  // none of the refused ones exists
  EXPECT_EQ(create({{"name", "pos-hook"}, {"roles", {"webhook:pos"}}}).status, 201);
  EXPECT_EQ(create({{"name", "mgr.paris@store-1"}, {"roles", {"approver:store_manager"}}}).status, 201);
  Reply twice = create({{"name", "pos-hook"}, {"roles", {"viewer"}}});
  EXPECT_EQ(twice.status, 409) << twice.body;
  EXPECT_EQ(As("admin", "GET", "/v1/tokens").json()["items"].size(), Tokens().size() + 2);
}

TEST_F(ApiInputTest, ErrorsNeverShowStoragePathsKeysOrExceptionTexts) {
  std::vector<Reply> replies{
      As("viewer", "GET", "/v1/instances/nosuch"),
      As("viewer", "GET", "/v1/instances/nosuch/history"),
      As("viewer", "GET", "/v1/tasks/nosuch"),
      As("viewer", "GET", "/v1/workflows/nosuch"),
      As("viewer", "GET", "/v1/workflows/refund_review?version=7"),
      As("operator", "POST", "/v1/instances/nosuch/cancel", "{}"),
      As("admin", "POST", "/v1/instances/nosuch/retry", "{}"),
      As("admin", "POST", "/v1/instances/nosuch/skip", "{}"),
      As("approver:store_manager", "POST", "/v1/tasks/nosuch/complete", R"({"decision":"approve"})"),
      As("operator", "POST", "/v1/workflows/nosuch/instances", "{}"),
  };
  for (const auto& r : replies) {
    EXPECT_EQ(r.status, 404) << r.body;
    EXPECT_EQ(r.json()["error"]["code"], "not_found") << r.body;
    for (const std::string& secret : {dir_.string(), std::string("LevelDB"), std::string("key not found"),
                                      state::keys::InstancePrefix(), state::keys::TaskPrefix(), state::keys::DefinitionPrefix(),
                                      std::string("store")})
      EXPECT_EQ(r.body.find(secret), std::string::npos) << r.body;
  }
  EXPECT_EQ(replies[0].json()["error"]["message"], "no instance nosuch");
}

TEST_F(ApiInputTest, QueryParametersAreCheckedAndUnknownOnesRefused) {
  auto refused = [&](const std::string& target, const std::string& mentions) {
    Reply r = As("viewer", "GET", target);
    ExpectRefused(r, "invalid_request");
    EXPECT_NE(r.body.find(mentions), std::string::npos) << target << " " << r.body;
  };
  refused("/v1/workflows/refund_review?version=abc", "version must be a whole number");
  refused("/v1/workflows/refund_review?version=0", "from 1");
  refused("/v1/instances?cursor=zzz%27%20OR%201", "cursor must be");
  refused("/v1/instances?status=zzz", "running");
  refused("/v1/instances?limit=0", "limit must be a whole number from 1 to 1000");
  refused("/v1/instances?limit=5000", "limit");
  refused("/v1/instances?limit=10&limit=20", "given twice");
  refused("/v1/instances?sort=desc", "allowed: workflow, status, business_key, version, created_from, created_to, limit, cursor");
  refused("/v1/tasks?status=zzz", "open, closed, all");
  refused("/v1/tasks?role=a%20b", "role");
  refused("/v1/workflows?x=1", "takes no query parameters");
  ExpectRefused(As("viewer", "GET", "/v1/instances?status=%ff"), "invalid_utf8");
  EXPECT_EQ(Call(port_, "GET", "/healthz?probe=1").status, 400);
  // The valid forms still answer.
  EXPECT_EQ(As("viewer", "GET", "/v1/workflows/refund_review?version=1").status, 200);
  EXPECT_EQ(As("viewer", "GET", "/v1/instances?status=running&limit=5&workflow=refund_review").status, 200);
  EXPECT_EQ(As("viewer", "GET", "/v1/tasks?status=all&role=store_manager&limit=3").status, 200);
  EXPECT_EQ(As("viewer", "GET", "/v1/instances?cursor=00-0000000000001-000001").status, 200);
}

TEST_F(ApiInputTest, DeeplyNestedBodiesAre400WithoutStackOrMemoryGrowth) {
  const std::string deep(1 << 20, '[');
  std::string deep_member = "{\"input\":" + std::string((1 << 20) - 20, '[');
  long before = RssKb();
  for (int round = 0; round < 5; ++round) {
    ExpectRefused(As("operator", "POST", "/v1/workflows/refund_review/instances", deep), "too_deep");
    ExpectRefused(As("operator", "POST", "/v1/workflows/refund_review/instances", deep_member), "too_deep");
    ExpectRefused(As("operator", "POST", "/v1/events/parcel_collected", deep), "too_deep");
    ExpectRefused(As("admin", "POST", "/v1/tokens", deep), "too_deep");
    ExpectRefused(As("admin", "POST", "/v1/admin/clock", deep), "too_deep");
    ExpectRefused(As("approver:store_manager", "POST", "/v1/tasks/x/complete", deep), "too_deep");
  }
  long after = RssKb();
  // 30 bodies of 1 MiB each; a parser that built them would hold hundreds of MiB. What remains
  // is the request buffers (the HTTP body limit of 1 MiB each).
  EXPECT_LT(after - before, 64 * 1024) << "RSS grew from " << before << " kB to " << after << " kB";
  EXPECT_EQ(InstanceCount(), 0u);
  EXPECT_EQ(Call(port_, "GET", "/healthz").status, 200);
}

TEST_F(ApiInputTest, UnknownAndMistypedBodyMembersAreRefusedWithTheirPath) {
  Reply typo = As("operator", "POST", "/v1/workflows/refund_review/instances", R"({"inptu":{}})");
  ExpectRefused(typo, "invalid_request");
  EXPECT_NE(typo.body.find("/inptu: unknown member"), std::string::npos) << typo.body;
  Reply version = As("operator", "POST", "/v1/workflows/refund_review/instances", R"({"version":"2"})");
  ExpectRefused(version, "invalid_request");
  EXPECT_NE(version.body.find("/version: expected a whole number"), std::string::npos) << version.body;
  Reply dup = As("operator", "POST", "/v1/events/parcel_collected", R"({"key":"a","key":"b"})");
  ExpectRefused(dup, "invalid_json");
  Reply decision = As("approver:store_manager", "POST", "/v1/tasks/x/complete", R"({"decision":"maybe"})");
  ExpectRefused(decision, "invalid_request");
  EXPECT_EQ(decision.json()["error"]["message"], "/decision: must be one of \"approve\", \"reject\"");
  Reply key = As("operator", "POST", "/v1/events/parcel_collected", R"({"key":{"a":1}})");
  ExpectRefused(key, "invalid_request");
  EXPECT_EQ(InstanceCount(), 0u);
}

}  // namespace
}  // namespace rf::server
