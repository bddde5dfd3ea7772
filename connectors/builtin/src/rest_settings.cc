// Parsing of the `http` and `webhook` connectors' settings. See rest_settings.h.
#include "connectors/builtin/src/rest_settings.h"

#include <algorithm>

#include "connectors/builtin/standard_webhooks.h"
#include "connectors/deadline.h"

namespace rf::connectors {
namespace {

using nlohmann::json;
using settings::Reader;

const std::vector<std::string> kRoots = {"input", "call"};

bool IsErrorKind(std::string_view k) {
  return k == "timeout" || k == "unavailable" || k == "rejected" || k == "not_found" ||
         k == "conflict" || k == "internal";
}

Status ReadAuth(const json& auth, Reader& in, RestShared& s) {
  if (Status st =
          in.OnlyKnown(auth, "auth", {"type", "token", "user", "password", "header", "key"});
      !st.ok()) {
    return st;
  }
  auto type = in.Text(auth, "type", "", "auth");
  if (!type.ok()) return type.status();
  if (*type == "bearer") {
    auto token = in.Secret(auth, "token", "auth");
    if (!token.ok()) return token.status();
    s.headers.emplace_back("Authorization", "Bearer " + *token);
  } else if (*type == "basic") {
    if (!auth.contains("user")) return in.Error("auth", "missing \"user\"");
    auto user = in.TextOrEnv(auth["user"], "auth.user", false);
    if (!user.ok()) return user.status();
    auto password = in.Secret(auth, "password", "auth");
    if (!password.ok()) return password.status();
    std::string encoded = standard_webhooks::Base64Encode(*user + ":" + *password);
    in.secrets().Add(encoded);
    s.headers.emplace_back("Authorization", "Basic " + encoded);
  } else if (*type == "api_key") {
    auto header = in.Text(auth, "header", "X-Api-Key", "auth");
    if (!header.ok()) return header.status();
    auto key = in.Secret(auth, "key", "auth");
    if (!key.ok()) return key.status();
    s.headers.emplace_back(*header, *key);
  } else {
    return in.Error("auth.type", "expected \"bearer\", \"basic\" or \"api_key\"");
  }
  return Status::Ok();
}

Result<std::vector<std::pair<std::string, tmpl::TextTemplate>>> ReadTemplateMap(
    const json& obj, const Reader& in, const std::string& where) {
  std::vector<std::pair<std::string, tmpl::TextTemplate>> out;
  if (!obj.is_object()) return in.Error(where, "expected an object of strings");
  for (const auto& [k, v] : obj.items()) {
    if (!v.is_string() && !v.is_number() && !v.is_boolean()) {
      return in.Error(where + "." + k, "expected a string");
    }
    auto t = tmpl::TextTemplate::Parse(v.is_string() ? v.get<std::string>() : v.dump(), kRoots);
    if (!t.ok()) return in.Error(where + "." + k, t.status().message());
    out.emplace_back(k, std::move(*t));
  }
  return out;
}

Result<RestOperation> ReadOperation(const json& j, size_t index, Reader& in, RestMode mode,
                                    const std::string& default_event_type) {
  std::string where = "operations[" + std::to_string(index) + "]";
  if (!j.is_object()) return in.Error(where, "expected an object");
  RestOperation op;
  auto name = in.Text(j, "name", "", where);
  if (!name.ok()) return name.status();
  if (name->empty()) return in.Error(where, "missing \"name\"");
  op.name = *name;
  where += " (" + op.name + ")";
  if (Status st = in.OnlyKnown(
          j, where,
          {"name", "description", "method", "path", "query", "headers", "body", "input", "output",
           "side_effects", "writes", "compensable", "response", "statuses", "event_type"});
      !st.ok()) {
    return st;
  }

  auto method = in.Text(j, "method", mode == RestMode::kWebhook ? "POST" : "GET", where);
  if (!method.ok()) return method.status();
  op.method = *method;
  std::transform(op.method.begin(), op.method.end(), op.method.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  static const std::set<std::string> kMethods = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"};
  if (!kMethods.count(op.method)) return in.Error(where + ".method", "unknown method " + *method);
  if (mode == RestMode::kWebhook && op.method != "POST") {
    return in.Error(where + ".method", "webhook operations always POST");
  }

  auto path = in.Text(j, "path", "", where);
  if (!path.ok()) return path.status();
  auto path_t = tmpl::TextTemplate::Parse(*path, kRoots);
  if (!path_t.ok()) return in.Error(where + ".path", path_t.status().message());
  op.path = std::move(*path_t);

  if (j.contains("query")) {
    auto q = ReadTemplateMap(j["query"], in, where + ".query");
    if (!q.ok()) return q.status();
    op.query = std::move(*q);
  }
  if (j.contains("headers")) {
    auto h = ReadTemplateMap(j["headers"], in, where + ".headers");
    if (!h.ok()) return h.status();
    op.headers = std::move(*h);
    // A credential written here arrives as a plain string when the service configuration
    // resolved it from {"env": ...}: recorded by the header's name.
    for (const auto& [key, t] : op.headers) {
      if (settings::IsSensitiveHeader(key) && t.Placeholders().empty()) {
        in.secrets().Add(j["headers"][key].is_string() ? j["headers"][key].get<std::string>()
                                                       : j["headers"][key].dump());
      }
    }
  }
  if (j.contains("body")) {
    auto b = tmpl::JsonTemplate::Parse(j["body"], kRoots);
    if (!b.ok()) return in.Error(where + ".body", b.status().message());
    op.body = std::move(*b);
  }
  if (j.contains("response")) {
    const json& r = j["response"];
    if (!r.is_object()) return in.Error(where + ".response", "expected {\"field\": \"/pointer\"}");
    op.response.emplace();
    for (const auto& [field, ptr] : r.items()) {
      if (!ptr.is_string() || !tmpl::IsJsonPointer(ptr.get<std::string>())) {
        return in.Error(where + ".response." + field,
                        "expected a JSON pointer such as \"/id\" (or \"\" for the whole body)");
      }
      op.response->emplace_back(field, ptr.get<std::string>());
    }
  }
  if (j.contains("statuses")) {
    const json& st = j["statuses"];
    if (!st.is_object()) return in.Error(where + ".statuses", "expected {\"404\": \"not_found\"}");
    for (const auto& [code, kind] : st.items()) {
      int c = 0;
      try {
        size_t used = 0;
        c = std::stoi(code, &used);
        if (used != code.size()) c = 0;
      } catch (const std::exception&) {
        c = 0;
      }
      if (c < 100 || c > 599) return in.Error(where + ".statuses", "bad status code " + code);
      if (!kind.is_string() || (!IsErrorKind(kind.get<std::string>()) && kind != "ok")) {
        return in.Error(where + ".statuses." + code,
                        "expected ok, timeout, unavailable, rejected, not_found, conflict or "
                        "internal");
      }
      op.statuses[c] = kind.get<std::string>();
    }
  }
  if (mode == RestMode::kWebhook) {
    auto et = in.Text(j, "event_type", default_event_type, where);
    if (!et.ok()) return et.status();
    op.event_type = *et;
  } else if (j.contains("event_type")) {
    return in.Error(where + ".event_type", "only webhook operations have an event type");
  }

  bool reads_only = op.method == "GET" || op.method == "HEAD";
  auto side_effects = in.Flag(j, "side_effects", !reads_only, where);
  if (!side_effects.ok()) return side_effects.status();
  auto compensable = in.Flag(j, "compensable", mode != RestMode::kWebhook, where);
  if (!compensable.ok()) return compensable.status();
  auto writes = in.Text(j, "writes", "", where);
  if (!writes.ok()) return writes.status();
  auto description = in.Text(j, "description", "", where);
  if (!description.ok()) return description.status();

  op.describe = {{"name", op.name},
                 {"description", *description},
                 {"side_effects", *side_effects},
                 {"writes", *writes},
                 {"compensable", *compensable}};
  for (const char* key : {"input", "output"}) {
    if (!j.contains(key)) continue;
    if (!j[key].is_array()) return in.Error(where + "." + key, "expected a list of fields");
    op.describe[key] = j[key];
  }
  if (mode == RestMode::kWebhook && !j.contains("output") && !op.response) {
    op.describe["output"] = json::array(
        {{{"name", "webhook_id"}, {"type", "text"}}, {{"name", "status"}, {"type", "number"}}});
  }
  return op;
}

Status ReadWebhookSecret(Reader& in, RestShared& s) {
  if (!in.root().contains("secret")) return in.Error("secret", "missing (\"whsec_<base64>\")");
  auto secret = in.Secret(in.root(), "secret");
  if (!secret.ok()) return secret.status();
  if (!standard_webhooks::DecodeSecret(*secret)) {
    return in.Error("secret", "expected \"whsec_<base64 key>\"");
  }
  s.webhook_secret = *secret;
  constexpr std::string_view kPrefix = "whsec_";
  if (secret->substr(0, kPrefix.size()) == kPrefix)
    in.secrets().Add(secret->substr(kPrefix.size()));
  auto et = in.Text(in.root(), "event_type", "notification.requested");
  if (!et.ok()) return et.status();
  s.default_event_type = *et;
  return Status::Ok();
}

}  // namespace

Result<std::shared_ptr<RestShared>> ParseRestSettings(const InstanceConfig& config,
                                                      boost::asio::io_context& io, RestMode mode) {
  auto s = std::make_shared<RestShared>();
  s->mode = mode;
  s->name = config.name;
  s->clock = &ClockOrSystem(config.clock);
  s->io = &io;
  Reader in(config);
  const json& st = in.root();
  if (!st.is_object()) return in.Error("", "expected an object");
  Status known = mode == RestMode::kHttp
                     ? in.OnlyKnown(st, "",
                                    {"base_url", "description", "auth", "headers", "tls", "pool",
                                     "max_body_bytes", "timeout", "retryable_statuses",
                                     "in_progress", "operations"})
                     : in.OnlyKnown(st, "",
                                    {"url", "secret", "event_type", "description", "auth",
                                     "headers", "tls", "pool", "max_body_bytes", "timeout",
                                     "retryable_statuses", "in_progress", "operations"});
  if (!known.ok()) return known;

  const char* url_key = mode == RestMode::kHttp ? "base_url" : "url";
  auto url = in.Text(st, url_key, "");
  if (!url.ok()) return url.status();
  if (url->empty()) return in.Error(url_key, "missing");
  auto parsed = http::ParseUrl(*url);
  if (!parsed.ok()) return in.Error(url_key, parsed.status().message());
  s->base_url = *url;

  if (st.contains("auth")) {
    if (Status a = ReadAuth(st["auth"], in, *s); !a.ok()) return a;
  }
  if (st.contains("headers")) {
    if (!st["headers"].is_object()) return in.Error("headers", "expected an object");
    for (const auto& [k, v] : st["headers"].items()) {
      auto value = in.TextOrEnv(v, "headers." + k, settings::IsSensitiveHeader(k));
      if (!value.ok()) return value.status();
      s->headers.emplace_back(k, *value);
    }
  }
  auto options = in.Transport();
  if (!options.ok()) return options.status();
  auto timeout = in.Timeout(s->default_timeout);
  if (!timeout.ok()) return timeout.status();
  s->default_timeout = *timeout;
  auto rule = InProgressRule::Read(in);
  if (!rule.ok()) return rule.status();
  s->in_progress = *rule;

  s->retryable = {408, 429, 500, 502, 503, 504};
  if (st.contains("retryable_statuses")) {
    const json& r = st["retryable_statuses"];
    if (!r.is_array()) return in.Error("retryable_statuses", "expected a list of status codes");
    s->retryable.clear();
    for (const auto& c : r) {
      if (!c.is_number_integer() || c.get<int>() < 100 || c.get<int>() > 599) {
        return in.Error("retryable_statuses", "expected status codes (100-599)");
      }
      s->retryable.insert(c.get<int>());
    }
  }
  if (mode == RestMode::kWebhook) {
    if (Status w = ReadWebhookSecret(in, *s); !w.ok()) return w;
  }

  json ops = st.contains("operations") ? st["operations"] : json::array();
  if (!ops.is_array()) return in.Error("operations", "expected a list");
  if (mode == RestMode::kWebhook) {
    bool has_send = std::any_of(ops.begin(), ops.end(), [](const json& o) {
      return o.is_object() && o.contains("name") && o["name"] == json("send");
    });
    if (!has_send) {
      ops.push_back(
          {{"name", "send"}, {"description", "Send the input as a signed webhook event."}});
    }
  } else if (ops.empty()) {
    return in.Error("operations", "declare at least one operation");
  }
  auto description = in.Text(st, "description", "");
  if (!description.ok()) return description.status();
  s->describe = {{"name", config.name},
                 {"system", config.system.empty() ? config.name : config.system},
                 {"description", *description},
                 {"operations", json::array()}};
  for (size_t i = 0; i < ops.size(); ++i) {
    auto op = ReadOperation(ops[i], i, in, mode, s->default_event_type);
    if (!op.ok()) return op.status();
    if (s->operations.count(op->name)) {
      return in.Error("operations", "operation '" + op->name + "' declared twice");
    }
    s->describe["operations"].push_back(op->describe);
    s->operations.emplace(op->name, std::move(*op));
  }
  s->secrets = in.TakeSecrets();
  s->client = std::make_unique<http::Client>(io, *options);
  return s;
}

}  // namespace rf::connectors
