// Private to server/src: what a route handler gets and the helpers the route files share.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/json_reader.h"
#include "common/value.h"
#include "server/api.h"
#include "server/router.h"

namespace rf::server {

struct ApiContext {
  HttpRequest request;
  std::map<std::string, std::string> params;  // validated against the route's kinds
  std::map<std::string, std::string> query;   // validated against the route's query parameters
  Principal principal;
  Respond respond;  // exactly once, from any thread

  const std::string& Param(const std::string& name) const { return params.at(name); }
  // The query parameter, or `fallback` when it was not given.
  std::string Query(const std::string& name, const std::string& fallback = {}) const;
};

// A copy of the context without the request body, for answers that come later.
std::shared_ptr<ApiContext> Keep(const ApiContext& c);

HttpResponse JsonResponse(int status, std::string body);

// The answer for a Status from the engine or a store. 4xx statuses carry the engine's message
// (business text: which input, which state); a not-found carries `not_found` instead (store
// messages name paths and keys); 5xx carry a generic message with the request id, and the detail
// goes to the service log under that id.
HttpResponse StatusError(const ApiContext& c, const Status& s, const std::string& not_found);
// 500 with a generic message; `detail` is logged with the request id, never sent.
HttpResponse InternalError(const HttpRequest& request, const std::string& detail);

// The request body as a JSON object read by the strict reader, or (having answered 400 with
// invalid_json / invalid_utf8 / too_deep) nothing. An empty body is an empty object when
// `allow_empty`.
std::optional<Value> ReadBody(ApiContext& c, bool allow_empty = true);
// Answers 400 with the reader's first error (invalid_request and its path) when there is one.
bool Refused(ApiContext& c, const JsonReader& r);

std::string ListJson(const std::vector<Value>& items, const std::string& next_cursor = {});
std::string TextOf(const Value* v);

// "approver:store_manager" → "store_manager", for each approver role of the principal.
std::vector<std::string> ApproverRoles(const Principal& p);
bool SeesEverything(const Principal& p);

// The route files: each adds its resource's routes to the table.
void AddHealthRoutes(RouteTable& t);
void AddWorkflowRoutes(RouteTable& t);
void AddInstanceRoutes(RouteTable& t);
void AddEventRoutes(RouteTable& t);
void AddTaskRoutes(RouteTable& t);
void AddConnectorRoutes(RouteTable& t);
void AddAdminRoutes(RouteTable& t);
void AddTokenRoutes(RouteTable& t);
void AddWebhookRoutes(RouteTable& t);
void AddSessionRoutes(RouteTable& t);  // routes_session.cc
void AddBulkRoutes(RouteTable& t);     // routes_bulk.cc

// Role sets used by the route files.
inline const std::vector<std::string> kReadRoles{"viewer", "operator"};
inline const std::vector<std::string> kOperatorRoles{"operator"};
inline const std::vector<std::string> kAdminRoles{"admin"};
inline const std::vector<std::string> kDeployRoles{"deployer"};
inline const std::vector<std::string> kTokenAdminRoles{"token_admin"};
inline const std::vector<std::string> kRepairRoles{"repairer"};
inline const std::vector<std::string> kCancelRoles{"operator", "repairer"};
inline const std::vector<std::string> kTaskReadRoles{"viewer", "operator", "approver:*"};

}  // namespace rf::server
