// Workflow definitions: list, read (source, inputs, graph), deploy, reload.
#include "common/utf8.h"
#include "dsl/graph.h"
#include "engine/ir/machine.h"
#include "server/src/api_context.h"
#include "server/workflows.h"

namespace rf::server {

using nlohmann::json;

namespace {

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

int VersionOf(const Value& def) {
  const Value* v = def.Find("version");
  return v && v->is_number() ? static_cast<int>(v->as_number().ToInt64().value_or(0)) : 0;
}

void ListWorkflows(Api& a, ApiContext& c) {
  auto defs = a.deps().engine->ListDefinitions();
  if (!defs.ok()) return c.respond(InternalError(c.request, defs.status().ToString()));
  std::map<std::string, std::vector<int>> versions;
  for (const auto& d : *defs) versions[TextOf(d.Find("name"))].push_back(VersionOf(d));
  json items = json::array();
  for (auto& [name, vs] : versions)
    items.push_back({{"name", name}, {"versions", vs}, {"latest", vs.empty() ? 0 : vs.back()}});
  c.respond(JsonResponse(200, Dump(json{{"items", items}})));
}

void GetWorkflow(Api& a, ApiContext& c) {
  const std::string& name = c.Param("name");
  int version = std::stoi(c.Query("version", "0"));
  auto def = a.deps().engine->GetDefinition(name, version);
  if (!def.ok())
    return c.respond(StatusError(c, def.status(), version ? "no version " + std::to_string(version) + " of workflow " + name
                                                           : "no workflow " + name));
  std::vector<int> versions;
  if (auto defs = a.deps().engine->ListDefinitions(); defs.ok())
    for (const auto& d : *defs)
      if (TextOf(d.Find("name")) == name) versions.push_back(VersionOf(d));
  json out{{"name", name}, {"versions", versions}, {"version", VersionOf(*def)}, {"source", TextOf(def->Find("source"))}};
  if (const Value* dep = def->Find("deployed_at")) out["deployed_at"] = json::parse(dep->ToJson());
  const Value* m = def->Find("machine");
  auto machine = m ? ir::MachineFromJson(m->is_text() ? m->as_text() : m->ToJson())
                   : Result<ir::Machine>(Status::Corruption("definition without machine"));
  if (machine.ok()) {
    out["graph"] = {{"dot", dsl::ToDot(*machine)}, {"mermaid", dsl::ToMermaid(*machine)}};
    json inputs = json::array();
    for (const auto& f : machine->inputs) inputs.push_back({{"name", f.name}, {"type", f.type}, {"optional", f.optional}});
    out["inputs"] = inputs;
  }
  c.respond(JsonResponse(200, Dump(out)));
}

void Deploy(Api& a, ApiContext& c) {
  if (!IsValidUtf8(c.request.body))
    return c.respond(ErrorResponse(400, "invalid_utf8", "the .flow source is not valid UTF-8"));
  DeployOutcome o = a.deps().workflows->Deploy(c.request.body, "api");
  if (o.ok()) {
    return c.respond(JsonResponse(o.http_status, Dump(json{{"workflow", o.workflow},
                                                          {"version", o.version},
                                                          {"created", o.http_status == 201},
                                                          {"diagnostics", o.diagnostics}})));
  }
  if (o.http_status != 422 && o.http_status != 409) return c.respond(InternalError(c.request, o.error));
  json details{{"diagnostics", o.diagnostics}, {"text", o.diagnostics_text}};
  c.respond(ErrorResponse(o.http_status, o.http_status == 422 ? "invalid_workflow" : "conflict", o.error, Dump(details)));
}

void Reload(Api& a, ApiContext& c) {
  json items = json::array();
  for (const auto& o : a.deps().workflows->LoadDirs({})) {
    json item{{"origin", o.origin}, {"status", o.http_status}, {"workflow", o.workflow}, {"version", o.version}};
    if (!o.ok()) item["error"] = o.error, item["diagnostics"] = o.diagnostics;
    items.push_back(item);
  }
  c.respond(JsonResponse(200, Dump(json{{"items", items}})));
}

}  // namespace

void AddWorkflowRoutes(RouteTable& t) {
  const PathParam name{"name", ParamKind::kName, "the workflow's name"};
  t.Add({.method = "GET", .pattern = "/v1/workflows", .roles = kReadRoles,
         .summary = "Deployed workflows and their versions.", .tag = "workflows",
         .outcomes = {{200, "the workflows", "WorkflowList"}}, .handler = ListWorkflows});
  t.Add({.method = "GET", .pattern = "/v1/workflows/{name}", .roles = kReadRoles,
         .summary = "One workflow: versions, source and graph (DOT and Mermaid) of a version (?version=, default latest).",
         .tag = "workflows", .params = {name},
         .query = {{.name = "version", .type = QueryParam::Type::kInteger, .description = "a deployed version (default: the latest)",
                    .min = 1, .max = 1000000000}},
         .outcomes = {{200, "the workflow", "WorkflowDetail"}, {404, "no such workflow or version", ""}},
         .handler = GetWorkflow});
  t.Add({.method = "POST", .pattern = "/v1/workflows", .roles = kDeployRoles,
         .summary = "Deploy a workflow: the body is the .flow source. 201 with the version, 200 if that exact "
                    "version is already deployed, 409 if that version exists with another source, 422 with the "
                    "checker's diagnostics.",
         .tag = "workflows", .body = RequestBody{"FlowSource", true, "text/plain"},
         .outcomes = {{200, "this exact version is already deployed", "DeployResult"},
                      {201, "deployed", "DeployResult"},
                      {409, "this version is deployed with another source (conflict)", ""},
                      {422, "refused by the checker (invalid_workflow, with diagnostics)", ""}},
         .handler = Deploy});
  t.Add({.method = "POST", .pattern = "/v1/workflows/reload", .roles = kDeployRoles,
         .summary = "Re-read the workflow folders and deploy what changed; broken files are refused and their "
                    "running version stays.",
         .tag = "workflows", .outcomes = {{200, "what each file gave", "ReloadResult"}}, .handler = Reload});
}

}  // namespace rf::server
