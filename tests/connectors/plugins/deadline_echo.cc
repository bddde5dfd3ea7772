// A plugin (C++ layer) that answers at once with the deadlines it was given, so that a test can
// see what the ABI hands a plugin whatever clock the host runs on.
#include <retailflow/connector_plugin.hpp>

namespace {

namespace rfp = retailflow::plugin;

class DeadlineEcho : public rfp::Connector {
 public:
  explicit DeadlineEcho(const nlohmann::json&) {}
  nlohmann::json Describe() override {
    return nlohmann::json::parse(R"({"operations": [{"name": "echo", "side_effects": false,
      "output": [{"name": "deadline_ms", "type": "number"},
                 {"name": "previous_attempt_deadline_ms", "type": "number"}]}]})");
  }
  void Invoke(const rfp::Call& call, rfp::Responder respond) override {
    respond.Ok({{"deadline_ms", call.deadline_ms},
                {"previous_attempt_deadline_ms", call.previous_attempt_deadline_ms}});
  }
};

}  // namespace

RF_CONNECTOR_PLUGIN(DeadlineEcho)
