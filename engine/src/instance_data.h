// An instance's data record, with the stored form of each entry kept beside it. Every transition
// writes the whole snapshot, and the data is its largest part and mostly unchanged: a step saves
// one entry. So an entry is encoded once, when it is set, not on every transition after it (with a
// 5-step flow, encoding the snapshot was a fifth of the engine's CPU, most of it the data).
// Entries change only through Set()/Assign(), so an encoded entry can never be stale.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "common/value.h"

namespace rf::engine {

class InstanceData {
 public:
  const Record& record() const { return record_; }
  // Like std::map::at: throws std::out_of_range for an entry that is not there.
  const Value& at(const std::string& name) const { return record_.at(name); }

  void Set(const std::string& name, Value v) {
    record_[name] = std::move(v);
    encoded_.erase(name);
  }
  void Assign(Record r) {
    record_ = std::move(r);
    encoded_.clear();
  }

  // Appends exactly what Value::AppendTaggedJson(out, record()) appends.
  void AppendTaggedJson(std::string& out) const {
    out.push_back('{');
    bool first = true;
    for (const auto& [name, value] : record_) {
      if (!first) out.push_back(',');
      first = false;
      auto it = encoded_.find(name);
      if (it == encoded_.end()) {
        std::string entry;
        Value(name).AppendTaggedJson(entry);  // a text is a JSON string in the tagged form too
        entry.push_back(':');
        value.AppendTaggedJson(entry);
        it = encoded_.emplace(name, std::move(entry)).first;
      }
      out += it->second;
    }
    out.push_back('}');
  }

 private:
  Record record_;
  mutable std::map<std::string, std::string, std::less<>> encoded_;  // name -> "name":value
};

}  // namespace rf::engine
