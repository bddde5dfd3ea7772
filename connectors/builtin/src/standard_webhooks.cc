// Standard Webhooks signing with OpenSSL's HMAC and EVP base64. See standard_webhooks.h.
#include "connectors/builtin/standard_webhooks.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>

namespace rf::connectors::standard_webhooks {

std::string Base64Encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  out.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  if (text.empty()) return std::string();
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out(3 * text.size() / 4 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the padding as zero bytes.
  size_t pad = 0;
  if (text.back() == '=') ++pad;
  if (text.size() >= 2 && text[text.size() - 2] == '=') ++pad;
  if (static_cast<size_t>(n) < pad) return std::nullopt;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

std::optional<std::string> DecodeSecret(std::string_view secret) {
  constexpr std::string_view kPrefix = "whsec_";
  if (secret.substr(0, kPrefix.size()) == kPrefix) secret.remove_prefix(kPrefix.size());
  auto key = Base64Decode(secret);
  if (!key || key->empty()) return std::nullopt;
  return key;
}

namespace {

// Raw 32-byte HMAC-SHA256 of "id.timestamp.body".
std::optional<std::string> Mac(std::string_view key, std::string_view id,
                               std::string_view timestamp, std::string_view body) {
  std::string content;
  content.reserve(id.size() + timestamp.size() + body.size() + 2);
  content.append(id).append(".").append(timestamp).append(".").append(body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(content.data()), content.size(), mac,
           &len) == nullptr) {
    return std::nullopt;
  }
  return std::string(reinterpret_cast<const char*>(mac), len);
}

}  // namespace

std::optional<std::string> Sign(std::string_view secret, std::string_view id,
                                std::int64_t timestamp_seconds, std::string_view body) {
  auto key = DecodeSecret(secret);
  if (!key) return std::nullopt;
  auto mac = Mac(*key, id, std::to_string(timestamp_seconds), body);
  if (!mac) return std::nullopt;
  return "v1," + Base64Encode(*mac);
}

Verification Verify(const std::vector<std::string>& secrets, std::string_view id,
                    std::string_view timestamp, std::string_view signature_header,
                    std::string_view body, std::int64_t now_seconds,
                    std::int64_t tolerance_seconds) {
  if (id.empty()) return {false, "missing webhook-id"};
  if (timestamp.empty()) return {false, "missing webhook-timestamp"};
  if (signature_header.empty()) return {false, "missing webhook-signature"};
  std::int64_t ts = 0;
  auto [end, ec] = std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), ts);
  if (ec != std::errc() || end != timestamp.data() + timestamp.size()) {
    return {false, "webhook-timestamp is not a unix time in seconds"};
  }
  if (ts < now_seconds - tolerance_seconds) return {false, "webhook-timestamp is too old"};
  if (ts > now_seconds + tolerance_seconds) return {false, "webhook-timestamp is in the future"};

  // Decode the offered v1 signatures once.
  std::vector<std::string> offered;
  size_t pos = 0;
  while (pos < signature_header.size()) {
    size_t next = signature_header.find(' ', pos);
    std::string_view token = signature_header.substr(
        pos, next == std::string_view::npos ? std::string_view::npos : next - pos);
    pos = next == std::string_view::npos ? signature_header.size() : next + 1;
    if (token.substr(0, 3) != "v1,") continue;  // other versions/schemes are ignored
    if (auto raw = Base64Decode(token.substr(3))) offered.push_back(std::move(*raw));
  }
  if (offered.empty()) return {false, "no v1 signature in webhook-signature"};

  bool any_key = false;
  bool match = false;
  for (const std::string& secret : secrets) {
    auto key = DecodeSecret(secret);
    if (!key) continue;
    any_key = true;
    auto expected = Mac(*key, id, timestamp, body);
    if (!expected) continue;
    for (const std::string& sig : offered) {
      // Every candidate is compared (no early exit) in constant time per comparison.
      if (sig.size() == expected->size() &&
          CRYPTO_memcmp(sig.data(), expected->data(), sig.size()) == 0) {
        match = true;
      }
    }
  }
  if (!any_key) return {false, "no valid secret configured"};
  if (!match) return {false, "no matching signature"};
  return {true, {}};
}

}  // namespace rf::connectors::standard_webhooks
