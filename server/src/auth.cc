#include "server/auth.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "common/utf8.h"
#include "state/keys.h"

namespace rf::server {

namespace {

std::string Base64(const unsigned char* data, size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(static_cast<size_t>(len));
  return out;
}

std::string RandomBytes(size_t n) {
  std::string b(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(b.data()), static_cast<int>(n)) != 1)
    std::abort();  // no entropy: refusing to mint guessable credentials
  return b;
}

}  // namespace

std::string Sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(hex[md[i] >> 4]);
    out.push_back(hex[md[i] & 15]);
  }
  return out;
}

std::string NewToken() {
  std::string raw = RandomBytes(32);
  std::string b = Base64(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
  for (char& c : b) c = c == '+' ? '-' : c == '/' ? '_' : c;
  b.erase(std::remove(b.begin(), b.end(), '='), b.end());
  return "rf_" + b;
}

std::string NewWebhookSecret() {
  std::string raw = RandomBytes(32);
  return "whsec_" + Base64(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
}

std::string BearerToken(std::string_view v) {
  constexpr std::string_view kScheme = "bearer";
  if (v.size() <= kScheme.size()) return {};
  for (size_t i = 0; i < kScheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(v[i])) != kScheme[i]) return {};
  size_t i = kScheme.size();
  if (v[i] != ' ') return {};
  while (i < v.size() && v[i] == ' ') ++i;
  std::string_view token = v.substr(i);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);  // OWS after the value
  size_t end = token.size();
  while (end > 0 && token[end - 1] == '=') --end;
  if (end == 0) return {};
  for (size_t k = 0; k < end; ++k) {
    auto c = static_cast<unsigned char>(token[k]);
    if (!(std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/')) return {};
  }
  return std::string(token);
}

bool Principal::Has(std::string_view role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

bool Allowed(const Principal& p, const std::vector<std::string>& accepted) {
  if (p.IsAdmin()) return true;
  for (const auto& want : accepted) {
    if (want.size() > 2 && want.compare(want.size() - 2, 2, ":*") == 0) {
      std::string family = want.substr(0, want.size() - 1);  // "approver:"
      for (const auto& r : p.roles)
        if (r.size() > family.size() && r.compare(0, family.size(), family) == 0) return true;
    } else if (p.Has(want)) {
      return true;
    }
  }
  return false;
}

Status ValidateTokenName(const std::string& name) {
  bool plain = std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == ':' || c == '@';
  });
  if (name.empty() || name.size() > 64 || !plain)
    return Status::InvalidArgument("a token name is 1-64 characters of letters, digits and . _ - : @");
  return Status::Ok();
}

Status ValidateRole(const std::string& role, const std::function<bool(const std::string&)>& webhook_source_exists) {
  static const char* kRoles = " (admin, operator, viewer, approver:<role>, webhook:<configured source>)";
  if (role == "admin" || role == "operator" || role == "viewer") return Status::Ok();
  if (role.rfind("approver:", 0) == 0) {
    std::string r = role.substr(9);
    bool plain = std::all_of(r.begin(), r.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    });
    if (r.empty() || r.size() > 64 || !plain)
      return Status::InvalidArgument("an approver role is approver:<role>, the role 1-64 letters, digits, _ or -");
    return Status::Ok();
  }
  if (role.rfind("webhook:", 0) == 0) {
    std::string source = role.substr(8);
    if (!webhook_source_exists || !webhook_source_exists(source))
      return Status::InvalidArgument("no webhook source " + EscapeForMessage(source, 64) + " is configured");
    return Status::Ok();
  }
  return Status::InvalidArgument("unknown role " + EscapeForMessage(role, 64) + kRoles);
}

TokenStore::TokenStore(state::StateStore* store, std::vector<TokenConfig> configured) : store_(store) {
  for (auto& t : configured) by_hash_[t.sha256] = Principal{t.name, t.roles, t.sha256};
  if (!store_) return;
  Status s = store_->ScanPrefix(state::keys::AuthTokenPrefix(), [&](std::string_view k, std::string_view v) {
    auto hash = state::keys::ParseAuthToken(k);
    if (!hash) return true;  // not a key this format writes: grants nothing
    try {
      auto j = nlohmann::json::parse(v);
      by_hash_.emplace(*hash, Principal{j.value("name", ""), j.value("roles", std::vector<std::string>{}), *hash});
    } catch (const nlohmann::json::exception&) {
      // A damaged entry grants nothing.
    }
    return true;
  });
  (void)s;  // an unreadable store fails loudly elsewhere (the engine's recovery)
}

std::optional<Principal> TokenStore::Authenticate(std::string_view token) const {
  if (token.empty()) return std::nullopt;
  // Looking up the hash, not the token, keeps the comparison independent of the secret's bytes.
  std::string hash = Sha256Hex(token);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_hash_.find(hash);
  if (it == by_hash_.end()) return std::nullopt;
  return it->second;
}

Result<std::string> TokenStore::Create(const std::string& name, const std::vector<std::string>& roles,
                                       const std::function<bool(const std::string&)>& webhook_source_exists) {
  if (Status s = ValidateTokenName(name); !s.ok()) return s;
  if (roles.empty()) return Status::InvalidArgument("a token needs at least one role");
  for (const auto& r : roles)
    if (Status s = ValidateRole(r, webhook_source_exists); !s.ok()) return s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [_, p] : by_hash_)
      if (p.name == name) return Status::AlreadyExists("a token named " + name + " exists");
  }
  std::string token = NewToken();
  std::string hash = Sha256Hex(token);
  if (store_) {
    state::WriteBatch b;
    b.Put(state::keys::AuthToken(hash), nlohmann::json{{"name", name}, {"roles", roles}}.dump());
    Status s = store_->Commit(b);
    if (!s.ok()) return s;
  }
  std::lock_guard<std::mutex> lock(mu_);
  by_hash_[hash] = Principal{name, roles, hash};
  return token;
}

Result<std::string> TokenStore::EnsureAdmin(const std::string& preset) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [_, p] : by_hash_)
      if (p.IsAdmin()) return std::string();
  }
  std::string token = preset.empty() ? NewToken() : preset;
  std::string hash = Sha256Hex(token);
  if (store_) {
    state::WriteBatch b;
    b.Put(state::keys::AuthToken(hash), nlohmann::json{{"name", "admin"}, {"roles", {"admin"}}}.dump());
    Status s = store_->Commit(b);
    if (!s.ok()) return s;
  }
  std::lock_guard<std::mutex> lock(mu_);
  by_hash_[hash] = Principal{"admin", {"admin"}, hash};
  return token;
}

std::vector<Principal> TokenStore::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Principal> out;
  for (const auto& [_, p] : by_hash_) out.push_back(p);
  std::sort(out.begin(), out.end(), [](const Principal& a, const Principal& b) { return a.name < b.name; });
  return out;
}

bool RateLimiter::Allow(const std::string& key, std::chrono::steady_clock::time_point now,
                        double* retry_after_s) {
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, fresh] = buckets_.try_emplace(key, Bucket{burst_, now});
  Bucket& b = it->second;
  if (!fresh) {
    double elapsed = std::chrono::duration<double>(now - b.last).count();
    b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
    b.last = now;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return true;
  }
  if (retry_after_s) *retry_after_s = (1.0 - b.tokens) / rate_;
  return false;
}

}  // namespace rf::server
