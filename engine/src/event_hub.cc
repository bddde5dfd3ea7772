#include "event_hub.h"

#include "state/keys.h"

namespace rf::engine {

namespace keys = state::keys;

namespace {
bool Expired(const Value& record, Time now) {
  const Value* exp = record.Find("expires_at");
  return exp != nullptr && exp->is_time() && exp->as_time() <= now;
}
}  // namespace

std::optional<EventSource::Taken> EventHub::TakeOrWait(const std::string& event, const std::string& key,
                                                        const std::string& instance_id, std::int64_t thread, Time now,
                                                        std::vector<std::string>* expired) {
  std::lock_guard lock(mu_);
  std::string prefix = keys::BufferedEventPrefix(event, key);
  std::optional<Taken> found;
  auto consider = [&](const std::string& k, std::string_view text) {
    if (taken_.count(k) != 0) return false;
    auto record = Value::FromTaggedJson(text);
    if (!record.ok()) {  // unreadable: drop it rather than wedge every wait on this key
      expired->push_back(k);
      taken_.insert(k);
      return false;
    }
    if (Expired(*record, now)) {
      expired->push_back(k);
      taken_.insert(k);
      return false;
    }
    const Value* d = record->Find("data");
    found = Taken{k, d ? *d : Value()};
    return true;
  };
  // A failed scan is reported and read as "no early event": the thread waits for the next
  // delivery, and an event kept in the store stays there until it expires.
  Status scanned =
      store_->ScanPrefix(prefix, [&](std::string_view k, std::string_view v) { return !consider(std::string(k), v); });
  if (!scanned.ok() && on_error_) on_error_("reading early events", scanned);
  if (!found)
    for (auto it = pending_.lower_bound(prefix); it != pending_.end() && it->first.rfind(prefix, 0) == 0; ++it)
      if (consider(it->first, it->second)) break;
  if (found) {
    taken_.insert(found->key);
    return found;
  }
  waiting_[{event, key}].insert(Waiter{instance_id, thread});
  waiting_of_.emplace(instance_id, std::make_pair(event, key));
  return std::nullopt;
}

void EventHub::Settled(const std::string& instance_id, const std::vector<std::string>& taken) {
  std::lock_guard lock(mu_);
  for (const auto& k : taken) taken_.erase(k);
  auto [from, to] = waiting_of_.equal_range(instance_id);
  for (auto it = from; it != to; ++it) {
    auto w = waiting_.find(it->second);
    if (w == waiting_.end()) continue;
    std::erase_if(w->second, [&](const Waiter& x) { return x.instance_id == instance_id; });
    if (w->second.empty()) waiting_.erase(w);
  }
  waiting_of_.erase(from, to);
}

Result<std::set<EventHub::Waiter>> EventHub::WaitersOrBuffer(const std::string& event, const std::string& key,
                                                             const Value& data, Time now, Duration ttl,
                                                             std::function<void(const Status&)> buffered) {
  std::lock_guard lock(mu_);
  std::set<Waiter> targets;
  Status s = store_->ScanPrefix(keys::SubscriptionPrefix(event, key), [&](std::string_view k, std::string_view) {
    if (auto sub = keys::ParseSubscription(k)) targets.insert(Waiter{sub->instance_id, sub->thread});
    return true;
  });
  if (!s.ok()) return s;
  if (auto w = waiting_.find({event, key}); w != waiting_.end()) targets.insert(w->second.begin(), w->second.end());
  if (targets.empty()) BufferLocked(event, key, data, now, ttl, std::move(buffered));
  return targets;
}

void EventHub::Buffer(const std::string& event, const std::string& key, const Value& data, Time now, Duration ttl,
                      std::function<void(const Status&)> buffered) {
  std::lock_guard lock(mu_);
  BufferLocked(event, key, data, now, ttl, std::move(buffered));
}

void EventHub::BufferLocked(const std::string& event, const std::string& key, const Value& data, Time now, Duration ttl,
                            std::function<void(const Status&)> buffered) {
  Record record;
  record["data"] = data;
  record["expires_at"] = Value(Time{now.ms + ttl.ms});
  std::string k, ignored;
  do {
    k = keys::BufferedEvent(event, key, now, ++seq_);
  } while (pending_.count(k) != 0 || store_->Get(k, &ignored).ok());
  std::string text = Value(std::move(record)).ToTaggedJson();
  pending_[k] = text;
  state::WriteBatch b;
  b.Put(k, text);
  committer_->Submit(std::move(b), [this, k, buffered = std::move(buffered)](const Status& s) {
    {
      std::lock_guard lock(mu_);
      pending_.erase(k);
    }
    buffered(s);
  });
}

void EventHub::SweepExpired(Time now, size_t limit, std::function<void(const Status&, size_t)> done) {
  state::WriteBatch batch;
  size_t n = 0;
  {
    std::lock_guard lock(mu_);
    Status s = store_->ScanPrefix(keys::BufferedEventPrefix(), [&](std::string_view k, std::string_view v) {
      std::string key(k);
      if (pending_.count(key) != 0 || taken_.count(key) != 0) return true;
      auto record = Value::FromTaggedJson(v);
      if (!record.ok() || Expired(*record, now)) {
        batch.Delete(key);
        ++n;
      }
      return n < limit;
    });
    if (!s.ok()) {
      done(s, 0);
      return;
    }
  }
  if (n == 0) {
    done(Status::Ok(), 0);
    return;
  }
  committer_->Submit(std::move(batch), [done = std::move(done), n](const Status& s) { done(s, n); });
}

}  // namespace rf::engine
