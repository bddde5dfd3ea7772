#include "server/request_target.h"

namespace rf::server {

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes %XX escapes (and '+' as a space when `plus_is_space`). False on a broken escape.
bool PercentDecode(std::string_view in, bool plus_is_space, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      int hi = i + 1 < in.size() ? HexValue(in[i + 1]) : -1;
      int lo = i + 2 < in.size() ? HexValue(in[i + 2]) : -1;
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return true;
}

RequestTarget Refused(std::string code, std::string message) {
  RequestTarget t;
  t.error_code = std::move(code);
  t.error_message = std::move(message);
  return t;
}

// Checks one decoded component; `what` names it in the error without repeating its bytes.
bool CheckDecoded(const std::string& decoded, const std::string& what, RequestTarget& refusal) {
  if (!IsValidUtf8(decoded)) {
    refusal = Refused("invalid_utf8", what + " is not valid UTF-8 once percent-decoded");
    return false;
  }
  if (decoded.find('\0') != std::string::npos) {
    refusal = Refused("invalid_target", what + " contains a NUL character (%00)");
    return false;
  }
  return true;
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    unsigned cp;
    if (b >= 0xc2 && b <= 0xdf) {
      len = 2, cp = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
      len = 3, cp = b & 0x0f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      len = 4, cp = b & 0x07;
    } else {
      return false;  // a continuation byte, an overlong lead (c0, c1) or beyond U+10FFFF (f5..ff)
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += len;
  }
  return true;
}

RequestTarget DecodeTarget(std::string_view target) {
  for (char c : target)
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f)
      return Refused("invalid_target", "the request target must be ASCII without spaces or controls "
                                       "(percent-encode other bytes)");
  if (target.empty() || target.front() != '/')
    return Refused("invalid_target", "the request target must be a path starting with /");
  if (target.find('#') != std::string_view::npos)
    return Refused("invalid_target", "the request target must not carry a fragment (#)");

  RequestTarget t;
  size_t qpos = target.find('?');
  std::string_view path = target.substr(0, qpos);
  t.path = std::string(path);
  std::string decoded;
  size_t i = 0, index = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    ++index;
    std::string what = "path segment " + std::to_string(index);
    if (!PercentDecode(path.substr(i, j - i), false, decoded))
      return Refused("invalid_target", what + " has a broken percent-escape (% must be followed by two hex digits)");
    RequestTarget refusal;
    if (!CheckDecoded(decoded, what, refusal)) return refusal;
    t.segments.push_back(decoded);
    i = j;
  }
  if (qpos == std::string_view::npos) return t;

  std::string_view q = target.substr(qpos + 1);
  size_t start = 0;
  while (start <= q.size()) {
    size_t amp = q.find('&', start);
    if (amp == std::string_view::npos) amp = q.size();
    std::string_view pair = q.substr(start, amp - start);
    start = amp + 1;
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string key, value;
    if (!PercentDecode(pair.substr(0, eq), true, key) ||
        (eq != std::string_view::npos && !PercentDecode(pair.substr(eq + 1), true, value)))
      return Refused("invalid_target", "the query has a broken percent-escape (% must be followed by two hex digits)");
    RequestTarget refusal;
    if (!CheckDecoded(key, "a query parameter name", refusal)) return refusal;
    // The name is valid UTF-8 now, so it may appear in the message.
    if (!CheckDecoded(value, "query parameter '" + key + "'", refusal)) return refusal;
    t.query[key] = value;
  }
  return t;
}

}  // namespace rf::server
