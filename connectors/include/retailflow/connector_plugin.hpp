// C++ convenience layer for retailflow connector plugins, over the plain-C ABI in
// connector_abi.h. Header-only; depends on connector_abi.h, the C++17 standard library and
// nlohmann/json (a header-only library: Debian/Ubuntu package nlohmann-json3-dev).
//
//   #include <retailflow/connector_plugin.hpp>
//   namespace rfp = retailflow::plugin;
//
//   class Greeter : public rfp::Connector {
//    public:
//     explicit Greeter(const nlohmann::json& settings) : greeting_(settings.value("greeting",
//     "hi")) {} nlohmann::json Describe() override {
//       return {{"description", "Says hello."},
//               {"operations", {{{"name", "greet"}, {"side_effects", false},
//                                {"input", {{{"name", "who"}, {"type", "text"}}}},
//                                {"output", {{{"name", "text"}, {"type", "text"}}}}}}}};
//     }
//     void Invoke(const rfp::Call& call, rfp::Responder respond) override {
//       respond.Ok({{"text", greeting_ + " " + call.input.value("who", "")}});
//     }
//    private:
//     std::string greeting_;
//   };
//   RF_CONNECTOR_PLUGIN(Greeter)
//
// What the layer guarantees:
//  - Exceptions never cross into the host: one thrown by the constructor fails the init with its
//    message; one thrown by Invoke answers the call `internal` (unless it was already answered);
//    one thrown by Describe makes describe return NULL (the host refuses the plugin).
//  - Every call is answered exactly once: Responder ignores a second answer, and a call whose
//    last Responder copy is destroyed unanswered is answered `internal`.
//  - The ABI version is checked; another host version gets RF_INIT_ABI_MISMATCH.
// Threads: Invoke may run concurrently on several host threads; a Responder (copyable) may be
// answered from any thread. Shutdown() must stop and join the plugin's own threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "retailflow/connector_abi.h"

namespace retailflow::plugin {

// One invocation (see rf_plugin_api.invoke in connector_abi.h for each field's meaning).
struct Call {
  std::string instance_id;
  std::string invocation_id;
  std::string idempotency_key;  // make the effect happen once per key
  std::string correlation_id;
  std::string operation;
  nlohmann::json input = nlohmann::json::object();
  // Unix epoch milliseconds on this machine's wall clock (the host converts from its engine's
  // clock: now + the budget left); 0 = none. Spend `deadline_ms - now` from when the call came.
  std::int64_t deadline_ms = 0;
  int attempt = 1;
  // After a host restart: the deadline of the attempt that was in flight (0 = none).
  std::int64_t previous_attempt_deadline_ms = 0;
};

namespace detail {

struct CallState;

// Calls in progress of one instance, for `cancel`. Shared with the CallStates so that an
// answer can unregister itself even after the instance is gone.
struct CallTable {
  std::mutex mu;
  std::map<rf_call*, std::weak_ptr<CallState>> calls;
};

struct CallState {
  // Copied from the host table at invoke time: the function stays valid for the host's
  // lifetime, unlike the table, which goes away after shutdown.
  void (*complete)(rf_call*, int, const char*, const char*, const char*) = nullptr;
  rf_call* call = nullptr;
  std::string invocation_id;
  std::atomic<bool> answered{false};
  std::atomic<bool> cancelled{false};
  std::shared_ptr<std::atomic<bool>> alive;  // false once the instance has shut down
  std::weak_ptr<CallTable> table;

  // True for the first answer only.
  bool Answer(int ok, const char* kind, const char* message, const char* output) noexcept {
    bool expected = false;
    if (!answered.compare_exchange_strong(expected, true)) return false;
    if (auto t = table.lock()) {
      std::lock_guard<std::mutex> lock(t->mu);
      t->calls.erase(call);
    }
    complete(call, ok, kind, message, output);
    return true;
  }
  ~CallState() {
    if (!answered.load() && alive && alive->load())
      Answer(0, RF_ERROR_INTERNAL, "the plugin dropped the call without answering", nullptr);
  }
};

}  // namespace detail

// Answers one call. Copyable (copies answer the same call); thread-safe; the first answer wins
// and later ones are ignored (Ok/Fail return false).
class Responder {
 public:
  explicit Responder(std::shared_ptr<detail::CallState> state) : state_(std::move(state)) {}

  bool Ok(const nlohmann::json& output = nlohmann::json::object()) const noexcept {
    try {
      std::string text = output.dump();
      return state_->Answer(1, nullptr, nullptr, text.c_str());
    } catch (const std::exception& e) {
      return Fail(RF_ERROR_INTERNAL, std::string("output not serialisable: ") + e.what());
    }
  }
  // `kind` is one of the RF_ERROR_* words ("timeout", "unavailable", "rejected", "not_found",
  // "conflict", "internal").
  bool Fail(std::string_view kind, std::string_view message) const noexcept {
    try {
      std::string k(kind), m(message);
      return state_->Answer(0, k.c_str(), m.c_str(), nullptr);
    } catch (...) {
      return state_->Answer(0, RF_ERROR_INTERNAL, "out of memory", nullptr);
    }
  }
  bool answered() const { return state_->answered.load(); }
  // The host gave up on the call (its deadline passed): stop the work if you can.
  bool cancelled() const { return state_->cancelled.load(); }

 private:
  std::shared_ptr<detail::CallState> state_;
};

template <typename T>
struct Glue;

// Base class of a plugin's connector. The derived class needs a constructor taking the
// instance's settings: `explicit MyConnector(const nlohmann::json& settings)`; throw from it to
// refuse bad settings (the message reaches the operator).
class Connector {
 public:
  virtual ~Connector() = default;
  // {"description": "...", "operations": [...]}: see rf_plugin_api.describe.
  virtual nlohmann::json Describe() = 0;
  // Starts the call and returns without blocking; answer through `respond`, now or later, from
  // any thread.
  virtual void Invoke(const Call& call, Responder respond) = 0;
  // The host gave up on `invocation_id`; the Responder already reports cancelled().
  virtual void Cancel(const std::string& invocation_id) { (void)invocation_id; }
  // Stop and join your threads; answer or drop what is in flight. Called once, before
  // destruction.
  virtual void Shutdown() {}

  // Writes a log line through the host (RF_LOG_DEBUG .. RF_LOG_ERROR). Any thread.
  void Log(int level, std::string_view message) const noexcept {
    if (host_ == nullptr || host_->log == nullptr) return;
    try {
      std::string m(message);
      host_->log(host_->host_context, level, m.c_str());
    } catch (...) {
    }
  }

 private:
  template <typename T>
  friend struct Glue;
  const rf_host_api* host_ = nullptr;
};

// The C functions of one connector type T (used by RF_CONNECTOR_PLUGIN).
template <typename T>
struct Glue {
  struct Instance {
    const rf_host_api* host = nullptr;
    std::unique_ptr<T> connector;
    std::shared_ptr<detail::CallTable> table = std::make_shared<detail::CallTable>();
    std::shared_ptr<std::atomic<bool>> alive = std::make_shared<std::atomic<bool>>(true);
  };

  static Instance* Of(rf_plugin* p) { return reinterpret_cast<Instance*>(p); }

  static void WriteError(char* buf, size_t size, const std::string& text) {
    if (buf == nullptr || size == 0) return;
    size_t n = text.size() < size - 1 ? text.size() : size - 1;
    std::memcpy(buf, text.data(), n);
    buf[n] = '\0';
  }

  static int Init(std::uint32_t host_version, const rf_host_api* host, const char* settings_json,
                  rf_plugin_api* api, char* error_buf, size_t error_size) noexcept {
    api->abi_version = RF_CONNECTOR_ABI_VERSION;
    api->struct_size = sizeof(rf_plugin_api);
    if (host_version != RF_CONNECTOR_ABI_VERSION) {
      WriteError(error_buf, error_size,
                 "this plugin implements connector ABI version " +
                     std::to_string(RF_CONNECTOR_ABI_VERSION));
      return RF_INIT_ABI_MISMATCH;
    }
    try {
      nlohmann::json settings = nlohmann::json::parse(
          settings_json != nullptr ? settings_json : "{}", nullptr, true, true);
      auto instance = std::make_unique<Instance>();
      instance->host = host;
      instance->connector = std::make_unique<T>(settings);
      static_cast<Connector*>(instance->connector.get())->host_ = host;
      api->plugin = reinterpret_cast<rf_plugin*>(instance.release());
      api->describe = &Describe;
      api->invoke = &Invoke;
      api->cancel = &Cancel;
      api->shutdown = &Shutdown;
      api->free_string = &FreeString;
      return RF_INIT_OK;
    } catch (const std::exception& e) {
      WriteError(error_buf, error_size, e.what());
    } catch (...) {
      WriteError(error_buf, error_size, "unknown exception during init");
    }
    return RF_INIT_FAILED;
  }

  static char* Describe(rf_plugin* p) noexcept {
    Instance* in = Of(p);
    try {
      std::string text = in->connector->Describe().dump();
      char* out = static_cast<char*>(std::malloc(text.size() + 1));
      if (out != nullptr) std::memcpy(out, text.c_str(), text.size() + 1);
      return out;
    } catch (const std::exception& e) {
      in->connector->Log(RF_LOG_ERROR, std::string("describe failed: ") + e.what());
    } catch (...) {
      in->connector->Log(RF_LOG_ERROR, "describe failed");
    }
    return nullptr;
  }

  static void FreeString(rf_plugin*, char* text) noexcept { std::free(text); }

  static void Invoke(rf_plugin* p, const char* call_json, rf_call* call) noexcept {
    Instance* in = Of(p);
    std::shared_ptr<detail::CallState> state;
    try {
      state = std::make_shared<detail::CallState>();
    } catch (...) {
      in->host->complete(call, 0, RF_ERROR_INTERNAL, "out of memory", nullptr);
      return;
    }
    state->complete = in->host->complete;
    state->call = call;
    state->alive = in->alive;
    state->table = in->table;
    Responder respond(state);
    try {
      const nlohmann::json j = nlohmann::json::parse(call_json);
      if (!j.is_object()) throw std::invalid_argument("the call is not a JSON object");
      auto text = [&j](const char* key) {
        auto it = j.find(key);
        return it != j.end() && it->is_string() ? it->template get<std::string>() : std::string();
      };
      auto number = [&j](const char* key, std::int64_t fallback) {
        auto it = j.find(key);
        return it != j.end() && it->is_number_integer() ? it->template get<std::int64_t>()
                                                        : fallback;
      };
      Call c;
      c.instance_id = text("instance_id");
      c.invocation_id = text("invocation_id");
      c.idempotency_key = text("idempotency_key");
      c.correlation_id = text("correlation_id");
      c.operation = text("operation");
      auto input = j.find("input");
      if (input != j.end() && input->is_object()) c.input = *input;
      c.deadline_ms = number("deadline_ms", 0);
      c.attempt = static_cast<int>(number("attempt", 1));
      c.previous_attempt_deadline_ms = number("previous_attempt_deadline_ms", 0);
      state->invocation_id = c.invocation_id;
      {
        std::lock_guard<std::mutex> lock(in->table->mu);
        in->table->calls[call] = state;
      }
      in->connector->Invoke(c, respond);
    } catch (const std::exception& e) {
      if (!respond.Fail(RF_ERROR_INTERNAL, std::string("plugin error: ") + e.what()))
        in->connector->Log(RF_LOG_ERROR, std::string("exception after answering: ") + e.what());
    } catch (...) {
      if (!respond.Fail(RF_ERROR_INTERNAL, "plugin error: unknown exception"))
        in->connector->Log(RF_LOG_ERROR, "unknown exception after answering");
    }
  }

  static void Cancel(rf_plugin* p, rf_call* call) noexcept {
    Instance* in = Of(p);
    try {
      std::shared_ptr<detail::CallState> state;
      {
        std::lock_guard<std::mutex> lock(in->table->mu);
        auto it = in->table->calls.find(call);
        if (it != in->table->calls.end()) state = it->second.lock();
      }
      if (!state || state->answered.load()) return;
      state->cancelled = true;
      in->connector->Cancel(state->invocation_id);
    } catch (...) {
      in->connector->Log(RF_LOG_ERROR, "cancel failed");
    }
  }

  static void Shutdown(rf_plugin* p) noexcept {
    Instance* in = Of(p);
    try {
      in->connector->Shutdown();
    } catch (...) {
      in->connector->Log(RF_LOG_ERROR, "shutdown failed");
    }
    // Calls still held by the plugin are abandoned: the host answers them itself.
    in->alive->store(false);
    try {
      delete in;
    } catch (...) {
    }
  }
};

}  // namespace retailflow::plugin

// Defines the plugin's entry point `rf_connector_init` for connector class `Class` (one per
// library). Use it once, at namespace scope, in one source file.
#define RF_CONNECTOR_PLUGIN(Class)                                                         \
  extern "C" RF_CONNECTOR_EXPORT int rf_connector_init(                                    \
      uint32_t host_abi_version, const rf_host_api* host, const char* settings_json,       \
      rf_plugin_api* plugin_api, char* error_buf, size_t error_buf_size) {                 \
    return ::retailflow::plugin::Glue<Class>::Init(host_abi_version, host, settings_json,  \
                                                   plugin_api, error_buf, error_buf_size); \
  }
