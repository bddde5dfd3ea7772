// What every operation of the `odoo` connector is made of: its catalog entry and its handler in
// one table row, the helpers that read inputs, and the two building blocks of exactly-once
// effects (a keyed create and an idempotent state change). Private to the connector.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/decimal.h"
#include "connectors/builtin/src/odoo_session.h"

namespace rf::connectors::odoo {

using engine::CallResult;
using Handler = boost::asio::awaitable<CallResult> (*)(Session&, const Value&);

// One row of a domain's table: the catalog entry (`spec`: the operation's JSON object without
// its name: description, input, output, writes, side_effects) and the code that runs it.
struct Operation {
  const char* name;
  const char* spec;
  Handler handler;
};

// The tables, one per business domain; together they are the catalog and the dispatch.
const std::vector<Operation>& AccountingOperations();  // odoo_accounting.cc
const std::vector<Operation>& StockOperations();       // odoo_stock.cc
const std::vector<Operation>& SalesOperations();       // odoo_sales.cc
const std::vector<Operation>& GenericOperations();     // odoo_generic.cc

CallResult FromFail(const Fail& f);
CallResult Missing(std::string_view field);

// Runs an ORM call; on failure returns its mapped failure from the enclosing operation.
#define RF_ODOO_TRY(var, expr) \
  Rpc var = co_await (expr);   \
  if (!var.ok()) co_return FromFail(*var.error)

std::optional<std::string> InputText(const Value& in, std::string_view name);
std::optional<std::int64_t> InputId(const Value& in, std::string_view name);
std::optional<Decimal> NumberOf(const Value* v);

struct Line {
  std::string sku;
  Decimal qty;
  std::optional<Decimal> unit_price;
  std::optional<Decimal> tax_rate;  // percent
};

// Lines [{sku, qty, unit_price?, tax_rate?}] (also "quantity"); an error message when malformed.
std::variant<std::vector<Line>, std::string> ParseLines(const Value* lines, bool required);

struct Product {
  std::int64_t id = 0;
  Value list_price;
  Value taxes;
};

// Products by SKU (default_code); fails with not_found naming the unknown SKUs.
boost::asio::awaitable<std::variant<std::map<std::string, Product>, Fail>> ProductsBySku(
    Session& c, const std::vector<Line>& lines);
// A location id by its code (barcode), case-insensitively ("transit" finds "TRANSIT").
boost::asio::awaitable<std::variant<std::int64_t, Fail>> LocationByCode(Session& c,
                                                                        const std::string& code);
// The record of `model` carrying the invocation's key (at most one row), with `fields`.
boost::asio::awaitable<Rpc> FindByKey(Session& c, const std::string& model, std::string fields);
// {"state": <state>} of one record.
boost::asio::awaitable<CallResult> StateResult(Session& c, const std::string& model,
                                               std::int64_t id);

// The record a keyed create made, by this attempt or by an earlier one.
struct Keyed {
  std::int64_t id = 0;
  bool earlier = false;  // an earlier attempt created it: carry on from where it stands
};

// Creates one record of `model` carrying the invocation's key in `reference_field`, exactly once
// per key even while an earlier attempt's create is still in flight at Odoo:
//  - idempotency "addon": straight to `create`; the unique constraint is the atomic check. A
//    violation (ValidationError, and a record now found by the key) answers that record.
//  - "search_after_deadline": a re-dispatch after a restart first waits until the previous
//    attempt's deadline has passed; then search by key, create if absent.
// `vals` gets the key added.
boost::asio::awaitable<std::variant<Keyed, Fail>> KeyedCreate(Session& c, std::string model,
                                                              Record vals);
// The violation test of KeyedCreate for a create made another way (a wizard's action): the
// failure `failed` is a unique violation of the key when the key's record now exists.
boost::asio::awaitable<std::variant<Keyed, Fail>> EarlierOnViolation(Session& c, std::string model,
                                                                     Rpc failed);
// Waits, in "search_after_deadline" mode after a restart, until the previous attempt's deadline
// has passed (never past this attempt's own deadline: then a timeout failure).
boost::asio::awaitable<std::optional<Fail>> AwaitPreviousAttempt(Session& c);

// A state change (`method` on one record, called by an operation that saw the record before
// it) that is idempotent call by call: a refusal because a concurrent attempt got there first
// (the record's state is now one of `reached`, comma-separated: "draft,cancel") counts as
// done. (A string, not a braced list: GCC 12 miscompiles those in coroutine calls.)
boost::asio::awaitable<Rpc> Transition(Session& c, std::string model, std::int64_t id,
                                       std::string method, std::string reached,
                                       Record context = {});

}  // namespace rf::connectors::odoo
