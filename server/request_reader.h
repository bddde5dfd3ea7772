// Frames HTTP/1.1 requests out of a byte stream (RFC 9112) without doing any I/O, so that the
// service's connections and the HTTP fuzz target run the same code. Beast's parser does the
// parsing; this adds what it leaves to the application: the checks a server MUST make before it
// trusts a request's framing, and bounds on every part of a request a client controls.
//
// Refused (the connection must then be closed after the answer, RFC 9112 §6.3):
//   400 invalid_request_line   garbage request line, unknown HTTP version
//   400 invalid_header         obs-fold (a line starting with SP/HTAB), a bare CR or LF, NUL or
//                              another control character, a space in a field name
//   400 duplicate_header       a field that must appear once (Host, Authorization, Content-Type,
//                              Content-Length, X-Request-Id, Idempotency-Key, webhook-*) repeated;
//                              HTTP/1.1 without Host (RFC 9112 §3.2)
//   400 invalid_content_length not a decimal, out of range, repeated (even with the same value:
//                              RFC 9110 §8.6 lets a recipient refuse, and one value is all that
//                              a well-behaved client sends), or together with Transfer-Encoding
//   400 invalid_transfer_encoding  chunked not last, chunked twice, or in an HTTP/1.0 request
//   501 unsupported_transfer_encoding  any transfer coding other than chunked (e.g. gzip, chunked)
//   400 invalid_chunk          a chunk size that is not hex or overflows, a broken chunk
//   400 chunk_extension_too_long  the chunk extensions of one request exceed
//                              max_chunk_extension_bytes together, or one chunk line does not end
//   431 headers_too_large      the head exceeds max_head_bytes, the trailer section exceeds what
//                              is left of it, or header + trailer lines exceed max_fields
//   413 payload_too_large      the body exceeds max_body_bytes (announced or while reading)
// Trailer fields are read (and bounded) but never merged into the request's headers.
#pragma once

#include <boost/beast/core/flat_buffer.hpp>
#include <cstddef>
#include <memory>
#include <string>

#include "server/api.h"

namespace rf::server {

struct FramingLimits {
  size_t max_body_bytes = 1 << 20;
  size_t max_head_bytes = 16 * 1024;  // request line + header section; trailers share it
  size_t max_fields = 100;            // header lines + trailer lines
  size_t max_chunk_extension_bytes = 1024;  // all chunk extensions of one request together
};

struct FramingRefusal {
  int status = 0;
  std::string code, message;
};

// The checks made on a complete request before any route sees it (status 0 = it passes):
//   400 invalid_target / invalid_utf8  the target, see DecodeTarget (server/request_target.h)
//   400 invalid_utf8                   a body that is not valid UTF-8: every body the API reads is
//                                      JSON (RFC 8259 §8.1: UTF-8) or .flow text
// So routes may put path parameters, query values and body text into JSON without a check.
FramingRefusal CheckRequestContent(const HttpRequest& request);

class RequestReader {
 public:
  enum class Progress { kNeedMore, kComplete, kRefused };

  explicit RequestReader(FramingLimits limits);
  ~RequestReader();
  RequestReader(const RequestReader&) = delete;
  RequestReader& operator=(const RequestReader&) = delete;

  // Received bytes go here (prepare + commit); bytes past one request stay for the next.
  boost::beast::flat_buffer& buffer() { return buffer_; }

  // Parses what has been received. After kRefused, refusal() says why; nothing more is parsed.
  Progress Parse();
  // A byte of the current request (other than the empty lines RFC 9112 §2.2 lets a server skip)
  // has arrived: the client is no longer idle.
  bool started() const { return started_; }
  bool head_done() const;
  const FramingRefusal& refusal() const { return refusal_; }

  // After kComplete: the request (header fields of the head only, names lower-case, repeated
  // list fields joined with ", "); then Next() before parsing the following one.
  HttpRequest TakeRequest();
  bool keep_alive() const { return keep_alive_; }
  unsigned version() const { return version_; }
  void Next();

 private:
  struct Parser;
  Progress Refuse(int status, std::string code, std::string message);
  Progress ParseHead();
  Progress RefuseFor(const boost::system::error_code& ec);
  bool CheckHeader();

  FramingLimits limits_;
  boost::beast::flat_buffer buffer_;
  std::unique_ptr<Parser> parser_;
  FramingRefusal refusal_;
  bool started_ = false, head_fed_ = false, refused_ = false;
  bool keep_alive_ = false;
  unsigned version_ = 11;
  size_t head_bytes_ = 0, head_fields_ = 0;
};

}  // namespace rf::server
