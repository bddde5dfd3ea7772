// my_connector: the starting point of a retailflow connector plugin. Rename the class, describe
// your operations, implement Invoke. See docs/connectors.md for the contract:
//  - Invoke must not block: start the work and answer through `respond` later (any thread).
//  - Answer exactly once, with one of the error kinds the workflows know: timeout, unavailable,
//    rejected, not_found, conflict, internal.
//  - Operations that write must honour call.idempotency_key (retries and crash recovery send
//    the same key again; the effect must happen once).
//  - Shutdown must join every thread the plugin started.
#include <retailflow/connector_plugin.hpp>
#include <stdexcept>
#include <string>

namespace {

namespace rfp = retailflow::plugin;
using nlohmann::json;

class MyConnector : public rfp::Connector {
 public:
  // `settings` is the "settings" object of the connector's configuration entry. Throw to
  // refuse bad settings: the message reaches the operator and the service does not start.
  explicit MyConnector(const json& settings) {
    auto it = settings.find("greeting");
    if (it != settings.end()) {
      if (!it->is_string()) throw std::invalid_argument("settings.greeting must be text");
      greeting_ = it->get<std::string>();
    }
  }

  // The operations, in the catalog's connector form (docs/language.md, "Connector catalogs").
  json Describe() override {
    return json::parse(R"({
      "description": "A template connector: greets people.",
      "operations": [{
        "name": "greet",
        "description": "Build a greeting for a customer.",
        "side_effects": false,
        "input":  [{"name": "name", "type": "text"}],
        "output": [{"name": "text", "type": "text"}]
      }]})");
  }

  void Invoke(const rfp::Call& call, rfp::Responder respond) override {
    if (call.operation != "greet") {
      respond.Fail(RF_ERROR_REJECTED, "unknown operation " + call.operation);
      return;
    }
    auto name = call.input.find("name");
    if (name == call.input.end() || !name->is_string()) {
      respond.Fail(RF_ERROR_REJECTED, "name is required");
      return;
    }
    // Real connectors start asynchronous I/O here and call respond.Ok / respond.Fail when it
    // finishes, from their own thread.
    respond.Ok({{"text", greeting_ + ", " + name->get<std::string>() + "!"}});
  }

 private:
  std::string greeting_ = "Hello";
};

}  // namespace

RF_CONNECTOR_PLUGIN(MyConnector)
