// The read API: committed state straight from the store (any thread), through the keys module
// and the views. A record that does not parse is Corruption naming its key, never a blank.
#include <algorithm>

#include "engine_impl.h"
#include "instance_view.h"
#include "snapshot_codec.h"
#include "state/keys.h"
#include "value_fields.h"

namespace rf::engine {

namespace keys = state::keys;

namespace {

Result<Value> ReadRecord(state::StateStore& store, const std::string& key) {
  std::string text;
  Status s = store.Get(key, &text);
  if (!s.ok()) return s;
  auto v = Value::FromTaggedJson(text);
  if (!v.ok()) return Status::Corruption("record " + key + " does not parse: " + v.status().message());
  return v;
}

Result<Value> ReadInstanceView(state::StateStore& store, std::string_view id) {
  std::string key = keys::Instance(id), text;
  Status s = store.Get(key, &text);
  if (!s.ok()) return s;
  auto in = DecodeSnapshot(text, key);
  if (!in.ok()) return in.status();
  return InstanceView(*in);
}

// Every value under `prefix` (at most `limit`).
Result<std::vector<Value>> Values(state::StateStore& store, const std::string& prefix, size_t limit) {
  std::vector<Value> out;
  Status bad;
  Status s = store.ScanPrefix(prefix, [&](std::string_view k, std::string_view v) {
    auto parsed = Value::FromTaggedJson(v);
    if (!parsed.ok()) {
      bad = Status::Corruption("record " + std::string(k) + " does not parse");
      return false;
    }
    out.push_back(std::move(*parsed));
    return out.size() < limit;
  });
  if (!s.ok()) return s;
  if (!bad.ok()) return bad;
  return out;
}

// The ids at the end of the index keys under `prefix` (at most `limit`).
Result<std::vector<std::string>> IndexedIds(state::StateStore& store, const std::string& prefix, size_t limit) {
  std::vector<std::string> ids;
  Status s = store.ScanPrefix(prefix, [&](std::string_view k, std::string_view) {
    if (auto id = keys::IndexedInstance(k, prefix)) ids.push_back(std::move(*id));
    return ids.size() < limit;
  });
  if (!s.ok()) return s;
  return ids;
}


}  // namespace

Result<Value> Engine::Impl::GetTask(const std::string& task_id) const {
  return ReadRecord(*parts_->store, keys::Task(task_id));
}

Result<Value> Engine::GetInstance(const std::string& id) const { return ReadInstanceView(*impl_->parts_->store, id); }

Result<std::vector<Value>> Engine::GetHistory(const std::string& id) const {
  return Values(*impl_->parts_->store, keys::HistoryPrefix(id), SIZE_MAX);
}

Result<std::vector<Value>> Engine::ListInstances(const std::string& status, size_t limit) const {
  state::StateStore& store = *impl_->parts_->store;
  auto ids = IndexedIds(store, keys::StatusIndexPrefix(status), limit);
  if (!ids.ok()) return ids.status();
  std::vector<Value> out;
  for (const auto& id : *ids) {
    auto v = ReadInstanceView(store, id);
    if (v.ok()) {
      out.push_back(std::move(*v));
    } else if (v.status().code() != Status::Code::kNotFound) {  // the index runs ahead of nothing
      return v.status();
    }
  }
  return out;
}

Result<std::vector<Value>> Engine::ListOpenTasks(const std::string& role) const {
  state::StateStore& store = *impl_->parts_->store;
  std::vector<std::string> tasks;
  Status s = store.ScanPrefix(role.empty() ? keys::OpenTaskPrefix() : keys::OpenTaskPrefix(role),
                              [&](std::string_view k, std::string_view) {
                                if (auto t = keys::ParseOpenTask(k)) tasks.push_back(std::move(t->task_id));
                                return true;
                              });
  if (!s.ok()) return s;
  std::vector<Value> out;
  for (const auto& t : tasks) {
    auto v = ReadRecord(store, keys::Task(t));
    if (v.ok()) {
      out.push_back(std::move(*v));
    } else if (v.status().code() != Status::Code::kNotFound) {
      return v.status();
    }
  }
  return out;
}

Result<std::vector<Value>> Engine::ListDeadLetters() const {
  return Values(*impl_->parts_->store, keys::DeadLetterPrefix(), SIZE_MAX);
}

Result<std::vector<Value>> Engine::ListDefinitions() const {
  return Values(*impl_->parts_->store, keys::DefinitionPrefix(), SIZE_MAX);
}

Result<InstancePage> Engine::QueryInstances(const InstanceQuery& q) const {
  state::StateStore& store = *impl_->parts_->store;
  InstancePage page;
  size_t limit = std::clamp<size_t>(q.limit, 1, 1000);
  auto matches = [&](const Value& v) {
    if (!q.workflow.empty() && TextField(v.Find("workflow")) != q.workflow) return false;
    if (!q.status.empty() && TextField(v.Find("status")) != q.status) return false;
    if (!q.business_key.empty() && TextField(v.Find("business_key")) != q.business_key) return false;
    return true;
  };
  if (!q.business_key.empty()) {
    if (q.workflow.empty()) return Status::InvalidArgument("business_key needs workflow");
    std::string id;
    Status s = store.Get(keys::BusinessKey(q.workflow, q.business_key), &id);
    if (s.code() == Status::Code::kNotFound) return page;
    if (!s.ok()) return s;
    if (!q.after.empty() && id <= q.after) return page;
    auto v = GetInstance(id);
    if (v.ok() && matches(*v)) page.items.push_back(std::move(*v));
    if (!v.ok() && v.status().code() != Status::Code::kNotFound) return v.status();
    return page;
  }
  // The narrowest index the filters allow; every candidate is still checked against all filters.
  std::string prefix = !q.status.empty()     ? keys::StatusIndexPrefix(q.status)
                       : !q.workflow.empty() ? keys::WorkflowIndexPrefix(q.workflow)
                                             : keys::InstancePrefix();
  std::string begin = q.after.empty() ? prefix : prefix + q.after + std::string(1, '\0');
  std::vector<std::string> ids;
  bool more = false;
  Status s = store.Scan(begin, keys::PrefixEnd(prefix), [&](std::string_view k, std::string_view) {
    if (ids.size() == limit) {
      more = true;
      return false;
    }
    if (auto id = keys::IndexedInstance(k, prefix)) ids.push_back(std::move(*id));
    return true;
  });
  if (!s.ok()) return s;
  for (const auto& id : ids) {
    auto v = GetInstance(id);
    if (v.ok()) {
      if (matches(*v)) page.items.push_back(std::move(*v));
    } else if (v.status().code() != Status::Code::kNotFound) {
      return v.status();
    }
  }
  if (more && !ids.empty()) page.next_cursor = ids.back();
  return page;
}

Result<Value> Engine::GetTask(const std::string& task_id) const { return impl_->GetTask(task_id); }

Result<std::vector<Value>> Engine::ListTasks(const std::string& role, const std::string& status, size_t limit) const {
  if (status == "open") {
    auto open = ListOpenTasks(role);
    if (open.ok() && open->size() > limit) open->resize(limit);
    return open;
  }
  auto all = Values(*impl_->parts_->store, keys::TaskPrefix(), SIZE_MAX);
  if (!all.ok()) return all.status();
  std::vector<Value> out;
  for (auto& t : *all) {
    std::string st = TextField(t.Find("status"));
    bool status_ok = status.empty() || (status == "closed" ? st != "open" : st == status);
    if (status_ok && (role.empty() || TextField(t.Find("role")) == role)) out.push_back(std::move(t));
    if (out.size() >= limit) break;
  }
  return out;
}

Result<Value> Engine::GetDefinition(const std::string& workflow, int version) const {
  state::StateStore& store = *impl_->parts_->store;
  if (version <= 0) {
    std::string latest;
    Status s = store.Get(keys::DefinitionLatest(workflow), &latest);
    if (!s.ok()) return s.code() == Status::Code::kNotFound ? Status::NotFound("no workflow " + workflow) : s;
    version = std::atoi(latest.c_str());
  }
  auto v = ReadRecord(store, keys::Definition(workflow, version));
  if (!v.ok() && v.status().code() == Status::Code::kNotFound)
    return Status::NotFound("no version " + std::to_string(version) + " of workflow " + workflow);
  return v;
}

}  // namespace rf::engine
