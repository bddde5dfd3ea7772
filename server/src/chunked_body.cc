#include "server/src/chunked_body.h"

#include <algorithm>
#include <cstdio>

namespace rf::server {

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A control character other than HTAB (RFC 9110 §5.5: never allowed in a field or chunk line).
bool IsControl(char ch) {
  auto c = static_cast<unsigned char>(ch);
  return (c < 0x20 && c != '\t') || c == 0x7f;
}

// RFC 9110 §5.6.2 tchar.
bool IsTokenChar(char ch) {
  auto c = static_cast<unsigned char>(ch);
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

std::string Describe(char ch) {
  auto c = static_cast<unsigned char>(ch);
  if (c == 0) return "NUL";
  if (c == '\r') return "bare CR";
  if (c == '\n') return "bare LF";
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02x", c);
  return hex;
}

constexpr size_t kMaxSizeDigits = 16;  // 2^64 - 1 is 16 hex digits

}  // namespace

bool ChunkedBody::Refuse(int status, std::string code, std::string message) {
  at_ = At::kRefused;
  refusal_ = ChunkedRefusal{status, std::move(code), std::move(message)};
  return false;
}

bool ChunkedBody::EndSizeLine() {
  if (size_digits_ == 0) return Refuse(400, "invalid_chunk", "malformed chunked body: a chunk line has no size");
  if (chunk_size_ == 0) {
    at_ = At::kTrailerLineStart;
    return true;
  }
  chunk_left_ = chunk_size_;
  at_ = At::kData;
  return true;
}

bool ChunkedBody::EndTrailerLine() {
  ++trailer_fields_;
  if (limits_.head_fields + trailer_fields_ > limits_.max_fields)
    return Refuse(431, "headers_too_large",
                  "more than " + std::to_string(limits_.max_fields) + " header and trailer fields");
  if (!trailer_name_done_)
    return Refuse(400, "invalid_chunk", "malformed chunked body: a trailer line is not a field (name: value)");
  at_ = At::kTrailerLineStart;
  return true;
}

bool ChunkedBody::Step(char ch) {
  switch (at_) {
    case At::kSize: {
      int v = HexValue(ch);
      if (v >= 0) {
        if (++size_digits_ > kMaxSizeDigits)
          return Refuse(400, "invalid_chunk", "malformed chunked body: a chunk size has more than 16 hex digits");
        chunk_size_ = chunk_size_ * 16 + static_cast<std::uint64_t>(v);
        if (chunk_size_ > limits_.max_body_bytes || body_.size() + chunk_size_ > limits_.max_body_bytes)
          return Refuse(413, "payload_too_large",
                        "the body exceeds the limit of " + std::to_string(limits_.max_body_bytes) + " bytes");
        return true;
      }
      if (size_digits_ == 0)
        return Refuse(400, "invalid_chunk", "malformed chunked body: a chunk line must start with its size in hex");
      if (ch == '\r') {
        at_ = At::kSizeLf;
        return true;
      }
      at_ = At::kSizeWhitespace;
      return Step(ch);
    }
    case At::kSizeWhitespace:
    case At::kExtension:
      if (ch == '\r') {
        at_ = At::kSizeLf;
        return true;
      }
      if (++extension_bytes_ > limits_.max_chunk_extension_bytes)
        return Refuse(400, "chunk_extension_too_long",
                      "the chunk extensions exceed " + std::to_string(limits_.max_chunk_extension_bytes) + " bytes");
      if (IsControl(ch))
        return Refuse(400, "invalid_chunk", "malformed chunked body: a chunk line contains " + Describe(ch));
      if (at_ == At::kSizeWhitespace) {
        if (ch == ';') at_ = At::kExtension;
        else if (ch != ' ' && ch != '\t')
          return Refuse(400, "invalid_chunk", "malformed chunked body: a chunk size must be followed by ';' or CRLF");
      }
      return true;
    case At::kSizeLf:
      if (ch != '\n') return Refuse(400, "invalid_chunk", "malformed chunked body: a chunk line contains a bare CR");
      return EndSizeLine();
    case At::kData:  // bulk-copied by Feed; one byte here only when Feed hands one
      body_.push_back(ch);
      if (--chunk_left_ == 0) at_ = At::kDataCr;
      return true;
    case At::kDataCr:
      if (ch != '\r') return Refuse(400, "invalid_chunk", "malformed chunked body: a chunk's data is not followed by CRLF");
      at_ = At::kDataLf;
      return true;
    case At::kDataLf:
      if (ch != '\n') return Refuse(400, "invalid_chunk", "malformed chunked body: a chunk's data is not followed by CRLF");
      at_ = At::kSize;
      chunk_size_ = 0;
      size_digits_ = 0;
      return true;
    case At::kTrailerLineStart:
      if (ch == '\r') {
        at_ = At::kEndLf;
        return true;
      }
      if (ch == ' ' || ch == '\t')
        return Refuse(400, "invalid_chunk", "malformed chunked body: a trailer line starts with whitespace (obs-fold)");
      trailer_line_bytes_ = 0;
      trailer_name_done_ = false;
      at_ = At::kTrailerLine;
      return Step(ch);
    case At::kTrailerLine:
      if (++trailer_bytes_ > limits_.trailer_budget)
        return Refuse(431, "headers_too_large",
                      "the trailer section exceeds the " + std::to_string(limits_.trailer_budget) +
                          " bytes left by the head");
      if (ch == '\r') {
        at_ = At::kTrailerLf;
        return true;
      }
      if (IsControl(ch))
        return Refuse(400, "invalid_chunk", "malformed chunked body: a trailer line contains " + Describe(ch));
      if (!trailer_name_done_) {
        if (ch == ':' && trailer_line_bytes_ > 0) trailer_name_done_ = true;
        else if (!IsTokenChar(ch))
          return Refuse(400, "invalid_chunk", "malformed chunked body: a trailer field name contains '" +
                                                  std::string(1, ch) + "'");
      }
      ++trailer_line_bytes_;
      return true;
    case At::kTrailerLf:
      if (ch != '\n') return Refuse(400, "invalid_chunk", "malformed chunked body: a trailer line contains a bare CR");
      return EndTrailerLine();
    case At::kEndLf:
      if (ch != '\n') return Refuse(400, "invalid_chunk", "malformed chunked body: the trailer section ends with a bare CR");
      at_ = At::kDone;
      return false;
    case At::kDone:
    case At::kRefused:
      return false;
  }
  return false;
}

ChunkedBody::Progress ChunkedBody::Feed(std::string_view data, size_t* consumed) {
  size_t i = 0;
  while (i < data.size() && at_ != At::kDone && at_ != At::kRefused) {
    if (at_ == At::kData && chunk_left_ > 1) {
      size_t n = static_cast<size_t>(std::min<std::uint64_t>(chunk_left_ - 1, data.size() - i));
      body_.append(data.data() + i, n);
      chunk_left_ -= n;
      i += n;
      continue;
    }
    bool go_on = Step(data[i]);
    if (at_ != At::kRefused) ++i;  // the refused byte is not consumed; nothing after it is read
    if (!go_on) break;
  }
  *consumed = i;
  if (at_ == At::kDone) return Progress::kComplete;
  if (at_ == At::kRefused) return Progress::kRefused;
  return Progress::kNeedMore;
}

}  // namespace rf::server
