// Deployed definitions: every version of every workflow, pinned by running instances. Shared by
// all partitions; thread-safe. Deploying writes through the group committer like every other
// change (one commit path).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/engine.h"
#include "engine/ir/machine.h"
#include "state/group_commit.h"
#include "state/state_store.h"

namespace rf::engine {

class DefinitionRegistry {
 public:
  // Reads every stored definition; a definition that does not load is Corruption naming its key.
  Status Load(state::StateStore* store);
  Result<DeployResult> Deploy(const ir::Machine& machine, const std::string& source, Time now,
                              state::GroupCommitter* committer);
  // nullptr when unknown. No version: the latest.
  std::shared_ptr<const ir::Machine> Find(const std::string& workflow, std::optional<int> version) const;

  struct Scheduled {
    std::shared_ptr<const ir::Machine> machine;
    Time deployed_at;
  };
  // The latest version of each workflow that has schedules.
  std::vector<Scheduled> LatestWithSchedules() const;

 private:
  void Add(std::shared_ptr<const ir::Machine> m, std::string source, Time deployed_at);

  std::mutex deploy_mu_;  // one deploy at a time: check, commit and register as one step
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, std::shared_ptr<const ir::Machine>> machines_;
  std::map<std::pair<std::string, int>, std::string> sources_;
  std::map<std::pair<std::string, int>, Time> deployed_at_;
  std::map<std::string, int> latest_;
};

}  // namespace rf::engine
