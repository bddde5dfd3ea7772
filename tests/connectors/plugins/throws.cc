// A plugin (C++ layer) that throws: from Invoke before answering (`boom`), after answering
// (`answer_then_throw`), and from its constructor when settings say {"refuse": true}. The layer
// must contain every one of them.
#include <retailflow/connector_plugin.hpp>
#include <stdexcept>

namespace {

namespace rfp = retailflow::plugin;

class Throws : public rfp::Connector {
 public:
  explicit Throws(const nlohmann::json& settings) {
    if (settings.value("refuse", false)) throw std::invalid_argument("refused by its settings");
  }
  nlohmann::json Describe() override {
    return nlohmann::json::parse(R"({"operations": [{"name": "boom", "side_effects": false},
      {"name": "answer_then_throw", "side_effects": false},
      {"name": "drop", "side_effects": false}]})");
  }
  void Invoke(const rfp::Call& call, rfp::Responder respond) override {
    if (call.operation == "answer_then_throw") {
      respond.Ok({{"answered", true}});
      throw std::runtime_error("thrown after answering");
    }
    if (call.operation == "drop") return;  // the Responder goes away unanswered
    throw std::runtime_error("boom: the plugin failed");
  }
};

}  // namespace

RF_CONNECTOR_PLUGIN(Throws)
