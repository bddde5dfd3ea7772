// Token lifecycle over real sockets on port 0 and a real LevelDB directory: expiry on the
// service's adjustable clock (no sleeps), default expiry per role, revocation on the next request
// (and after a restart), rotation with an overlap, last use, accounts and their roles, a listing
// that never shows a token, and first-edition token records that keep working.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "server/auth.h"
#include "server/config.h"
#include "server/service.h"
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

const char* kAdmin = "rf_test-admin-token-0123456789";
const char* kTokenAdmin = "rf_test-token-admin-0123456789";

class TokenLifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("rf_token_test_" + std::to_string(::getpid()) + "_" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_ / "workflows");
  }
  void TearDown() override {
    service_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void StartService() {
    json config{{"listen", "127.0.0.1:0"},
                {"data_dir", (dir_ / "data").string()},
                {"workflow_dirs", {(dir_ / "workflows").string()}},
                {"adjustable_clock", true},
                {"tokens",
                 {{{"name", "root"}, {"sha256", Sha256Hex(kAdmin)}, {"roles", {"admin"}}},
                  {{"name", "keymaster"}, {"sha256", Sha256Hex(kTokenAdmin)}, {"roles", {"token_admin"}}}}},
                {"token_expiry", {{"operator", "1h"}, {"approver:*", "8h"}}},
                {"log", {{"level", "info"}, {"file", (dir_ / "service.log").string()}}}};
    auto c = ParseConfig(config.dump(), dir_);
    ASSERT_TRUE(c.ok()) << c.status().message();
    service_ = std::make_unique<Service>(std::move(*c), "");
    Status s = service_->Start();
    ASSERT_TRUE(s.ok()) << s.message();
    port_ = service_->port();
  }
  void Restart() {
    service_->Shutdown();
    service_.reset();
    StartService();
  }

  Reply Admin(const std::string& method, const std::string& target, const std::string& body = {}) {
    return Call(port_, method, target, body, Bearer(kTokenAdmin));
  }
  void Advance(const std::string& by) {
    Reply r = Call(port_, "POST", "/v1/admin/clock", json{{"advance", by}}.dump(), Bearer(kAdmin));
    ASSERT_EQ(r.status, 200) << r.body;
  }
  int Use(const std::string& token) { return Call(port_, "GET", "/v1/instances", "", Bearer(token)).status; }
  std::string Create(const json& body) {
    Reply r = Admin("POST", "/v1/tokens", body.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json().value("token", "");
  }
  json Listed(const std::string& name) {
    json list = Admin("GET", "/v1/tokens").json();
    for (const auto& t : list["items"])
      if (t["name"] == name) return t;
    return nullptr;
  }

  fs::path dir_;
  std::unique_ptr<Service> service_;
  int port_ = 0;
};

TEST_F(TokenLifecycleTest, ExpiryFollowsTheServiceClock) {
  StartService();
  std::string t = Create({{"name", "till-7"}, {"account", "pos"}, {"kind", "service"},
                          {"roles", {"viewer"}}, {"expires_in", "2h"}});
  ASSERT_EQ(t.rfind("rf_", 0), 0u);
  EXPECT_EQ(Use(t), 200);
  Advance("1h59m");
  EXPECT_EQ(Use(t), 200);
  Advance("2m");
  Reply r = Call(port_, "GET", "/v1/instances", "", Bearer(t));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.json()["error"]["code"], "unauthenticated");
  json listed = Listed("till-7");
  EXPECT_EQ(listed["status"], "expired");
  EXPECT_EQ(listed["account"], "pos");
  EXPECT_EQ(listed["kind"], "service");
}

TEST_F(TokenLifecycleTest, DefaultExpiryPerRole) {
  StartService();
  std::string op = Create({{"name", "night-shift"}, {"roles", {"operator"}}});
  std::string viewer = Create({{"name", "dashboard"}, {"roles", {"viewer"}}});
  std::string mixed = Create({{"name", "manager"}, {"roles", {"viewer", "approver:store_manager"}}});
  EXPECT_TRUE(Listed("dashboard")["expires_at"].is_null());
  EXPECT_FALSE(Listed("night-shift")["expires_at"].is_null());
  Advance("59m");
  EXPECT_EQ(Use(op), 200);
  Advance("2m");
  EXPECT_EQ(Use(op), 401);     // operator: 1h
  EXPECT_EQ(Use(mixed), 200);  // approver:*: 8h
  Advance("7h");
  EXPECT_EQ(Use(mixed), 401);
  Advance("30d");
  EXPECT_EQ(Use(viewer), 200);  // no default for viewer: never expires
}

TEST_F(TokenLifecycleTest, RevocationTakesEffectOnTheNextRequestAndSurvivesARestart) {
  StartService();
  std::string t = Create({{"name", "erp-callbacks"}, {"kind", "service"}, {"roles", {"viewer"}}});
  EXPECT_EQ(Use(t), 200);
  Reply r = Admin("DELETE", "/v1/tokens/erp-callbacks");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["status"], "revoked");
  EXPECT_EQ(Use(t), 401);
  EXPECT_EQ(Admin("DELETE", "/v1/tokens/erp-callbacks").status, 409);
  EXPECT_EQ(Admin("DELETE", "/v1/tokens/nobody").status, 404);
  // The name stays taken: the record is kept (who had it, when it was revoked).
  EXPECT_EQ(Admin("POST", "/v1/tokens", R"({"name":"erp-callbacks","roles":["viewer"]})").status, 409);
  Restart();
  EXPECT_EQ(Use(t), 401);
  EXPECT_EQ(Listed("erp-callbacks")["status"], "revoked");
}

TEST_F(TokenLifecycleTest, AConfiguredTokenCanBeRevoked) {
  StartService();
  EXPECT_EQ(Use(kAdmin), 200);
  ASSERT_EQ(Admin("DELETE", "/v1/tokens/root").status, 200);
  EXPECT_EQ(Use(kAdmin), 401);
  Restart();
  EXPECT_EQ(Use(kAdmin), 401);
}

TEST_F(TokenLifecycleTest, RotationKeepsTheOldTokenUntilTheOverlapEnds) {
  StartService();
  std::string old = Create({{"name", "store-12"}, {"account", "store-12-backoffice"}, {"kind", "service"},
                            {"roles", {"viewer"}}});
  Reply r = Admin("POST", "/v1/tokens/store-12/rotate", R"({"overlap":"10m"})");
  ASSERT_EQ(r.status, 201) << r.body;
  std::string fresh = r.json()["token"];
  EXPECT_EQ(r.json()["name"], "store-12.2");
  EXPECT_EQ(r.json()["account"], "store-12-backoffice");
  EXPECT_EQ(r.json()["previous"]["rotated_to"], "store-12.2");
  EXPECT_FALSE(r.json()["previous"]["expires_at"].is_null());
  EXPECT_NE(fresh, old);
  EXPECT_EQ(Use(old), 200);
  EXPECT_EQ(Use(fresh), 200);
  Advance("11m");
  EXPECT_EQ(Use(old), 401);
  EXPECT_EQ(Use(fresh), 200);
  // A second rotation names the next one; an expired token cannot be rotated.
  EXPECT_EQ(Admin("POST", "/v1/tokens/store-12.2/rotate", "").json()["name"], "store-12.3");
  EXPECT_EQ(Admin("POST", "/v1/tokens/store-12/rotate", "").status, 409);
  EXPECT_EQ(Admin("POST", "/v1/tokens/store-12.2/rotate", R"({"overlap":"soon"})").status, 400);
}

TEST_F(TokenLifecycleTest, ListingShowsLastUseButNeverATokenOrItsHash) {
  StartService();
  std::string t = Create({{"name", "pos-till-1"}, {"roles", {"viewer"}}});
  EXPECT_TRUE(Listed("pos-till-1")["last_used_at"].is_null());
  EXPECT_EQ(Use(t), 200);
  EXPECT_FALSE(Listed("pos-till-1")["last_used_at"].is_null());
  std::string list = Admin("GET", "/v1/tokens").body;
  for (const std::string& secret : {t, std::string(kAdmin), std::string(kTokenAdmin)}) {
    EXPECT_EQ(list.find(secret), std::string::npos);
    EXPECT_EQ(list.find(Sha256Hex(secret)), std::string::npos);
  }
  service_->Shutdown();
  std::string grep = "grep -r -q -e '" + t + "' -e '" + kTokenAdmin + "' " + dir_.string();
  EXPECT_NE(std::system(grep.c_str()), 0) << "a token in clear in the data dir or the log";
}

TEST_F(TokenLifecycleTest, RolesBelongToTheAccount) {
  StartService();
  Create({{"name", "pos-a"}, {"account", "pos"}, {"kind", "service"}, {"roles", {"viewer"}}});
  Reply other = Admin("POST", "/v1/tokens", R"({"name":"pos-b","account":"pos","roles":["operator"]})");
  EXPECT_EQ(other.status, 409) << other.body;
  EXPECT_EQ(Admin("POST", "/v1/tokens", R"({"name":"pos-b","account":"pos","kind":"person"})").status, 409);
  Reply same = Admin("POST", "/v1/tokens", R"({"name":"pos-b","account":"pos"})");
  ASSERT_EQ(same.status, 201) << same.body;
  EXPECT_EQ(same.json()["roles"], json::array({"viewer"}));
  EXPECT_EQ(same.json()["kind"], "service");
  EXPECT_EQ(Admin("POST", "/v1/tokens", R"({"name":"lonely"})").status, 400);  // a new account needs roles
  EXPECT_EQ(Admin("POST", "/v1/tokens", R"({"name":"x","roles":["viewer"],"kind":"robot"})").status, 400);
  EXPECT_EQ(Admin("POST", "/v1/tokens", R"({"name":"x","roles":["viewer"],"expires_in":"never"})").status, 400);
  // token_admin manages tokens and nothing else.
  EXPECT_EQ(Admin("POST", "/v1/workflows/reload", "{}").status, 403);
  EXPECT_EQ(Admin("GET", "/v1/instances").status, 403);
}

TEST_F(TokenLifecycleTest, FirstEditionTokenRecordsKeepWorking) {
  const std::string legacy = "rf_legacy-token-from-the-first-edition";
  {
    fs::create_directories(dir_ / "data");
    auto store = state::OpenLevelDb((dir_ / "data" / "store").string(), {});
    ASSERT_TRUE(store.ok()) << store.status().message();
    ASSERT_TRUE(state::keys::PrepareFormat(store->get()).ok());
    state::WriteBatch b;
    b.Put(state::keys::AuthToken(Sha256Hex(legacy)), R"({"name":"legacy-ops","roles":["viewer"]})");
    ASSERT_TRUE((*store)->Commit(b).ok());
  }
  StartService();
  EXPECT_EQ(Use(legacy), 200);
  json listed = Listed("legacy-ops");
  EXPECT_EQ(listed["account"], "legacy-ops");
  EXPECT_EQ(listed["kind"], "person");
  EXPECT_EQ(listed["status"], "active");
  EXPECT_TRUE(listed["expires_at"].is_null());
  // It can be rotated and revoked like any other; the new record format is read back.
  ASSERT_EQ(Admin("DELETE", "/v1/tokens/legacy-ops").status, 200);
  Restart();
  EXPECT_EQ(Use(legacy), 401);
}

}  // namespace
}  // namespace rf::server
