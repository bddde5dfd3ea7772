// The `odoo` connector (see odoo_connector.h for settings and contracts).
//
// Structure: creation parses the settings into an immutable Shared (plus the cached uid and the
// HTTP client). Invoke spawns one coroutine per call on the io_context; an operation is a
// sequence of ORM calls (`Session::Exec`), each one HTTP exchange over http::Client, all bound
// by the invocation's deadline. Values travel as rf::Value so money stays exact end to end.
#include <utility>  // before Boost.Asio's awaitable.hpp, which uses std::exchange

// GCC 12 reports Boost.Asio's coroutine frame allocator (recycling operator new/delete pair) as
// mismatched at the end of every coroutine: a false positive for this translation unit.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/time_text.h"
#include "connectors/builtin/http_client.h"
#include "connectors/builtin/odoo_connector.h"

namespace rf::connectors {
namespace {

namespace asio = boost::asio;
using engine::CallResult;
using engine::Invocation;
using nlohmann::json;

// The operations the shipped workflows rely on: exactly the `odoo` connector of
// workflows/connectors/retail.json (the contract), then the generic ORM operations.
constexpr const char* kOperations = R"json([
  {"name": "confirm_sale_order",
   "description": "Confirm a draft sale order (action_confirm); creates its delivery picking.",
   "writes": "orders",
   "input": [{"name": "order_ref", "type": "text"}],
   "output": [{"name": "order_id", "type": "number"}, {"name": "state", "type": "text"},
              {"name": "picking_id", "type": "number"}]},
  {"name": "cancel_sale_order", "description": "Cancel a sale order and its open pickings.",
   "writes": "orders",
   "input": [{"name": "order_ref", "type": "text"}],
   "output": [{"name": "state", "type": "text"}]},
  {"name": "create_credit_note",
   "description": "Create and post a customer credit note (account.move, out_refund). Idempotent on the step's idempotency key.",
   "writes": "accounting",
   "input": [{"name": "customer_ref", "type": "text"},
             {"name": "origin", "type": "text", "description": "the original sale or receipt"},
             {"name": "lines", "type": "list", "description": "[{sku, qty, unit_price, tax_rate}]"},
             {"name": "amount", "type": "money", "description": "total including tax, as a control"},
             {"name": "currency", "type": "text"}],
   "output": [{"name": "move_id", "type": "number"}, {"name": "name", "type": "text"},
              {"name": "amount_total", "type": "money"}, {"name": "state", "type": "text"}]},
  {"name": "cancel_credit_note",
   "description": "Reverse a credit note that was created by mistake (button_draft + button_cancel).",
   "writes": "accounting",
   "input": [{"name": "move_id", "type": "number"}],
   "output": [{"name": "state", "type": "text"}]},
  {"name": "create_picking",
   "description": "Create and confirm a stock.picking between two locations (transfers go through a transit location).",
   "writes": "stock_moves",
   "input": [{"name": "picking_type", "type": "text", "description": "outgoing, incoming or internal"},
             {"name": "from_location", "type": "text"}, {"name": "to_location", "type": "text"},
             {"name": "lines", "type": "list"}, {"name": "origin", "type": "text"}],
   "output": [{"name": "picking_id", "type": "number"}, {"name": "name", "type": "text"},
              {"name": "state", "type": "text"}]},
  {"name": "validate_picking",
   "description": "Validate a picking (button_validate) with the quantities done.",
   "writes": "stock_moves",
   "input": [{"name": "picking_id", "type": "number"},
             {"name": "lines", "type": "list", "required": false}],
   "output": [{"name": "state", "type": "text"}]},
  {"name": "return_picking",
   "description": "Reverse a validated picking with Odoo's return wizard (stock.return.picking).",
   "writes": "stock_moves",
   "input": [{"name": "picking_id", "type": "number"}],
   "output": [{"name": "return_picking_id", "type": "number"}, {"name": "state", "type": "text"}]},
  {"name": "cancel_picking", "description": "Cancel a picking that is not done yet.",
   "writes": "stock_moves",
   "input": [{"name": "picking_id", "type": "number"}],
   "output": [{"name": "state", "type": "text"}]},
  {"name": "read_quants",
   "description": "Quantities on hand per SKU at a location (stock.quant).",
   "side_effects": false,
   "input": [{"name": "location", "type": "text"}],
   "output": [{"name": "items", "type": "list", "description": "[{sku, quantity, reserved_quantity}]"}]},
  {"name": "search_read", "description": "Generic ORM search_read on any model.",
   "side_effects": false,
   "input": [{"name": "model", "type": "text"}, {"name": "domain", "type": "list", "required": false},
             {"name": "fields", "type": "list", "required": false},
             {"name": "limit", "type": "number", "required": false},
             {"name": "offset", "type": "number", "required": false},
             {"name": "order", "type": "text", "required": false}],
   "output": [{"name": "records", "type": "list"}]},
  {"name": "read", "description": "Generic ORM read of records by id.", "side_effects": false,
   "input": [{"name": "model", "type": "text"}, {"name": "ids", "type": "list"},
             {"name": "fields", "type": "list", "required": false}],
   "output": [{"name": "records", "type": "list"}]},
  {"name": "create",
   "description": "Generic ORM create; idempotent on the step's key for the reference models.",
   "input": [{"name": "model", "type": "text"}, {"name": "values", "type": "record"}],
   "output": [{"name": "id", "type": "number"}]},
  {"name": "write", "description": "Generic ORM write.",
   "input": [{"name": "model", "type": "text"}, {"name": "ids", "type": "list"},
             {"name": "values", "type": "record"}],
   "output": [{"name": "written", "type": "bool"}]},
  {"name": "call", "description": "Call a public model method (JSON-2 takes named arguments only).",
   "input": [{"name": "model", "type": "text"}, {"name": "method", "type": "text"},
             {"name": "ids", "type": "list", "required": false},
             {"name": "args", "type": "list", "required": false},
             {"name": "kwargs", "type": "record", "required": false}],
   "output": [{"name": "result", "type": "any"}]}
])json";

// ---------------------------------------------------------------------------------------------
// Settings and shared state

struct Shared {
  std::string name;
  std::string url;
  std::string db;
  std::string login;
  std::string api_key;
  bool json2 = false;
  std::string reference_field = "x_rf_key";
  std::set<std::string> reference_models = {"account.move", "stock.picking", "sale.order"};
  std::string default_customer_ref;
  std::chrono::milliseconds default_timeout{30000};
  json describe;
  std::unique_ptr<http::Client> client;
  std::atomic<std::int64_t> uid{0};  // JSON-RPC uid, 0 until authenticated
  std::atomic<std::int64_t> next_rpc_id{1};
  std::atomic<bool> shut_down{false};

  std::string Redact(std::string text) const {
    if (api_key.empty()) return text;
    for (size_t pos = text.find(api_key); pos != std::string::npos;
         pos = text.find(api_key, pos)) {
      text.replace(pos, api_key.size(), "[redacted]");
      pos += 10;
    }
    return text;
  }
};

Status SettingError(const InstanceConfig& c, const std::string& where, const std::string& what) {
  return Status::InvalidArgument("connector '" + c.name + "' (odoo): settings." + where + ": " +
                                 what);
}

Result<std::string> SettingString(const InstanceConfig& c, const json& st, const char* key,
                                  const std::string& def, bool allow_env) {
  if (!st.contains(key)) return def;
  const json& j = st[key];
  if (j.is_string()) return j.get<std::string>();
  if (allow_env && j.is_object() && j.size() == 1 && j.contains("env") && j["env"].is_string()) {
    std::string var = j["env"].get<std::string>();
    const char* v = std::getenv(var.c_str());
    if (v == nullptr) return SettingError(c, key, "environment variable " + var + " is not set");
    return std::string(v);
  }
  return SettingError(c, key, allow_env ? "expected a string or {\"env\": \"NAME\"}"
                                        : "expected a string");
}

Result<std::shared_ptr<Shared>> ParseSettings(const InstanceConfig& c, asio::io_context& io) {
  auto s = std::make_shared<Shared>();
  s->name = c.name;
  const json& st = c.settings;
  if (!st.is_object()) return SettingError(c, "", "expected an object");
  static const std::set<std::string> kKnown = {
      "url", "db", "login", "api_key", "protocol", "reference_field", "reference_models",
      "default_customer_ref", "timeout", "tls", "pool", "description"};
  for (const auto& [k, v] : st.items()) {
    if (!kKnown.count(k)) return SettingError(c, k, "unknown setting");
  }
  struct Str {
    const char* key;
    std::string* out;
    const char* def;
    bool env;
  };
  for (const Str& f : {Str{"url", &s->url, "", false}, Str{"db", &s->db, "", false},
                       Str{"login", &s->login, "", false}, Str{"api_key", &s->api_key, "", true},
                       Str{"reference_field", &s->reference_field, "x_rf_key", false},
                       Str{"default_customer_ref", &s->default_customer_ref, "", false}}) {
    auto v = SettingString(c, st, f.key, f.def, f.env);
    if (!v.ok()) return v.status();
    *f.out = *v;
  }
  if (s->url.empty()) return SettingError(c, "url", "missing");
  if (auto u = http::ParseUrl(s->url); !u.ok()) return SettingError(c, "url", u.status().message());
  if (s->api_key.empty()) return SettingError(c, "api_key", "missing");
  if (s->reference_field.empty()) return SettingError(c, "reference_field", "must not be empty");
  auto protocol = SettingString(c, st, "protocol", "jsonrpc", false);
  if (!protocol.ok()) return protocol.status();
  if (*protocol != "jsonrpc" && *protocol != "json2") {
    return SettingError(c, "protocol", "expected \"jsonrpc\" or \"json2\"");
  }
  s->json2 = *protocol == "json2";
  if (!s->json2 && (s->db.empty() || s->login.empty())) {
    return SettingError(c, s->db.empty() ? "db" : "login", "missing (needed by JSON-RPC)");
  }
  if (st.contains("reference_models")) {
    const json& r = st["reference_models"];
    if (!r.is_array()) return SettingError(c, "reference_models", "expected a list of models");
    s->reference_models.clear();
    for (const auto& m : r) {
      if (!m.is_string()) return SettingError(c, "reference_models", "expected model names");
      s->reference_models.insert(m.get<std::string>());
    }
  }
  if (st.contains("timeout")) {
    auto t = SettingString(c, st, "timeout", "", false);
    if (!t.ok()) return t.status();
    auto d = ParseDuration(*t);
    if (!d || d->ms <= 0) return SettingError(c, "timeout", "expected a duration such as \"30s\"");
    s->default_timeout = std::chrono::milliseconds(d->ms);
  }
  http::ClientOptions options;
  if (st.contains("tls")) {
    const json& tls = st["tls"];
    if (!tls.is_object()) return SettingError(c, "tls", "expected an object");
    if (tls.contains("verify")) {
      if (!tls["verify"].is_boolean()) return SettingError(c, "tls.verify", "expected a bool");
      options.verify_tls = tls["verify"].get<bool>();
    }
    if (tls.contains("ca_file")) {
      if (!tls["ca_file"].is_string()) return SettingError(c, "tls.ca_file", "expected a path");
      std::filesystem::path p(tls["ca_file"].get<std::string>());
      if (p.is_relative() && !c.base_dir.empty()) p = c.base_dir / p;
      options.ca_file = p.string();
    }
  }
  if (st.contains("pool")) {
    const json& pool = st["pool"];
    if (!pool.is_object() || !pool.value("max_connections_per_host", json(8)).is_number_unsigned()) {
      return SettingError(c, "pool", "expected {\"max_connections_per_host\": <n>}");
    }
    options.max_connections_per_host = pool.value("max_connections_per_host", size_t{8});
    if (options.max_connections_per_host == 0) {
      return SettingError(c, "pool", "max_connections_per_host must be positive");
    }
  }
  s->describe = {{"name", c.name},
                 {"system", c.system.empty() ? std::string("odoo") : c.system},
                 {"description",
                  st.value("description", std::string("Odoo ERP through its external API: "
                                                      "orders, pickings, quants and accounting."))},
                 {"operations", json::parse(kOperations)}};
  for (json& op : s->describe["operations"]) {  // the catalog's defaults, spelled out
    if (!op.contains("side_effects")) op["side_effects"] = true;
    if (!op.contains("writes")) op["writes"] = "";
    if (!op.contains("compensable")) op["compensable"] = true;
  }
  s->client = std::make_unique<http::Client>(io, options);
  return s;
}

// ---------------------------------------------------------------------------------------------
// Value helpers

Value Term(std::string field, std::string op, Value v) {
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

std::vector<std::int64_t> One(std::int64_t id) { return std::vector<std::int64_t>(1, id); }

Value IdList(const std::vector<std::int64_t>& ids) {
  List l;
  for (auto id : ids) l.emplace_back(Value(id));
  return Value(std::move(l));
}

// An id from a number or a many2one [id, "Name"]; 0 for false/anything else.
std::int64_t IdOf(const Value* v) {
  if (v == nullptr) return 0;
  if (v->is_list() && !v->as_list().empty()) return IdOf(&v->as_list()[0]);
  if (v->is_number()) return v->as_number().ToInt64().value_or(0);
  return 0;
}

std::string TextOf(const Value* v) {
  return v != nullptr && v->is_text() ? v->as_text() : std::string();
}

const List& ListOf(const Value& v) {
  static const List kEmpty;
  return v.is_list() ? v.as_list() : kEmpty;
}

std::vector<std::int64_t> IdsOf(const Value* v) {
  std::vector<std::int64_t> out;
  if (v == nullptr) return out;
  for (const Value& x : ListOf(*v)) {
    if (auto id = IdOf(&x)) out.push_back(id);
  }
  return out;
}

// "a,b" → ["a", "b"].
Value FieldList(const std::string& fields) {
  List out;
  size_t start = 0;
  while (start <= fields.size()) {
    size_t comma = fields.find(',', start);
    if (comma == std::string::npos) comma = fields.size();
    if (comma > start) out.emplace_back(Value(fields.substr(start, comma - start)));
    start = comma + 1;
  }
  return Value(std::move(out));
}

Value Field(const Value& rec, std::string_view name) {
  const Value* v = rec.Find(name);
  return v != nullptr ? *v : Value();
}

// ---------------------------------------------------------------------------------------------
// One invocation: the HTTP exchanges of an operation, bound by its deadline.

struct Fail {
  // A constructor, not an aggregate: GCC 12 rejects aggregate initialisation from string
  // literals inside coroutines ("array used as initializer").
  Fail(std::string k, std::string m) : kind(std::move(k)), message(std::move(m)) {}
  std::string kind;
  std::string message;
};

// The outcome of one ORM call: a value or a mapped failure. `auth` marks AccessDenied or an
// expired session, after which JSON-RPC authenticates again once.
struct Rpc {
  Value value;
  std::optional<Fail> error;
  bool auth = false;
  bool ok() const { return !error.has_value(); }
};

Rpc RpcFail(std::string kind, std::string message, bool auth = false) {
  Rpc r;
  r.error = Fail{std::move(kind), std::move(message)};
  r.auth = auth;
  return r;
}

// Adapts http::Client::Send to a Boost.Asio completion token (here: use_awaitable).
template <typename Token>
auto AsyncSend(http::Client& client, http::Request req, Token&& token) {
  using Outcome = std::variant<http::Response, http::Failure>;
  return asio::async_initiate<Token, void(Outcome)>(
      [&client](auto handler, http::Request r) {
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        client.Send(std::move(r), [h](Outcome o) { (*h)(std::move(o)); });
      },
      token, std::move(req));
}

// The kind of an Odoo exception by its class name (`data.name`).
std::string KindOfOdooError(const std::string& name) {
  if (name == "odoo.exceptions.MissingError") return "not_found";
  if (name == "odoo.exceptions.AccessDenied" || name == "odoo.exceptions.AccessError" ||
      name == "odoo.exceptions.UserError" || name == "odoo.exceptions.ValidationError" ||
      name == "odoo.exceptions.RedirectWarning" || name.rfind("werkzeug.exceptions.", 0) == 0 ||
      name.rfind("builtins.", 0) == 0) {
    return "rejected";  // business refusals and requests Odoo cannot run: retrying won't help
  }
  if (name.find("SerializationFailure") != std::string::npos ||
      name.find("LockNotAvailable") != std::string::npos ||
      name == "odoo.exceptions.ConcurrencyError") {
    return "conflict";
  }
  if (name.rfind("psycopg2.", 0) == 0) return "unavailable";  // database down or unknown
  return "internal";
}

bool IsBlank(const std::string& s) { return s.find_first_not_of(" \t\r\n") == std::string::npos; }

std::string Excerpt(const std::string& body) {
  std::string e = body.substr(0, 160);
  for (char& c : e) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return body.size() > 160 ? e + "..." : e;
}

class Session {
 public:
  Session(std::shared_ptr<Shared> s, const Invocation& call) : s_(std::move(s)) {
    key_ = call.idempotency_key.empty() ? call.invocation_id : call.idempotency_key;
    auto steady_now = std::chrono::steady_clock::now();
    if (call.deadline.ms > 0) {
      auto wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
      deadline_ = steady_now + std::chrono::milliseconds(call.deadline.ms - wall_ms);
    } else {
      deadline_ = steady_now + s_->default_timeout;
    }
  }

  const Shared& shared() const { return *s_; }
  const std::string& key() const { return key_; }

  // One ORM call, JSON-2 style: `ids` for record methods, named parameters, optional context.
  asio::awaitable<Rpc> Exec(std::string model, std::string method,
                            std::optional<std::vector<std::int64_t>> ids, Record named,
                            Record context = {}) {
    std::string what = model + "." + method;
    if (s_->json2) {
      Record body = named;
      if (ids) body["ids"] = IdList(*ids);
      if (!context.empty()) body["context"] = Value(context);
      http::Request req = NewRequest("/json/2/" + model + "/" + method, Value(std::move(body)));
      req.headers.emplace_back("Authorization", "bearer " + s_->api_key);
      if (!s_->db.empty()) req.headers.emplace_back("X-Odoo-Database", s_->db);
      co_return co_await Json2(std::move(req), what);
    }
    for (int attempt = 0;; ++attempt) {
      std::int64_t uid = s_->uid.load();
      if (uid == 0) {
        Rpc a = co_await Authenticate();
        if (!a.ok()) co_return a;
        uid = s_->uid.load();
      }
      List args;
      args.emplace_back(Value(s_->db));
      args.emplace_back(Value(uid));
      args.emplace_back(Value(s_->api_key));
      args.emplace_back(Value(model));
      args.emplace_back(Value(method));
      List positional;
      if (ids) positional.push_back(IdList(*ids));
      args.emplace_back(Value(std::move(positional)));
      Record kw = named;
      if (!context.empty()) kw["context"] = Value(context);
      args.emplace_back(Value(std::move(kw)));
      Rpc r = co_await JsonRpc("object", "execute_kw", std::move(args), what);
      if (r.auth && attempt == 0) {
        s_->uid.store(0);  // the uid or the session went stale: log in again, once
        continue;
      }
      co_return r;
    }
  }

  // `fields` is a comma-separated list ("name,state"): GCC 12 miscompiles braced lists of string
  // literals in coroutine calls.
  asio::awaitable<Rpc> SearchRead(std::string model, Value domain, std::string fields,
                                  int limit = 0, std::string order = "") {
    Record named;
    named["domain"] = std::move(domain);
    named["fields"] = FieldList(fields);
    if (limit > 0) named["limit"] = Value(limit);
    if (!order.empty()) named["order"] = Value(std::move(order));
    co_return co_await Exec(std::move(model), "search_read", std::nullopt, std::move(named));
  }

  asio::awaitable<Rpc> Read(std::string model, std::vector<std::int64_t> ids, std::string fields) {
    Record named;
    named["fields"] = FieldList(fields);
    co_return co_await Exec(std::move(model), "read", std::move(ids), std::move(named));
  }

  asio::awaitable<Rpc> Create(std::string model, Record vals) {
    Record named;
    named["vals_list"] = Value(List{Value(std::move(vals))});
    Rpc r = co_await Exec(std::move(model), "create", std::nullopt, std::move(named));
    if (r.ok()) {  // create of a list answers a list of ids
      std::int64_t id = r.value.is_list() ? IdOf(&r.value) : IdOf(&r.value);
      if (id == 0) co_return RpcFail("unavailable", "create answered no id: " + r.value.ToJson());
      r.value = Value(id);
    }
    co_return r;
  }

  asio::awaitable<Rpc> Write(std::string model, std::vector<std::int64_t> ids, Record vals) {
    Record named;
    named["vals"] = Value(std::move(vals));
    co_return co_await Exec(std::move(model), "write", std::move(ids), std::move(named));
  }

  asio::awaitable<Rpc> Method(std::string model, std::string method, std::vector<std::int64_t> ids,
                              Record context = {}) {
    co_return co_await Exec(std::move(model), std::move(method), std::move(ids), Record{},
                            std::move(context));
  }

 private:
  http::Request NewRequest(const std::string& path, const Value& body) {
    http::Request req;
    req.method = "POST";
    req.url = http::JoinUrl(s_->url, path);
    req.body = body.ToJson();
    req.deadline = deadline_;
    req.headers.emplace_back("Content-Type", "application/json");
    req.headers.emplace_back("Accept", "application/json");
    req.headers.emplace_back("User-Agent", "retailflow-odoo/0.1");
    return req;
  }

  // Sends; maps transport failures and the deadline.
  asio::awaitable<std::variant<http::Response, Rpc>> Send(http::Request req, std::string what) {
    if (s_->shut_down.load()) co_return RpcFail("unavailable", "connector is shut down");
    if (std::chrono::steady_clock::now() >= deadline_) {
      co_return RpcFail("timeout", "deadline passed before " + what);
    }
    auto outcome = co_await AsyncSend(*s_->client, std::move(req), asio::use_awaitable);
    if (auto* f = std::get_if<http::Failure>(&outcome)) {
      std::string kind = f->kind == http::FailureKind::kTimeout ? "timeout" : "unavailable";
      co_return RpcFail(kind, s_->Redact("Odoo " + what + ": " + f->message));
    }
    co_return std::get<http::Response>(std::move(outcome));
  }

  asio::awaitable<Rpc> Authenticate() {
    List args;
    args.emplace_back(Value(s_->db));
    args.emplace_back(Value(s_->login));
    args.emplace_back(Value(s_->api_key));
    args.emplace_back(Value(Record{}));
    Rpc r = co_await JsonRpc("common", "authenticate", std::move(args), "common.authenticate");
    if (!r.ok()) co_return r;
    std::int64_t uid = IdOf(&r.value);
    if (uid <= 0) {
      co_return RpcFail("rejected", "Odoo refused the credentials of '" + s_->login +
                                        "' on database '" + s_->db + "'");
    }
    s_->uid.store(uid);
    co_return r;
  }

  asio::awaitable<Rpc> JsonRpc(std::string service, std::string method, List args,
                               std::string what) {
    Record params;
    params["service"] = Value(std::move(service));
    params["method"] = Value(std::move(method));
    params["args"] = Value(std::move(args));
    Record body;
    body["jsonrpc"] = Value("2.0");
    body["method"] = Value("call");
    body["id"] = Value(s_->next_rpc_id.fetch_add(1));
    body["params"] = Value(std::move(params));
    auto sent = co_await Send(NewRequest("/jsonrpc", Value(std::move(body))), what);
    if (auto* failed = std::get_if<Rpc>(&sent)) co_return std::move(*failed);
    const http::Response& resp = std::get<http::Response>(sent);
    if (resp.status != 200) {
      std::string msg = "HTTP " + std::to_string(resp.status) + " from Odoo /jsonrpc (" + what +
                        ")" + (IsBlank(resp.body) ? "" : ": " + Excerpt(resp.body));
      bool transient = resp.status >= 500 || resp.status == 408 || resp.status == 429;
      co_return RpcFail(transient ? "unavailable" : "rejected", s_->Redact(msg));
    }
    auto doc = Value::FromJson(resp.body);
    if (!doc.ok() || !doc->is_record()) {
      co_return RpcFail("unavailable", s_->Redact("malformed JSON-RPC answer from Odoo (" + what +
                                                  "): " + Excerpt(resp.body)));
    }
    if (const Value* err = doc->Find("error"); err != nullptr && !err->is_null()) {
      const Value data = Field(*err, "data");
      std::string name = TextOf(data.Find("name"));
      std::string message = TextOf(data.Find("message"));
      if (message.empty()) message = TextOf(err->Find("message"));
      std::int64_t code = IdOf(err->Find("code"));
      bool auth = name == "odoo.exceptions.AccessDenied" || code == 100;
      std::string kind = code == 100 ? "unavailable" : KindOfOdooError(name);
      co_return RpcFail(kind, s_->Redact(message + " (" + (name.empty() ? "error" : name) +
                                         " on " + what + ")"),
                        auth);
    }
    Rpc ok;
    if (const Value* result = doc->Find("result")) ok.value = *result;
    co_return ok;
  }

  asio::awaitable<Rpc> Json2(http::Request req, std::string what) {
    auto sent = co_await Send(std::move(req), what);
    if (auto* failed = std::get_if<Rpc>(&sent)) co_return std::move(*failed);
    const http::Response& resp = std::get<http::Response>(sent);
    auto doc = Value::FromJson(resp.body);
    if (resp.status >= 200 && resp.status < 300) {
      if (!doc.ok()) {
        co_return RpcFail("unavailable", s_->Redact("malformed JSON-2 answer from Odoo (" +
                                                    what + "): " + Excerpt(resp.body)));
      }
      Rpc ok;
      ok.value = std::move(*doc);
      co_return ok;
    }
    std::string name, message;
    if (doc.ok() && doc->is_record()) {
      name = TextOf(doc->Find("name"));
      message = TextOf(doc->Find("message"));
    }
    std::string kind;
    if (!name.empty()) {
      kind = KindOfOdooError(name);
      if (name == "werkzeug.exceptions.NotFound") kind = "rejected";  // no such model/method
    } else if (resp.status >= 500 || resp.status == 408 || resp.status == 429) {
      kind = "unavailable";
    } else if (resp.status == 404) {
      kind = "not_found";
    } else {
      kind = "rejected";
    }
    if (resp.status >= 500 && name.empty()) kind = "unavailable";
    std::string msg = message.empty() ? "HTTP " + std::to_string(resp.status) + " from Odoo (" +
                                            what + ")" +
                                            (IsBlank(resp.body) ? "" : ": " + Excerpt(resp.body))
                                      : message + " (" + name + " on " + what + ")";
    co_return RpcFail(kind, s_->Redact(msg));
  }

  std::shared_ptr<Shared> s_;
  std::string key_;
  std::chrono::steady_clock::time_point deadline_;
};

// ---------------------------------------------------------------------------------------------
// Operations

CallResult FromFail(const Fail& f) { return CallResult::Failure(f.kind, f.message); }

#define RF_ODOO_TRY(var, expr)                            \
  Rpc var = co_await (expr);                              \
  if (!var.ok()) co_return FromFail(*var.error)

std::optional<std::string> InputText(const Value& in, std::string_view name) {
  const Value* v = in.Find(name);
  if (v == nullptr || !v->is_text() || v->as_text().empty()) return std::nullopt;
  return v->as_text();
}

std::optional<std::int64_t> InputId(const Value& in, std::string_view name) {
  const Value* v = in.Find(name);
  if (v == nullptr) return std::nullopt;
  if (v->is_number()) {
    auto i = v->as_number().ToInt64();
    if (i && *i > 0) return i;
  }
  if (v->is_text()) {
    auto d = Decimal::Parse(v->as_text());
    if (d) {
      auto i = d->ToInt64();
      if (i && *i > 0) return i;
    }
  }
  return std::nullopt;
}

std::optional<Decimal> NumberOf(const Value* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_number()) return v->as_number();
  if (v->is_text()) return Decimal::Parse(v->as_text());
  return std::nullopt;
}

CallResult Missing(std::string_view field) {
  return CallResult::Failure("rejected", "input." + std::string(field) + " is missing or invalid");
}

struct Line {
  std::string sku;
  Decimal qty;
  std::optional<Decimal> unit_price;
  std::optional<Decimal> tax_rate;  // percent
};

// Lines [{sku, qty, unit_price?, tax_rate?}] (also "quantity"); an error message when malformed.
std::variant<std::vector<Line>, std::string> ParseLines(const Value* lines, bool required) {
  std::vector<Line> out;
  if (lines == nullptr || lines->is_null()) {
    if (required) return std::string("input.lines is missing");
    return out;
  }
  if (!lines->is_list()) return std::string("input.lines must be a list");
  for (size_t i = 0; i < lines->as_list().size(); ++i) {
    const Value& l = lines->as_list()[i];
    std::string where = "input.lines[" + std::to_string(i) + "]";
    if (!l.is_record()) return where + " must be a record";
    Line line;
    line.sku = TextOf(l.Find("sku"));
    if (line.sku.empty()) return where + ".sku is missing";
    auto qty = NumberOf(l.Find("qty"));
    if (!qty) qty = NumberOf(l.Find("quantity"));
    if (!qty || qty->Sign() < 0) return where + ".qty must be a number >= 0";
    line.qty = *qty;
    line.unit_price = NumberOf(l.Find("unit_price"));
    line.tax_rate = NumberOf(l.Find("tax_rate"));
    if (line.tax_rate && line.tax_rate->Sign() > 0 && *line.tax_rate < Decimal(1)) {
      line.tax_rate = *line.tax_rate * Decimal(100);  // 0.2 means 20 %
    }
    out.push_back(std::move(line));
  }
  if (required && out.empty()) return std::string("input.lines is empty");
  return out;
}

struct Product {
  std::int64_t id = 0;
  Value list_price;
  Value taxes;
};

// Products by SKU (default_code); fails with not_found naming the unknown SKUs.
asio::awaitable<std::variant<std::map<std::string, Product>, Fail>> ProductsBySku(
    Session& c, const std::vector<Line>& lines) {
  List skus;
  std::set<std::string> wanted;
  for (const auto& l : lines) {
    if (wanted.insert(l.sku).second) skus.emplace_back(Value(l.sku));
  }
  Rpc r = co_await c.SearchRead("product.product",
                                Dom(Term("default_code", "in", Value(std::move(skus)))),
                                "default_code,list_price,taxes_id");
  if (!r.ok()) co_return *r.error;
  std::map<std::string, Product> out;
  for (const Value& p : ListOf(r.value)) {
    std::string sku = TextOf(p.Find("default_code"));
    if (!out.count(sku)) out[sku] = Product{IdOf(p.Find("id")), Field(p, "list_price"),
                                            Field(p, "taxes_id")};
  }
  std::string missing;
  for (const auto& s : wanted) {
    if (!out.count(s)) missing += (missing.empty() ? "" : ", ") + s;
  }
  if (!missing.empty()) co_return Fail{"not_found", "unknown SKU in Odoo: " + missing};
  co_return out;
}

// A location id by its code (barcode), case-insensitively ("transit" finds "TRANSIT").
asio::awaitable<std::variant<std::int64_t, Fail>> LocationByCode(Session& c,
                                                                 const std::string& code) {
  Rpc r = co_await c.SearchRead("stock.location",
                                Dom(Term("barcode", "=ilike", Value(code))), "id", 1);
  if (!r.ok()) co_return *r.error;
  if (ListOf(r.value).empty()) co_return Fail{"not_found", "no Odoo location with code " + code};
  co_return IdOf(ListOf(r.value)[0].Find("id"));
}

asio::awaitable<Rpc> FindByKey(Session& c, const std::string& model, std::string fields) {
  co_return co_await c.SearchRead(
      model, Dom(Term(c.shared().reference_field, "=", Value(c.key()))), std::move(fields),
      1, "id asc");
}

asio::awaitable<CallResult> CreditNoteResult(Session& c, std::int64_t move_id,
                                             const std::optional<Decimal>& control) {
  RF_ODOO_TRY(row, c.Read("account.move", One(move_id), "name,state,amount_total"));
  if (ListOf(row.value).empty()) co_return CallResult::Failure("not_found", "credit note vanished");
  const Value& m = ListOf(row.value)[0];
  auto total = NumberOf(m.Find("amount_total")).value_or(Decimal(0));
  std::string state = TextOf(m.Find("state"));
  if (state == "draft") {
    if (control && control->Round(2) != total.Round(2)) {
      // The draft never reaches the books: remove it so a retry starts from scratch.
      Rpc gone = co_await c.Exec("account.move", "unlink", One(move_id), Record());
      (void)gone;
      co_return CallResult::Failure(
          "rejected", "credit note total " + total.ToFixed(2) + " computed by Odoo differs from "
                      "the control amount " + control->ToFixed(2) + "; nothing was posted");
    }
    RF_ODOO_TRY(posted, c.Method("account.move", "action_post", One(move_id)));
    co_return co_await CreditNoteResult(c, move_id, std::nullopt);
  }
  Record out;
  out["move_id"] = Value(move_id);
  out["name"] = Field(m, "name");
  out["amount_total"] = Value(total);
  out["state"] = Value(state);
  co_return CallResult::Success(Value(std::move(out)));
}

asio::awaitable<CallResult> CreateCreditNote(Session& c, const Value& in) {
  std::optional<Decimal> control = NumberOf(in.Find("amount"));
  // A retry after a lost answer continues with what the first attempt created.
  RF_ODOO_TRY(existing, FindByKey(c, "account.move", "state"));
  if (!ListOf(existing.value).empty()) {
    co_return co_await CreditNoteResult(c, IdOf(ListOf(existing.value)[0].Find("id")), control);
  }
  auto parsed = ParseLines(in.Find("lines"), true);
  if (auto* err = std::get_if<std::string>(&parsed)) co_return CallResult::Failure("rejected", *err);
  const auto& lines = std::get<std::vector<Line>>(parsed);

  std::string customer = InputText(in, "customer_ref").value_or(c.shared().default_customer_ref);
  if (customer.empty()) {
    co_return CallResult::Failure("rejected", "input.customer_ref is missing and no "
                                              "default_customer_ref is configured");
  }
  RF_ODOO_TRY(partner, c.SearchRead("res.partner", Dom(Term("ref", "=", Value(customer))),
                                    "id", 1));
  if (ListOf(partner.value).empty()) {
    co_return CallResult::Failure("not_found", "no Odoo customer with ref " + customer);
  }
  std::int64_t partner_id = IdOf(ListOf(partner.value)[0].Find("id"));

  auto products = co_await ProductsBySku(c, lines);
  if (auto* f = std::get_if<Fail>(&products)) co_return FromFail(*f);
  const auto& by_sku = std::get<std::map<std::string, Product>>(products);

  std::map<std::string, std::int64_t> tax_by_rate;  // rate text → account.tax id
  for (const auto& l : lines) {
    if (!l.tax_rate || tax_by_rate.count(l.tax_rate->ToString())) continue;
    RF_ODOO_TRY(tax, c.SearchRead("account.tax",
                                  Dom(Term("type_tax_use", "=", Value("sale")),
                                             Term("amount", "=", Value(*l.tax_rate))),
                                  "id", 1));
    if (ListOf(tax.value).empty()) {
      co_return CallResult::Failure("rejected", "no sale tax of " + l.tax_rate->ToString() +
                                                    "% in Odoo");
    }
    tax_by_rate[l.tax_rate->ToString()] = IdOf(ListOf(tax.value)[0].Find("id"));
  }

  Record vals;
  vals["move_type"] = Value("out_refund");
  vals["partner_id"] = Value(partner_id);
  vals[c.shared().reference_field] = Value(c.key());
  if (auto origin = InputText(in, "origin")) {
    vals["invoice_origin"] = Value(*origin);
    vals["ref"] = Value(*origin);
  }
  if (auto currency = InputText(in, "currency")) {
    RF_ODOO_TRY(cur, c.SearchRead("res.currency", Dom(Term("name", "=", Value(*currency))),
                                  "id", 1));
    if (ListOf(cur.value).empty()) {
      co_return CallResult::Failure("rejected", "currency " + *currency + " is not known to Odoo");
    }
    vals["currency_id"] = Value(IdOf(ListOf(cur.value)[0].Find("id")));
  }
  List commands;
  for (const auto& l : lines) {
    const Product& p = by_sku.at(l.sku);
    Record line;
    line["product_id"] = Value(p.id);
    line["quantity"] = Value(l.qty);
    line["price_unit"] = l.unit_price ? Value(*l.unit_price) : p.list_price;
    Value taxes = l.tax_rate ? IdList(One(tax_by_rate.at(l.tax_rate->ToString())))
                             : IdList(IdsOf(&p.taxes));
    line["tax_ids"] = Value(List{Value(List{Value(6), Value(0), std::move(taxes)})});
    commands.emplace_back(Value(List{Value(0), Value(0), Value(std::move(line))}));
  }
  vals["invoice_line_ids"] = Value(std::move(commands));
  RF_ODOO_TRY(created, c.Create("account.move", std::move(vals)));
  co_return co_await CreditNoteResult(c, IdOf(&created.value), control);
}

asio::awaitable<CallResult> StateResult(Session& c, const std::string& model, std::int64_t id) {
  RF_ODOO_TRY(row, c.Read(model, One(id), "state"));
  if (ListOf(row.value).empty()) co_return CallResult::Failure("not_found", model + " vanished");
  Record out;
  out["state"] = Field(ListOf(row.value)[0], "state");
  co_return CallResult::Success(Value(std::move(out)));
}

asio::awaitable<CallResult> CancelCreditNote(Session& c, const Value& in) {
  auto id = InputId(in, "move_id");
  if (!id) co_return Missing("move_id");
  RF_ODOO_TRY(row, c.Read("account.move", One(*id), "state"));
  std::string state = ListOf(row.value).empty() ? "" : TextOf(ListOf(row.value)[0].Find("state"));
  if (state == "posted") {
    RF_ODOO_TRY(drafted, c.Method("account.move", "button_draft", One(*id)));
    state = "draft";
  }
  if (state == "draft") {
    RF_ODOO_TRY(cancelled, c.Method("account.move", "button_cancel", One(*id)));
  }
  co_return co_await StateResult(c, "account.move", *id);
}

asio::awaitable<CallResult> PickingResult(Session& c, std::int64_t id) {
  RF_ODOO_TRY(row, c.Read("stock.picking", One(id), "name,state"));
  if (ListOf(row.value).empty()) co_return CallResult::Failure("not_found", "picking vanished");
  Record out;
  out["picking_id"] = Value(id);
  out["name"] = Field(ListOf(row.value)[0], "name");
  out["state"] = Field(ListOf(row.value)[0], "state");
  co_return CallResult::Success(Value(std::move(out)));
}

// Confirms (and reserves) a draft picking created by this connector; other states as they are.
asio::awaitable<CallResult> ConfirmPicking(Session& c, std::int64_t id, const std::string& state) {
  if (state == "draft") {
    RF_ODOO_TRY(confirmed, c.Method("stock.picking", "action_confirm", One(id)));
  }
  if (state == "draft" || state == "confirmed") {
    RF_ODOO_TRY(assigned, c.Method("stock.picking", "action_assign", One(id)));
  }
  co_return co_await PickingResult(c, id);
}

asio::awaitable<CallResult> CreatePicking(Session& c, const Value& in) {
  RF_ODOO_TRY(existing, FindByKey(c, "stock.picking", "state"));
  if (!ListOf(existing.value).empty()) {
    const Value& p = ListOf(existing.value)[0];
    co_return co_await ConfirmPicking(c, IdOf(p.Find("id")), TextOf(p.Find("state")));
  }
  auto type = InputText(in, "picking_type");
  if (!type || (*type != "outgoing" && *type != "incoming" && *type != "internal")) {
    co_return CallResult::Failure("rejected",
                                  "input.picking_type must be outgoing, incoming or internal");
  }
  auto from = InputText(in, "from_location");
  if (!from) co_return Missing("from_location");
  auto to = InputText(in, "to_location");
  if (!to) co_return Missing("to_location");
  auto parsed = ParseLines(in.Find("lines"), true);
  if (auto* err = std::get_if<std::string>(&parsed)) co_return CallResult::Failure("rejected", *err);
  const auto& lines = std::get<std::vector<Line>>(parsed);

  auto src = co_await LocationByCode(c, *from);
  if (auto* f = std::get_if<Fail>(&src)) co_return FromFail(*f);
  auto dst = co_await LocationByCode(c, *to);
  if (auto* f = std::get_if<Fail>(&dst)) co_return FromFail(*f);
  std::int64_t src_id = std::get<std::int64_t>(src), dst_id = std::get<std::int64_t>(dst);

  // The operation type of that code whose warehouse owns the store end of the move.
  RF_ODOO_TRY(types, c.SearchRead("stock.picking.type", Dom(Term("code", "=", Value(*type))),
                                  "default_location_src_id,default_location_dest_id", 0,
                                  "id asc"));
  if (ListOf(types.value).empty()) {
    co_return CallResult::Failure("not_found", "no " + *type + " operation type in Odoo");
  }
  std::int64_t type_id = IdOf(ListOf(types.value)[0].Find("id"));
  for (const Value& t : ListOf(types.value)) {
    bool match = *type == "incoming" ? IdOf(t.Find("default_location_dest_id")) == dst_id
                                     : IdOf(t.Find("default_location_src_id")) == src_id;
    if (match) {
      type_id = IdOf(t.Find("id"));
      break;
    }
  }
  auto products = co_await ProductsBySku(c, lines);
  if (auto* f = std::get_if<Fail>(&products)) co_return FromFail(*f);
  const auto& by_sku = std::get<std::map<std::string, Product>>(products);

  Record vals;
  vals["picking_type_id"] = Value(type_id);
  vals["location_id"] = Value(src_id);
  vals["location_dest_id"] = Value(dst_id);
  vals[c.shared().reference_field] = Value(c.key());
  if (auto origin = InputText(in, "origin")) vals["origin"] = Value(*origin);
  List moves;
  for (const auto& l : lines) {
    Record m;
    m["name"] = Value(l.sku);
    m["product_id"] = Value(by_sku.at(l.sku).id);
    m["product_uom_qty"] = Value(l.qty);
    m["location_id"] = Value(src_id);
    m["location_dest_id"] = Value(dst_id);
    moves.emplace_back(Value(List{Value(0), Value(0), Value(std::move(m))}));
  }
  vals["move_ids"] = Value(std::move(moves));
  RF_ODOO_TRY(created, c.Create("stock.picking", std::move(vals)));
  co_return co_await ConfirmPicking(c, IdOf(&created.value), "draft");
}

// Validates with the received quantities when `lines` is given (no backorder for the rest).
asio::awaitable<CallResult> ValidatePicking(Session& c, const Value& in) {
  auto id = InputId(in, "picking_id");
  if (!id) co_return Missing("picking_id");
  auto parsed = ParseLines(in.Find("lines"), false);
  if (auto* err = std::get_if<std::string>(&parsed)) co_return CallResult::Failure("rejected", *err);
  const auto& lines = std::get<std::vector<Line>>(parsed);
  bool with_lines = in.Find("lines") != nullptr && !in.Find("lines")->is_null();

  RF_ODOO_TRY(row, c.Read("stock.picking", One(*id), "state,move_ids"));
  if (ListOf(row.value).empty()) co_return CallResult::Failure("not_found", "no such picking");
  const Value pick = ListOf(row.value)[0];
  std::string state = TextOf(pick.Find("state"));
  if (state == "done") co_return co_await StateResult(c, "stock.picking", *id);  // a retry
  if (state == "cancel") {
    co_return CallResult::Failure("rejected", "picking " + std::to_string(*id) + " is cancelled");
  }
  Record context;
  if (with_lines) {
    std::map<std::string, Decimal> received;
    for (const auto& l : lines) received[l.sku] = received[l.sku] + l.qty;
    RF_ODOO_TRY(moves, c.Read("stock.move", IdsOf(pick.Find("move_ids")), "product_id"));
    std::vector<std::int64_t> product_ids;
    for (const Value& m : ListOf(moves.value)) product_ids.push_back(IdOf(m.Find("product_id")));
    RF_ODOO_TRY(prods, c.Read("product.product", product_ids, "default_code"));
    std::map<std::int64_t, std::string> sku_of;
    for (const Value& p : ListOf(prods.value)) {
      sku_of[IdOf(p.Find("id"))] = TextOf(p.Find("default_code"));
    }
    std::set<std::string> in_picking;
    for (const Value& m : ListOf(moves.value)) {
      std::string sku = sku_of[IdOf(m.Find("product_id"))];
      in_picking.insert(sku);
      Decimal qty = received.count(sku) ? received[sku] : Decimal(0);
      received.erase(sku);  // a SKU on two moves: the first takes it all
      Record vals;
      vals["quantity"] = Value(qty);
      vals["picked"] = Value(true);
      RF_ODOO_TRY(written, c.Write("stock.move", One(IdOf(m.Find("id"))), std::move(vals)));
    }
    for (const auto& [sku, qty] : received) {
      if (!in_picking.count(sku)) {
        co_return CallResult::Failure("rejected", "SKU " + sku + " is not in picking " +
                                                      std::to_string(*id));
      }
    }
    context["skip_backorder"] = Value(true);
    context["picking_ids_not_to_backorder"] = IdList(One(*id));
  }
  RF_ODOO_TRY(validated, c.Method("stock.picking", "button_validate", One(*id), context));
  if (validated.value.is_record()) {  // a wizard action instead of a finished transfer
    co_return CallResult::Failure(
        "rejected", "Odoo asks for a decision (" + TextOf(validated.value.Find("res_model")) +
                        ") to validate picking " + std::to_string(*id));
  }
  co_return co_await StateResult(c, "stock.picking", *id);
}

asio::awaitable<CallResult> ReturnResult(Session& c, std::int64_t return_id,
                                         const std::string& state) {
  if (state != "done" && state != "cancel") {
    Record context;
    context["skip_backorder"] = Value(true);
    context["picking_ids_not_to_backorder"] = IdList(One(return_id));
    RF_ODOO_TRY(validated, c.Method("stock.picking", "button_validate", One(return_id), context));
  }
  RF_ODOO_TRY(row, c.Read("stock.picking", One(return_id), "state"));
  Record out;
  out["return_picking_id"] = Value(return_id);
  out["state"] = ListOf(row.value).empty() ? Value() : Field(ListOf(row.value)[0], "state");
  co_return CallResult::Success(Value(std::move(out)));
}

// Creates the return with Odoo's wizard for the quantities done and validates it.
asio::awaitable<CallResult> ReturnPicking(Session& c, const Value& in) {
  auto id = InputId(in, "picking_id");
  if (!id) co_return Missing("picking_id");
  RF_ODOO_TRY(existing, c.SearchRead("stock.picking",
                                     Dom(Term("return_id", "=", Value(*id)),
                                                Term("state", "!=", Value("cancel"))),
                                     "state", 1, "id asc"));
  if (!ListOf(existing.value).empty()) {
    const Value& r = ListOf(existing.value)[0];
    co_return co_await ReturnResult(c, IdOf(r.Find("id")), TextOf(r.Find("state")));
  }
  Record wvals;
  wvals["picking_id"] = Value(*id);
  RF_ODOO_TRY(wizard, c.Create("stock.return.picking", std::move(wvals)));
  std::int64_t wizard_id = IdOf(&wizard.value);
  RF_ODOO_TRY(wrow, c.Read("stock.return.picking", One(wizard_id), "product_return_moves"));
  if (ListOf(wrow.value).empty()) co_return CallResult::Failure("internal", "wizard vanished");
  auto line_ids = IdsOf(ListOf(wrow.value)[0].Find("product_return_moves"));
  RF_ODOO_TRY(lines, c.Read("stock.return.picking.line", line_ids, "move_id"));
  std::vector<std::int64_t> move_ids;
  for (const Value& l : ListOf(lines.value)) move_ids.push_back(IdOf(l.Find("move_id")));
  RF_ODOO_TRY(moves, c.Read("stock.move", move_ids, "quantity"));
  std::map<std::int64_t, Value> done_qty;
  for (const Value& m : ListOf(moves.value)) done_qty[IdOf(m.Find("id"))] = Field(m, "quantity");
  for (const Value& l : ListOf(lines.value)) {
    Record vals;
    vals["quantity"] = done_qty[IdOf(l.Find("move_id"))];
    RF_ODOO_TRY(written, c.Write("stock.return.picking.line", One(IdOf(l.Find("id"))),
                                 std::move(vals)));
  }
  RF_ODOO_TRY(action, c.Method("stock.return.picking", "action_create_returns", One(wizard_id)));
  std::int64_t return_id = IdOf(action.value.Find("res_id"));
  if (return_id == 0) {
    co_return CallResult::Failure("internal", "the return wizard answered no picking: " +
                                                  action.value.ToJson());
  }
  Record key;
  key[c.shared().reference_field] = Value(c.key());
  RF_ODOO_TRY(tagged, c.Write("stock.picking", One(return_id), std::move(key)));
  co_return co_await ReturnResult(c, return_id, "assigned");
}

asio::awaitable<CallResult> CancelPicking(Session& c, const Value& in) {
  auto id = InputId(in, "picking_id");
  if (!id) co_return Missing("picking_id");
  RF_ODOO_TRY(row, c.Read("stock.picking", One(*id), "state"));
  std::string state = ListOf(row.value).empty() ? "" : TextOf(ListOf(row.value)[0].Find("state"));
  if (state != "cancel") {
    RF_ODOO_TRY(cancelled, c.Method("stock.picking", "action_cancel", One(*id)));
  }
  co_return co_await StateResult(c, "stock.picking", *id);
}

// The sale order whose name or customer reference is `order_ref`.
asio::awaitable<std::variant<Value, Fail>> FindSaleOrder(Session& c, const std::string& ref) {
  Rpc r = co_await c.SearchRead(
      "sale.order",
      Dom(Value("|"), Term("name", "=", Value(ref)), Term("client_order_ref", "=", Value(ref))),
      "name,state,picking_ids", 1, "id asc");
  if (!r.ok()) co_return *r.error;
  if (ListOf(r.value).empty()) co_return Fail{"not_found", "no Odoo sale order " + ref};
  co_return ListOf(r.value)[0];
}

asio::awaitable<CallResult> ConfirmSaleOrder(Session& c, const Value& in) {
  auto ref = InputText(in, "order_ref");
  if (!ref) co_return Missing("order_ref");
  auto found = co_await FindSaleOrder(c, *ref);
  if (auto* f = std::get_if<Fail>(&found)) co_return FromFail(*f);
  Value order = std::get<Value>(found);
  std::int64_t id = IdOf(order.Find("id"));
  std::string state = TextOf(order.Find("state"));
  if (state == "cancel") {
    co_return CallResult::Failure("rejected", "sale order " + *ref + " is cancelled");
  }
  if (state == "draft" || state == "sent") {
    RF_ODOO_TRY(confirmed, c.Method("sale.order", "action_confirm", One(id)));
    RF_ODOO_TRY(again, c.Read("sale.order", One(id), "state,picking_ids"));
    if (ListOf(again.value).empty()) co_return CallResult::Failure("not_found", "order vanished");
    order = ListOf(again.value)[0];
  }
  Record out;
  out["order_id"] = Value(id);
  out["state"] = Field(order, "state");
  auto pickings = IdsOf(order.Find("picking_ids"));
  if (!pickings.empty()) {
    RF_ODOO_TRY(rows, c.Read("stock.picking", pickings, "state"));
    std::int64_t chosen = 0;
    for (const Value& p : ListOf(rows.value)) {
      std::int64_t pid = IdOf(p.Find("id"));
      if (TextOf(p.Find("state")) != "cancel" && (chosen == 0 || pid < chosen)) chosen = pid;
    }
    if (chosen != 0) out["picking_id"] = Value(chosen);
  }
  co_return CallResult::Success(Value(std::move(out)));
}

asio::awaitable<CallResult> CancelSaleOrder(Session& c, const Value& in) {
  auto ref = InputText(in, "order_ref");
  if (!ref) co_return Missing("order_ref");
  auto found = co_await FindSaleOrder(c, *ref);
  if (auto* f = std::get_if<Fail>(&found)) co_return FromFail(*f);
  const Value& order = std::get<Value>(found);
  std::int64_t id = IdOf(order.Find("id"));
  if (TextOf(order.Find("state")) != "cancel") {
    RF_ODOO_TRY(cancelled, c.Method("sale.order", "action_cancel", One(id)));
  }
  co_return co_await StateResult(c, "sale.order", id);
}

asio::awaitable<CallResult> ReadQuants(Session& c, const Value& in) {
  auto code = InputText(in, "location");
  if (!code) co_return Missing("location");
  auto loc = co_await LocationByCode(c, *code);
  if (auto* f = std::get_if<Fail>(&loc)) co_return FromFail(*f);
  RF_ODOO_TRY(quants, c.SearchRead("stock.quant",
                                   Dom(Term("location_id", "=",
                                                   Value(std::get<std::int64_t>(loc)))),
                                   "product_id,quantity,reserved_quantity"));
  std::vector<std::int64_t> product_ids;
  for (const Value& q : ListOf(quants.value)) product_ids.push_back(IdOf(q.Find("product_id")));
  std::sort(product_ids.begin(), product_ids.end());
  product_ids.erase(std::unique(product_ids.begin(), product_ids.end()), product_ids.end());
  std::map<std::int64_t, std::string> sku_of;
  if (!product_ids.empty()) {
    RF_ODOO_TRY(prods, c.Read("product.product", product_ids, "default_code"));
    for (const Value& p : ListOf(prods.value)) {
      sku_of[IdOf(p.Find("id"))] = TextOf(p.Find("default_code"));
    }
  }
  std::map<std::string, std::pair<Decimal, Decimal>> by_sku;  // quants of lots/packages add up
  for (const Value& q : ListOf(quants.value)) {
    std::string sku = sku_of[IdOf(q.Find("product_id"))];
    if (sku.empty()) continue;  // products without an internal reference are not retail SKUs
    auto& [qty, reserved] = by_sku[sku];
    qty = qty + NumberOf(q.Find("quantity")).value_or(Decimal(0));
    reserved = reserved + NumberOf(q.Find("reserved_quantity")).value_or(Decimal(0));
  }
  List items;
  for (const auto& [sku, q] : by_sku) {
    Record item;
    item["sku"] = Value(sku);
    item["quantity"] = Value(q.first);
    item["reserved_quantity"] = Value(q.second);
    items.emplace_back(Value(std::move(item)));
  }
  Record out;
  out["items"] = Value(std::move(items));
  co_return CallResult::Success(Value(std::move(out)));
}

// -- generic operations -----------------------------------------------------------------------

std::optional<std::vector<std::int64_t>> InputIds(const Value& in) {
  const Value* v = in.Find("ids");
  if (v == nullptr || !v->is_list()) return std::nullopt;
  std::vector<std::int64_t> ids;
  for (const Value& x : v->as_list()) {
    auto id = x.is_number() ? x.as_number().ToInt64() : std::nullopt;
    if (!id) return std::nullopt;
    ids.push_back(*id);
  }
  return ids;
}

asio::awaitable<CallResult> GenericOp(Session& c, const std::string& op, const Value& in) {
  auto model = InputText(in, "model");
  if (!model) co_return Missing("model");
  Record out;
  if (op == "search_read") {
    Record named;
    named["domain"] = in.Find("domain") ? *in.Find("domain") : Value(List{});
    static const std::vector<std::string> kOptional = {"fields", "limit", "offset", "order"};
    for (const std::string& k : kOptional) {
      if (const Value* v = in.Find(k); v != nullptr && !v->is_null()) named[k] = *v;
    }
    RF_ODOO_TRY(r, c.Exec(*model, "search_read", std::nullopt, std::move(named)));
    out["records"] = r.value;
  } else if (op == "read") {
    auto ids = InputIds(in);
    if (!ids) co_return Missing("ids");
    Record named;
    if (const Value* f = in.Find("fields"); f != nullptr && !f->is_null()) named["fields"] = *f;
    RF_ODOO_TRY(r, c.Exec(*model, "read", *ids, std::move(named)));
    out["records"] = r.value;
  } else if (op == "create") {
    const Value* values = in.Find("values");
    if (values == nullptr || !values->is_record()) co_return Missing("values");
    bool keyed = c.shared().reference_models.count(*model) > 0;
    if (keyed) {
      RF_ODOO_TRY(existing, FindByKey(c, *model, "id"));
      if (!ListOf(existing.value).empty()) {
        out["id"] = Value(IdOf(ListOf(existing.value)[0].Find("id")));
        co_return CallResult::Success(Value(std::move(out)));
      }
    }
    Record vals = values->as_record();
    if (keyed) vals[c.shared().reference_field] = Value(c.key());
    RF_ODOO_TRY(r, c.Create(*model, std::move(vals)));
    out["id"] = r.value;
  } else if (op == "write") {
    auto ids = InputIds(in);
    if (!ids) co_return Missing("ids");
    const Value* values = in.Find("values");
    if (values == nullptr || !values->is_record()) co_return Missing("values");
    RF_ODOO_TRY(r, c.Write(*model, *ids, values->as_record()));
    out["written"] = Value(true);
  } else {  // call
    auto method = InputText(in, "method");
    if (!method) co_return Missing("method");
    auto ids = InputIds(in);
    if (in.Find("ids") != nullptr && !in.Find("ids")->is_null() && !ids) co_return Missing("ids");
    Record named;
    if (const Value* kw = in.Find("kwargs"); kw != nullptr && kw->is_record()) {
      named = kw->as_record();
    }
    Record context;
    if (auto it = named.find("context"); it != named.end()) {
      if (it->second.is_record()) context = it->second.as_record();
      named.erase(it);
    }
    const Value* args = in.Find("args");
    if (args != nullptr && args->is_list() && !args->as_list().empty()) {
      co_return CallResult::Failure("rejected", "call: pass arguments by name in input.kwargs");
    }
    RF_ODOO_TRY(r, c.Exec(*model, *method, ids, std::move(named), std::move(context)));
    out["result"] = r.value;
  }
  co_return CallResult::Success(Value(std::move(out)));
}

asio::awaitable<CallResult> Run(std::shared_ptr<Shared> s, Invocation call) {
  Session c(std::move(s), call);
  const Value input = call.input.is_record() ? call.input : Value(Record{});
  const std::string& op = call.operation;
  if (op == "create_credit_note") co_return co_await CreateCreditNote(c, input);
  if (op == "cancel_credit_note") co_return co_await CancelCreditNote(c, input);
  if (op == "create_picking") co_return co_await CreatePicking(c, input);
  if (op == "validate_picking") co_return co_await ValidatePicking(c, input);
  if (op == "return_picking") co_return co_await ReturnPicking(c, input);
  if (op == "cancel_picking") co_return co_await CancelPicking(c, input);
  if (op == "confirm_sale_order") co_return co_await ConfirmSaleOrder(c, input);
  if (op == "cancel_sale_order") co_return co_await CancelSaleOrder(c, input);
  if (op == "read_quants") co_return co_await ReadQuants(c, input);
  if (op == "search_read" || op == "read" || op == "create" || op == "write" || op == "call") {
    co_return co_await GenericOp(c, op, input);
  }
  co_return CallResult::Failure("internal", "connector '" + c.shared().name +
                                                "' has no operation '" + op + "'");
}

#undef RF_ODOO_TRY

class OdooConnector final : public ConnectorInstance {
 public:
  OdooConnector(std::shared_ptr<Shared> s, asio::io_context& io) : s_(std::move(s)), io_(io) {}
  ~OdooConnector() override { Shutdown(); }

  json Describe() const override { return s_->describe; }

  void Shutdown() override {
    if (!s_->shut_down.exchange(true)) s_->client->Shutdown();
  }

  void Invoke(const Invocation& call, std::function<void(CallResult)> done) override {
    if (s_->shut_down.load()) {
      done(CallResult::Failure("unavailable", "connector '" + s_->name + "' is shut down"));
      return;
    }
    auto s = s_;
    asio::co_spawn(io_, Run(s_, call),
                   [s, done = std::move(done)](std::exception_ptr e, CallResult r) {
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
                     done(CallResult::Failure("internal",
                                              s->Redact("odoo connector failed: " + what)));
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
    auto shared = ParseSettings(config, io);
    if (!shared.ok()) return shared.status();
    return std::unique_ptr<ConnectorInstance>(new OdooConnector(std::move(*shared), io));
  } catch (const std::exception& e) {  // nlohmann type errors on unexpected shapes
    return Status::InvalidArgument("connector '" + config.name + "': invalid settings: " +
                                   e.what());
  }
}

}  // namespace rf::connectors
