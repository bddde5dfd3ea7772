// The request target (RFC 9112 §3.2) checked and percent-decoded once, before any route sees it.
//
// Contract: a target that DecodeTarget accepts has only visible ASCII bytes, every '%' starts a
// valid %XX escape, and every path segment and query key and value is valid UTF-8 (with no NUL)
// once decoded. So whatever a router derives from it (path parameters, query values) can be put
// into JSON, logs and storage keys without a further check. Refused targets carry the API error
// code to answer with: "invalid_target" or "invalid_utf8" (both 400).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace rf::server {

struct RequestTarget {
  std::string path;                          // as received, without the query
  std::vector<std::string> segments;         // the path's non-empty segments, decoded
  std::map<std::string, std::string> query;  // decoded ('+' is a space); the last of a repeated key
  // Set when the target is refused; the other fields are then unspecified.
  std::string error_code, error_message;
  bool ok() const { return error_code.empty(); }
};

RequestTarget DecodeTarget(std::string_view target);

// True when `s` is well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, at most U+10FFFF).
bool IsValidUtf8(std::string_view s);

}  // namespace rf::server
