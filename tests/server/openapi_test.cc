// The OpenAPI document and the router come from one route table: the document passes redocly's
// lint (recommended rules) and lists, route by route, exactly the statuses the route declares.
// That a handler answers only declared statuses is checked at run time by the Api itself
// (retailflow_api_undeclared_responses_total; see api_input_test.cc).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "server/api.h"

namespace rf::server {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json Document() {
  Api api{ApiDeps{}};
  return json::parse(api.OpenApiJson());
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), ::tolower);
  return s;
}

TEST(OpenApiTest, PassesRedoclyLint) {
  if (std::system("command -v node > /dev/null 2>&1") != 0)
    GTEST_SKIP() << "node is not installed: the OpenAPI lint needs it (scripts/setup.sh installs it)";
  fs::path cli = fs::path(RF_SOURCE_DIR) / "tools/openapi-lint/node_modules/.bin/redocly";
  ASSERT_TRUE(fs::exists(cli)) << "redocly is missing: run scripts/setup.sh (npm ci in tools/openapi-lint)";
  fs::path dir = fs::temp_directory_path() / ("rf_openapi_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "openapi.json") << Document().dump(2);
  std::string out = (dir / "lint.out").string();
  std::string cmd = "cd " + dir.string() + " && " + cli.string() +
                    " lint --config " + (fs::path(RF_SOURCE_DIR) / "tools/openapi-lint/redocly.yaml").string() +
                    " --format=stylish openapi.json > " + out + " 2>&1";
  int rc = std::system(cmd.c_str());
  std::stringstream ss;
  ss << std::ifstream(out).rdbuf();
  std::string report = ss.str();
  EXPECT_EQ(rc, 0) << report;
  // Warnings too: the recommended rules pass without one (stylish format: "12:3  warning  rule").
  EXPECT_EQ(report.find("  warning  "), std::string::npos) << report;
  EXPECT_EQ(report.find("  error  "), std::string::npos) << report;
  std::error_code ec;
  fs::remove_all(dir, ec);
}

TEST(OpenApiTest, DocumentAndRouterAgreeRouteByRouteStatusByStatus) {
  json doc = Document();
  Api api{ApiDeps{}};
  size_t operations = 0;
  for (const auto& [path, item] : doc["paths"].items()) operations += item.size();
  EXPECT_EQ(operations, api.routes().size()) << "the document has operations no route serves";
  for (const auto& r : api.routes()) {
    SCOPED_TRACE(r.method + " " + r.pattern);
    ASSERT_TRUE(doc["paths"].contains(r.pattern));
    const json& op = doc["paths"][r.pattern][Lower(r.method)];
    ASSERT_TRUE(op.is_object());
    std::set<std::string> documented, declared;
    for (const auto& [status, _] : op["responses"].items()) documented.insert(status);
    for (const auto& o : r.AllOutcomes()) declared.insert(std::to_string(o.status));
    EXPECT_EQ(documented, declared);
    EXPECT_TRUE(declared.count("400") && declared.count("500") && declared.count("503"));
    if (r.ByToken()) EXPECT_TRUE(declared.count("401") && declared.count("403") && declared.count("429"));
    if (r.body) {
      EXPECT_TRUE(declared.count("400") && declared.count("413"));
      EXPECT_EQ(op["requestBody"]["required"], r.body->required);
    } else {
      EXPECT_FALSE(op.contains("requestBody"));
    }
    std::set<std::string> path_params, query_params;
    for (const auto& p : op.value("parameters", json::array())) {
      if (p["in"] == "path") path_params.insert(p["name"].get<std::string>());
      if (p["in"] == "query") query_params.insert(p["name"].get<std::string>());
    }
    std::set<std::string> want_path, want_query;
    for (const auto& p : r.params) want_path.insert(p.name);
    for (const auto& q : r.query) want_query.insert(q.name);
    EXPECT_EQ(path_params, want_path);
    EXPECT_EQ(query_params, want_query);
    // Every "{name}" of the pattern is a typed parameter.
    size_t braces = std::count(r.pattern.begin(), r.pattern.end(), '{');
    EXPECT_EQ(braces, r.params.size());
    if (r.ByToken()) EXPECT_EQ(op["x-roles"], json(r.roles));
  }
}

TEST(OpenApiTest, TheIssuesFoundByTheLintStayFixed) {
  json doc = Document();
  EXPECT_TRUE(doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["details"].is_object());
  ASSERT_TRUE(doc["servers"].is_array());
  EXPECT_FALSE(doc["servers"].empty());
  EXPECT_EQ(doc["paths"]["/v1/instances/{id}/cancel"]["post"]["requestBody"]["required"], false);
  EXPECT_TRUE(doc["paths"]["/v1/instances"]["get"]["responses"].contains("400"));
  for (const char* p : {"/v1/instances/{id}/cancel", "/v1/instances/{id}/retry", "/v1/instances/{id}/skip",
                        "/v1/tasks/{id}/complete", "/v1/workflows", "/v1/admin/clock", "/v1/tokens",
                        "/v1/webhooks/{source}"})
    EXPECT_TRUE(doc["paths"][p]["post"]["responses"].contains("409")) << p;
  std::string in_progress = doc["paths"]["/v1/webhooks/{source}"]["post"]["responses"]["409"]["description"];
  EXPECT_NE(in_progress.find("in_progress"), std::string::npos);
}

}  // namespace
}  // namespace rf::server
