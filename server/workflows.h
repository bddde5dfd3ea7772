// Deploys `.flow` sources: compiles them against the connectors' catalog (the checker's rules,
// including system-of-record ownership) and hands the machine to the engine. A broken source is
// refused with its diagnostics and changes nothing; the running version stays.
#pragma once

#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dsl/catalog.h"
#include "engine/engine.h"

namespace rf::server {

struct DeployOutcome {
  int http_status = 201;  // 201 deployed, 200 identical version already deployed, 409, 422, 500
  std::string workflow;
  int version = 0;
  std::string origin;             // file path or "api"
  nlohmann::json diagnostics;     // list of {file,line,column,severity,code,message,hint}
  std::string diagnostics_text;   // the analyst's rendering (file:line:col, caret, hint)
  std::string error;              // one line for logs and error bodies
  bool ok() const { return http_status == 200 || http_status == 201; }
};

class WorkflowLibrary {
 public:
  WorkflowLibrary(engine::Engine* engine, dsl::Catalog catalog);

  DeployOutcome Deploy(const std::string& source, const std::string& origin);
  // Deploys every *.flow in the folders (sorted by name). Files whose content did not change
  // since the last call are skipped, so it serves as the reload command too. Empty `dirs` = the
  // folders of the previous call.
  std::vector<DeployOutcome> LoadDirs(const std::vector<std::filesystem::path>& dirs);

 private:
  engine::Engine* engine_;
  dsl::Catalog catalog_;
  std::mutex mu_;
  std::vector<std::filesystem::path> dirs_;
  std::map<std::string, std::string> loaded_;  // path -> source last deployed from it
};

}  // namespace rf::server
