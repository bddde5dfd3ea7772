// Standard Webhooks (https://www.standardwebhooks.com) signing and verification.
//
// Signed content: "{webhook-id}.{webhook-timestamp}.{raw body}"; HMAC-SHA256 with the key that is
// the base64-decoded part of a "whsec_<base64>" secret; sent as "v1,<base64 signature>" in the
// `webhook-signature` header, several space-separated signatures allowed (key rotation).
//
// Standalone on purpose (OpenSSL + std only) so that the server's webhook ingress can use it.
// All functions are thread-safe and pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rf::connectors::standard_webhooks {

// Standard base64 (with padding) via OpenSSL EVP. Decode returns nullopt for invalid input.
std::string Base64Encode(std::string_view data);
std::optional<std::string> Base64Decode(std::string_view text);

// The HMAC key of a secret: "whsec_<base64>" → decoded bytes. A secret without the prefix is
// taken as base64 too. nullopt when the base64 is invalid or the key is empty.
std::optional<std::string> DecodeSecret(std::string_view secret);

// "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>"; nullopt when the secret does not decode.
std::optional<std::string> Sign(std::string_view secret, std::string_view id,
                                std::int64_t timestamp_seconds, std::string_view body);

struct Verification {
  bool ok = false;
  std::string error;  // why not, for logs and the 401 body; never contains the secret
};

// Checks the three headers of one delivery. `secrets` are all currently accepted secrets (old and
// new during a rotation); `signature_header` may hold several "v1,..." entries separated by
// spaces, any match of any secret is enough (constant-time comparison). The timestamp must be
// within `tolerance_seconds` of `now_seconds` in either direction. Deduplication by `id` is the
// caller's job.
Verification Verify(const std::vector<std::string>& secrets, std::string_view id,
                    std::string_view timestamp, std::string_view signature_header,
                    std::string_view body, std::int64_t now_seconds,
                    std::int64_t tolerance_seconds = 300);

}  // namespace rf::connectors::standard_webhooks
