// Decodes a chunked request body (RFC 9112 §7.1) one byte at a time. Every decision (accept,
// refuse, which refusal) is taken at a definite byte of the stream and depends only on the bytes
// before it, so the outcome never depends on how TCP cut the stream into reads: the property the
// HTTP fuzz target checks (tests/fuzz/http_fuzz.cc). Beast's own chunked parser searches each
// chunk line and the trailer section in whatever happens to be buffered, which is why the service
// does not use it for bodies.
//
// Refusals, at the byte that makes them certain:
//   413 payload_too_large         the chunk sizes declared so far exceed max_body_bytes (checked
//                                 digit by digit, before any data of that chunk is read)
//   400 invalid_chunk             a size that is not 1–16 hex digits, a bad character in a chunk
//                                 line, a chunk's data not followed by CRLF, a malformed trailer line
//   400 chunk_extension_too_long  the chunk extensions of the body exceed max_chunk_extension_bytes
//   431 headers_too_large         the trailer section exceeds trailer_budget bytes, or the header
//                                 and trailer fields together exceed max_fields
// Trailer fields are checked and bounded, then dropped: they are never merged into the request.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace rf::server {

struct ChunkedLimits {
  size_t max_body_bytes = 0;
  size_t max_chunk_extension_bytes = 0;
  size_t trailer_budget = 0;  // bytes of trailer section allowed (what the head left)
  size_t max_fields = 0;      // header fields + trailer fields
  size_t head_fields = 0;     // header fields already counted
};

struct ChunkedRefusal {
  int status = 0;
  std::string code, message;
};

class ChunkedBody {
 public:
  enum class Progress { kNeedMore, kComplete, kRefused };

  explicit ChunkedBody(ChunkedLimits limits) : limits_(limits) {}

  // Decodes from `data`; sets *consumed to the bytes used (all of them unless the body ends or is
  // refused inside `data`). After kComplete or kRefused nothing more is read.
  Progress Feed(std::string_view data, size_t* consumed);

  const ChunkedRefusal& refusal() const { return refusal_; }
  std::string& body() { return body_; }

 private:
  enum class At {
    kSize, kSizeWhitespace, kExtension, kSizeLf,
    kData, kDataCr, kDataLf, kTrailerLineStart, kTrailerLine, kTrailerLf, kEndLf, kDone, kRefused,
  };
  // One byte; false when it ends the body or refuses it.
  bool Step(char ch);
  bool Refuse(int status, std::string code, std::string message);
  bool EndSizeLine();
  bool EndTrailerLine();

  ChunkedLimits limits_;
  At at_ = At::kSize;
  std::uint64_t chunk_size_ = 0;  // of the chunk whose size line is being read
  std::uint64_t chunk_left_ = 0;  // data bytes of the current chunk still to come
  size_t size_digits_ = 0;
  size_t extension_bytes_ = 0;
  size_t trailer_bytes_ = 0;
  size_t trailer_fields_ = 0;
  size_t trailer_line_bytes_ = 0;
  bool trailer_name_done_ = false;
  std::string body_;
  ChunkedRefusal refusal_;
};

}  // namespace rf::server
