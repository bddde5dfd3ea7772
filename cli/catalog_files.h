// Files the CLI reads for several commands: whole files, and the connector catalogs of flows.
#pragma once

#include <string>
#include <vector>

#include "dsl/catalog.h"

namespace rf::cli {

bool ReadFile(const std::string& path, std::string& out);

// Catalogs: every `connectors/*.json` beside the flow files (so `retailflow check
// workflows/*.flow` needs no flags), plus each --catalog file or directory. Errors are printed
// to stderr; false when a catalog cannot be read or parsed.
bool LoadCatalog(const std::vector<std::string>& flows, const std::vector<std::string>& extra,
                 dsl::Catalog& catalog);

}  // namespace rf::cli
