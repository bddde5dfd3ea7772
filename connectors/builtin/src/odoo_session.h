// One invocation's conversation with Odoo: ORM calls over JSON-RPC (`object.execute_kw`) or
// JSON-2 (`/json/2/<model>/<method>`), each one HTTP exchange, all bound by the invocation's
// deadline, with Odoo's errors mapped to the engine's error kinds. Private to the connector.
#pragma once

// clang-format off
#include <utility>  // before Boost.Asio's awaitable.hpp, which uses std::exchange
#include <boost/asio/awaitable.hpp>
// clang-format on

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/value.h"
#include "connectors/builtin/src/odoo_settings.h"
#include "engine/connector.h"

namespace rf::connectors::odoo {

// A mapped failure: an engine error kind and a message (API key redacted).
struct Fail {
  // A constructor, not an aggregate: GCC 12 rejects aggregate initialisation from string
  // literals inside coroutines ("array used as initializer").
  Fail(std::string k, std::string m) : kind(std::move(k)), message(std::move(m)) {}
  std::string kind;
  std::string message;
};

// The outcome of one ORM call: a value or a mapped failure. `auth` marks AccessDenied or an
// expired session, after which JSON-RPC authenticates again once. `odoo_error` is the Odoo
// exception's class name (`odoo.exceptions.ValidationError`), empty for transport failures.
struct Rpc {
  Value value;
  std::optional<Fail> error;
  bool auth = false;
  std::string odoo_error;
  bool ok() const { return !error.has_value(); }
};

Rpc RpcFail(std::string kind, std::string message, bool auth = false);

class Session {
 public:
  Session(std::shared_ptr<Shared> s, const engine::Invocation& call);

  const Shared& shared() const { return *s_; }
  const std::string& key() const { return key_; }
  // The deadline of the attempt before this one when the engine re-dispatches after a crash
  // (steady clock); nullopt for a first dispatch.
  const std::optional<std::chrono::steady_clock::time_point>& previous_deadline() const {
    return previous_deadline_;
  }
  std::chrono::steady_clock::time_point deadline() const { return deadline_; }

  // One ORM call, JSON-2 style: `ids` for record methods, named parameters, optional context.
  boost::asio::awaitable<Rpc> Exec(std::string model, std::string method,
                                   std::optional<std::vector<std::int64_t>> ids, Record named,
                                   Record context = {});
  // `fields` is a comma-separated list ("name,state"): GCC 12 miscompiles braced lists of
  // string literals in coroutine calls.
  boost::asio::awaitable<Rpc> SearchRead(std::string model, Value domain, std::string fields,
                                         int limit = 0, std::string order = "");
  boost::asio::awaitable<Rpc> Read(std::string model, std::vector<std::int64_t> ids,
                                   std::string fields);
  // Answers the new record's id as a number.
  boost::asio::awaitable<Rpc> Create(std::string model, Record vals);
  boost::asio::awaitable<Rpc> Write(std::string model, std::vector<std::int64_t> ids, Record vals);
  boost::asio::awaitable<Rpc> Method(std::string model, std::string method,
                                     std::vector<std::int64_t> ids, Record context = {});

 private:
  boost::asio::awaitable<std::variant<http::Response, Rpc>> Send(http::Request req,
                                                                 std::string what);
  http::Request NewRequest(const std::string& path, const Value& body);
  boost::asio::awaitable<Rpc> Authenticate();
  boost::asio::awaitable<Rpc> JsonRpc(std::string service, std::string method, List args,
                                      std::string what);
  boost::asio::awaitable<Rpc> Json2(http::Request req, std::string what);

  std::shared_ptr<Shared> s_;
  std::string key_;
  std::chrono::steady_clock::time_point deadline_;
  std::optional<std::chrono::steady_clock::time_point> previous_deadline_;
};

// ---------------------------------------------------------------------------------------------
// Values as Odoo reads and writes them.

inline Value Term(std::string field, std::string op, Value v) {
  return Value(List{Value(std::move(field)), Value(std::move(op)), std::move(v)});
}

// Coroutine call sites build lists with these instead of braced lists: GCC 12 cannot keep an
// initializer_list's backing array across a co_await ("array used as initializer").
template <typename... T>
Value Dom(T&&... terms) {
  List l;
  (l.push_back(Value(std::forward<T>(terms))), ...);
  return Value(std::move(l));
}

inline std::vector<std::int64_t> One(std::int64_t id) { return std::vector<std::int64_t>(1, id); }

Value IdList(const std::vector<std::int64_t>& ids);
// An id from a number or a many2one [id, "Name"]; 0 for false/anything else.
std::int64_t IdOf(const Value* v);
std::string TextOf(const Value* v);
const List& ListOf(const Value& v);
std::vector<std::int64_t> IdsOf(const Value* v);
// "a,b" → ["a", "b"].
Value FieldList(const std::string& fields);
Value Field(const Value& rec, std::string_view name);

}  // namespace rf::connectors::odoo
