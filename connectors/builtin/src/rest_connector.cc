// The `http` and `webhook` connectors: configured REST operations over http::Client.
// See http_connector.h and webhook_connector.h for the settings.
//
// Structure: creation parses and validates the settings into an immutable Shared (operations,
// templates, headers, secrets) plus the Client. Invoke renders the request from the templates and
// the invocation, sends it, and maps the answer (status, body) to a CallResult. Callbacks hold a
// shared_ptr to Shared, so they are safe whatever the instance's lifetime.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>

#include "common/time_text.h"
#include "connectors/builtin/http_client.h"
#include "connectors/builtin/http_connector.h"
#include "connectors/builtin/standard_webhooks.h"
#include "connectors/builtin/template.h"
#include "connectors/builtin/webhook_connector.h"

namespace rf::connectors {
namespace {

using nlohmann::json;
using engine::CallResult;
using engine::Invocation;

constexpr size_t kExcerptBytes = 200;
const std::vector<std::string> kRoots = {"input", "call"};

enum class Mode { kHttp, kWebhook };

struct Operation {
  std::string name;
  std::string method;
  tmpl::TextTemplate path;
  std::vector<std::pair<std::string, tmpl::TextTemplate>> query;
  std::vector<std::pair<std::string, tmpl::TextTemplate>> headers;
  std::optional<tmpl::JsonTemplate> body;  // nullopt: the whole input (or none for GET/DELETE)
  std::optional<std::vector<std::pair<std::string, std::string>>> response;  // field → pointer
  std::map<int, std::string> statuses;                                       // status → kind
  std::string event_type;                                                    // webhook only
  json describe;  // the catalog entry
};

struct Shared {
  Mode mode = Mode::kHttp;
  std::string name;
  std::string base_url;
  std::vector<std::pair<std::string, std::string>> headers;  // static + auth
  std::vector<std::string> secrets;                          // to redact from messages
  std::string webhook_secret;
  std::string default_event_type;
  std::set<int> retryable;
  std::chrono::milliseconds default_timeout{30000};
  std::map<std::string, Operation, std::less<>> operations;
  std::vector<std::string> operation_order;
  json describe;
  std::unique_ptr<http::Client> client;
  std::atomic<bool> shut_down{false};

  std::string Redact(std::string text) const {
    for (const auto& s : secrets) {
      if (s.empty()) continue;
      for (size_t pos = text.find(s); pos != std::string::npos; pos = text.find(s, pos)) {
        text.replace(pos, s.size(), "[redacted]");
        pos += 10;
      }
    }
    return text;
  }
};

bool IsErrorKind(std::string_view k) {
  return k == "timeout" || k == "unavailable" || k == "rejected" || k == "not_found" ||
         k == "conflict" || k == "internal";
}

// Settings-parsing context: names the place of an error.
class Parser {
 public:
  Parser(const InstanceConfig& config, Shared& shared) : config_(config), shared_(shared) {}

  Status Error(const std::string& where, const std::string& what) const {
    return Status::InvalidArgument("connector '" + config_.name + "' (" + config_.type +
                                   "): settings." + where + ": " + what);
  }

  // A literal string or {"env": "NAME"}; records it as a secret when `secret`.
  Result<std::string> StringOrEnv(const json& j, const std::string& where, bool secret) {
    std::string value;
    if (j.is_string()) {
      value = j.get<std::string>();
    } else if (j.is_object() && j.size() == 1 && j.contains("env") && j["env"].is_string()) {
      std::string var = j["env"].get<std::string>();
      const char* v = std::getenv(var.c_str());
      if (v == nullptr) return Error(where, "environment variable " + var + " is not set");
      value = v;
      secret = true;
    } else {
      return Error(where, "expected a string or {\"env\": \"NAME\"}");
    }
    if (secret && !value.empty()) shared_.secrets.push_back(value);
    return value;
  }

  const InstanceConfig& config_;
  Shared& shared_;
};

Result<std::string> GetString(const json& obj, const char* key, const std::string& def,
                              const Parser& p, const std::string& where) {
  if (!obj.contains(key)) return def;
  if (!obj[key].is_string()) return p.Error(where + "." + key, "expected a string");
  return obj[key].get<std::string>();
}

Result<bool> GetBool(const json& obj, const char* key, bool def, const Parser& p,
                     const std::string& where) {
  if (!obj.contains(key)) return def;
  if (!obj[key].is_boolean()) return p.Error(where + "." + key, "expected true or false");
  return obj[key].get<bool>();
}

Status ParseAuth(const json& auth, Parser& p, Shared& s) {
  if (!auth.is_object()) return p.Error("auth", "expected an object");
  auto type = GetString(auth, "type", "", p, "auth");
  if (!type.ok()) return type.status();
  auto need = [&](const char* key, bool secret) -> Result<std::string> {
    if (!auth.contains(key)) return p.Error("auth", std::string("missing \"") + key + "\"");
    return p.StringOrEnv(auth[key], std::string("auth.") + key, secret);
  };
  if (*type == "bearer") {
    auto token = need("token", true);
    if (!token.ok()) return token.status();
    s.headers.emplace_back("Authorization", "Bearer " + *token);
  } else if (*type == "basic") {
    auto user = need("user", false);
    if (!user.ok()) return user.status();
    auto password = need("password", true);
    if (!password.ok()) return password.status();
    std::string encoded = standard_webhooks::Base64Encode(*user + ":" + *password);
    s.secrets.push_back(encoded);
    s.headers.emplace_back("Authorization", "Basic " + encoded);
  } else if (*type == "api_key") {
    auto header = GetString(auth, "header", "X-Api-Key", p, "auth");
    if (!header.ok()) return header.status();
    auto key = need("key", true);
    if (!key.ok()) return key.status();
    s.headers.emplace_back(*header, *key);
  } else {
    return p.Error("auth.type", "expected \"bearer\", \"basic\" or \"api_key\"");
  }
  return Status::Ok();
}

Result<std::vector<std::pair<std::string, tmpl::TextTemplate>>> ParseTemplateMap(
    const json& obj, const Parser& p, const std::string& where) {
  std::vector<std::pair<std::string, tmpl::TextTemplate>> out;
  if (!obj.is_object()) return p.Error(where, "expected an object of strings");
  for (const auto& [k, v] : obj.items()) {
    if (!v.is_string() && !v.is_number() && !v.is_boolean()) {
      return p.Error(where + "." + k, "expected a string");
    }
    auto t = tmpl::TextTemplate::Parse(v.is_string() ? v.get<std::string>() : v.dump(), kRoots);
    if (!t.ok()) return p.Error(where + "." + k, t.status().message());
    out.emplace_back(k, std::move(*t));
  }
  return out;
}

Result<Operation> ParseOperation(const json& j, size_t index, Parser& p, Mode mode) {
  std::string where = "operations[" + std::to_string(index) + "]";
  if (!j.is_object()) return p.Error(where, "expected an object");
  Operation op;
  auto name = GetString(j, "name", "", p, where);
  if (!name.ok()) return name.status();
  if (name->empty()) return p.Error(where, "missing \"name\"");
  op.name = *name;
  where += " (" + op.name + ")";

  auto method = GetString(j, "method", mode == Mode::kWebhook ? "POST" : "GET", p, where);
  if (!method.ok()) return method.status();
  op.method = *method;
  std::transform(op.method.begin(), op.method.end(), op.method.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  static const std::set<std::string> kMethods = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"};
  if (!kMethods.count(op.method)) return p.Error(where + ".method", "unknown method " + *method);
  if (mode == Mode::kWebhook && op.method != "POST") {
    return p.Error(where + ".method", "webhook operations always POST");
  }

  auto path = GetString(j, "path", "", p, where);
  if (!path.ok()) return path.status();
  auto path_t = tmpl::TextTemplate::Parse(*path, kRoots);
  if (!path_t.ok()) return p.Error(where + ".path", path_t.status().message());
  op.path = std::move(*path_t);

  if (j.contains("query")) {
    auto q = ParseTemplateMap(j["query"], p, where + ".query");
    if (!q.ok()) return q.status();
    op.query = std::move(*q);
  }
  if (j.contains("headers")) {
    auto h = ParseTemplateMap(j["headers"], p, where + ".headers");
    if (!h.ok()) return h.status();
    op.headers = std::move(*h);
  }
  if (j.contains("body")) {
    auto b = tmpl::JsonTemplate::Parse(j["body"], kRoots);
    if (!b.ok()) return p.Error(where + ".body", b.status().message());
    op.body = std::move(*b);
  }
  if (j.contains("response")) {
    const json& r = j["response"];
    if (!r.is_object()) return p.Error(where + ".response", "expected {\"field\": \"/pointer\"}");
    op.response.emplace();
    for (const auto& [field, ptr] : r.items()) {
      if (!ptr.is_string() || !tmpl::IsJsonPointer(ptr.get<std::string>())) {
        return p.Error(where + ".response." + field,
                       "expected a JSON pointer such as \"/id\" (or \"\" for the whole body)");
      }
      op.response->emplace_back(field, ptr.get<std::string>());
    }
  }
  if (j.contains("statuses")) {
    const json& st = j["statuses"];
    if (!st.is_object()) return p.Error(where + ".statuses", "expected {\"404\": \"not_found\"}");
    for (const auto& [code, kind] : st.items()) {
      int c = 0;
      try {
        size_t used = 0;
        c = std::stoi(code, &used);
        if (used != code.size()) c = 0;
      } catch (const std::exception&) {
        c = 0;
      }
      if (c < 100 || c > 599) return p.Error(where + ".statuses", "bad status code " + code);
      if (!kind.is_string() || (!IsErrorKind(kind.get<std::string>()) && kind != "ok")) {
        return p.Error(where + ".statuses." + code,
                       "expected ok, timeout, unavailable, rejected, not_found, conflict or "
                       "internal");
      }
      op.statuses[c] = kind.get<std::string>();
    }
  }
  if (mode == Mode::kWebhook) {
    auto et = GetString(j, "event_type", p.shared_.default_event_type, p, where);
    if (!et.ok()) return et.status();
    op.event_type = *et;
  }

  bool reads_only = op.method == "GET" || op.method == "HEAD";
  auto side_effects = GetBool(j, "side_effects", !reads_only, p, where);
  if (!side_effects.ok()) return side_effects.status();
  auto compensable = GetBool(j, "compensable", mode != Mode::kWebhook, p, where);
  if (!compensable.ok()) return compensable.status();
  auto writes = GetString(j, "writes", "", p, where);
  if (!writes.ok()) return writes.status();
  auto description = GetString(j, "description", "", p, where);
  if (!description.ok()) return description.status();

  op.describe = {{"name", op.name},
                 {"description", *description},
                 {"side_effects", *side_effects},
                 {"writes", *writes},
                 {"compensable", *compensable}};
  for (const char* key : {"input", "output"}) {
    if (!j.contains(key)) continue;
    if (!j[key].is_array()) return p.Error(where + "." + key, "expected a list of fields");
    op.describe[key] = j[key];
  }
  if (mode == Mode::kWebhook && !j.contains("output") && !op.response) {
    op.describe["output"] = json::array({{{"name", "webhook_id"}, {"type", "text"}},
                                         {{"name", "status"}, {"type", "number"}}});
  }
  return op;
}

Result<std::shared_ptr<Shared>> ParseSettings(const InstanceConfig& config,
                                              boost::asio::io_context& io, Mode mode) {
  auto s = std::make_shared<Shared>();
  s->mode = mode;
  s->name = config.name;
  Parser p(config, *s);
  const json& st = config.settings;
  if (!st.is_object()) return p.Error("", "expected an object");

  const char* url_key = mode == Mode::kHttp ? "base_url" : "url";
  auto url = GetString(st, url_key, "", p, "");
  if (!url.ok()) return url.status();
  if (url->empty()) return p.Error(url_key, "missing");
  auto parsed = http::ParseUrl(*url);
  if (!parsed.ok()) return p.Error(url_key, parsed.status().message());
  s->base_url = *url;

  http::ClientOptions options;
  if (st.contains("auth")) {
    Status a = ParseAuth(st["auth"], p, *s);
    if (!a.ok()) return a;
  }
  if (st.contains("headers")) {
    if (!st["headers"].is_object()) return p.Error("headers", "expected an object");
    for (const auto& [k, v] : st["headers"].items()) {
      // Static header values may be secrets too ({"env": ...}); literals are not redacted.
      auto value = p.StringOrEnv(v, "headers." + k, false);
      if (!value.ok()) return value.status();
      s->headers.emplace_back(k, *value);
    }
  }
  if (st.contains("tls")) {
    const json& tls = st["tls"];
    if (!tls.is_object()) return p.Error("tls", "expected an object");
    auto verify = GetBool(tls, "verify", true, p, "tls");
    if (!verify.ok()) return verify.status();
    options.verify_tls = *verify;
    auto ca = GetString(tls, "ca_file", "", p, "tls");
    if (!ca.ok()) return ca.status();
    if (!ca->empty()) {
      std::filesystem::path ca_path(*ca);
      if (ca_path.is_relative() && !config.base_dir.empty()) ca_path = config.base_dir / ca_path;
      std::error_code ec;
      if (!std::filesystem::is_regular_file(ca_path, ec)) {
        return p.Error("tls.ca_file", "no such file: " + ca_path.string());
      }
      options.ca_file = ca_path.string();
    }
  }
  if (st.contains("pool")) {
    const json& pool = st["pool"];
    if (!pool.is_object() || (pool.contains("max_connections_per_host") &&
                              (!pool["max_connections_per_host"].is_number_integer() ||
                               pool["max_connections_per_host"].get<std::int64_t>() <= 0))) {
      return p.Error("pool", "expected {\"max_connections_per_host\": <positive integer>}");
    }
    options.max_connections_per_host = pool.value("max_connections_per_host", size_t{8});
  }
  if (st.contains("max_body_bytes")) {
    if (!st["max_body_bytes"].is_number_integer() ||
        st["max_body_bytes"].get<std::int64_t>() <= 0) {
      return p.Error("max_body_bytes", "expected a positive integer");
    }
    options.max_body_bytes = st["max_body_bytes"].get<size_t>();
  }
  if (st.contains("timeout")) {
    auto t = GetString(st, "timeout", "", p, "");
    if (!t.ok()) return t.status();
    auto d = ParseDuration(*t);
    if (!d || d->ms <= 0) return p.Error("timeout", "expected a duration such as \"10s\"");
    s->default_timeout = std::chrono::milliseconds(d->ms);
  }
  s->retryable = {408, 429, 500, 502, 503, 504};
  if (st.contains("retryable_statuses")) {
    const json& r = st["retryable_statuses"];
    if (!r.is_array()) return p.Error("retryable_statuses", "expected a list of status codes");
    s->retryable.clear();
    for (const auto& c : r) {
      if (!c.is_number_integer() || c.get<int>() < 100 || c.get<int>() > 599) {
        return p.Error("retryable_statuses", "expected status codes (100-599)");
      }
      s->retryable.insert(c.get<int>());
    }
  }

  if (mode == Mode::kWebhook) {
    if (!st.contains("secret")) return p.Error("secret", "missing (\"whsec_<base64>\")");
    auto secret = p.StringOrEnv(st["secret"], "secret", true);
    if (!secret.ok()) return secret.status();
    if (!standard_webhooks::DecodeSecret(*secret)) {
      return p.Error("secret", "expected \"whsec_<base64 key>\"");
    }
    s->webhook_secret = *secret;
    constexpr std::string_view kPrefix = "whsec_";
    if (secret->substr(0, kPrefix.size()) == kPrefix) {
      s->secrets.push_back(secret->substr(kPrefix.size()));
    }
    auto et = GetString(st, "event_type", "notification.requested", p, "");
    if (!et.ok()) return et.status();
    s->default_event_type = *et;
  }

  json ops = st.contains("operations") ? st["operations"] : json::array();
  if (!ops.is_array()) return p.Error("operations", "expected a list");
  if (mode == Mode::kWebhook) {
    bool has_send = false;
    for (const json& o : ops) {
      if (!o.is_object()) continue;
      auto name = o.find("name");
      if (name != o.end() && *name == json("send")) has_send = true;
    }
    if (!has_send) {
      ops.push_back({{"name", "send"},
                     {"description", "Send the input as a signed webhook event."}});
    }
  } else if (ops.empty()) {
    return p.Error("operations", "declare at least one operation");
  }
  auto description = GetString(st, "description", "", p, "");
  if (!description.ok()) return description.status();
  s->describe = {{"name", config.name},
                 {"system", config.system.empty() ? config.name : config.system},
                 {"description", *description},
                 {"operations", json::array()}};
  for (size_t i = 0; i < ops.size(); ++i) {
    auto op = ParseOperation(ops[i], i, p, mode);
    if (!op.ok()) return op.status();
    if (s->operations.count(op->name)) {
      return p.Error("operations", "operation '" + op->name + "' declared twice");
    }
    s->describe["operations"].push_back(op->describe);
    s->operation_order.push_back(op->name);
    s->operations.emplace(op->name, std::move(*op));
  }
  s->client = std::make_unique<http::Client>(io, options);
  return s;
}

std::string Excerpt(const std::string& body) {
  std::string e = body.substr(0, kExcerptBytes);
  for (char& c : e) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (body.size() > kExcerptBytes) e += "...";
  return e;
}

bool IsBlank(const std::string& s) {
  return s.find_first_not_of(" \t\r\n") == std::string::npos;
}

// Maps an answer to a CallResult. `what` = "POST /v1/x" for messages.
CallResult MapResponse(const Shared& s, const Operation& op, const http::Response& r,
                       const std::string& what, const std::string& webhook_id) {
  std::string kind;
  auto override_it = op.statuses.find(r.status);
  if (override_it != op.statuses.end()) {
    kind = override_it->second;
  } else if (r.status >= 200 && r.status < 300) {
    kind = "ok";
  } else if (r.status == 404) {
    kind = "not_found";
  } else if (r.status == 409) {
    kind = "conflict";
  } else if (s.retryable.count(r.status)) {
    kind = "unavailable";
  } else if (r.status >= 500) {
    kind = "unavailable";
  } else {
    kind = "rejected";  // other 4xx, and 1xx/3xx (redirects are not followed)
  }
  if (kind != "ok") {
    std::string msg = "HTTP " + std::to_string(r.status) + " from " + what;
    if (!IsBlank(r.body)) msg += ": " + Excerpt(r.body);
    return CallResult::Failure(kind, s.Redact(msg));
  }

  // Success: parse the body (exact numbers) and map it.
  Value body = Value(Record{});
  if (!IsBlank(r.body)) {
    auto parsed = Value::FromJson(r.body);
    if (parsed.ok()) {
      body = std::move(*parsed);
    } else if (s.mode == Mode::kHttp) {
      return CallResult::Failure(
          "unavailable", s.Redact("malformed response from " + what + " (HTTP " +
                                  std::to_string(r.status) + "): not JSON: " + Excerpt(r.body)));
    }
  }
  if (op.response) {
    Record out;
    for (const auto& [field, pointer] : *op.response) {
      if (const Value* v = tmpl::JsonPointer(body, pointer)) out.emplace(field, *v);
    }
    return CallResult::Success(Value(std::move(out)));
  }
  if (s.mode == Mode::kWebhook) {
    Record out;
    out.emplace("webhook_id", Value(webhook_id));
    out.emplace("status", Value(r.status));
    return CallResult::Success(Value(std::move(out)));
  }
  if (!body.is_record()) {
    return CallResult::Failure("unavailable",
                               s.Redact("malformed response from " + what +
                                        ": expected a JSON object, got " +
                                        Value::KindName(body.kind())));
  }
  return CallResult::Success(std::move(body));
}

CallResult MapFailure(const Shared& s, const http::Failure& f, const std::string& what) {
  switch (f.kind) {
    case http::FailureKind::kTimeout:
      return CallResult::Failure("timeout", s.Redact(what + ": " + f.message));
    case http::FailureKind::kUnavailable:
      return CallResult::Failure("unavailable", s.Redact(what + ": " + f.message));
    case http::FailureKind::kProtocol:
      return CallResult::Failure("unavailable",
                                 s.Redact(what + ": protocol error: " + f.message));
  }
  return CallResult::Failure("internal", "unknown transport failure");
}

class RestConnector final : public ConnectorInstance {
 public:
  explicit RestConnector(std::shared_ptr<Shared> s) : s_(std::move(s)) {}
  ~RestConnector() override { Shutdown(); }

  json Describe() const override { return s_->describe; }

  void Shutdown() override {
    if (!s_->shut_down.exchange(true)) s_->client->Shutdown();
  }

  void Invoke(const Invocation& call, std::function<void(CallResult)> done) override {
    if (s_->shut_down.load()) {
      done(CallResult::Failure("unavailable", "connector '" + s_->name + "' is shut down"));
      return;
    }
    auto it = s_->operations.find(call.operation);
    if (it == s_->operations.end()) {
      done(CallResult::Failure("internal", "connector '" + s_->name +
                                               "' has no operation '" + call.operation + "'"));
      return;
    }
    const Operation& op = it->second;
    Record call_rec;
    call_rec.emplace("idempotency_key", Value(call.idempotency_key));
    call_rec.emplace("correlation_id", Value(call.correlation_id));
    call_rec.emplace("instance_id", Value(call.instance_id));
    call_rec.emplace("operation", Value(call.operation));
    call_rec.emplace("attempt", Value(call.attempt));
    Record roots_rec;
    roots_rec.emplace("input", call.input.is_null() ? Value(Record{}) : call.input);
    roots_rec.emplace("call", Value(std::move(call_rec)));
    const Value roots(std::move(roots_rec));

    auto reject = [&](const std::string& m) {
      done(CallResult::Failure("rejected", s_->Redact("cannot build the request of " + s_->name +
                                                      "." + op.name + ": " + m)));
    };
    auto path = op.path.Render(roots, /*percent_encode=*/true, /*required=*/true);
    if (!path.ok()) return reject(path.status().message() + " (needed by the path)");
    std::string target = *path;
    std::string query;
    for (const auto& [key, t] : op.query) {
      if (t.IsSinglePlaceholder()) {
        const Value* v = t.SingleValue(roots);
        if (v == nullptr || v->is_null()) continue;  // optional parameter left out
      }
      auto value = t.Render(roots, false, false);
      if (!value.ok()) return reject(value.status().message());
      query += (query.empty() ? "" : "&") + http::PercentEncode(key) + "=" +
               http::PercentEncode(*value);
    }
    if (!query.empty()) target += (target.find('?') == std::string::npos ? "?" : "&") + query;

    http::Request req;
    req.method = op.method;
    req.url = http::JoinUrl(s_->base_url, target);
    std::string what = op.method + " " + (target.empty() ? "/" : target);

    // Body.
    std::string webhook_id;
    bool has_body = op.method == "POST" || op.method == "PUT" || op.method == "PATCH";
    Value data;
    if (op.body) {
      auto b = op.body->Render(roots);
      if (!b.ok()) return reject(b.status().message());
      data = std::move(*b);
      has_body = true;
    } else if (has_body) {
      data = roots.Find("input") ? *roots.Find("input") : Value(Record{});
    }
    auto wall_now = std::chrono::system_clock::now();
    if (s_->mode == Mode::kWebhook) {
      std::int64_t now_s =
          std::chrono::duration_cast<std::chrono::seconds>(wall_now.time_since_epoch()).count();
      Record envelope;
      envelope.emplace("type", Value(op.event_type));
      envelope.emplace("timestamp", Value(FormatTime(Time{now_s * 1000})));
      envelope.emplace("data", std::move(data));
      req.body = Value(std::move(envelope)).ToJson();
      webhook_id = call.idempotency_key.empty() ? call.invocation_id : call.idempotency_key;
      auto sig = standard_webhooks::Sign(s_->webhook_secret, webhook_id, now_s, req.body);
      if (!sig) {
        done(CallResult::Failure("internal", "cannot sign the webhook (invalid secret)"));
        return;
      }
      req.headers.emplace_back("webhook-id", webhook_id);
      req.headers.emplace_back("webhook-timestamp", std::to_string(now_s));
      req.headers.emplace_back("webhook-signature", *sig);
    } else if (has_body) {
      req.body = data.ToJson();
    }

    // Headers: configured (with auth), then per operation, then the fixed ones.
    req.headers.insert(req.headers.end(), s_->headers.begin(), s_->headers.end());
    for (const auto& [key, t] : op.headers) {
      auto value = t.Render(roots, false, false);
      if (!value.ok()) return reject(value.status().message());
      req.headers.emplace_back(key, *value);
    }
    if (!call.idempotency_key.empty()) {
      req.headers.emplace_back("Idempotency-Key", call.idempotency_key);
    }
    if (!call.correlation_id.empty()) {
      req.headers.emplace_back("X-Correlation-Id", call.correlation_id);
    }
    req.headers.emplace_back("Content-Type", "application/json");
    req.headers.emplace_back("Accept", "application/json");
    req.headers.emplace_back("User-Agent", "retailflow/0.1");

    // Deadline: the invocation's wall-clock deadline on the steady clock.
    auto steady_now = std::chrono::steady_clock::now();
    if (call.deadline.ms > 0) {
      std::int64_t wall_ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(wall_now.time_since_epoch())
              .count();
      req.deadline = steady_now + std::chrono::milliseconds(call.deadline.ms - wall_ms);
    } else {
      req.deadline = steady_now + s_->default_timeout;
    }

    s_->client->Send(std::move(req),
                     [s = s_, op_name = op.name, what, webhook_id, done = std::move(done)](
                         std::variant<http::Response, http::Failure> result) {
                       const Operation& o = s->operations.find(op_name)->second;
                       if (auto* r = std::get_if<http::Response>(&result)) {
                         done(MapResponse(*s, o, *r, what, webhook_id));
                       } else {
                         done(MapFailure(*s, std::get<http::Failure>(result), what));
                       }
                     });
  }

 private:
  std::shared_ptr<Shared> s_;
};

Result<std::unique_ptr<ConnectorInstance>> Make(const InstanceConfig& config,
                                                boost::asio::io_context& io, Mode mode) {
  try {
    auto shared = ParseSettings(config, io, mode);
    if (!shared.ok()) return shared.status();
    return std::unique_ptr<ConnectorInstance>(new RestConnector(std::move(*shared)));
  } catch (const std::exception& e) {  // nlohmann type errors on unexpected shapes
    return Status::InvalidArgument("connector '" + config.name + "': invalid settings: " +
                                   e.what());
  }
}

}  // namespace

Result<std::unique_ptr<ConnectorInstance>> MakeHttpConnector(const InstanceConfig& config,
                                                             boost::asio::io_context& io) {
  return Make(config, io, Mode::kHttp);
}

Result<std::unique_ptr<ConnectorInstance>> MakeWebhookConnector(const InstanceConfig& config,
                                                                boost::asio::io_context& io) {
  return Make(config, io, Mode::kWebhook);
}

}  // namespace rf::connectors
