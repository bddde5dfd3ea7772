// Events across partitions. An event names a correlation key, not an instance, so its waiters
// may live in any partition; and an event that arrives before anyone waits is kept (buffered)
// for event_buffer_ttl. The hub makes "deliver to the waiters, or buffer" and "take a buffered
// event, or wait" exclusive of each other, so an event is never both missed and kept: under one
// lock it sees committed subscriptions and early events in the store, plus the waits and early
// events of transitions not yet durable.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "interpreter.h"
#include "state/group_commit.h"
#include "state/state_store.h"

namespace rf::engine {

class EventHub : public EventSource {
 public:
  // `on_error` hears of errors no caller can receive (a failed scan while taking an early event).
  EventHub(state::StateStore* store, state::GroupCommitter* committer,
           std::function<void(const char*, const Status&)> on_error)
      : store_(store), committer_(committer), on_error_(std::move(on_error)) {}

  std::optional<Taken> TakeOrWait(const std::string& event, const std::string& key, const std::string& instance_id,
                                  std::int64_t thread, Time now, std::vector<std::string>* expired) override;

  // The transition that took early events or began waits for `instance_id` is durable (or
  // failed, and the store is the truth again): forget what was held for it.
  void Settled(const std::string& instance_id, const std::vector<std::string>& taken);

  struct Waiter {
    std::string instance_id;
    std::int64_t thread = 0;
    bool operator<(const Waiter& o) const {
      return instance_id != o.instance_id ? instance_id < o.instance_id : thread < o.thread;
    }
  };
  // The waiters of (event, key) now. When there are none, the event is buffered in the same
  // step and `buffered` is called with the commit's status.
  Result<std::set<Waiter>> WaitersOrBuffer(const std::string& event, const std::string& key, const Value& data,
                                           Time now, Duration ttl, std::function<void(const Status&)> buffered);
  // Buffers unconditionally (every waiter moved on before the event reached it).
  void Buffer(const std::string& event, const std::string& key, const Value& data, Time now, Duration ttl,
              std::function<void(const Status&)> buffered);

  // Deletes expired early events (at most `limit`); `done` gets the commit's status.
  void SweepExpired(Time now, size_t limit, std::function<void(const Status&, size_t)> done);

 private:
  void BufferLocked(const std::string& event, const std::string& key, const Value& data, Time now, Duration ttl,
                    std::function<void(const Status&)> buffered);

  state::StateStore* store_;
  state::GroupCommitter* committer_;
  std::function<void(const char*, const Status&)> on_error_;
  std::mutex mu_;
  std::map<std::string, std::string> pending_;  // early events being committed: key -> record
  std::set<std::string> taken_;                  // early events taken by transitions not yet durable
  std::map<std::pair<std::string, std::string>, std::set<Waiter>> waiting_;  // by (event, key), not yet durable
  std::multimap<std::string, std::pair<std::string, std::string>> waiting_of_;  // instance -> (event, key)
  std::int64_t seq_ = 0;
};

}  // namespace rf::engine
