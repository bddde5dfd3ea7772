#include "server/openapi.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "server/api.h"

namespace rf::server {

using nlohmann::json;

namespace {

json Ref(const std::string& schema) { return {{"$ref", "#/components/schemas/" + schema}}; }

std::string OperationId(const Route& r) {
  std::string id;
  for (char m : r.method) id.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(m))));
  bool upper = true;
  for (char ch : r.pattern) {
    if (std::isalnum(static_cast<unsigned char>(ch))) {
      id.push_back(upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(ch))) : ch);
      upper = false;
    } else {
      upper = true;
    }
  }
  return id;
}

json ParamSchema(const PathParam& p) {
  if (p.kind == ParamKind::kName)
    return {{"type", "string"}, {"pattern", "^[A-Za-z_][A-Za-z0-9_]*$"}, {"maxLength", 128}};
  return {{"type", "string"}, {"minLength", 1}, {"maxLength", 200}};
}

json QuerySchema(const QueryParam& q) {
  switch (q.type) {
    case QueryParam::Type::kEnum: return {{"type", "string"}, {"enum", q.allowed}};
    case QueryParam::Type::kInteger: return {{"type", "integer"}, {"minimum", q.min}, {"maximum", q.max}};
    case QueryParam::Type::kText: break;
  }
  return {{"type", "string"}};
}

json Operation(const Route& r) {
  json op;
  op["summary"] = r.summary;
  if (!r.description.empty()) op["description"] = r.description;
  op["operationId"] = OperationId(r);
  op["tags"] = json::array({r.tag});
  json parameters = json::array();
  for (const auto& p : r.params)
    parameters.push_back({{"name", p.name}, {"in", "path"}, {"required", true}, {"description", p.description},
                          {"schema", ParamSchema(p)}});
  for (const auto& q : r.query) {
    json param{{"name", q.name}, {"in", "query"}, {"required", false}, {"schema", QuerySchema(q)}};
    std::string d = q.description;
    if (!q.valid_what.empty()) d += (d.empty() ? "" : "; ") + ("must be " + q.valid_what);
    if (!d.empty()) param["description"] = d;
    parameters.push_back(param);
  }
  if (!parameters.empty()) op["parameters"] = parameters;
  if (r.IsPublic()) {
    op["security"] = json::array();
  } else if (r.BySignature()) {
    op["security"] = json::array();
    op["parameters"] = op.value("parameters", json::array());
    for (const char* h : {"webhook-id", "webhook-timestamp", "webhook-signature"})
      op["parameters"].push_back({{"name", h}, {"in", "header"}, {"required", true}, {"schema", {{"type", "string"}}}});
  } else {
    op["security"] = json::array({{{"bearer", json::array()}}});
    op["x-roles"] = r.roles;
  }
  if (r.body)
    op["requestBody"] = {{"required", r.body->required},
                         {"content", {{r.body->content_type, {{"schema", Ref(r.body->schema)}}}}}};
  json responses = json::object();
  for (const auto& o : r.AllOutcomes()) {
    json resp{{"description", o.description}};
    if (o.status < 300) {
      if (r.content_type == "text/plain")
        resp["content"] = {{"text/plain", {{"schema", {{"type", "string"}}}}}};
      else if (!o.schema.empty())
        resp["content"] = {{"application/json", {{"schema", Ref(o.schema)}}}};
    } else {
      resp["content"] = {{"application/json", {{"schema", Ref("Error")}}}};
      if (o.status == 429 || o.status == 503 || (o.status == 409 && r.BySignature()))
        resp["headers"] = {{"Retry-After", {{"description", "seconds to wait before retrying"},
                                            {"schema", {{"type", "integer"}}}}}};
    }
    responses[std::to_string(o.status)] = resp;
  }
  op["responses"] = responses;
  return op;
}

json Schemas() {
  auto obj = [](json props, std::vector<std::string> required = {}) {
    json s{{"type", "object"}, {"properties", std::move(props)}};
    if (!required.empty()) s["required"] = required;
    return s;
  };
  auto closed = [&](json props, std::vector<std::string> required = {}) {
    json s = obj(std::move(props), std::move(required));
    s["additionalProperties"] = false;
    return s;
  };
  json str{{"type", "string"}}, integer{{"type", "integer"}}, boolean{{"type", "boolean"}}, any_obj{{"type", "object"}};
  auto list_of = [](json item) { return json{{"type", "array"}, {"items", std::move(item)}}; };
  json text200{{"type", "string"}, {"minLength", 1}, {"maxLength", 200}};
  json nullable_str{{"type", "string"}, {"nullable", true}};
  return {
      {"Error", obj({{"error", obj({{"code", str},
                                    {"message", str},
                                    {"details", {{"description", "more about the error, e.g. a checker's diagnostics"}}}},
                                   {"code", "message"})}},
                    {"error"})},
      {"Health", obj({{"status", str}})},
      {"OpenApiDocument", any_obj},
      {"FlowSource", str},
      {"Empty", closed(json::object())},
      {"WorkflowList", obj({{"items", list_of(obj({{"name", str}, {"versions", list_of(integer)}, {"latest", integer}}))}})},
      {"WorkflowDetail", obj({{"name", str}, {"version", integer}, {"versions", list_of(integer)}, {"source", str},
                              {"deployed_at", str}, {"inputs", list_of(any_obj)},
                              {"graph", obj({{"dot", str}, {"mermaid", str}})}})},
      {"DeployResult", obj({{"workflow", str}, {"version", integer}, {"created", boolean}, {"diagnostics", list_of(any_obj)}})},
      {"ReloadResult", obj({{"items", list_of(any_obj)}})},
      {"StartRequest", closed({{"input", any_obj}, {"business_key", text200}, {"correlation_id", text200},
                               {"version", {{"type", "integer"}, {"minimum", 1}}}})},
      {"StartResult", obj({{"id", str}, {"created", boolean}}, {"id"})},
      {"Instance", obj({{"id", str}, {"workflow", str}, {"version", integer}, {"status", str}, {"business_key", str},
                        {"data", any_obj}, {"threads", list_of(any_obj)}, {"error", any_obj}})},
      {"InstancePage", obj({{"items", list_of(Ref("Instance"))}, {"next_cursor", str}})},
      {"EventList", obj({{"items", list_of(any_obj)}})},
      {"CancelRequest", closed({{"reason", {{"type", "string"}, {"maxLength", 2000}}}})},
      {"RetryRequest", closed({{"patch", any_obj}})},
      {"Accepted", obj({{"id", str}, {"accepted", boolean}})},
      {"EventRequest", closed({{"key", {{"oneOf", json::array({text200, {{"type", "number"}}})}}}, {"data", {{"description", "any JSON value; default {}"}}}}, {"key"})},
      {"EventResult", obj({{"delivered_to", integer}, {"buffered", boolean}})},
      {"Task", obj({{"id", str}, {"instance", str}, {"role", str}, {"title", str}, {"details", str}, {"status", str}})},
      {"TaskList", obj({{"items", list_of(Ref("Task"))}})},
      {"TaskDecision", closed({{"decision", {{"type", "string"}, {"enum", {"approve", "reject"}}}},
                               {"comment", {{"type", "string"}, {"maxLength", 4000}}}},
                              {"decision"})},
      {"TaskAccepted", obj({{"task", str}, {"accepted", boolean}})},
      {"DeadLetterList", obj({{"items", list_of(any_obj)}})},
      {"ConnectorList", obj({{"items", list_of(any_obj)}})},
      {"TokenInfo", obj({{"name", str}, {"account", str}, {"kind", {{"type", "string"}, {"enum", {"person", "service"}}}},
                          {"roles", list_of(str)},
                          {"status", {{"type", "string"}, {"enum", {"active", "expired", "revoked"}}}},
                          {"configured", boolean}, {"created_at", nullable_str}, {"expires_at", nullable_str},
                          {"revoked_at", nullable_str}, {"last_used_at", nullable_str}, {"rotated_to", str}})},
      {"TokenList", obj({{"items", list_of(Ref("TokenInfo"))}})},
      {"TokenRequest", closed({{"name", {{"type", "string"}, {"pattern", "^[A-Za-z0-9._:@-]{1,64}$"}}},
                               {"account", {{"type", "string"}, {"pattern", "^[A-Za-z0-9._:@-]{1,64}$"}}},
                               {"kind", {{"type", "string"}, {"enum", {"person", "service"}}}},
                               {"roles", {{"type", "array"}, {"items", str}}},
                               {"expires_in", str}},
                              {"name"})},
      {"TokenCreated", obj({{"name", str}, {"account", str}, {"roles", list_of(str)}, {"expires_at", nullable_str},
                            {"token", str}})},
      {"RotateRequest", closed({{"name", {{"type", "string"}, {"pattern", "^[A-Za-z0-9._:@-]{1,64}$"}}},
                                {"overlap", str}, {"expires_in", str}})},
      {"TokenRotated", obj({{"name", str}, {"account", str}, {"token", str}, {"previous", Ref("TokenInfo")}})},
      {"WebhookBody", obj({{"type", str}, {"timestamp", str}, {"data", any_obj}}, {"type"})},
      {"WebhookResult", obj({{"status", {{"type", "string"}, {"enum", {"accepted", "duplicate", "ignored"}}}},
                             {"webhook_id", str}, {"instance", str}, {"delivered_to", integer}, {"type", str}},
                            {"status"})},
      {"ClockRequest", closed({{"advance", str}}, {"advance"})},
      {"ClockResult", obj({{"now", str}})},
      {"Session", obj({{"name", str},
                       {"roles", list_of(str)},
                       {"can", obj({{"read", boolean}, {"operate", boolean}, {"repair", boolean}, {"deploy", boolean},
                                    {"approve", list_of(str)}})}},
                      {"name", "roles", "can"})},
      {"BulkCancelRequest", closed({{"ids", {{"type", "array"}, {"minItems", 1}, {"maxItems", 200}, {"items", text200}}},
                                    {"reason", {{"type", "string"}, {"maxLength", 2000}}}},
                                   {"ids"})},
      {"BulkRetryRequest", closed({{"ids", {{"type", "array"}, {"minItems", 1}, {"maxItems", 200}, {"items", text200}}}},
                                  {"ids"})},
      {"BulkResult", obj({{"items", list_of(obj({{"id", str}, {"accepted", boolean}, {"error", any_obj}}))},
                          {"accepted", integer},
                          {"refused", integer}})},
      {"InstanceCounts", obj({{"counts", {{"type", "object"}, {"additionalProperties", integer}}},
                              {"total", integer},
                              {"complete", boolean}})},
  };
}

}  // namespace

std::string OpenApiDocument(const std::vector<Route>& routes) {
  json paths = json::object();
  std::set<std::string> tags;
  for (const auto& r : routes) {
    std::string m = r.method;
    std::transform(m.begin(), m.end(), m.begin(), ::tolower);
    paths[r.pattern][m] = Operation(r);
    tags.insert(r.tag);
  }
  json tag_list = json::array();
  for (const auto& t : tags) tag_list.push_back({{"name", t}, {"description", "The " + t + " routes."}});
  json doc{{"openapi", "3.0.3"},
           {"info", {{"title", "retailflow"},
                     {"version", "0.1.0"},
                     {"license", {{"name", "Proprietary"}, {"url", "https://retailflow.invalid/license"}}},
                     {"description",
                      "The retailflow service API. Errors are {\"error\": {\"code\", \"message\", \"details\"}}; "
                      "an internal error's message carries the request id (X-Request-Id) under which the service "
                      "logged the details. Unknown query parameters are refused with 400."}}},
           {"servers", json::array({{{"url", "/"}, {"description", "the service that serves this document"}}})},
           {"tags", tag_list},
           {"paths", paths},
           {"components", {{"schemas", Schemas()},
                           {"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}}}}};
  return doc.dump();
}

std::string Api::OpenApiJson() const { return OpenApiDocument(routes()); }

}  // namespace rf::server
