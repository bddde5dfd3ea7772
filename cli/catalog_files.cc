#include "cli/catalog_files.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

namespace fs = std::filesystem;

namespace rf::cli {

bool ReadFile(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

// Catalogs: every `connectors/*.json` beside the flow files (so `retailflow check
// workflows/*.flow` needs no flags), plus each --catalog file or directory.
bool LoadCatalog(const std::vector<std::string>& flows, const std::vector<std::string>& extra,
                 dsl::Catalog& catalog) {
  std::set<fs::path> files;
  auto add_dir = [&](const fs::path& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return;
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.path().extension() == ".json") files.insert(fs::weakly_canonical(e.path()));
  };
  for (const auto& f : flows) add_dir(fs::path(f).parent_path().empty() ? fs::path(".") / "connectors"
                                                                         : fs::path(f).parent_path() / "connectors");
  for (const auto& c : extra) {
    std::error_code ec;
    if (fs::is_directory(c, ec)) {
      add_dir(c);
    } else if (fs::exists(c, ec)) {
      files.insert(fs::weakly_canonical(c));
    } else {
      std::cerr << "retailflow: cannot read catalog " << c << "\n";
      return false;
    }
  }
  for (const auto& f : files) {
    std::string text;
    if (!ReadFile(f.string(), text)) {
      std::cerr << "retailflow: cannot read catalog " << f.string() << "\n";
      return false;
    }
    Status s = catalog.AddJson(text, f.string());
    if (!s.ok()) {
      std::cerr << "retailflow: " << s.message() << "\n";
      return false;
    }
  }
  return true;
}

}  // namespace rf::cli
