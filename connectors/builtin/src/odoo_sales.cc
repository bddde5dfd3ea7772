// Sales operations of the `odoo` connector: confirming and cancelling sale orders.
#include "connectors/builtin/src/odoo_operation.h"

// GCC 12 reports Boost.Asio's coroutine frame allocator (recycling operator new/delete pair) as
// mismatched at the end of every coroutine: a false positive for this translation unit.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <string>

namespace rf::connectors::odoo {
namespace {

namespace asio = boost::asio;

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
    RF_ODOO_TRY(confirmed, Transition(c, "sale.order", id, "action_confirm", "sale"));
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
    RF_ODOO_TRY(cancelled, Transition(c, "sale.order", id, "action_cancel", "cancel"));
  }
  co_return co_await StateResult(c, "sale.order", id);
}

constexpr const char* kConfirmSaleOrder = R"json(
  {"description": "Confirm a draft sale order (action_confirm); creates its delivery picking.",
   "writes": "orders",
   "input": [{"name": "order_ref", "type": "text"}],
   "output": [{"name": "order_id", "type": "number"}, {"name": "state", "type": "text"},
              {"name": "picking_id", "type": "number"}]})json";

constexpr const char* kCancelSaleOrder = R"json(
  {"description": "Cancel a sale order and its open pickings.",
   "writes": "orders",
   "input": [{"name": "order_ref", "type": "text"}],
   "output": [{"name": "state", "type": "text"}]})json";

}  // namespace

const std::vector<Operation>& SalesOperations() {
  static const std::vector<Operation> kTable = {
      {"confirm_sale_order", kConfirmSaleOrder, &ConfirmSaleOrder},
      {"cancel_sale_order", kCancelSaleOrder, &CancelSaleOrder},
  };
  return kTable;
}

}  // namespace rf::connectors::odoo
