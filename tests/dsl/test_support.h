// Helpers shared by the dsl tests: the shipped catalog and files on disk.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "dsl/catalog.h"

namespace rf::testing {

inline std::string ReadText(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::filesystem::path SourceDir() { return RF_SOURCE_DIR; }

// The catalog of the shipped retail connectors (workflows/connectors/*.json).
inline const dsl::Catalog& ShippedCatalog() {
  static const dsl::Catalog catalog = [] {
    dsl::Catalog c;
    for (const auto& e : std::filesystem::directory_iterator(SourceDir() / "workflows" / "connectors")) {
      if (e.path().extension() != ".json") continue;
      Status s = c.AddJson(ReadText(e.path()), e.path().string());
      if (!s.ok()) throw std::runtime_error(s.message());
    }
    return c;
  }();
  return catalog;
}

inline std::vector<std::filesystem::path> ShippedFlows() {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(SourceDir() / "workflows"))
    if (e.path().extension() == ".flow") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace rf::testing
