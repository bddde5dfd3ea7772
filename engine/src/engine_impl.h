// The engine's front (engine.cc) and its read side (reads.cc). Private to engine/.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "executor.h"
#include "schedules.h"

namespace rf::engine {

class Engine::Impl : public std::enable_shared_from_this<Engine::Impl> {
 public:
  Impl(boost::asio::io_context& io, state::StateStore* store, const Clock* clock, ConnectorRegistry* connectors,
       EngineOptions options);

  Status Recover();
  void Start(StartRequest req, Callback<StartResult> done);
  void Cancel(std::string id, std::string reason, Callback<bool> done);
  void Repair(std::string id, bool retry, Value patch, Callback<bool> done);
  void CompleteTask(TaskDecision d, Callback<bool> done);
  void DeliverEvent(std::string event, std::string key, Value data, Callback<int> done);
  void Tick();
  void Stop();
  bool Busy() const;

  // reads.cc
  Result<Value> GetTask(const std::string& task_id) const;

  // The executor of the partition in the id, or nullptr when the id is not one of ours.
  PartitionExecutor* Owner(std::string_view instance_id) const;
  size_t Index(const PartitionExecutor* e) const;

  boost::asio::io_context& io_;
  // Ticks, schedules and event delivery run here, apart from every partition.
  boost::asio::strand<boost::asio::io_context::executor_type> control_;
  std::shared_ptr<EngineParts> parts_;
  std::vector<std::shared_ptr<PartitionExecutor>> executors_;

 private:
  PartitionExecutor* ForStart(const StartRequest& r);
  void ApplyTo(const std::string& id, Stimulus st, std::function<void(const Status&, bool)> done);
  void OnControl(std::function<void()> f);
  void DoTick();
  void FireSchedules(Time now);
  void SweepExpiredEvents(Time now);
  void ArmTicker();
  void ScheduleTick();

  // Control-strand state.
  std::map<std::string, Time> sched_last_;  // sched/ key -> last fired slot
  std::set<std::string> in_flight_slots_;
  Time next_event_sweep_{0};
  std::unique_ptr<boost::asio::steady_timer> ticker_;
  std::atomic<size_t> next_start_{0};
};

}  // namespace rf::engine
