// RequestReader without sockets: the same bytes must frame into the same requests and the same
// refusal however they are cut into reads (one piece, one byte at a time, or seeded random cuts),
// and each refusal of a chunked body is the one its first offending byte calls for.
#include "server/request_reader.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace rf::server {
namespace {

// What a connection makes of a byte stream: one line per request or refusal.
std::vector<std::string> Frame(const std::string& bytes, const std::vector<size_t>& cuts, FramingLimits limits = {}) {
  RequestReader reader(limits);
  std::vector<std::string> out;
  size_t at = 0;
  auto feed = [&](size_t n) {
    auto buf = reader.buffer().prepare(n);
    std::memcpy(buf.data(), bytes.data() + at, n);
    reader.buffer().commit(n);
    at += n;
  };
  size_t cut = 0;
  while (true) {
    auto p = reader.Parse();
    if (p == RequestReader::Progress::kRefused) {
      out.push_back("refused " + std::to_string(reader.refusal().status) + " " + reader.refusal().code);
      return out;
    }
    if (p == RequestReader::Progress::kComplete) {
      HttpRequest r = reader.TakeRequest();
      out.push_back(r.method + " " + r.target + " body=" + r.body);
      reader.Next();
      continue;
    }
    if (at == bytes.size()) {
      if (reader.started()) out.push_back("waiting");
      return out;
    }
    size_t n = cut < cuts.size() ? std::min(cuts[cut++], bytes.size() - at) : bytes.size() - at;
    feed(std::max<size_t>(n, 1));
  }
}

std::vector<std::string> Whole(const std::string& b, FramingLimits l = {}) { return Frame(b, {b.size()}, l); }
std::vector<std::string> ByteByByte(const std::string& b, FramingLimits l = {}) {
  return Frame(b, std::vector<size_t>(b.size(), 1), l);
}
std::vector<std::string> RandomCuts(const std::string& b, unsigned seed, FramingLimits l = {}) {
  std::mt19937 rng(seed);
  std::vector<size_t> cuts;
  for (size_t sum = 0; sum < b.size();) {
    size_t n = 1 + rng() % 97;
    cuts.push_back(n);
    sum += n;
  }
  return Frame(b, cuts, l);
}

void ExpectCutIndependent(const std::string& bytes, FramingLimits limits = {}) {
  auto whole = Whole(bytes, limits);
  EXPECT_EQ(ByteByByte(bytes, limits), whole);
  for (unsigned seed = 1; seed <= 20; ++seed) EXPECT_EQ(RandomCuts(bytes, seed, limits), whole) << "seed " << seed;
}

std::string Post(const std::string& body_framing) {
  return "POST /v1/tokens HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + body_framing;
}

TEST(RequestReader, AChunkedBodyIsDecodedWithExtensionsAndTrailersDropped) {
  auto got = ByteByByte(Post("4;a=b\r\nWiki\r\n5 ; c\r\npedia\r\n0\r\nX-Checksum: 1\r\n\r\n"));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], "POST /v1/tokens body=Wikipedia");
  EXPECT_EQ(Whole(Post("4;a=b\r\nWiki\r\n5 ; c\r\npedia\r\n0\r\nX-Checksum: 1\r\n\r\n")), got);
}

TEST(RequestReader, TheStoredFuzzFindingsFrameTheSameHoweverCut) {
  // The findings that made Beast's chunked parser depend on buffering; their fix moved them to
  // http_corpus, where the fuzz replay checks them too.
  auto dir = std::filesystem::path(RF_SOURCE_DIR) / "tests/fuzz/http_corpus";
  int found = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().filename().string().rfind("read_size_", 0) != 0) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string bytes = ss.str().substr(1);  // the fuzz target's first byte chooses its piece size
    SCOPED_TRACE(e.path().filename().string());
    ExpectCutIndependent(bytes);
    ++found;
  }
  EXPECT_EQ(found, 3);
}

TEST(RequestReader, TheBodyLimitIsAppliedToDeclaredSizesBeforeTheirData) {
  FramingLimits l;
  l.max_body_bytes = 10;
  // 0xb = 11 declared: refused at the size digit, with no data sent at all.
  EXPECT_EQ(ByteByByte(Post("b\r\n"), l), std::vector<std::string>{"refused 413 payload_too_large"});
  // Two chunks of 6: the second size line crosses the limit.
  EXPECT_EQ(ByteByByte(Post("6\r\nabcdef\r\n6\r\n"), l), std::vector<std::string>{"refused 413 payload_too_large"});
  // Exactly at the limit is accepted.
  EXPECT_EQ(Whole(Post("5\r\nabcde\r\n5\r\nfghij\r\n0\r\n\r\n"), l),
            std::vector<std::string>{"POST /v1/tokens body=abcdefghij"});
  ExpectCutIndependent(Post("6\r\nabcdef\r\n6;x=" + std::string(2000, 'y') + "\r\n"), l);
}

TEST(RequestReader, ChunkLinesAndTrailersAreBoundedAtTheirFirstExcessByte) {
  FramingLimits l;
  l.max_head_bytes = 200;
  l.max_chunk_extension_bytes = 16;
  l.max_fields = 5;
  // ";" + 16 bytes is one over the 16 allowed; ";" + 15 is exactly the limit.
  EXPECT_EQ(Whole(Post("1;" + std::string(16, 'e') + "\r\n"), l),
            std::vector<std::string>{"refused 400 chunk_extension_too_long"});
  EXPECT_EQ(Whole(Post("1;" + std::string(15, 'e') + "\r\nx\r\n0\r\n\r\n"), l),
            std::vector<std::string>{"POST /v1/tokens body=x"});
  std::string trailers;
  for (int i = 0; i < 20; ++i) trailers += "T" + std::to_string(i) + ": v\r\n";
  EXPECT_EQ(Whole(Post("0\r\n" + trailers), l), std::vector<std::string>{"refused 431 headers_too_large"});
  ExpectCutIndependent(Post("0\r\n" + trailers + "\r\n"), l);
  l.max_head_bytes = 2000;
  ExpectCutIndependent(Post("0\r\n" + trailers + "\r\n"), l);
  EXPECT_EQ(Whole(Post("0\r\n" + trailers + "\r\n"), l), std::vector<std::string>{"refused 431 headers_too_large"});
}

TEST(RequestReader, MalformedChunkedFramingIs400InvalidChunk) {
  for (std::string bad : {"g\r\n", ";a\r\n", "1x\r\nz\r\n", "1\rz", "1\r\nzz", "1\r\nz\r\r", "00000000000000001\r\n",
                          "0\r\n bad: fold\r\n\r\n", "0\r\nno colon\r\n\r\n", "0\r\nA: b\rc\r\n\r\n", "0\r\n\rx",
                          "1;a\x01\r\n"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(ByteByByte(Post(bad)), std::vector<std::string>{"refused 400 invalid_chunk"});
    ExpectCutIndependent(Post(bad));
  }
}

TEST(RequestReader, PipelinedChunkedRequestsFollowEachOther) {
  std::string two = Post("2\r\n{}\r\n0\r\n\r\n") + Post("1\r\na\r\n0\r\n\r\n");
  auto got = Whole(two);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1], "POST /v1/tokens body=a");
  ExpectCutIndependent(two);
  ExpectCutIndependent(Post("3\r\nab"));  // cut short: still waiting, whichever the cuts
  EXPECT_EQ(Whole(Post("3\r\nab")).back(), "waiting");
}

}  // namespace
}  // namespace rf::server
