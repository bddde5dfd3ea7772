// Bearer tokens → principals with roles; least-privilege checks; per-token rate limits.
//
// Roles: admin (the union of the others), deployer (definitions), token_admin (tokens and
// accounts), repairer (retry, skip, cancel), operator, viewer, approver:<role> (e.g.
// approver:store_manager), webhook:<source>. Tokens are never stored or logged in clear: the configuration and the store
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
#include "common/value.h"
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
  std::string name;  // the token's name
  std::vector<std::string> roles;
  std::string token_hash;  // the rate-limit key; never the token itself
  std::string account;     // the account the token belongs to (its roles are the account's)
  bool Has(std::string_view role) const;
  bool IsAdmin() const { return Has("admin"); }
};

// A route's accepted roles: exact names, or "approver:*" / "webhook:*" for any of that family.
// admin is accepted everywhere: it is the union of deployer, token_admin, repairer, operator and
// viewer (and may decide any task).
bool Allowed(const Principal& p, const std::vector<std::string>& accepted);

// A token's name: 1-64 characters of letters, digits and . _ - : @ (it appears in logs, audit
// records and the actor of a decision, so it is plain text). Account names follow the same rule.
Status ValidateTokenName(const std::string& name);
// A role: admin, deployer, token_admin, repairer, operator, viewer, approver:<role> (the role 1-64
// letters, digits, _ or -), or webhook:<source> for a source that `webhook_source_exists` knows
// (null: no source exists).
Status ValidateRole(const std::string& role, const std::function<bool(const std::string&)>& webhook_source_exists);

// How long a new token lives when its creator gives no expires_in: by role ("admin",
// "webhook:*" for a family, or an exact "approver:store_manager"); a token with several roles
// gets the shortest of theirs. A role without an entry: no default (the token never expires).
struct TokenPolicy {
  std::map<std::string, Duration> default_expiry;
  std::optional<Duration> DefaultFor(const std::vector<std::string>& roles) const;
};

// What the listing shows of a token (never the token, never its hash).
struct TokenInfo {
  std::string name, account, kind;  // kind: "person" | "service"
  std::vector<std::string> roles;
  bool configured = false;          // from the configuration file
  std::optional<Time> created_at, expires_at, revoked_at, last_used_at;
  std::string rotated_to;           // the token that replaced it (rotation)
  // "active", "expired" or "revoked" at `now`.
  std::string StatusAt(Time now) const;
};

struct TokenRequest {
  std::string name;
  std::string account;  // default: the token's name
  std::string kind;     // "person" | "service"; default: the account's, else "person"
  std::vector<std::string> roles;  // empty: the existing account's roles
  std::optional<Duration> expires_in;  // default: TokenPolicy
};

struct NewTokenResult {
  std::string token;  // in clear: the only time it exists in clear
  TokenInfo info;
};

struct RotateResult {
  NewTokenResult fresh;
  TokenInfo old;  // its expires_at is when it stops working
};

// Tokens from the configuration plus those created through the API, kept in the store under
// auth/token/<sha256> as {name, account, kind, roles, created_at, expires_at, revoked_at,
// last_used_at, rotated_to} (times in ms since the epoch). Records of the first edition, {name,
// roles}, are read as an account of the token's name, kind person, no expiry. A configured token
// may have a record too: it carries its revocation, rotation and last use.
//
// Accounts: every token belongs to one; the account's roles and kind are those of its tokens,
// which are kept equal (a new token for an existing account takes the account's roles; other
// roles are refused). Expiry is judged on `now` (the service's clock, adjustable in tests).
// Thread-safe.
class TokenStore {
 public:
  TokenStore(state::StateStore* store, std::vector<TokenConfig> configured, TokenPolicy policy = {},
             std::function<Time()> now = nullptr);

  // The principal of a token that exists, is not revoked and has not expired; records its last
  // use (in memory at once, in the store at most once a minute per token).
  std::optional<Principal> Authenticate(std::string_view token);
  // InvalidArgument for a name, account, kind, role or expiry refused, AlreadyExists for a taken
  // name, FailedPrecondition for roles that differ from the existing account's.
  Result<NewTokenResult> Create(const TokenRequest& request,
                                const std::function<bool(const std::string&)>& webhook_source_exists = nullptr);
  // Effective at once: the next request with the token is refused. NotFound for an unknown name,
  // FailedPrecondition when already revoked.
  Result<TokenInfo> Revoke(const std::string& name);
  // A new token `new_name` (default "<name>.<n>") for the same account and roles; the old one
  // keeps working until now + overlap (or its own expiry, if sooner). NotFound / FailedPrecondition
  // (revoked or expired) / AlreadyExists (new name taken) / InvalidArgument.
  Result<RotateResult> Rotate(const std::string& name, const std::string& new_name, Duration overlap,
                              std::optional<Duration> expires_in);
  // When no admin token exists yet (first start): creates one named "admin" and returns it; else
  // returns an empty string. `preset` (e.g. from RETAILFLOW_ADMIN_TOKEN) is used instead of a
  // random token when given.
  Result<std::string> EnsureAdmin(const std::string& preset);
  std::vector<TokenInfo> List() const;
  Time Now() const;

 private:
  struct Entry {
    TokenInfo info;
    std::optional<Time> last_persisted;
  };
  Status Persist(const std::string& hash, const TokenInfo& info);  // without mu_
  Result<NewTokenResult> Mint(TokenInfo info, const std::string& preset);
  std::string HashOf(const std::string& name) const;  // under mu_; empty when unknown

  state::StateStore* store_;
  TokenPolicy policy_;
  std::function<Time()> now_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> by_hash_;
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
