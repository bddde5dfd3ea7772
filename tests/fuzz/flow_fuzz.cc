// libFuzzer target: parse + check + compile arbitrary text, and fmt's round-trip property.
// Built as a fuzzer with -DRF_FUZZ=ON (clang); the same entry point replays the seed corpus as an
// ordinary test in every build (replay_test.cc).
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "dsl/compiler.h"
#include "dsl/format.h"
#include "dsl/parser.h"

namespace {

const rf::dsl::Catalog& FuzzCatalog() {
  static const rf::dsl::Catalog catalog = [] {
    rf::dsl::Catalog c;
    std::filesystem::path dir = std::filesystem::path(RF_SOURCE_DIR) / "workflows" / "connectors";
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      std::ifstream in(e.path());
      std::stringstream ss;
      ss << in.rdbuf();
      (void)c.AddJson(ss.str(), e.path().string());
    }
    return c;
  }();
  return catalog;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  std::string source(reinterpret_cast<const char*>(data), size);
  rf::dsl::Diagnostics diags;
  rf::dsl::FlowAst ast = rf::dsl::Parse(source, diags);
  for (const auto& d : diags.all()) {
    if (d.loc.line < 1 || d.loc.column < 1) std::abort();  // every diagnostic points somewhere
  }
  if (!diags.HasErrors()) {
    // Property: the canonical layout of anything that parses, parses again without errors and
    // formats to itself.
    std::string once = rf::dsl::Format(ast);
    rf::dsl::Diagnostics again;
    rf::dsl::FlowAst ast2 = rf::dsl::Parse(once, again);
    if (again.HasErrors()) std::abort();
    if (rf::dsl::Format(ast2) != once) std::abort();
  }
  rf::dsl::Diagnostics compile_diags;
  (void)rf::dsl::CompileSource(source, FuzzCatalog(), compile_diags);
  return 0;
}
