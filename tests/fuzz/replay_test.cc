// Replays the fuzz seed corpus, the diagnostic corpus and the shipped workflows through the fuzz
// entry point, so the properties it checks hold in every CI run (it aborts on a violation).
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

std::vector<std::filesystem::path> Inputs() {
  std::vector<std::filesystem::path> out;
  const std::filesystem::path root = RF_SOURCE_DIR;
  for (const char* dir : {"tests/fuzz/corpus", "tests/dsl/corpus", "workflows"}) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(root / dir, ec))
      if (e.is_regular_file()) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(FuzzReplay, EveryCorpusInputRunsCleanly) {
  auto inputs = Inputs();
  ASSERT_GE(inputs.size(), 10u) << "the seed corpus is missing";
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
