#include "server/request_reader.h"

#include <algorithm>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cstdio>
#include <optional>
#include <set>
#include <string_view>

#include "server/request_target.h"
#include "server/src/chunked_body.h"

namespace rf::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view View(beast::string_view s) { return std::string_view(s.data(), s.size()); }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Fields whose repetition is an error rather than a list (RFC 9110 §5.3): a second value would
// be a second opinion on framing, identity or authority.
const std::set<std::string>& SingletonFields() {
  static const std::set<std::string> s{"host",          "authorization", "content-type",      "content-length",
                                       "x-request-id",  "idempotency-key", "webhook-id",      "webhook-timestamp",
                                       "webhook-signature"};
  return s;
}

// The end of the head (just past its empty line) in `data`, or npos. A lone LF counts as a line
// end here so that such heads are answered (and refused by CheckHeadLines) instead of waited on.
size_t FindHeadEnd(std::string_view data) {
  for (size_t i = data.find('\n'); i != std::string_view::npos; i = data.find('\n', i + 1)) {
    if (i + 1 < data.size() && data[i + 1] == '\n') return i + 2;
    if (i + 2 < data.size() && data[i + 1] == '\r' && data[i + 2] == '\n') return i + 3;
  }
  return std::string_view::npos;
}

// The line-level rules Beast does not enforce: CRLF only, no obs-fold, no control characters.
std::optional<std::string> CheckHeadLines(std::string_view head) {
  size_t line = 0;
  size_t pos = 0;
  while (pos < head.size()) {
    size_t lf = head.find('\n', pos);
    if (lf == std::string_view::npos) lf = head.size();
    if (lf == pos || head[lf - 1] != '\r') return "line " + std::to_string(line + 1) + " does not end with CRLF";
    std::string_view text = head.substr(pos, lf - 1 - pos);
    if (line > 0 && !text.empty() && (text.front() == ' ' || text.front() == '\t'))
      return "line " + std::to_string(line + 1) + " starts with whitespace (obs-fold is not accepted)";
    for (char ch : text) {
      auto c = static_cast<unsigned char>(ch);
      if ((c < 0x20 && c != '\t') || c == 0x7f) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", c);
        return "line " + std::to_string(line + 1) + " contains a control character (" +
               (c == 0 ? std::string("NUL") : c == '\r' ? std::string("bare CR") : std::string(hex)) + ")";
      }
    }
    pos = lf + 1;
    ++line;
  }
  return std::nullopt;
}

}  // namespace

struct RequestReader::Parser {
  http::request_parser<http::string_body> p;
  // A chunked body is decoded by our own ChunkedBody, never by Beast (see chunked_body.h).
  std::optional<ChunkedBody> chunked;
};

RequestReader::RequestReader(FramingLimits limits) : limits_(limits) { Next(); }
RequestReader::~RequestReader() = default;

bool RequestReader::head_done() const { return head_fed_ && parser_->p.is_header_done(); }

void RequestReader::Next() {
  parser_ = std::make_unique<Parser>();
  parser_->p.header_limit(static_cast<std::uint32_t>(limits_.max_head_bytes));
  parser_->p.body_limit(limits_.max_body_bytes);
  parser_->p.eager(true);
  started_ = head_fed_ = refused_ = false;
  head_bytes_ = head_fields_ = 0;
  keep_alive_ = false;
  version_ = 11;
}

RequestReader::Progress RequestReader::Refuse(int status, std::string code, std::string message) {
  refused_ = true;
  refusal_ = FramingRefusal{status, std::move(code), std::move(message)};
  return Progress::kRefused;
}

RequestReader::Progress RequestReader::ParseHead() {
  auto view = [this] {
    return std::string_view(static_cast<const char*>(buffer_.data().data()), buffer_.size());
  };
  if (!started_) {
    // RFC 9112 §2.2: empty lines before a request line are skipped (some clients send a CRLF
    // after a body).
    std::string_view d = view();
    size_t skip = 0;
    while (skip < d.size() && (d[skip] == '\r' || d[skip] == '\n')) ++skip;
    buffer_.consume(skip);
    if (buffer_.size() == 0) return Progress::kNeedMore;
    started_ = true;
  }
  std::string_view d = view();
  size_t end = FindHeadEnd(d);
  if (end == std::string_view::npos) {
    if (d.size() > limits_.max_head_bytes)
      return Refuse(431, "headers_too_large", "the request head exceeds " + std::to_string(limits_.max_head_bytes) + " bytes");
    return Progress::kNeedMore;
  }
  if (end > limits_.max_head_bytes)
    return Refuse(431, "headers_too_large", "the request head exceeds " + std::to_string(limits_.max_head_bytes) + " bytes");
  if (auto why = CheckHeadLines(d.substr(0, end))) {
    bool first_line = why->rfind("line 1 ", 0) == 0;
    return Refuse(400, first_line ? "invalid_request_line" : "invalid_header", "malformed request head: " + *why);
  }
  head_fed_ = true;
  head_bytes_ = end;
  beast::error_code ec;
  size_t n = parser_->p.put(net::buffer(d.data(), end), ec);
  buffer_.consume(n);
  if (ec) return RefuseFor(ec);
  if (!parser_->p.is_header_done())  // a whole head was given: Beast must have finished it
    return Refuse(400, "invalid_header", "malformed request head");
  return CheckHeader() ? Progress::kComplete : Progress::kRefused;
}

RequestReader::Progress RequestReader::RefuseFor(const boost::system::error_code& ec) {
  using E = http::error;
  if (ec == E::header_limit)
    return Refuse(431, "headers_too_large", "the request head exceeds " + std::to_string(limits_.max_head_bytes) + " bytes");
  if (ec == E::body_limit)
    return Refuse(413, "payload_too_large", "the body exceeds the limit of " + std::to_string(limits_.max_body_bytes) + " bytes");
  if (ec == E::bad_content_length)
    return Refuse(400, "invalid_content_length",
                  "Content-Length must be one decimal number below 2^64, without Transfer-Encoding");
  if (ec == E::bad_transfer_encoding)
    return Refuse(400, "invalid_transfer_encoding", "Transfer-Encoding must not be repeated or sent with Content-Length");
  if (ec == E::bad_method || ec == E::bad_target || ec == E::bad_version)
    return Refuse(400, "invalid_request_line", "malformed request line (" + ec.message() + "); expected METHOD /path HTTP/1.1");
  if (ec == E::bad_field || ec == E::bad_value || ec == E::bad_line_ending || ec == E::bad_obs_fold)
    return Refuse(400, "invalid_header", "malformed header field (" + ec.message() + ")");
  return Refuse(400, "bad_request", "malformed request (" + ec.message() + ")");
}

// RFC 9112 §3.2 (Host), §6.1 and §6.3 (Transfer-Encoding), RFC 9110 §5.3 (singletons).
bool RequestReader::CheckHeader() {
  const auto& msg = parser_->p.get();
  version_ = msg.version();
  std::map<std::string, int> counts;
  std::vector<std::string> codings;
  for (const auto& f : msg) {
    ++head_fields_;
    std::string name = Lower(View(f.name_string()));
    ++counts[name];
    if (name == "transfer-encoding") {
      std::string_view v = View(f.value());
      size_t start = 0;
      while (start <= v.size()) {
        size_t comma = v.find(',', start);
        if (comma == std::string_view::npos) comma = v.size();
        std::string_view c = Trim(v.substr(start, comma - start));
        if (!c.empty()) codings.push_back(Lower(c));
        start = comma + 1;
      }
    }
    if (name == "content-length" && View(f.value()).find(',') != std::string_view::npos) {
      Refuse(400, "invalid_content_length", "Content-Length must be one decimal number");
      return false;
    }
  }
  if (head_fields_ > limits_.max_fields) {
    Refuse(431, "headers_too_large", "more than " + std::to_string(limits_.max_fields) + " header fields");
    return false;
  }
  for (const auto& [name, n] : counts)
    if (n > 1 && SingletonFields().count(name)) {
      Refuse(400, name == "content-length" ? "invalid_content_length" : "duplicate_header",
             "the " + name + " header must appear once, it appears " + std::to_string(n) + " times");
      return false;
    }
  if (version_ >= 11 && !counts.count("host")) {
    Refuse(400, "duplicate_header", "an HTTP/1.1 request needs exactly one Host header");
    return false;
  }
  if (counts.count("transfer-encoding")) {
    if (counts.count("content-length")) {
      Refuse(400, "invalid_content_length", "Content-Length and Transfer-Encoding must not both be sent");
      return false;
    }
    if (version_ < 11) {
      Refuse(400, "invalid_transfer_encoding", "Transfer-Encoding is not allowed in an HTTP/1.0 request");
      return false;
    }
    size_t chunked = static_cast<size_t>(std::count(codings.begin(), codings.end(), "chunked"));
    if (codings.empty() || codings.back() != "chunked" || chunked > 1) {
      Refuse(400, "invalid_transfer_encoding", "chunked must be the last transfer coding, applied once");
      return false;
    }
    if (codings.size() > 1) {
      Refuse(501, "unsupported_transfer_encoding", "only the chunked transfer coding is supported");
      return false;
    }
  }
  return true;
}

RequestReader::Progress RequestReader::Parse() {
  if (refused_) return Progress::kRefused;
  if (!head_fed_) {
    Progress head = ParseHead();
    if (head != Progress::kComplete) return head;
  }
  auto& p = parser_->p;
  if (p.chunked()) {
    if (!parser_->chunked) {
      // The head is within max_head_bytes (ParseHead), so the trailers get what it left.
      parser_->chunked.emplace(ChunkedLimits{.max_body_bytes = limits_.max_body_bytes,
                                             .max_chunk_extension_bytes = limits_.max_chunk_extension_bytes,
                                             .trailer_budget = limits_.max_head_bytes - head_bytes_,
                                             .max_fields = limits_.max_fields,
                                             .head_fields = head_fields_});
    }
    ChunkedBody& body = *parser_->chunked;
    size_t used = 0;
    auto got = body.Feed(std::string_view(static_cast<const char*>(buffer_.data().data()), buffer_.size()), &used);
    buffer_.consume(used);
    if (got == ChunkedBody::Progress::kNeedMore) return Progress::kNeedMore;
    if (got == ChunkedBody::Progress::kRefused)
      return Refuse(body.refusal().status, body.refusal().code, body.refusal().message);
  } else {
    while (!p.is_done()) {
      if (buffer_.size() == 0) return Progress::kNeedMore;
      beast::error_code ec;
      size_t n = p.put(buffer_.data(), ec);
      buffer_.consume(n);
      if (ec == http::error::need_more) {
        if (n == 0) return Progress::kNeedMore;
        continue;
      }
      if (ec) return RefuseFor(ec);
    }
  }
  keep_alive_ = p.keep_alive();
  return Progress::kComplete;
}

HttpRequest RequestReader::TakeRequest() {
  auto msg = parser_->p.release();
  HttpRequest req;
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  size_t i = 0;
  for (const auto& f : msg) {
    if (i++ >= head_fields_) break;  // trailers
    std::string name = Lower(View(f.name_string()));
    auto [it, fresh] = req.headers.try_emplace(name, std::string(f.value()));
    if (!fresh) it->second += ", " + std::string(f.value());
  }
  req.body = parser_->chunked ? std::move(parser_->chunked->body()) : std::move(msg.body());
  return req;
}

FramingRefusal CheckRequestContent(const HttpRequest& request) {
  RequestTarget target = DecodeTarget(request.target);
  if (!target.ok()) return FramingRefusal{400, target.error_code, target.error_message};
  if (!IsValidUtf8(request.body))
    return FramingRefusal{400, "invalid_utf8", "the body is not valid UTF-8 (JSON and .flow text must be)"};
  return FramingRefusal{};
}

}  // namespace rf::server
