#include "engine/test_connector.h"

namespace rf::engine {

void TestConnector::On(const std::string& operation, Handler handler) {
  std::lock_guard lock(mu_);
  handlers_[operation] = std::move(handler);
}

void TestConnector::FailNext(const std::string& operation, const std::string& kind, int times) {
  std::lock_guard lock(mu_);
  for (int i = 0; i < times; ++i) failures_[operation].push_back(kind);
}

void TestConnector::Hold(const std::string& operation) {
  std::lock_guard lock(mu_);
  holding_[operation] = true;
}

void TestConnector::Release(const std::string& operation) {
  std::vector<std::pair<Invocation, std::function<void(CallResult)>>> calls;
  {
    std::lock_guard lock(mu_);
    holding_[operation] = false;
    calls.swap(held_[operation]);
  }
  for (auto& [call, done] : calls) {
    CallResult r;
    {
      std::lock_guard lock(mu_);
      r = Answer(call);
    }
    done(std::move(r));
  }
}

size_t TestConnector::held(const std::string& operation) const {
  std::lock_guard lock(mu_);
  auto it = held_.find(operation);
  return it == held_.end() ? 0 : it->second.size();
}

CallResult TestConnector::Answer(const Invocation& call) {
  auto& fails = failures_[call.operation];
  if (!fails.empty()) {
    std::string kind = fails.front();
    fails.pop_front();
    return CallResult::Failure(kind, "injected " + kind);
  }
  auto known = answers_by_key_.find(call.idempotency_key);
  if (known != answers_by_key_.end()) return known->second;  // idempotent replay
  CallResult r;
  auto h = handlers_.find(call.operation);
  if (h != handlers_.end()) {
    r = h->second(call);
  } else {
    Record out;
    out["ok"] = Value(true);
    out["key"] = Value(call.idempotency_key);
    r = CallResult::Success(Value(std::move(out)));
  }
  if (r.ok) {
    answers_by_key_[call.idempotency_key] = r;
    ++effect_count_[call.idempotency_key];
    effects_.push_back(call.operation + " " + call.idempotency_key);
  }
  return r;
}

void TestConnector::Invoke(const Invocation& call, std::function<void(CallResult)> done) {
  CallResult r;
  {
    std::lock_guard lock(mu_);
    ++calls_[call.operation];
    invocations_.push_back(call);
    if (holding_[call.operation]) {
      held_[call.operation].emplace_back(call, std::move(done));
      return;
    }
    r = Answer(call);
  }
  done(std::move(r));
}

int TestConnector::EffectCount(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = effect_count_.find(key);
  return it == effect_count_.end() ? 0 : it->second;
}

std::vector<std::string> TestConnector::effects() const {
  std::lock_guard lock(mu_);
  return effects_;
}

int TestConnector::calls(const std::string& operation) const {
  std::lock_guard lock(mu_);
  auto it = calls_.find(operation);
  return it == calls_.end() ? 0 : it->second;
}

std::vector<Invocation> TestConnector::invocations() const {
  std::lock_guard lock(mu_);
  return invocations_;
}

}  // namespace rf::engine
