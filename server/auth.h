// Bearer tokens → principals with roles; least-privilege checks; per-token rate limits.
//
// Roles: admin, operator, viewer, approver:<role> (e.g. approver:store_manager),
// webhook:<source>. Tokens are never stored or logged in clear: the configuration and the store
// keep SHA-256(token) only. Thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "server/config.h"
#include "state/state_store.h"

namespace rf::server {

std::string Sha256Hex(std::string_view data);
// A fresh random token: "rf_" + 43 characters of base64url (256 bits from OpenSSL's RAND_bytes).
std::string NewToken();
// A fresh webhook secret: "whsec_" + base64 of 32 random bytes.
std::string NewWebhookSecret();

// The credentials of an Authorization header value (RFC 9110 §11.6.2, RFC 6750 §2.1):
// "Bearer" (any case), one or more spaces, then a token68 (A-Z a-z 0-9 - . _ ~ + / then '='
// padding only at the end). Empty when the value is not a well-formed bearer credential, so a
// route answers 401 instead of looking up a malformed token. (Repeated Authorization headers
// never get this far: the HTTP layer refuses them with 400.)
std::string BearerToken(std::string_view authorization);

struct Principal {
  std::string name;
  std::vector<std::string> roles;
  std::string token_hash;  // the rate-limit key; never the token itself
  bool Has(std::string_view role) const;
  bool IsAdmin() const { return Has("admin"); }
};

// A route's accepted roles: exact names, or "approver:*" / "webhook:*" for any of that family.
// admin is accepted everywhere.
bool Allowed(const Principal& p, const std::vector<std::string>& accepted);

// A token's name: 1-64 characters of letters, digits and . _ - : @ (it appears in logs, audit
// records and the actor of a decision, so it is plain text).
Status ValidateTokenName(const std::string& name);
// A role: admin, operator, viewer, approver:<role> (the role 1-64 letters, digits, _ or -), or
// webhook:<source> for a source that `webhook_source_exists` knows (null: no source exists).
Status ValidateRole(const std::string& role, const std::function<bool(const std::string&)>& webhook_source_exists);

class TokenStore {
 public:
  // Tokens from the configuration plus those created through the API (kept in `store` under
  // auth/token/<sha256>).
  TokenStore(state::StateStore* store, std::vector<TokenConfig> configured);

  std::optional<Principal> Authenticate(std::string_view token) const;
  // Creates a token; returns it in clear (the only time it exists in clear). InvalidArgument for
  // a name or role refused by ValidateTokenName / ValidateRole, AlreadyExists for a taken name.
  Result<std::string> Create(const std::string& name, const std::vector<std::string>& roles,
                             const std::function<bool(const std::string&)>& webhook_source_exists = nullptr);
  // When no admin token exists yet (first start): creates one named "admin" and returns it; else
  // returns an empty string. `preset` (e.g. from RETAILFLOW_ADMIN_TOKEN) is used instead of a
  // random token when given.
  Result<std::string> EnsureAdmin(const std::string& preset);
  std::vector<Principal> List() const;

 private:
  state::StateStore* store_;
  mutable std::mutex mu_;
  std::map<std::string, Principal> by_hash_;
};

// Token buckets keyed by principal; Allow() is thread-safe.
class RateLimiter {
 public:
  RateLimiter(double rate_per_second, double burst) : rate_(rate_per_second), burst_(burst) {}
  // False when the bucket is empty; `retry_after_s` then says when the next request may pass.
  bool Allow(const std::string& key, std::chrono::steady_clock::time_point now, double* retry_after_s);

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point last;
  };
  double rate_, burst_;
  std::mutex mu_;
  std::map<std::string, Bucket> buckets_;
};

}  // namespace rf::server
