#include "definitions.h"

#include <future>

#include "state/keys.h"

namespace rf::engine {

namespace keys = state::keys;

Status DefinitionRegistry::Load(state::StateStore* store) {
  std::vector<std::pair<std::string, std::string>> defs;
  Status s = store->ScanPrefix(keys::DefinitionPrefix(), [&](std::string_view k, std::string_view v) {
    defs.emplace_back(std::string(k), std::string(v));
    return true;
  });
  if (!s.ok()) return s;
  for (const auto& [k, v] : defs) {
    auto d = Value::FromTaggedJson(v);
    if (!d.ok() || !d->is_record()) return Status::Corruption("definition " + k + " is not a record");
    const Value* m = d->Find("machine");
    if (m == nullptr || !m->is_text()) return Status::Corruption("definition " + k + " has no machine");
    auto machine = ir::MachineFromJson(m->as_text());
    if (!machine.ok()) return Status::Corruption("definition " + k + ": " + machine.status().message());
    const Value* src = d->Find("source");
    const Value* at = d->Find("deployed_at");
    Add(std::make_shared<const ir::Machine>(std::move(*machine)), src && src->is_text() ? src->as_text() : std::string(),
        at && at->is_time() ? at->as_time() : Time{});
  }
  return Status::Ok();
}

void DefinitionRegistry::Add(std::shared_ptr<const ir::Machine> m, std::string source, Time deployed_at) {
  std::lock_guard lock(mu_);
  auto key = std::make_pair(m->name, m->version);
  latest_[m->name] = std::max(latest_[m->name], m->version);
  deployed_at_[key] = deployed_at;
  sources_[key] = std::move(source);
  machines_[key] = std::move(m);
}

std::shared_ptr<const ir::Machine> DefinitionRegistry::Find(const std::string& wf, std::optional<int> version) const {
  std::lock_guard lock(mu_);
  int v = version.value_or(0);
  if (!version) {
    auto it = latest_.find(wf);
    if (it == latest_.end()) return nullptr;
    v = it->second;
  }
  auto it = machines_.find({wf, v});
  return it == machines_.end() ? nullptr : it->second;
}

std::vector<DefinitionRegistry::Scheduled> DefinitionRegistry::LatestWithSchedules() const {
  std::lock_guard lock(mu_);
  std::vector<Scheduled> out;
  for (const auto& [wf, v] : latest_) {
    auto it = machines_.find({wf, v});
    if (it != machines_.end() && !it->second->schedules.empty())
      out.push_back({it->second, deployed_at_.at({wf, v})});
  }
  return out;
}

Result<DeployResult> DefinitionRegistry::Deploy(const ir::Machine& machine, const std::string& source, Time now,
                                                state::GroupCommitter* committer) {
  std::lock_guard deploying(deploy_mu_);
  int latest = machine.version;
  {
    std::lock_guard lock(mu_);
    auto it = sources_.find({machine.name, machine.version});
    if (it != sources_.end()) {
      if (it->second == source) return DeployResult{machine.name, machine.version, false};
      return Status::AlreadyExists("workflow " + machine.name + " version " + std::to_string(machine.version) +
                                   " is already deployed with a different source; raise the version");
    }
    if (auto l = latest_.find(machine.name); l != latest_.end()) latest = std::max(latest, l->second);
  }
  std::string json = ir::ToJson(machine, false);
  // What is stored is what runs: the machine is reloaded from its stored form.
  auto reloaded = ir::MachineFromJson(json);
  if (!reloaded.ok()) return reloaded.status();
  Record d;
  d["name"] = Value(machine.name);
  d["version"] = Value(std::int64_t{machine.version});
  d["source"] = Value(source);
  d["machine"] = Value(json);
  d["deployed_at"] = Value(now);
  state::WriteBatch b;
  b.Put(keys::Definition(machine.name, machine.version), Value(std::move(d)).ToTaggedJson());
  b.Put(keys::DefinitionLatest(machine.name), std::to_string(latest));
  std::promise<Status> committed;
  auto done = committed.get_future();
  committer->Submit(std::move(b), [&committed](const Status& s) { committed.set_value(s); });
  Status s = done.get();
  if (!s.ok()) return s;
  Add(std::make_shared<const ir::Machine>(std::move(*reloaded)), source, now);
  return DeployResult{machine.name, machine.version, true};
}

}  // namespace rf::engine
