#include "server/auth.h"

#include <openssl/crypto.h>
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
  static const char* kRoles =
      " (admin, deployer, token_admin, repairer, operator, viewer, approver:<role>, webhook:<configured source>)";
  for (const char* plain : {"admin", "deployer", "token_admin", "repairer", "operator", "viewer"})
    if (role == plain) return Status::Ok();
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

std::optional<Duration> TokenPolicy::DefaultFor(const std::vector<std::string>& roles) const {
  std::optional<Duration> best;
  for (const auto& role : roles) {
    auto it = default_expiry.find(role);
    if (it == default_expiry.end()) {
      size_t colon = role.find(':');
      if (colon != std::string::npos) it = default_expiry.find(role.substr(0, colon) + ":*");
    }
    if (it != default_expiry.end() && (!best || it->second < *best)) best = it->second;
  }
  return best;
}

std::string TokenInfo::StatusAt(Time now) const {
  if (revoked_at) return "revoked";
  if (expires_at && now >= *expires_at) return "expired";
  return "active";
}

namespace {

constexpr std::int64_t kLastUsedEveryMs = 60000;

nlohmann::json OptMs(const std::optional<Time>& t) { return t ? nlohmann::json(t->ms) : nlohmann::json(nullptr); }

std::optional<Time> ReadMs(const nlohmann::json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end() || !it->is_number_integer()) return std::nullopt;
  return Time{it->get<std::int64_t>()};
}

std::string RecordOf(const TokenInfo& i) {
  return nlohmann::json{{"name", i.name},
                        {"account", i.account},
                        {"kind", i.kind},
                        {"roles", i.roles},
                        {"configured", i.configured},
                        {"created_at", OptMs(i.created_at)},
                        {"expires_at", OptMs(i.expires_at)},
                        {"revoked_at", OptMs(i.revoked_at)},
                        {"last_used_at", OptMs(i.last_used_at)},
                        {"rotated_to", i.rotated_to}}
      .dump();
}

Status ValidateKind(const std::string& kind) {
  if (kind == "person" || kind == "service") return Status::Ok();
  return Status::InvalidArgument("an account's kind is \"person\" or \"service\", not " + EscapeForMessage(kind, 40));
}

}  // namespace

TokenStore::TokenStore(state::StateStore* store, std::vector<TokenConfig> configured, TokenPolicy policy,
                       std::function<Time()> now)
    : store_(store), policy_(std::move(policy)), now_(std::move(now)) {
  for (auto& t : configured) {
    TokenInfo i;
    i.name = t.name;
    i.account = t.name;
    i.kind = "person";
    i.roles = t.roles;
    i.configured = true;
    by_hash_[t.sha256] = Entry{std::move(i), std::nullopt};
  }
  if (!store_) return;
  Status s = store_->ScanPrefix(state::keys::AuthTokenPrefix(), [&](std::string_view k, std::string_view v) {
    auto hash = state::keys::ParseAuthToken(k);
    if (!hash) return true;  // not a key this format writes: grants nothing
    try {
      auto j = nlohmann::json::parse(v);
      auto it = by_hash_.find(*hash);
      if (it != by_hash_.end() && it->second.info.configured) {
        // The configuration owns the name and roles; the record adds what happened since.
        TokenInfo& i = it->second.info;
        i.revoked_at = ReadMs(j, "revoked_at");
        i.expires_at = ReadMs(j, "expires_at");
        i.last_used_at = ReadMs(j, "last_used_at");
        i.rotated_to = j.value("rotated_to", "");
        it->second.last_persisted = i.last_used_at;
        return true;
      }
      if (j.value("configured", false)) return true;  // a configured token no longer configured: nothing
      TokenInfo i;
      i.name = j.value("name", "");
      i.roles = j.value("roles", std::vector<std::string>{});
      // First edition: {name, roles}; the token is its own account, a person, without expiry.
      i.account = j.value("account", i.name);
      i.kind = j.value("kind", "person");
      i.created_at = ReadMs(j, "created_at");
      i.expires_at = ReadMs(j, "expires_at");
      i.revoked_at = ReadMs(j, "revoked_at");
      i.last_used_at = ReadMs(j, "last_used_at");
      i.rotated_to = j.value("rotated_to", "");
      if (i.name.empty() || i.roles.empty()) return true;  // a damaged entry grants nothing
      Time persisted = i.last_used_at.value_or(Time{});
      by_hash_.emplace(*hash, Entry{std::move(i), persisted});
    } catch (const nlohmann::json::exception&) {
      // A damaged entry grants nothing.
    }
    return true;
  });
  (void)s;  // an unreadable store fails loudly elsewhere (the engine's recovery)
}

Time TokenStore::Now() const {
  if (now_) return now_();
  return Time{std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch()).count()};
}

Status TokenStore::Persist(const std::string& hash, const TokenInfo& info) {
  if (!store_) return Status::Ok();
  state::WriteBatch b;
  b.Put(state::keys::AuthToken(hash), RecordOf(info));
  return store_->Commit(b);
}

std::string TokenStore::HashOf(const std::string& name) const {
  for (const auto& [hash, e] : by_hash_)
    if (e.info.name == name) return hash;
  return {};
}

std::optional<Principal> TokenStore::Authenticate(std::string_view token) {
  if (token.empty()) return std::nullopt;
  // The lookup is by the hash, so no comparison ever runs over the secret's own bytes; the
  // final check of the hash is constant-time as well.
  std::string hash = Sha256Hex(token);
  Time now = Now();
  std::optional<TokenInfo> persist;
  Principal p;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = by_hash_.find(hash);
    if (it == by_hash_.end() || CRYPTO_memcmp(it->first.data(), hash.data(), hash.size()) != 0) return std::nullopt;
    Entry& e = it->second;
    if (e.info.StatusAt(now) != "active") return std::nullopt;
    e.info.last_used_at = now;
    if (!e.last_persisted || now.ms - e.last_persisted->ms >= kLastUsedEveryMs || now < *e.last_persisted) {
      e.last_persisted = now;
      persist = e.info;
    }
    p = Principal{e.info.name, e.info.roles, hash, e.info.account};
  }
  if (persist) (void)Persist(hash, *persist);  // best effort: a lost last-use time denies nothing
  return p;
}

Result<NewTokenResult> TokenStore::Mint(TokenInfo info, const std::string& preset) {
  std::string token = preset.empty() ? NewToken() : preset;
  std::string hash = Sha256Hex(token);
  if (Status s = Persist(hash, info); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  by_hash_[hash] = Entry{info, info.created_at};
  return NewTokenResult{token, std::move(info)};
}

Result<NewTokenResult> TokenStore::Create(const TokenRequest& req,
                                          const std::function<bool(const std::string&)>& webhook_source_exists) {
  if (Status s = ValidateTokenName(req.name); !s.ok()) return s;
  std::string account = req.account.empty() ? req.name : req.account;
  if (Status s = ValidateTokenName(account); !s.ok())
    return Status::InvalidArgument("an account name is 1-64 characters of letters, digits and . _ - : @");
  if (!req.kind.empty())
    if (Status s = ValidateKind(req.kind); !s.ok()) return s;
  for (const auto& r : req.roles)
    if (Status s = ValidateRole(r, webhook_source_exists); !s.ok()) return s;
  if (req.expires_in && req.expires_in->ms <= 0) return Status::InvalidArgument("expires_in must be positive");
  TokenInfo info;
  info.name = req.name;
  info.account = account;
  Time now = Now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!HashOf(req.name).empty()) return Status::AlreadyExists("a token named " + req.name + " exists");
    const TokenInfo* existing = nullptr;
    for (const auto& [_, e] : by_hash_)
      if (e.info.account == account) existing = &e.info;
    if (existing) {
      std::vector<std::string> want = req.roles, have = existing->roles;
      std::sort(want.begin(), want.end());
      std::sort(have.begin(), have.end());
      if (!want.empty() && want != have)
        return Status::FailedPrecondition("account " + account +
                                          " has other roles; a new token of an account takes the account's roles "
                                          "(leave roles out)");
      if (!req.kind.empty() && req.kind != existing->kind)
        return Status::FailedPrecondition("account " + account + " is a " + existing->kind + " account");
      info.roles = existing->roles;
      info.kind = existing->kind;
    } else {
      if (req.roles.empty()) return Status::InvalidArgument("a token of a new account needs at least one role");
      info.roles = req.roles;
      info.kind = req.kind.empty() ? "person" : req.kind;
    }
  }
  info.created_at = now;
  auto life = req.expires_in ? req.expires_in : policy_.DefaultFor(info.roles);
  if (life) info.expires_at = Time{now.ms + life->ms};
  return Mint(std::move(info), "");
}

Result<TokenInfo> TokenStore::Revoke(const std::string& name) {
  Time now = Now();
  std::string hash;
  TokenInfo info;
  {
    std::lock_guard<std::mutex> lock(mu_);
    hash = HashOf(name);
    if (hash.empty()) return Status::NotFound("no token named " + name);
    Entry& e = by_hash_[hash];
    if (e.info.revoked_at) return Status::FailedPrecondition("token " + name + " is already revoked");
    // In memory first: from here on no request with it is accepted, even if the commit fails.
    e.info.revoked_at = now;
    info = e.info;
  }
  if (Status s = Persist(hash, info); !s.ok()) return s;
  return info;
}

Result<RotateResult> TokenStore::Rotate(const std::string& name, const std::string& new_name, Duration overlap,
                                        std::optional<Duration> expires_in) {
  if (overlap.ms < 0) return Status::InvalidArgument("overlap must not be negative");
  if (expires_in && expires_in->ms <= 0) return Status::InvalidArgument("expires_in must be positive");
  Time now = Now();
  TokenInfo old;
  std::string old_hash, fresh_name = new_name;
  {
    std::lock_guard<std::mutex> lock(mu_);
    old_hash = HashOf(name);
    if (old_hash.empty()) return Status::NotFound("no token named " + name);
    old = by_hash_[old_hash].info;
    if (old.StatusAt(now) != "active")
      return Status::FailedPrecondition("token " + name + " is " + old.StatusAt(now) + "; create a new one instead");
    if (fresh_name.empty()) {
      for (int n = 2; fresh_name.empty() || !HashOf(fresh_name).empty(); ++n) {
        std::string base = name.substr(0, std::min<size_t>(name.size(), 56));
        size_t dot = base.rfind('.');
        if (dot != std::string::npos && dot + 1 < base.size() &&
            std::all_of(base.begin() + static_cast<long>(dot) + 1, base.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
          base.resize(dot);
        fresh_name = base + "." + std::to_string(n);
      }
    }
    if (Status s = ValidateTokenName(fresh_name); !s.ok()) return s;
    if (!HashOf(fresh_name).empty()) return Status::AlreadyExists("a token named " + fresh_name + " exists");
  }
  TokenInfo fresh;
  fresh.name = fresh_name;
  fresh.account = old.account;
  fresh.kind = old.kind;
  fresh.roles = old.roles;
  fresh.created_at = now;
  auto life = expires_in ? expires_in : policy_.DefaultFor(fresh.roles);
  if (life) fresh.expires_at = Time{now.ms + life->ms};
  auto minted = Mint(std::move(fresh), "");
  if (!minted.ok()) return minted.status();
  {
    std::lock_guard<std::mutex> lock(mu_);
    Entry& e = by_hash_[old_hash];
    Time until{now.ms + overlap.ms};
    if (!e.info.expires_at || until < *e.info.expires_at) e.info.expires_at = until;
    e.info.rotated_to = fresh_name;
    old = e.info;
  }
  if (Status s = Persist(old_hash, old); !s.ok()) return s;
  return RotateResult{std::move(*minted), std::move(old)};
}

Result<std::string> TokenStore::EnsureAdmin(const std::string& preset) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [_, e] : by_hash_)
      if (std::find(e.info.roles.begin(), e.info.roles.end(), "admin") != e.info.roles.end() &&
          !e.info.revoked_at)
        return std::string();
  }
  TokenInfo info;
  info.name = "admin";
  info.account = "admin";
  info.kind = "person";
  info.roles = {"admin"};
  info.created_at = Now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!HashOf("admin").empty()) info.name = info.account = "admin." + std::to_string(info.created_at->ms);
  }
  auto minted = Mint(std::move(info), preset);
  if (!minted.ok()) return minted.status();
  return minted->token;
}

std::vector<TokenInfo> TokenStore::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<TokenInfo> out;
  for (const auto& [_, e] : by_hash_) out.push_back(e.info);
  std::sort(out.begin(), out.end(), [](const TokenInfo& a, const TokenInfo& b) { return a.name < b.name; });
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
