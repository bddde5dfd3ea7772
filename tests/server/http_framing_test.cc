// The HTTP layer over a real socket on port 0 (raw TCP, so that requests no well-behaved client
// would send can be sent): badly framed requests are answered 400/413/431/501 with the API's
// JSON error and the connection is closed (RFC 9112 §6.3); targets that are not UTF-8 once
// decoded are 400 invalid_utf8; refused requests change nothing.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/beast/http.hpp>
#include <filesystem>
#include <random>
#include <string>

#include "server/auth.h"
#include "server/config.h"
#include "server/service.h"
#include "tests/server/client.h"

namespace rf::server {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const char* kAdmin = "tok-framing-admin-0123456789";

// What came back on one connection: the first response, and whether the server closed after it.
struct Exchange {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  bool closed = false;  // the server ended the connection (EOF after the response)
  std::string raw;
  json error() const {
    json j = json::parse(body, nullptr, false);
    return j.is_object() && j.contains("error") && j["error"].is_object() ? j["error"] : json::object();
  }
};

// Sends `bytes` as they are, reads until the server closes or 5 s pass without data, and parses
// the first response in what was read.
Exchange Send(unsigned short port, const std::string& bytes, bool half_close = false) {
  Exchange x;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    ADD_FAILURE() << "connect failed";
    return x;
  }
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may stop reading once it has refused; its answer still counts
    sent += static_cast<size_t>(n);
  }
  if (half_close) ::shutdown(fd, SHUT_WR);
  char buf[8192];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0) {
      x.closed = true;
      break;
    }
    if (n < 0) break;  // timeout (or reset): not closed cleanly
    x.raw.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  namespace http = boost::beast::http;
  http::response_parser<http::string_body> p;
  p.eager(true);
  boost::beast::error_code ec;
  p.put(boost::asio::buffer(x.raw), ec);
  if (!p.is_done()) return x;
  auto& res = p.get();
  x.status = static_cast<int>(res.result_int());
  for (const auto& f : res) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    x.headers[name] = std::string(f.value());
  }
  x.body = res.body();
  return x;
}

std::string Head(const std::string& request_line, const std::string& fields) {
  return request_line + "\r\nHost: 127.0.0.1\r\n" + fields + "\r\n";
}

const std::string kTokenBody = R"({"name":"smuggled","roles":["viewer"]})";
std::string TokenPost(const std::string& framing_fields) {
  return Head("POST /v1/tokens HTTP/1.1",
              "Authorization: Bearer " + std::string(kAdmin) + "\r\nContent-Type: application/json\r\n" +
                  framing_fields);
}

class HttpFramingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("rf_http_framing_" + std::to_string(::getpid()) + "_" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
    json config{{"listen", "127.0.0.1:0"},
                {"data_dir", (dir_ / "data").string()},
                {"workflow_dirs", json::array()},
                {"tokens", {{{"name", "admin"}, {"sha256", Sha256Hex(kAdmin)}, {"roles", {"admin"}}}}},
                {"limits", {{"max_body_bytes", 65536}, {"header_timeout", "5s"}, {"body_timeout", "5s"}}},
                {"log", {{"level", "warn"}, {"file", (dir_ / "service.log").string()}}}};
    auto parsed = ParseConfig(config.dump(), dir_);
    ASSERT_TRUE(parsed.ok()) << parsed.status().message();
    service_ = std::make_unique<Service>(std::move(*parsed), "");
    Status s = service_->Start();
    ASSERT_TRUE(s.ok()) << s.message();
    port_ = service_->port();
  }
  void TearDown() override {
    service_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // The token names the service knows: refused requests must not have added one.
  std::vector<std::string> TokenNames() {
    auto r = testing::Call(port_, "GET", "/v1/tokens", "", testing::Bearer(kAdmin));
    std::vector<std::string> names;
    json list = r.json();
    for (const auto& t : list["items"]) names.push_back(t["name"]);
    return names;
  }

  // A refusal: the status, the API's error shape with `code`, Connection: close, and the server
  // closed the connection after answering.
  void ExpectRefused(const std::string& bytes, int status, const std::string& code) {
    SCOPED_TRACE(bytes.substr(0, 80));
    Exchange x = Send(port_, bytes);
    EXPECT_EQ(x.status, status) << x.raw.substr(0, 300);
    EXPECT_EQ(x.error().value("code", ""), code) << x.body;
    EXPECT_FALSE(x.error().value("message", "").empty()) << x.body;
    EXPECT_EQ(x.headers["content-type"], "application/json");
    EXPECT_EQ(x.headers["connection"], "close");
    EXPECT_TRUE(x.closed) << "the connection should be closed after a framing error";
  }

  fs::path dir_;
  std::unique_ptr<Service> service_;
  unsigned short port_ = 0;
};

TEST_F(HttpFramingTest, AWellFramedRequestStillWorksAsControl) {
  Exchange plain = Send(port_, TokenPost("Content-Length: " + std::to_string(kTokenBody.size()) +
                                         "\r\nConnection: close\r\n") + kTokenBody);
  EXPECT_EQ(plain.status, 201) << plain.raw;
  std::string rest = R"({"name":"chunked","roles":["viewer"]})";
  Exchange chunked = Send(port_, TokenPost("Transfer-Encoding: chunked\r\nConnection: close\r\n") + "a;ext=1\r\n" +
                                     rest.substr(0, 10) + "\r\n" + [&] {
                                       char n[16];
                                       std::snprintf(n, sizeof n, "%zx", rest.size() - 10);
                                       return std::string(n);
                                     }() + "\r\n" + rest.substr(10) + "\r\n0\r\nX-Trailer: ignored\r\n\r\n");
  EXPECT_EQ(chunked.status, 201) << chunked.raw;
  auto names = TokenNames();
  EXPECT_NE(std::find(names.begin(), names.end(), "smuggled"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "chunked"), names.end());
}

TEST_F(HttpFramingTest, PipelinedRequestsAndALeadingEmptyLineAreServed) {
  std::string one = "\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  std::string two = "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  Exchange x = Send(port_, one + two);
  EXPECT_EQ(x.status, 200) << x.raw;
  EXPECT_TRUE(x.closed);
  // Both answers arrived, in order, on the one connection.
  EXPECT_NE(x.raw.find("\"ok\""), std::string::npos) << x.raw;
  EXPECT_NE(x.raw.find("\"ready\""), std::string::npos) << x.raw;
}

TEST_F(HttpFramingTest, BadContentLengthIs400AndClosesAndChangesNothing) {
  auto before = TokenNames();
  ExpectRefused(TokenPost("Content-Length: -1\r\n") + kTokenBody, 400, "invalid_content_length");
  ExpectRefused(TokenPost("Content-Length: abc\r\n") + kTokenBody, 400, "invalid_content_length");
  ExpectRefused(TokenPost("Content-Length: 18446744073709551616\r\n") + kTokenBody, 400, "invalid_content_length");
  ExpectRefused(TokenPost("Content-Length: 38\r\nContent-Length: 5\r\n") + kTokenBody, 400, "invalid_content_length");
  // Identical repeated values are refused too (RFC 9110 §8.6 allows either; see request_reader.h).
  ExpectRefused(TokenPost("Content-Length: 38\r\nContent-Length: 38\r\n") + kTokenBody, 400, "invalid_content_length");
  ExpectRefused(TokenPost("Content-Length: 38, 38\r\n") + kTokenBody, 400, "invalid_content_length");
  ExpectRefused(TokenPost("Content-Length: 38\r\nTransfer-Encoding: chunked\r\n") + "26\r\n" + kTokenBody + "\r\n0\r\n\r\n",
                400, "invalid_transfer_encoding");
  ExpectRefused(TokenPost("Transfer-Encoding: chunked\r\nContent-Length: 38\r\n") + "26\r\n" + kTokenBody + "\r\n0\r\n\r\n",
                400, "invalid_content_length");
  EXPECT_EQ(TokenNames(), before);
}

TEST_F(HttpFramingTest, BadChunkSizesAre400) {
  auto before = TokenNames();
  for (const char* size : {"zz", "-1", "", " 5", "00000000000000026"})
    ExpectRefused(TokenPost("Transfer-Encoding: chunked\r\n") + size + "\r\n" + kTokenBody + "\r\n0\r\n\r\n", 400,
                  "invalid_chunk");
  // A size past 2^64 is over the body limit long before it overflows: refused at the digit that
  // crosses the limit, whatever follows (chunked_body.h).
  ExpectRefused(TokenPost("Transfer-Encoding: chunked\r\n") + "10000000000000000\r\n" + kTokenBody + "\r\n0\r\n\r\n",
                413, "payload_too_large");
  EXPECT_EQ(TokenNames(), before);
}

TEST_F(HttpFramingTest, BadRequestLinesAndHeaderLinesAre400) {
  ExpectRefused("HELLO\r\n\r\n", 400, "invalid_request_line");
  ExpectRefused("GET /healthz\r\nHost: x\r\n\r\n", 400, "invalid_request_line");
  ExpectRefused("GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", 400, "invalid_request_line");
  ExpectRefused("GET /healthz FOO/1.1\r\nHost: x\r\n\r\n", 400, "invalid_request_line");
  ExpectRefused("GET /healthz HTTP/1.1\nHost: x\n\n", 400, "invalid_request_line");
  ExpectRefused(Head("GET /healthz HTTP/1.1", "X-Long: a\r\n  folded\r\n"), 400, "invalid_header");
  ExpectRefused(Head("GET /healthz HTTP/1.1", "Bad Name: x\r\n"), 400, "invalid_header");
  ExpectRefused(Head("GET /healthz HTTP/1.1", std::string("X-Nul: a\0b\r\n", 12)), 400, "invalid_header");
  ExpectRefused(Head("GET /healthz HTTP/1.1", "X-Cr: a\rb\r\n"), 400, "invalid_header");
  ExpectRefused("GET /healthz HTTP/1.1\r\n\r\n", 400, "duplicate_header");  // no Host
  ExpectRefused(Head("GET /healthz HTTP/1.1", "Host: other\r\n"), 400, "duplicate_header");
  // The service still answers well-formed requests.
  EXPECT_EQ(testing::Call(port_, "GET", "/healthz").status, 200);
}

TEST_F(HttpFramingTest, TransferCodingsOtherThanChunkedAre501Or400) {
  auto before = TokenNames();
  std::string chunked = "26\r\n" + kTokenBody + "\r\n0\r\n\r\n";
  ExpectRefused(TokenPost("Transfer-Encoding: gzip, chunked\r\n") + chunked, 501, "unsupported_transfer_encoding");
  ExpectRefused(TokenPost("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n") + chunked, 501,
                "unsupported_transfer_encoding");
  ExpectRefused(TokenPost("Transfer-Encoding: gzip\r\n") + kTokenBody, 400, "invalid_transfer_encoding");
  ExpectRefused(TokenPost("Transfer-Encoding: chunked, chunked\r\n") + chunked, 400, "invalid_transfer_encoding");
  ExpectRefused("POST /v1/tokens HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked, 400,
                "invalid_transfer_encoding");
  EXPECT_EQ(TokenNames(), before);
}

TEST_F(HttpFramingTest, HugeChunkExtensionsAndTrailersAreBounded) {
  auto before = TokenNames();
  std::string ext(200 * 1024, 'a');
  ExpectRefused(TokenPost("Transfer-Encoding: chunked\r\n") + "26;x=" + ext + "\r\n" + kTokenBody + "\r\n0\r\n\r\n",
                400, "chunk_extension_too_long");
  // Many small extensions add up.
  std::string many;
  for (int i = 0; i < 300; ++i) many += "1;e=abcdef\r\n" + kTokenBody.substr(0, 1) + "\r\n";
  ExpectRefused(TokenPost("Transfer-Encoding: chunked\r\n") + many + "0\r\n\r\n", 400, "chunk_extension_too_long");
  std::string trailers;
  for (int i = 0; i < 20000; ++i) trailers += "X-T" + std::to_string(i) + ": v\r\n";
  ExpectRefused(TokenPost("Transfer-Encoding: chunked\r\n") + "26\r\n" + kTokenBody + "\r\n0\r\n" + trailers + "\r\n",
                431, "headers_too_large");
  // Few bytes, too many lines: the field count bounds them.
  std::string short_trailers;
  for (int i = 0; i < 150; ++i) short_trailers += "T" + std::to_string(i) + ":\r\n";
  ExpectRefused(TokenPost("Transfer-Encoding: chunked\r\n") + "26\r\n" + kTokenBody + "\r\n0\r\n" + short_trailers + "\r\n",
                431, "headers_too_large");
  std::string fields;
  for (int i = 0; i < 150; ++i) fields += "X-H" + std::to_string(i) + ": v\r\n";
  ExpectRefused(Head("GET /healthz HTTP/1.1", fields), 431, "headers_too_large");
  ExpectRefused(Head("GET /healthz HTTP/1.1", "X-Big: " + std::string(20000, 'b') + "\r\n"), 431, "headers_too_large");
  EXPECT_EQ(TokenNames(), before);
}

TEST_F(HttpFramingTest, TrailersNeverBecomeHeaders) {
  // An Authorization trailer does not authenticate a request that had none.
  std::string body = "26\r\n" + kTokenBody + "\r\n0\r\nAuthorization: Bearer " + std::string(kAdmin) + "\r\n\r\n";
  Exchange x = Send(port_, Head("POST /v1/tokens HTTP/1.1", "Transfer-Encoding: chunked\r\nConnection: close\r\n") + body);
  EXPECT_EQ(x.status, 401) << x.raw;
  auto names = TokenNames();
  EXPECT_EQ(std::find(names.begin(), names.end(), "smuggled"), names.end());
}

TEST_F(HttpFramingTest, TwoAuthorizationHeadersAre400) {
  auto before = TokenNames();
  ExpectRefused(TokenPost("Authorization: Bearer not-a-token\r\nContent-Length: 38\r\n") + kTokenBody, 400,
                "duplicate_header");
  ExpectRefused(Head("GET /v1/tokens HTTP/1.1", "Authorization: Bearer x\r\nauthorization: Bearer " +
                                                    std::string(kAdmin) + "\r\n"),
                400, "duplicate_header");
  EXPECT_EQ(TokenNames(), before);
}

TEST_F(HttpFramingTest, TargetsThatAreNotUtf8OnceDecodedAre400InvalidUtf8) {
  std::string auth = "Authorization: Bearer " + std::string(kAdmin) + "\r\n";
  for (const char* target : {"/v1/workflows/%ff", "/v1/tasks/%ff", "/v1/instances/%c0%af", "/v1/tasks/%ed%a0%80",
                             "/v1/tasks?status=%ff", "/v1/instances?%fe=1"}) {
    SCOPED_TRACE(target);
    Exchange x = Send(port_, Head(std::string("GET ") + target + " HTTP/1.1", auth + "Connection: close\r\n"));
    EXPECT_EQ(x.status, 400) << x.raw;
    EXPECT_EQ(x.error().value("code", ""), "invalid_utf8") << x.body;
  }
  std::string event = R"({"key":"K-1","data":{}})";
  Exchange ev = Send(port_, Head("POST /v1/events/%ff HTTP/1.1", auth + "Connection: close\r\nContent-Type: application/json\r\nContent-Length: " +
                                                                   std::to_string(event.size()) + "\r\n") +
                                event);
  EXPECT_EQ(ev.status, 400) << ev.raw;
  EXPECT_EQ(ev.error().value("code", ""), "invalid_utf8");
  for (const char* target : {"/v1/tasks/%zz", "/v1/tasks/%f", "/v1/tasks/a%00b"}) {
    SCOPED_TRACE(target);
    Exchange x = Send(port_, Head(std::string("GET ") + target + " HTTP/1.1", auth + "Connection: close\r\n"));
    EXPECT_EQ(x.status, 400) << x.raw;
    EXPECT_EQ(x.error().value("code", ""), "invalid_target") << x.body;
  }
  // Valid UTF-8 passes the HTTP layer and reaches the route (a business key may be any text).
  Exchange ok = Send(port_, Head("GET /v1/instances?workflow=w&business_key=%c3%a9t%c3%a9 HTTP/1.1", auth + "Connection: close\r\n"));
  EXPECT_EQ(ok.status, 200) << ok.raw;
}

TEST_F(HttpFramingTest, BodiesThatAreNotUtf8Are400InvalidUtf8AndChangeNothing) {
  auto before = TokenNames();
  std::string auth = "Authorization: Bearer " + std::string(kAdmin) + "\r\nConnection: close\r\n";
  std::string flow = "workflow caf\xe9 version 1\nfinish\n";  // Latin-1, not UTF-8
  Exchange deploy = Send(port_, Head("POST /v1/workflows HTTP/1.1", auth + "Content-Type: text/plain\r\nContent-Length: " +
                                                                     std::to_string(flow.size()) + "\r\n") +
                                    flow);
  EXPECT_EQ(deploy.status, 400) << deploy.raw;
  EXPECT_EQ(deploy.error().value("code", ""), "invalid_utf8");
  std::string token = "{\"name\":\"\xff\",\"roles\":[\"viewer\"]}";
  Exchange create = Send(port_, Head("POST /v1/tokens HTTP/1.1", auth + "Content-Type: application/json\r\nContent-Length: " +
                                                                     std::to_string(token.size()) + "\r\n") +
                                    token);
  EXPECT_EQ(create.status, 400) << create.raw;
  EXPECT_EQ(create.error().value("code", ""), "invalid_utf8");
  EXPECT_EQ(TokenNames(), before);
  EXPECT_EQ(testing::Call(port_, "GET", "/v1/workflows", "", testing::Bearer(kAdmin)).json()["items"].size(), 0u);
}

TEST_F(HttpFramingTest, ARequestCutShortByTheClientIsAnswered) {
  Exchange x = Send(port_, TokenPost("Content-Length: 38\r\n") + kTokenBody.substr(0, 10), /*half_close=*/true);
  EXPECT_EQ(x.status, 400) << x.raw;
  EXPECT_EQ(x.error().value("code", ""), "incomplete_request");
  EXPECT_TRUE(x.closed);
}

}  // namespace
}  // namespace rf::server
