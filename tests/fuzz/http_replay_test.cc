// Replays tests/fuzz/http_corpus through the HTTP fuzz entry point (http_fuzz.cc), so the
// properties it checks hold in every CI run (it aborts on a violation).
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

TEST(HttpFuzzReplay, EveryCorpusInputRunsCleanly) {
  std::vector<std::filesystem::path> inputs;
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(RF_SOURCE_DIR) / "tests/fuzz/http_corpus"))
    if (e.is_regular_file() && e.path().extension() != ".md") inputs.push_back(e.path());
  std::sort(inputs.begin(), inputs.end());
  ASSERT_GE(inputs.size(), 20u) << "the seed corpus is missing";
  for (const auto& p : inputs) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string data = ss.str();
    SCOPED_TRACE(p.string());
    EXPECT_EQ(0, LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
  }
}

}  // namespace
