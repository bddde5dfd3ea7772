// The shared settings reader. See connector_settings.h.
#include "connectors/builtin/src/connector_settings.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "common/time_text.h"

namespace rf::connectors::settings {

using nlohmann::json;

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool IsEnvReference(const json& j) {
  return j.is_object() && j.size() == 1 && j.contains("env") && j["env"].is_string();
}

}  // namespace

void Secrets::Add(std::string value) {
  if (value.empty()) return;
  if (std::find(values_.begin(), values_.end(), value) != values_.end()) return;
  values_.push_back(std::move(value));
  std::stable_sort(values_.begin(), values_.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::string Secrets::Redact(std::string text) const {
  static constexpr std::string_view kMark = "[redacted]";
  for (const auto& s : values_) {
    for (size_t pos = text.find(s); pos != std::string::npos; pos = text.find(s, pos)) {
      text.replace(pos, s.size(), kMark);
      pos += kMark.size();
    }
  }
  return text;
}

bool IsSensitiveHeader(std::string_view name) {
  std::string n = Lower(name);
  if (n == "authorization" || n == "proxy-authorization" || n == "cookie") return true;
  for (std::string_view word : {"key", "token", "secret", "password", "signature", "auth"}) {
    if (n.find(word) != std::string::npos) return true;
  }
  return false;
}

Reader::Reader(const InstanceConfig& config) : config_(config) {}

Status Reader::Error(std::string_view where, std::string_view what) const {
  std::string place = where.empty() ? "settings" : "settings." + std::string(where);
  return Status::InvalidArgument("connector '" + config_.name + "' (" + config_.type +
                                 "): " + place + ": " + std::string(what));
}

std::string Reader::Path(std::string_view where, std::string_view key) {
  if (where.empty()) return std::string(key);
  return std::string(where) + "." + std::string(key);
}

Status Reader::OnlyKnown(const json& object, std::string_view where,
                         std::initializer_list<std::string_view> known) const {
  if (!object.is_object()) return Error(where, "expected an object");
  for (const auto& [key, value] : object.items()) {
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string list;
    for (std::string_view k : known) list += (list.empty() ? "" : ", ") + std::string(k);
    return Error(Path(where, key), "unknown setting (known: " + list + ")");
  }
  return Status::Ok();
}

Result<std::string> Reader::Text(const json& object, std::string_view key, std::string def,
                                 std::string_view where) const {
  auto it = object.find(std::string(key));
  if (it == object.end()) return def;
  if (!it->is_string()) return Error(Path(where, key), "expected a string");
  return it->get<std::string>();
}

Result<bool> Reader::Flag(const json& object, std::string_view key, bool def,
                          std::string_view where) const {
  auto it = object.find(std::string(key));
  if (it == object.end()) return def;
  if (!it->is_boolean()) return Error(Path(where, key), "expected true or false");
  return it->get<bool>();
}

Result<size_t> Reader::PositiveCount(const json& object, std::string_view key, size_t def,
                                     std::string_view where) const {
  auto it = object.find(std::string(key));
  if (it == object.end()) return def;
  if (!it->is_number_integer() || it->get<std::int64_t>() <= 0) {
    return Error(Path(where, key), "expected a positive integer");
  }
  return it->get<size_t>();
}

Result<std::string> Reader::Secret(const json& object, std::string_view key,
                                   std::string_view where) {
  auto it = object.find(std::string(key));
  if (it == object.end()) return Error(where, "missing \"" + std::string(key) + "\"");
  auto value = TextOrEnv(*it, Path(where, key), /*sensitive=*/true);
  if (!value.ok()) return value.status();
  if (value->empty()) return Error(Path(where, key), "must not be empty");
  return value;
}

Result<std::string> Reader::TextOrEnv(const json& value, std::string_view where, bool sensitive) {
  std::string text;
  if (value.is_string()) {
    text = value.get<std::string>();
  } else if (IsEnvReference(value)) {
    std::string var = value["env"].get<std::string>();
    const char* v = std::getenv(var.c_str());
    if (v == nullptr) return Error(where, "environment variable " + var + " is not set");
    text = v;
    sensitive = true;
  } else {
    return Error(where, "expected a string or {\"env\": \"NAME\"}");
  }
  if (sensitive) secrets_.Add(text);
  return text;
}

Result<std::chrono::milliseconds> Reader::Duration(const json& object, std::string_view key,
                                                   std::chrono::milliseconds def,
                                                   std::string_view where) const {
  auto it = object.find(std::string(key));
  if (it == object.end()) return def;
  std::optional<rf::Duration> d;
  if (it->is_string()) d = ParseDuration(it->get<std::string>());
  if (!d || d->ms < 0) return Error(Path(where, key), "expected a duration such as \"10s\"");
  return std::chrono::milliseconds(d->ms);
}

Result<std::chrono::milliseconds> Reader::Timeout(std::chrono::milliseconds def) const {
  auto t = Duration(root(), "timeout", def);
  if (!t.ok()) return t.status();
  if (t->count() <= 0) return Error("timeout", "expected a duration such as \"10s\"");
  return t;
}

Result<http::ClientOptions> Reader::Transport() const {
  http::ClientOptions options;
  const json& st = root();
  if (auto tls = st.find("tls"); tls != st.end()) {
    if (Status s = OnlyKnown(*tls, "tls", {"verify", "ca_file"}); !s.ok()) return s;
    auto verify = Flag(*tls, "verify", true, "tls");
    if (!verify.ok()) return verify.status();
    options.verify_tls = *verify;
    auto ca = Text(*tls, "ca_file", "", "tls");
    if (!ca.ok()) return ca.status();
    if (!ca->empty()) {
      std::filesystem::path path(*ca);
      if (path.is_relative() && !config_.base_dir.empty()) path = config_.base_dir / path;
      std::error_code ec;
      if (!std::filesystem::is_regular_file(path, ec)) {
        return Error("tls.ca_file", "no such file: " + path.string());
      }
      options.ca_file = path.string();
    }
  }
  if (auto pool = st.find("pool"); pool != st.end()) {
    if (Status s = OnlyKnown(*pool, "pool", {"max_connections_per_host"}); !s.ok()) return s;
    auto n =
        PositiveCount(*pool, "max_connections_per_host", options.max_connections_per_host, "pool");
    if (!n.ok()) return n.status();
    options.max_connections_per_host = *n;
  }
  auto body = PositiveCount(st, "max_body_bytes", options.max_body_bytes);
  if (!body.ok()) return body.status();
  options.max_body_bytes = *body;
  return options;
}

}  // namespace rf::connectors::settings
