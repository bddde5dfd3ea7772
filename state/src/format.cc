// PrepareFormat: the `meta/format` marker and the migration from format 1 (unescaped parts) to
// format 2 (state/FORMAT.md, "Format versions"). Format 1's parts were never escaped, but every
// key had a fixed shape whose other parts (ids, numbers, identifiers) never hold a '/', so the
// one free-text part of each key is what lies between them: a key is split from both ends.
#include <string>
#include <utility>
#include <vector>

#include "state/keys.h"
#include "state/state_store.h"

namespace rf::state::keys {

namespace {

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// `fixed` + Escape(middle) + tail, where the free part `middle` runs from after `fixed` to before
// the `tail_parts`-th '/' from the end (the tail keeps its bytes, its '/' included). With
// head_parts = 1 the first part after `fixed` is escaped on its own too (an identifier in
// practice; escaping it is a no-op then). nullopt when the key has too few parts.
std::optional<std::string> EscapeFreePart(std::string_view key, std::string_view fixed, int head_parts,
                                          int tail_parts) {
  std::string_view rest = key.substr(fixed.size());
  std::string out(fixed);
  for (int i = 0; i < head_parts; ++i) {
    size_t slash = rest.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    out += Escape(rest.substr(0, slash));
    out.push_back('/');
    rest.remove_prefix(slash + 1);
  }
  size_t cut = rest.size();
  for (int i = 0; i < tail_parts; ++i) {
    if (cut == 0) return std::nullopt;
    size_t slash = rest.rfind('/', cut - 1);
    if (slash == std::string_view::npos) return std::nullopt;
    cut = slash;
  }
  out += Escape(rest.substr(0, cut));
  out += rest.substr(cut);
  return out;
}

}  // namespace

// The format-2 spelling of a key written by format 1. Keys of no known shape, and keys with no
// free-text part (inst/, hist/, timer/, outbox/, task/, dead/, auth/token/, meta/), keep their
// bytes: their parts are ids, hashes and numbers, which escaping leaves unchanged.
std::string Format1KeyToFormat2(std::string_view key) {
  struct Shape {
    std::string_view fixed;
    int head_parts, tail_parts;
  };
  static constexpr Shape kShapes[] = {
      {"def/", 0, 1},           // def/<wf>/<version>
      {"deflatest/", 0, 0},     // deflatest/<wf>
      {"bkey/", 1, 0},          // bkey/<wf>/<business key>
      {"idx/status/", 0, 1},    // idx/status/<status>/<id>
      {"idx/workflow/", 0, 1},  // idx/workflow/<wf>/<id>
      {"taskopen/", 0, 1},      // taskopen/<role>/<task id>
      {"sub/", 1, 2},           // sub/<event>/<key>/<id>/<thread>
      {"evbuf/", 1, 1},         // evbuf/<event>/<key>/<arrival>-<seq>
      {"sched/", 0, 1},         // sched/<wf>/<index>
      {"webhook/", 1, 0},       // webhook/<source>/<webhook-id>
  };
  for (const auto& s : kShapes) {
    if (!StartsWith(key, s.fixed)) continue;
    auto migrated = EscapeFreePart(key, s.fixed, s.head_parts, s.tail_parts);
    return migrated ? std::move(*migrated) : std::string(key);
  }
  return std::string(key);
}

namespace {

// An instance snapshot names its threads' subscription keys (threads[].subscription), which hold
// the event key: rewritten to match the migrated sub/ keys. Timer keys (threads[].timer,
// compensation.timer) hold only ids and numbers and keep their bytes. Returns the new snapshot,
// nullopt when nothing changes, or Corruption when the snapshot cannot be read.
Result<std::optional<std::string>> MigrateSnapshot(std::string_view key, std::string_view text) {
  if (text.find("\"subscription\"") == std::string_view::npos) return std::optional<std::string>();
  auto snapshot = Value::FromTaggedJson(text);
  if (!snapshot.ok() || !snapshot->is_record())
    return Status::Corruption("cannot migrate " + std::string(key) + " to storage format " +
                              std::to_string(kFormatVersion) + ": the instance snapshot is not readable (" +
                              (snapshot.ok() ? std::string("not a record") : snapshot.status().message()) +
                              "); nothing was changed");
  bool changed = false;
  auto threads = snapshot->as_record().find("threads");
  if (threads != snapshot->as_record().end() && threads->second.is_list()) {
    for (Value& thread : threads->second.as_list()) {
      if (!thread.is_record()) continue;
      auto sub = thread.as_record().find("subscription");
      if (sub == thread.as_record().end() || !sub->second.is_text()) continue;
      std::string migrated = Format1KeyToFormat2(sub->second.as_text());
      if (migrated == sub->second.as_text()) continue;
      sub->second = Value(std::move(migrated));
      changed = true;
    }
  }
  if (!changed) return std::optional<std::string>();
  return std::optional<std::string>(snapshot->ToTaggedJson());
}

Status MigrateFormat1(StateStore* store, FormatChange* change) {
  std::vector<std::pair<std::string, std::string>> renamed;  // old key, new key
  std::vector<std::pair<std::string, std::string>> puts;     // key, value
  Status inner;
  Status s = store->Scan("", "", [&](std::string_view k, std::string_view v) {
    std::string key2 = Format1KeyToFormat2(k);
    std::string_view value = v;
    std::optional<std::string> snapshot;
    if (StartsWith(k, InstancePrefix())) {
      auto m = MigrateSnapshot(k, v);
      if (!m.ok()) {
        inner = m.status();
        return false;
      }
      snapshot = std::move(*m);
      if (snapshot) {
        value = *snapshot;
        ++change->snapshots_rewritten;
      }
    }
    if (key2 != k) {
      renamed.emplace_back(std::string(k), key2);
      puts.emplace_back(std::move(key2), std::string(value));
    } else if (snapshot) {
      puts.emplace_back(std::string(k), std::move(*snapshot));
    }
    return true;
  });
  if (!s.ok()) return s;
  if (!inner.ok()) return inner;
  // Every delete before every put: an old key may be spelled like another key's new one
  // ("a%25" is the old spelling of a business key "a%25" and the new spelling of "a%").
  WriteBatch batch;
  for (const auto& [old_key, _] : renamed) batch.Delete(old_key);
  for (auto& [k, v] : puts) batch.Put(std::move(k), std::move(v));
  batch.Put(MetaFormat(), std::to_string(kFormatVersion));
  change->keys_rewritten = renamed.size();
  return store->Commit(batch);
}

Status Refuse(const std::string& marker) {
  std::string reads = "this retailflow reads storage format " + std::to_string(kFormatVersion) +
                      " (and migrates format 1)";
  bool digits = !marker.empty() && marker.size() < 10 &&
                marker.find_first_not_of("0123456789") == std::string::npos;
  if (digits && std::stoi(marker) > kFormatVersion)
    return Status::FailedPrecondition("the store was written by storage format " + marker + "; " + reads +
                                      ": upgrade retailflow to a release that reads format " + marker +
                                      " (the store was not changed)");
  return Status::FailedPrecondition("the store's format marker (meta/format) is \"" + marker.substr(0, 32) +
                                    "\", which no retailflow release writes; " + reads +
                                    " (the store was not changed)");
}

}  // namespace

Status PrepareFormat(StateStore* store, FormatChange* change) {
  FormatChange ignored;
  if (change == nullptr) change = &ignored;
  *change = FormatChange{};
  const std::string current = std::to_string(kFormatVersion);
  std::string marker;
  Status s = store->Get(MetaFormat(), &marker);
  if (s.ok()) {
    change->from = marker == current ? kFormatVersion : marker == "1" ? 1 : 0;
    if (marker == current) return Status::Ok();
    if (marker != "1") return Refuse(marker);
  } else if (s.code() != Status::Code::kNotFound) {
    return s;
  } else {
    bool empty = true;
    s = store->Scan("", "", [&](std::string_view, std::string_view) { return empty = false; });
    if (!s.ok()) return s;
    if (empty) {
      WriteBatch batch;
      batch.Put(MetaFormat(), current);
      change->to = kFormatVersion;
      return store->Commit(batch);
    }
    change->from = 1;  // data but no marker: the first edition never wrote one
  }
  change->to = kFormatVersion;
  return MigrateFormat1(store, change);
}

}  // namespace rf::state::keys
