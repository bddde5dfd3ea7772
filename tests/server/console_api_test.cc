// The API the console needs and the console's own serving, over real sockets on port 0 with a
// real LevelDB directory: GET /v1/session, the bulk cancel/retry routes, the counts per status,
// the list's version and creation-time filters; `/` and the embedded assets with their headers,
// index.html for console routes, and never in place of /v1 or /metrics.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "server/auth.h"
#include "server/config.h"
#include "server/service.h"
#include "server/src/console_assets.h"
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
      {"admin", "tok-c-admin-0123456789"},
      {"operator", "tok-c-operator-0123456789"},
      {"viewer", "tok-c-viewer-0123456789"},
      {"approver:store_manager", "tok-c-approver-0123456789"},
  };
  return t;
}

int ClosedPort() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

class ConsoleApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("rf_console_api_test_" + std::to_string(::getpid()) + "_" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
    json tokens = json::array();
    for (const auto& [role, token] : Tokens())
      tokens.push_back({{"name", "test-" + role}, {"sha256", Sha256Hex(token)}, {"roles", {role}}});
    json ops = json::array({{{"name", "post"}, {"method", "POST"}, {"path", "/entries"},
                             {"input", {{{"name", "entry_id"}, {"type", "text"}}}},
                             {"side_effects", true}, {"compensable", false}}});
    json config{
        {"listen", "127.0.0.1:0"},
        {"data_dir", (dir_ / "data").string()},
        {"workflow_dirs", {(fs::path(RF_SOURCE_DIR) / "tests/server/flows").string()}},
        {"plugin_dirs", {RF_PLUGIN_DIR}},
        {"tick_interval", "20ms"},
        {"hold_failed_steps", true},
        {"connectors",
         {{{"name", "fraud"}, {"type", "plugin"}, {"system", "fraud"}, {"library", "fraud_plugin.so"}},
          {{"name", "ledger"}, {"type", "http"}, {"system", "ledger"},
           {"settings", {{"base_url", "http://127.0.0.1:" + std::to_string(ClosedPort())}, {"operations", ops}}},
           {"limits", {{"timeout", "2s"}}}}}},
        {"tokens", tokens},
        {"log", {{"level", "warn"}, {"file", (dir_ / "service.log").string()}}},
    };
    auto parsed = ParseConfig(config.dump(), dir_);
    ASSERT_TRUE(parsed.ok()) << parsed.status().message();
    service_ = std::make_unique<Service>(std::move(*parsed), "");
    Status s = service_->Start();
    ASSERT_TRUE(s.ok()) << s.message();
    port_ = service_->port();
  }
  void TearDown() override {
    service_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  Reply As(const std::string& role, const std::string& method, const std::string& target, const std::string& body = {}) {
    return Call(port_, method, target, body, Bearer(Tokens().at(role)));
  }

  std::string StartHeld(const std::string& entry) {
    Reply r = As("operator", "POST", "/v1/workflows/ledger_post/instances",
                 json{{"input", {{"entry_id", entry}}}, {"business_key", entry}}.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    std::string id = r.json().value("id", "");
    WaitFor(id, "held");
    return id;
  }

  json WaitFor(const std::string& id, const std::string& status) {
    json inst;
    for (int i = 0; i < 1000; ++i) {
      inst = As("viewer", "GET", "/v1/instances/" + id).json();
      if (inst.value("status", "") == status) return inst;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << id << " never reached " << status << ": " << inst.dump();
    return inst;
  }

  fs::path dir_;
  std::unique_ptr<Service> service_;
  unsigned short port_ = 0;
};

TEST_F(ConsoleApiTest, SessionTellsWhoTheTokenIsAndWhatItMayDo) {
  json admin = As("admin", "GET", "/v1/session").json();
  EXPECT_EQ(admin["name"], "test-admin");
  EXPECT_EQ(admin["can"], json({{"read", true}, {"operate", true}, {"repair", true}, {"deploy", true}, {"approve", {"*"}}}));
  json viewer = As("viewer", "GET", "/v1/session").json();
  EXPECT_EQ(viewer["can"], json({{"read", true}, {"operate", false}, {"repair", false}, {"deploy", false}, {"approve", json::array()}}));
  json op = As("operator", "GET", "/v1/session").json();
  EXPECT_TRUE(op["can"]["operate"]);
  EXPECT_FALSE(op["can"]["repair"]);
  json approver = As("approver:store_manager", "GET", "/v1/session").json();
  EXPECT_EQ(approver["roles"], json({"approver:store_manager"}));
  EXPECT_EQ(approver["can"]["approve"], json({"store_manager"}));
  EXPECT_FALSE(approver["can"]["read"]);
  EXPECT_EQ(Call(port_, "GET", "/v1/session").status, 401);
  EXPECT_EQ(Call(port_, "GET", "/v1/session", "", Bearer("nope")).status, 401);
}

TEST_F(ConsoleApiTest, BulkRetryAndCancelAnswerPerInstance) {
  std::string a = StartHeld("E-1"), b = StartHeld("E-2");
  // Refused before anything runs: no ids, repeated ids, too many, not ids, unknown members.
  for (const char* body : {R"({})", R"({"ids": []})", R"({"ids": ["x", "x"]})", R"({"ids": [1]})",
                           R"({"ids": ["x"], "extra": 1})", R"({"ids": "x"})"}) {
    Reply r = As("operator", "POST", "/v1/bulk/instances/cancel", body);
    EXPECT_EQ(r.status, 400) << body << " " << r.body;
  }
  json many = json::array();
  for (int i = 0; i < 201; ++i) many.push_back("0-1-" + std::to_string(i));
  EXPECT_EQ(As("operator", "POST", "/v1/bulk/instances/cancel", json{{"ids", many}}.dump()).status, 400);
  EXPECT_EQ(WaitFor(a, "held")["status"], "held");  // nothing changed

  // Retry is an admin's repair, as for one instance.
  EXPECT_EQ(As("operator", "POST", "/v1/bulk/instances/retry", json{{"ids", {a}}}.dump()).status, 403);
  Reply retry = As("admin", "POST", "/v1/bulk/instances/retry", json{{"ids", {a, "0-1-999"}}}.dump());
  ASSERT_EQ(retry.status, 200) << retry.body;
  json rj = retry.json();
  EXPECT_EQ(rj["accepted"], 1);
  EXPECT_EQ(rj["refused"], 1);
  EXPECT_EQ(rj["items"][0], json({{"id", a}, {"accepted", true}}));
  EXPECT_EQ(rj["items"][1]["error"]["code"], "not_found");
  WaitFor(a, "held");  // the ledger is still down: held again

  Reply cancel = As("operator", "POST", "/v1/bulk/instances/cancel",
                    json{{"ids", {a, b}}, {"reason", "ledger retired"}}.dump());
  ASSERT_EQ(cancel.status, 200) << cancel.body;
  EXPECT_EQ(cancel.json()["accepted"], 2);
  WaitFor(a, "cancelled");
  WaitFor(b, "cancelled");
  // A second cancel is refused per instance with the engine's reason.
  json again = As("operator", "POST", "/v1/bulk/instances/cancel", json{{"ids", {a}}}.dump()).json();
  EXPECT_EQ(again["refused"], 1);
  EXPECT_EQ(again["items"][0]["error"]["code"], "wrong_state");
}

TEST_F(ConsoleApiTest, CountsPerStatusAndListFilters) {
  std::string a = StartHeld("E-10"), b = StartHeld("E-11");
  json counts = As("viewer", "GET", "/v1/stats/instances?workflow=ledger_post").json();
  EXPECT_EQ(counts["counts"]["held"], 2);
  EXPECT_EQ(counts["counts"]["completed"], 0);  // every status is listed
  EXPECT_EQ(counts["total"], 2);
  EXPECT_TRUE(counts["complete"]);
  EXPECT_EQ(As("viewer", "GET", "/v1/stats/instances?workflow=nosuch").json()["total"], 0);
  EXPECT_EQ(As("viewer", "GET", "/v1/stats/instances?workflow=1bad").status, 400);
  EXPECT_EQ(As("approver:store_manager", "GET", "/v1/stats/instances").status, 403);

  auto ids = [&](const std::string& q) {
    std::vector<std::string> out;
    Reply r = As("viewer", "GET", "/v1/instances?" + q);
    EXPECT_EQ(r.status, 200) << q << " " << r.body;
    json page = r.json();
    for (const auto& i : page["items"]) out.push_back(i["id"]);
    return out;
  };
  EXPECT_EQ(ids("workflow=ledger_post&version=1"), (std::vector<std::string>{a, b}));
  EXPECT_TRUE(ids("workflow=ledger_post&version=2").empty());
  EXPECT_EQ(ids("created_from=2000-01-01T00:00:00Z&created_to=2999-01-01T00:00:00Z"), (std::vector<std::string>{a, b}));
  EXPECT_TRUE(ids("created_to=2000-01-01T00:00:00Z").empty());
  // Filtered pages continue after the last instance looked at.
  Reply first = As("viewer", "GET", "/v1/instances?version=1&limit=1");
  ASSERT_EQ(first.json()["items"].size(), 1u);
  std::string cursor = first.json().value("next_cursor", "");
  ASSERT_EQ(cursor, a);
  EXPECT_EQ(ids("version=1&limit=1&cursor=" + cursor), (std::vector<std::string>{b}));
  EXPECT_EQ(As("viewer", "GET", "/v1/instances?created_from=yesterday").status, 400);
  EXPECT_EQ(As("viewer", "GET", "/v1/instances?version=0").status, 400);
}

TEST_F(ConsoleApiTest, ServesTheEmbeddedConsoleWithItsHeaders) {
  if (!FindConsoleAsset("/index.html")) GTEST_SKIP() << "built with -DRF_CONSOLE=OFF";
  Reply index = Call(port_, "GET", "/");
  ASSERT_EQ(index.status, 200);
  EXPECT_EQ(index.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_EQ(index.headers["content-security-policy"], kConsoleCsp);
  EXPECT_EQ(index.headers["x-content-type-options"], "nosniff");
  EXPECT_EQ(index.headers["x-frame-options"], "DENY");
  EXPECT_EQ(index.headers["cache-control"], "no-cache");
  EXPECT_NE(index.body.find("<div id=\"app\">"), std::string::npos);
  EXPECT_EQ(Call(port_, "GET", "/index.html").body, index.body);
  // Console routes are index.html (the browser routes them); files are only what is embedded.
  for (const char* p : {"/instances", "/instances/01-2-3", "/workflows/store_return?version=2", "/inbox"}) {
    Reply r = Call(port_, "GET", p);
    EXPECT_EQ(r.status, 200) << p;
    EXPECT_EQ(r.body, index.body) << p;
  }
  int hashed = 0;
  for (const auto& a : EmbeddedConsoleAssets()) {
    Reply r = Call(port_, "GET", a.path);
    ASSERT_EQ(r.status, 200) << a.path;
    EXPECT_EQ(r.body.size(), a.size) << a.path;
    EXPECT_EQ(r.headers["content-type"], a.content_type);
    EXPECT_EQ(r.headers["etag"], std::string("\"") + a.sha256 + "\"");
    if (std::string_view(a.path).substr(0, 8) == "/assets/") {
      ++hashed;
      EXPECT_EQ(r.headers["cache-control"], "public, max-age=31536000, immutable") << a.path;
      Reply again = Call(port_, "GET", a.path, "", {{"If-None-Match", r.headers["etag"]}});
      EXPECT_EQ(again.status, 304);
      EXPECT_TRUE(again.body.empty());
    }
  }
  EXPECT_GE(hashed, 2);  // the script and the stylesheet at least
  // Never in place of the API, and nothing but GET.
  for (const char* p : {"/v1", "/v1/", "/v1/nothing", "/metrics/x", "/assets/nope-123.js", "/robots.txt"}) {
    Reply r = Call(port_, "GET", p);
    EXPECT_EQ(r.status, 404) << p << " " << r.body;
    EXPECT_EQ(r.headers["content-type"], "application/json") << p;
  }
  // Paths are looked up in the table, never on disk: a dot-dot path is just a console route.
  EXPECT_EQ(Call(port_, "GET", "/../etc/passwd").body, index.body);
  EXPECT_EQ(Call(port_, "GET", "/metrics").status, 401);
  EXPECT_EQ(Call(port_, "GET", "/healthz").status, 200);
  EXPECT_NE(Call(port_, "POST", "/", "{}").status, 200);
  EXPECT_NE(Call(port_, "DELETE", "/instances").status, 200);
}

}  // namespace
}  // namespace rf::server
