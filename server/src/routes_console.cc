// Serving the embedded console (server/src/console_assets.h): `/`, its files, and index.html for
// the console's own routes, so a reload of /instances/<id> in the browser works.
#include <string>

#include "server/src/console_assets.h"

namespace rf::server {

namespace {

bool IsApiPath(std::string_view path) {
  auto under = [&](std::string_view root) {
    return path == root || (path.size() > root.size() && path.substr(0, root.size()) == root && path[root.size()] == '/');
  };
  return under("/v1") || under("/metrics") || under("/healthz") || under("/readyz");
}

bool LooksLikeFile(std::string_view path) {
  size_t slash = path.rfind('/');
  std::string_view last = slash == std::string_view::npos ? path : path.substr(slash + 1);
  return last.find('.') != std::string_view::npos;
}

HttpResponse Serve(const HttpRequest& request, const ConsoleAsset& a, bool immutable) {
  HttpResponse r;
  std::string etag = std::string("\"") + a.sha256 + "\"";
  auto inm = request.headers.find("if-none-match");
  bool fresh = inm != request.headers.end() && inm->second.find(etag) != std::string::npos;
  r.status = fresh ? 304 : 200;
  r.content_type = a.content_type;
  if (!fresh) r.body.assign(a.data, a.size);
  r.headers.emplace_back("ETag", etag);
  r.headers.emplace_back("Cache-Control", immutable ? "public, max-age=31536000, immutable" : "no-cache");
  r.headers.emplace_back("Content-Security-Policy", kConsoleCsp);
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
  return r;
}

}  // namespace

std::optional<HttpResponse> ConsoleResponse(const HttpRequest& request, std::string_view path) {
  if (request.method != "GET" || path.empty() || path[0] != '/' || IsApiPath(path)) return std::nullopt;
  if (const ConsoleAsset* a = FindConsoleAsset(path)) {
    bool hashed = path.substr(0, 8) == "/assets/";  // Vite names them <name>-<hash>.<ext>
    return Serve(request, *a, hashed);
  }
  if (path.substr(0, 8) == "/assets/" || LooksLikeFile(path)) return std::nullopt;
  const ConsoleAsset* index = FindConsoleAsset("/index.html");
  if (!index) {
    HttpResponse r = ErrorResponse(404, "not_found",
                                   "this build of retailflow has no console (built with -DRF_CONSOLE=OFF)");
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    return r;
  }
  return Serve(request, *index, false);
}

}  // namespace rf::server
