#include "server/src/console_assets.h"

#include <algorithm>

namespace rf::server {

const ConsoleAsset* FindConsoleAsset(std::string_view path) {
  for (const auto& a : EmbeddedConsoleAssets())
    if (a.path && path == a.path) return &a;
  return nullptr;
}

}  // namespace rf::server
