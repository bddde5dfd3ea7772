// Helpers for the built-in connector tests: an io_context on its own thread and synchronous
// wrappers around asynchronous calls (bounded waits only to turn a hang into a failure).
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "connectors/connector_instance.h"
#include "engine/connector.h"

namespace rf::testing {

class IoThread {
 public:
  IoThread() : guard_(boost::asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
  ~IoThread() {
    guard_.reset();
    io_.stop();
    thread_.join();
  }
  boost::asio::io_context& io() { return io_; }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
};

// Generous: only protects the test run from hanging forever; never a performance assertion.
constexpr auto kHangGuard = std::chrono::seconds(60);

inline engine::Invocation MakeCall(std::string operation, Value input, int timeout_ms = 10000) {
  engine::Invocation call;
  call.instance_id = "inst-1";
  call.invocation_id = "inv-1";
  call.idempotency_key = "idem-42";
  call.correlation_id = "corr-7";
  call.connector = "test";
  call.operation = std::move(operation);
  call.input = std::move(input);
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  call.deadline = Time{now + timeout_ms};
  return call;
}

inline engine::CallResult InvokeSync(engine::Connector& c, const engine::Invocation& call) {
  auto p = std::make_shared<std::promise<engine::CallResult>>();
  auto f = p->get_future();
  c.Invoke(call, [p](engine::CallResult r) { p->set_value(std::move(r)); });
  if (f.wait_for(kHangGuard) != std::future_status::ready) {
    ADD_FAILURE() << "call did not complete";
    return engine::CallResult::Failure("test-hang", "no completion");
  }
  return f.get();
}

}  // namespace rf::testing
