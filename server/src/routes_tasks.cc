// Human tasks (approvals): list, read, decide. Approvers see and decide only their roles' tasks.
#include <algorithm>

#include "server/src/api_context.h"

namespace rf::server {

using nlohmann::json;

namespace {

bool IsRoleName(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

void ListTasks(Api& a, ApiContext& c) {
  std::string role = c.Query("role");
  std::string status = c.Query("status", "open");
  if (status == "all") status.clear();
  size_t limit = static_cast<size_t>(std::stoll(c.Query("limit", "200")));
  std::vector<std::string> roles;
  if (SeesEverything(c.principal)) {
    roles.push_back(role);
  } else {
    for (const auto& r : ApproverRoles(c.principal))
      if (role.empty() || r == role) roles.push_back(r);
  }
  std::vector<Value> out;
  for (const auto& r : roles) {
    auto tasks = a.deps().engine->ListTasks(r, status, limit);
    if (!tasks.ok()) return c.respond(InternalError(c.request, tasks.status().ToString()));
    for (auto& t : *tasks) out.push_back(std::move(t));
  }
  c.respond(JsonResponse(200, ListJson(out)));
}

void GetTask(Api& a, ApiContext& c) {
  auto t = a.deps().engine->GetTask(c.Param("id"));
  if (!t.ok()) return c.respond(StatusError(c, t.status(), "no task " + c.Param("id")));
  if (!SeesEverything(c.principal)) {
    auto mine = ApproverRoles(c.principal);
    if (std::find(mine.begin(), mine.end(), TextOf(t->Find("role"))) == mine.end())
      return c.respond(ErrorResponse(403, "forbidden", "this task is for role " + TextOf(t->Find("role"))));
  }
  c.respond(JsonResponse(200, t->ToJson()));
}

void Complete(Api& a, ApiContext& c) {
  auto body = ReadBody(c, false);
  if (!body) return;
  JsonReader r(*body);
  auto decision = r.Text("decision", kRequired, {.one_of = {"approve", "reject"}});
  auto comment = r.Text("comment", kOptional, {.max_length = 4000});
  r.RejectUnknown();
  if (Refused(c, r)) return;
  auto t = a.deps().engine->GetTask(c.Param("id"));
  if (!t.ok()) return c.respond(StatusError(c, t.status(), "no task " + c.Param("id")));
  std::string role = TextOf(t->Find("role"));
  if (!c.principal.IsAdmin() && !c.principal.Has("approver:" + role))
    return c.respond(ErrorResponse(403, "forbidden", "this task needs role approver:" + role));
  engine::TaskDecision d;
  d.task_id = c.Param("id");
  d.decision = *decision;
  d.actor = c.principal.name;
  d.comment = comment.value_or("");
  auto ctx = Keep(c);
  a.deps().engine->CompleteTask(std::move(d), [ctx](Result<bool> res) {
    const std::string& id = ctx->Param("id");
    if (!res.ok()) return ctx->respond(StatusError(*ctx, res.status(), "no task " + id));
    ctx->respond(JsonResponse(202, json{{"task", id}, {"accepted", true}}.dump()));
  });
}

}  // namespace

void AddTaskRoutes(RouteTable& t) {
  const PathParam id{"id", ParamKind::kId, "the task id"};
  t.Add({.method = "GET", .pattern = "/v1/tasks", .roles = kTaskReadRoles,
         .summary = "Human tasks: ?role=&status=open|closed|all&limit= (approvers see their own roles' tasks).",
         .tag = "tasks",
         .query = {{.name = "role", .description = "an approver role, e.g. store_manager", .valid = IsRoleName,
                    .valid_what = "a role name (letters, digits, _ and -)"},
                   {.name = "status", .type = QueryParam::Type::kEnum, .description = "default open",
                    .allowed = {"open", "closed", "all"}},
                   {.name = "limit", .type = QueryParam::Type::kInteger, .description = "at most (default 200)",
                    .min = 1, .max = 1000}},
         .outcomes = {{200, "the tasks", "TaskList"}}, .handler = ListTasks});
  t.Add({.method = "GET", .pattern = "/v1/tasks/{id}", .roles = kTaskReadRoles, .summary = "One human task.",
         .tag = "tasks", .params = {id},
         .outcomes = {{200, "the task", "Task"},
                      {403, "the task is for another approver role", ""},
                      {404, "no such task", ""}},
         .handler = GetTask});
  t.Add({.method = "POST", .pattern = "/v1/tasks/{id}/complete", .roles = {"approver:*"},
         .summary = "Decide a task: {\"decision\": \"approve\"|\"reject\", \"comment\"}. Only a token with the "
                    "task's approver role (or admin); the actor is recorded.",
         .tag = "tasks", .params = {id}, .body = RequestBody{"TaskDecision", true},
         .outcomes = {{202, "the decision is recorded", "TaskAccepted"},
                      {403, "the task needs another approver role", ""},
                      {404, "no such task", ""},
                      {409, "the task is already decided (wrong_state)", ""}},
         .handler = Complete});
}

}  // namespace rf::server
