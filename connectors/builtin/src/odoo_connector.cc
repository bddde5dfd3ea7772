// The `odoo` connector (see odoo_connector.h for settings and contracts).
//
// Structure: odoo_settings parses the settings into an immutable Shared (plus the cached uid and
// the HTTP client); odoo_session is one invocation's JSON-RPC / JSON-2 conversation, bound by its
// deadline; each business domain (odoo_accounting, odoo_stock, odoo_sales, odoo_generic) has one
// table of {name, spec, handler} that is both the catalog and the dispatch. Invoke spawns one
// coroutine per call on the io_context. Values travel as rf::Value so money stays exact.
// clang-format off
#include <utility>  // before Boost.Asio's awaitable.hpp, which uses std::exchange
// clang-format on
#include "connectors/builtin/odoo_connector.h"

// GCC 12 reports Boost.Asio's coroutine frame allocator (recycling operator new/delete pair) as
// mismatched at the end of every coroutine: a false positive for this translation unit.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <boost/asio/co_spawn.hpp>
#include <exception>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "connectors/builtin/src/odoo_operation.h"

namespace rf::connectors {
namespace {

namespace asio = boost::asio;
using engine::CallResult;
using engine::Invocation;
using nlohmann::json;
using odoo::Operation;
using odoo::Shared;

// The domains' tables, in catalog order: the retail operations of
// workflows/connectors/retail.json (the contract), then the generic ORM ones.
std::vector<const std::vector<Operation>*> Tables() {
  return {&odoo::SalesOperations(), &odoo::AccountingOperations(), &odoo::StockOperations(),
          &odoo::GenericOperations()};
}

const std::map<std::string, const Operation*>& OperationsByName() {
  static const auto kByName = [] {
    std::map<std::string, const Operation*> by_name;
    for (const auto* table : Tables()) {
      for (const Operation& op : *table) by_name.emplace(op.name, &op);
    }
    return by_name;
  }();
  return kByName;
}

// The operations as describe() lists them.
json Catalog() {
  json catalog = json::array();
  for (const auto* table : Tables()) {
    for (const Operation& op : *table) {
      json entry = json::parse(op.spec);
      entry["name"] = op.name;
      // The catalog's defaults, spelled out.
      if (!entry.contains("side_effects")) entry["side_effects"] = true;
      if (!entry.contains("writes")) entry["writes"] = "";
      if (!entry.contains("compensable")) entry["compensable"] = true;
      catalog.push_back(std::move(entry));
    }
  }
  return catalog;
}

asio::awaitable<CallResult> Run(std::shared_ptr<Shared> s, Invocation call) {
  odoo::Session c(std::move(s), call);
  const Value input = call.input.is_record() ? call.input : Value(Record{});
  const auto& ops = OperationsByName();
  auto it = ops.find(call.operation);
  if (it == ops.end()) {
    co_return CallResult::Failure("internal", "connector '" + c.shared().name +
                                                  "' has no operation '" + call.operation + "'");
  }
  co_return co_await it->second->handler(c, input);
}

class OdooConnector final : public ConnectorInstance {
 public:
  OdooConnector(std::shared_ptr<Shared> s, asio::io_context& io) : s_(std::move(s)), io_(io) {}
  ~OdooConnector() override { Shutdown(); }

  nlohmann::json Describe() const override { return s_->describe; }

  void Shutdown() override {
    if (!s_->shut_down.exchange(true)) s_->client->Shutdown();
  }

  void Invoke(const Invocation& call, std::function<void(CallResult)> done) override {
    if (s_->shut_down.load()) {
      done(CallResult::Failure("unavailable", "connector '" + s_->name + "' is shut down"));
      return;
    }
    auto s = s_;
    asio::co_spawn(
        io_, Run(s_, call), [s, done = std::move(done)](std::exception_ptr e, CallResult r) {
          if (!e) {
            done(std::move(r));
            return;
          }
          std::string what = "unknown exception";
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            what = ex.what();
          } catch (...) {
          }
          done(CallResult::Failure("internal", s->Redact("odoo connector failed: " + what)));
        });
  }

 private:
  std::shared_ptr<Shared> s_;
  asio::io_context& io_;
};

}  // namespace

Result<std::unique_ptr<ConnectorInstance>> MakeOdooConnector(const InstanceConfig& config,
                                                             boost::asio::io_context& io) {
  try {
    auto shared = odoo::ParseSettings(config, io, Catalog());
    if (!shared.ok()) return shared.status();
    return std::unique_ptr<ConnectorInstance>(new OdooConnector(std::move(*shared), io));
  } catch (const std::exception& e) {  // nlohmann type errors on unexpected shapes
    return Status::InvalidArgument("connector '" + config.name +
                                   "': invalid settings: " + e.what());
  }
}

}  // namespace rf::connectors
