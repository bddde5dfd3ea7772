// Helpers of the connectors tests: an io_context on its own thread, a log capture, a fake
// connector that holds calls until the test answers them, and waiting for a call's answer.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "connectors/connector_instance.h"

namespace rf::connectors::testing {

// Runs an io_context on a thread for the test's lifetime.
class IoThread {
 public:
  IoThread() : work_(io_.get_executor()), thread_([this] { io_.run(); }) {}
  ~IoThread() {
    work_.reset();
    io_.stop();
    thread_.join();
  }
  boost::asio::io_context& io() { return io_; }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
};

// Polls `pred` until it holds; false after `limit` (a failure bound, not a performance claim).
inline bool WaitUntil(const std::function<bool()>& pred,
                      std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

// Collects the answers of calls; each answer is recorded with the thread that delivered it.
class Answers {
 public:
  std::function<void(engine::CallResult)> Callback(int index) {
    return [this, index](engine::CallResult r) {
      std::lock_guard lock(mu_);
      got_.push_back({index, std::move(r), std::this_thread::get_id()});
      cv_.notify_all();
    };
  }
  size_t size() const {
    std::lock_guard lock(mu_);
    return got_.size();
  }
  // The answer of call `index`, waiting for it up to 10 s.
  std::optional<engine::CallResult> Get(int index) {
    std::unique_lock lock(mu_);
    auto has = [&] {
      for (const auto& g : got_)
        if (g.index == index) return true;
      return false;
    };
    if (!cv_.wait_for(lock, std::chrono::seconds(10), has)) return std::nullopt;
    for (const auto& g : got_)
      if (g.index == index) return g.result;
    return std::nullopt;
  }
  int Count(int index) const {
    std::lock_guard lock(mu_);
    int n = 0;
    for (const auto& g : got_) n += g.index == index ? 1 : 0;
    return n;
  }
  std::thread::id ThreadOf(int index) const {
    std::lock_guard lock(mu_);
    for (const auto& g : got_)
      if (g.index == index) return g.thread;
    return {};
  }
  std::vector<int> Order() const {
    std::lock_guard lock(mu_);
    std::vector<int> out;
    for (const auto& g : got_) out.push_back(g.index);
    return out;
  }

 private:
  struct Got {
    int index;
    engine::CallResult result;
    std::thread::id thread;
  };
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Got> got_;
};

// Log lines written through a LogFn.
class LogCapture {
 public:
  LogFn Fn() {
    return [this](LogLevel, const std::string& name, const std::string& message) {
      std::lock_guard lock(mu_);
      lines_.push_back(name + ": " + message);
    };
  }
  bool Contains(const std::string& text) const {
    std::lock_guard lock(mu_);
    for (const auto& l : lines_)
      if (l.find(text) != std::string::npos) return true;
    return false;
  }
  std::string All() const {
    std::lock_guard lock(mu_);
    std::string out;
    for (const auto& l : lines_) out += l + "\n";
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
};

// A connector that holds every call until the test answers it. Thread-safe. The shared state
// survives the connector (which the resilience layer owns) so tests keep a handle on it.
class HeldConnector : public ConnectorInstance {
 public:
  struct State {
    std::mutex mu;
    std::deque<std::pair<engine::Invocation, std::function<void(engine::CallResult)>>> held;
    std::vector<std::string> started;  // invocation ids in the order they reached the connector
    std::vector<std::string> cancelled;
    // When set, calls are answered at once with this instead of being held.
    std::optional<engine::CallResult> auto_answer;
    bool shut_down = false;

    size_t held_count() {
      std::lock_guard lock(mu);
      return held.size();
    }
    size_t started_count() {
      std::lock_guard lock(mu);
      return started.size();
    }
    std::vector<std::string> started_ids() {
      std::lock_guard lock(mu);
      return started;
    }
    void SetAutoAnswer(std::optional<engine::CallResult> r) {
      std::lock_guard lock(mu);
      auto_answer = std::move(r);
    }
    // Answers the oldest held call; false when none is held.
    bool Answer(engine::CallResult r) {
      std::function<void(engine::CallResult)> done;
      {
        std::lock_guard lock(mu);
        if (held.empty()) return false;
        done = std::move(held.front().second);
        held.pop_front();
      }
      done(std::move(r));
      return true;
    }
  };

  explicit HeldConnector(std::shared_ptr<State> state) : state_(std::move(state)) {}
  void Invoke(const engine::Invocation& call,
              std::function<void(engine::CallResult)> done) override {
    std::optional<engine::CallResult> now;
    {
      std::lock_guard lock(state_->mu);
      state_->started.push_back(call.invocation_id);
      if (state_->auto_answer) {
        now = state_->auto_answer;
      } else {
        state_->held.emplace_back(call, std::move(done));
      }
    }
    if (now) done(*now);
  }
  nlohmann::json Describe() const override {
    return {{"name", "held"}, {"operations", nlohmann::json::array({{{"name", "op"}}})}};
  }
  void Cancel(const std::string& invocation_id) override {
    std::lock_guard lock(state_->mu);
    state_->cancelled.push_back(invocation_id);
  }
  void Shutdown() override {
    std::lock_guard lock(state_->mu);
    state_->shut_down = true;
  }

 private:
  std::shared_ptr<State> state_;
};

inline engine::Invocation MakeCall(const std::string& id, const std::string& operation = "op",
                                   Value input = Value(Record{})) {
  engine::Invocation c;
  c.instance_id = "inst-1";
  c.invocation_id = id;
  c.idempotency_key = "key-" + id;
  c.correlation_id = "corr-1";
  c.connector = "test";
  c.operation = operation;
  c.input = std::move(input);
  return c;
}

}  // namespace rf::connectors::testing
