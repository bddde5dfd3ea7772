#include "server/workflows.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "dsl/compiler.h"
#include "dsl/diagnostics.h"

namespace rf::server {

namespace fs = std::filesystem;

WorkflowLibrary::WorkflowLibrary(engine::Engine* engine, dsl::Catalog catalog)
    : engine_(engine), catalog_(std::move(catalog)) {}

DeployOutcome WorkflowLibrary::Deploy(const std::string& source, const std::string& origin) {
  DeployOutcome o;
  o.origin = origin;
  dsl::Diagnostics diags;
  auto machine = dsl::CompileSource(source, catalog_, diags);
  o.diagnostics = nlohmann::json::array();
  try {
    o.diagnostics = nlohmann::json::parse(dsl::RenderJson(diags.all(), origin));
  } catch (const nlohmann::json::exception&) {
  }
  for (const auto& d : diags.all()) o.diagnostics_text += dsl::RenderText(d, origin, source);
  if (!machine) {
    o.http_status = 422;
    o.error = origin + ": " + std::to_string(diags.ErrorCount()) + " error(s); the workflow was not deployed";
    if (!diags.all().empty()) o.error += " (first: " + diags.all().front().message + ")";
    return o;
  }
  o.workflow = machine->name;
  o.version = machine->version;
  auto r = engine_->Deploy(*machine, source);
  if (!r.ok()) {
    o.http_status = r.status().code() == Status::Code::kAlreadyExists ? 409 : 500;
    o.error = origin + ": " + r.status().message() +
              (o.http_status == 409 ? " (change the version number to deploy a new version)" : "");
    return o;
  }
  o.http_status = r->created ? 201 : 200;
  return o;
}

std::vector<DeployOutcome> WorkflowLibrary::LoadDirs(const std::vector<fs::path>& dirs_in) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!dirs_in.empty()) dirs_ = dirs_in;
  std::vector<fs::path> files;
  for (const auto& dir : dirs_) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.path().extension() == ".flow") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<DeployOutcome> out;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string source = ss.str();
    auto it = loaded_.find(f.string());
    if (it != loaded_.end() && it->second == source) continue;
    DeployOutcome o = Deploy(source, f.string());
    if (o.ok()) loaded_[f.string()] = source;
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace rf::server
