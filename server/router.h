// The route table: every route of the API with its method, path pattern, typed path parameters,
// query parameters, request body, the roles it accepts and every status it answers. The router
// matches requests against it and refuses bad parameters before a handler runs; the OpenAPI
// document (server/openapi.h) is generated from the same table, so the two cannot disagree.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rf::server {

// What a path parameter may hold. Every kind is valid UTF-8 without control characters.
enum class ParamKind {
  kName,  // a .flow identifier: a letter or `_`, then letters, digits, `_` (workflow, event)
  kId,    // printable ASCII without spaces, 1-200 bytes (instance and task ids, sources)
};

struct PathParam {
  std::string name;
  ParamKind kind = ParamKind::kId;
  std::string description;
};

struct QueryParam {
  enum class Type { kText, kInteger, kEnum };
  std::string name;
  Type type = Type::kText;
  std::string description;
  std::vector<std::string> allowed;  // kEnum
  std::int64_t min = 0, max = 0;     // kInteger
  // kText: when set, the value must pass it (e.g. a cursor is an instance id).
  std::function<bool(std::string_view)> valid;
  std::string valid_what;  // "an instance id from next_cursor"
};

struct RequestBody {
  std::string schema;  // OpenAPI component name
  bool required = true;
  std::string content_type = "application/json";
};

// One status a route answers: its meaning and (for 2xx) its body's schema component. Error
// statuses carry the Error schema.
struct Outcome {
  int status;
  std::string description;
  std::string schema;  // 2xx only; empty = Error for 4xx/5xx
};

struct ApiContext;  // server/src/api_context.h
class Api;
using Handler = std::function<void(Api&, ApiContext&)>;

struct Route {
  std::string method;
  std::string pattern;             // "/v1/instances/{id}": "{name}" matches one segment
  std::vector<std::string> roles;  // empty = public; {"signature"} = webhook signature
  std::string summary;
  std::string tag;                 // the resource, for the OpenAPI document
  std::vector<PathParam> params;   // one per "{name}" of the pattern
  std::vector<QueryParam> query;   // any other query parameter is refused
  std::optional<RequestBody> body;
  std::vector<Outcome> outcomes;   // what the handler answers (success and its own errors)
  std::string content_type = "application/json";  // of the success body
  std::string description;         // longer text for the OpenAPI document
  Handler handler;

  bool IsPublic() const { return roles.empty(); }
  bool BySignature() const { return !roles.empty() && roles.front() == "signature"; }
  bool ByToken() const { return !roles.empty() && !BySignature(); }

  // Every status this route can answer: its own outcomes plus those the router and the HTTP
  // layer give for it (400 bad parameters or body, 401/403/429 for tokens, 413, 500, 503).
  std::vector<Outcome> AllOutcomes() const;
  bool Declares(int status) const;
};

// A request matched to a route: its typed, validated parameters.
struct RouteMatch {
  const Route* route = nullptr;
  bool path_known = false;  // some route has this path (a wrong method is then 405)
  std::map<std::string, std::string> params;
};

class RouteTable {
 public:
  void Add(Route r);
  const std::vector<Route>& routes() const { return routes_; }
  // Segments are matched raw, then percent-decoded into the route's parameters (not validated:
  // see CheckParams).
  RouteMatch Match(std::string_view method, std::string_view path) const;

 private:
  std::vector<Route> routes_;
};

// A refusal of the router: status 400, an error code and a message safe to show.
struct Refusal {
  std::string code;  // invalid_utf8 | invalid_request
  std::string message;
};

// Checks the decoded path parameters against their kinds.
std::optional<Refusal> CheckParams(const Route& r, const std::map<std::string, std::string>& params);
// Parses and checks the query string: unknown, repeated, malformed or out-of-range parameters
// are refused with what is allowed.
std::optional<Refusal> ParseQuery(const Route& r, std::string_view query,
                                  std::map<std::string, std::string>* out);

std::string PercentDecode(std::string_view s);

}  // namespace rf::server
