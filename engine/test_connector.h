// An in-process connector for engine tests and benchmarks: scripted answers, injected failures,
// held (slow) calls, and an effect log keyed by idempotency key, like a downstream system that
// honours idempotency keys. Thread-safe.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "engine/connector.h"

namespace rf::engine {

class TestConnector : public Connector {
 public:
  using Handler = std::function<CallResult(const Invocation&)>;

  // Answer for an operation (default: success with {"ok": true, "key": idempotency key}).
  void On(const std::string& operation, Handler handler);
  // The next `times` calls of `operation` fail with `kind` (before the handler runs).
  void FailNext(const std::string& operation, const std::string& kind, int times = 1);
  // Calls of `operation` are held until Release(); they never answer on their own.
  void Hold(const std::string& operation);
  // Answers every held call (with the handler's answer) and stops holding.
  void Release(const std::string& operation);
  size_t held(const std::string& operation) const;

  void Invoke(const Invocation& call, std::function<void(CallResult)> done) override;

  // How many times each idempotency key's effect was applied: a successful call with a key seen
  // before returns the first answer again without applying the effect a second time.
  int EffectCount(const std::string& idempotency_key) const;
  // Every successful effect in order: "operation key".
  std::vector<std::string> effects() const;
  int calls(const std::string& operation) const;
  std::vector<Invocation> invocations() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, Handler> handlers_;
  std::map<std::string, std::deque<std::string>> failures_;
  std::map<std::string, std::vector<std::pair<Invocation, std::function<void(CallResult)>>>> held_;
  std::map<std::string, bool> holding_;
  std::map<std::string, CallResult> answers_by_key_;
  std::map<std::string, int> effect_count_;
  std::vector<std::string> effects_;
  std::map<std::string, int> calls_;
  std::vector<Invocation> invocations_;

  CallResult Answer(const Invocation& call);
};

// A registry over connectors owned elsewhere.
class TestRegistry : public ConnectorRegistry {
 public:
  void Add(const std::string& name, Connector* c) { map_[name] = c; }
  Connector* Find(const std::string& name) override {
    auto it = map_.find(name);
    return it == map_.end() ? nullptr : it->second;
  }

 private:
  std::map<std::string, Connector*> map_;
};

}  // namespace rf::engine
