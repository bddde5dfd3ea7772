// A plugin (C++ layer) that answers from its own thread after `delay_ms` (input, default 20),
// reporting which thread answered. Its threads are joined in Shutdown, as the ABI requires.
#include <chrono>
#include <functional>
#include <mutex>
#include <retailflow/connector_plugin.hpp>
#include <sstream>
#include <thread>
#include <vector>

namespace {

namespace rfp = retailflow::plugin;

class OtherThread : public rfp::Connector {
 public:
  explicit OtherThread(const nlohmann::json&) {}
  nlohmann::json Describe() override {
    return nlohmann::json::parse(R"({"operations": [{"name": "later", "side_effects": false,
      "input": [{"name": "delay_ms", "type": "number", "required": false}],
      "output": [{"name": "thread", "type": "text"}]}]})");
  }
  void Invoke(const rfp::Call& call, rfp::Responder respond) override {
    int delay = call.input.value("delay_ms", 20);
    std::lock_guard<std::mutex> lock(mu_);
    threads_.emplace_back([respond, delay] {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay));
      std::ostringstream id;
      id << std::hash<std::thread::id>()(std::this_thread::get_id());
      respond.Ok({{"thread", id.str()}});
    });
  }
  void Shutdown() override {
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> lock(mu_);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
  }

 private:
  std::mutex mu_;
  std::vector<std::thread> threads_;
};

}  // namespace

RF_CONNECTOR_PLUGIN(OtherThread)
