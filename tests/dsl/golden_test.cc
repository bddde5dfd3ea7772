// The compiled IR of each shipped workflow is pinned by a golden file. A change to the compiler
// or the IR format shows up here as a readable diff. To accept an intended change:
//   RF_UPDATE_GOLDEN=1 ./build/tests/rf_dsl_tests --gtest_filter='Golden*'
#include <gtest/gtest.h>

#include <cstdlib>

#include "dsl/compiler.h"
#include "test_support.h"

namespace rf::dsl {
namespace {

class Golden : public ::testing::TestWithParam<std::filesystem::path> {};

TEST_P(Golden, CompiledMachineMatchesGoldenFile) {
  std::string source = rf::testing::ReadText(GetParam());
  Diagnostics diags;
  auto m = CompileSource(source, rf::testing::ShippedCatalog(), diags);
  ASSERT_TRUE(m.has_value());
  std::string json = ir::ToJson(*m) + "\n";
  auto golden = rf::testing::SourceDir() / "tests" / "dsl" / "golden" / (GetParam().stem().string() + ".json");
  if (std::getenv("RF_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(golden, std::ios::binary) << json;
    GTEST_SKIP() << "golden file rewritten: " << golden;
  }
  ASSERT_TRUE(std::filesystem::exists(golden)) << "missing " << golden << "; run with RF_UPDATE_GOLDEN=1";
  EXPECT_EQ(rf::testing::ReadText(golden), json);
}

TEST_P(Golden, GoldenJsonLoadsBackToTheSameMachine) {
  std::string source = rf::testing::ReadText(GetParam());
  Diagnostics diags;
  auto m = CompileSource(source, rf::testing::ShippedCatalog(), diags);
  ASSERT_TRUE(m.has_value());
  std::string json = ir::ToJson(*m);
  auto back = ir::MachineFromJson(json);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(json, ir::ToJson(*back));
}

TEST_P(Golden, PassesStrictCheck) {
  std::string source = rf::testing::ReadText(GetParam());
  Diagnostics diags;
  auto m = CompileSource(source, rf::testing::ShippedCatalog(), diags);
  std::string all;
  for (const auto& d : diags.all()) all += RenderText(d, GetParam().string(), source);
  EXPECT_TRUE(m.has_value());
  EXPECT_TRUE(diags.all().empty()) << all;
}

INSTANTIATE_TEST_SUITE_P(Workflows, Golden, ::testing::ValuesIn(rf::testing::ShippedFlows()),
                         [](const auto& info) { return info.param.stem().string(); });

}  // namespace
}  // namespace rf::dsl
