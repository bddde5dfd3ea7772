// Stock operations of the `odoo` connector: pickings (create, validate, return, cancel) and
// quants.
#include "connectors/builtin/src/odoo_operation.h"

// GCC 12 reports Boost.Asio's coroutine frame allocator (recycling operator new/delete pair) as
// mismatched at the end of every coroutine: a false positive for this translation unit.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <algorithm>
#include <map>
#include <set>
#include <string>

namespace rf::connectors::odoo {
namespace {

namespace asio = boost::asio;

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
    RF_ODOO_TRY(confirmed,
                Transition(c, "stock.picking", id, "action_confirm", "confirmed,assigned,done"));
  }
  if (state == "draft" || state == "confirmed") {
    RF_ODOO_TRY(assigned, Transition(c, "stock.picking", id, "action_assign", "assigned,done"));
  }
  co_return co_await PickingResult(c, id);
}

asio::awaitable<CallResult> CreatePicking(Session& c, const Value& in) {
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
  if (auto* err = std::get_if<std::string>(&parsed))
    co_return CallResult::Failure("rejected", *err);
  const auto& lines = std::get<std::vector<Line>>(parsed);

  auto src = co_await LocationByCode(c, *from);
  if (auto* f = std::get_if<Fail>(&src)) co_return FromFail(*f);
  auto dst = co_await LocationByCode(c, *to);
  if (auto* f = std::get_if<Fail>(&dst)) co_return FromFail(*f);
  std::int64_t src_id = std::get<std::int64_t>(src), dst_id = std::get<std::int64_t>(dst);

  // The operation type of that code whose warehouse owns the store end of the move.
  RF_ODOO_TRY(types, c.SearchRead("stock.picking.type", Dom(Term("code", "=", Value(*type))),
                                  "default_location_src_id,default_location_dest_id", 0, "id asc"));
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
  auto created = co_await KeyedCreate(c, "stock.picking", std::move(vals));
  if (auto* f = std::get_if<Fail>(&created)) co_return FromFail(*f);
  const Keyed& picking = std::get<Keyed>(created);
  if (!picking.earlier) co_return co_await ConfirmPicking(c, picking.id, "draft");
  // An earlier attempt made it: confirm it as far as it did not get.
  RF_ODOO_TRY(row, c.Read("stock.picking", One(picking.id), "state"));
  if (ListOf(row.value).empty()) co_return CallResult::Failure("not_found", "picking vanished");
  co_return co_await ConfirmPicking(c, picking.id, TextOf(ListOf(row.value)[0].Find("state")));
}

// Validates with the received quantities when `lines` is given (no backorder for the rest).
asio::awaitable<CallResult> ValidatePicking(Session& c, const Value& in) {
  auto id = InputId(in, "picking_id");
  if (!id) co_return Missing("picking_id");
  auto parsed = ParseLines(in.Find("lines"), false);
  if (auto* err = std::get_if<std::string>(&parsed))
    co_return CallResult::Failure("rejected", *err);
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
        co_return CallResult::Failure("rejected",
                                      "SKU " + sku + " is not in picking " + std::to_string(*id));
      }
    }
    context["skip_backorder"] = Value(true);
    context["picking_ids_not_to_backorder"] = IdList(One(*id));
  }
  RF_ODOO_TRY(validated,
              Transition(c, "stock.picking", *id, "button_validate", "done", std::move(context)));
  if (validated.value.is_record()) {  // a wizard action instead of a finished transfer
    co_return CallResult::Failure("rejected", "Odoo asks for a decision (" +
                                                  TextOf(validated.value.Find("res_model")) +
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
    RF_ODOO_TRY(validated, Transition(c, "stock.picking", return_id, "button_validate", "done",
                                      std::move(context)));
  }
  RF_ODOO_TRY(row, c.Read("stock.picking", One(return_id), "state"));
  Record out;
  out["return_picking_id"] = Value(return_id);
  out["state"] = ListOf(row.value).empty() ? Value() : Field(ListOf(row.value)[0], "state");
  co_return CallResult::Success(Value(std::move(out)));
}

// Creates the return with Odoo's wizard for the quantities done and validates it. With the
// addon the wizard carries the key and gives it to the return picking it creates, so the key's
// unique constraint makes the return once; without it, the return is found by `return_id`.
asio::awaitable<CallResult> ReturnPicking(Session& c, const Value& in) {
  auto id = InputId(in, "picking_id");
  if (!id) co_return Missing("picking_id");
  const bool addon = c.shared().idempotency == Idempotency::kAddon;
  if (!addon) {
    if (auto waited = co_await AwaitPreviousAttempt(c)) co_return FromFail(*waited);
    RF_ODOO_TRY(existing, c.SearchRead("stock.picking",
                                       Dom(Term("return_id", "=", Value(*id)),
                                           Term("state", "!=", Value("cancel"))),
                                       "state", 1, "id asc"));
    if (!ListOf(existing.value).empty()) {
      const Value& r = ListOf(existing.value)[0];
      co_return co_await ReturnResult(c, IdOf(r.Find("id")), TextOf(r.Find("state")));
    }
  }
  Record wvals;
  wvals["picking_id"] = Value(*id);
  if (addon) wvals[c.shared().reference_field] = Value(c.key());
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
    RF_ODOO_TRY(written,
                c.Write("stock.return.picking.line", One(IdOf(l.Find("id"))), std::move(vals)));
  }
  Rpc action = co_await c.Method("stock.return.picking", "action_create_returns", One(wizard_id));
  if (!action.ok()) {
    if (!addon) co_return FromFail(*action.error);
    auto earlier = co_await EarlierOnViolation(c, "stock.picking", std::move(action));
    if (auto* f = std::get_if<Fail>(&earlier)) co_return FromFail(*f);
    std::int64_t return_id = std::get<Keyed>(earlier).id;
    RF_ODOO_TRY(row, c.Read("stock.picking", One(return_id), "state"));
    if (ListOf(row.value).empty()) co_return CallResult::Failure("not_found", "return vanished");
    co_return co_await ReturnResult(c, return_id, TextOf(ListOf(row.value)[0].Find("state")));
  }
  std::int64_t return_id = IdOf(action.value.Find("res_id"));
  if (return_id == 0) {
    co_return CallResult::Failure(
        "internal", "the return wizard answered no picking: " + action.value.ToJson());
  }
  if (!addon) {
    Record key;
    key[c.shared().reference_field] = Value(c.key());
    RF_ODOO_TRY(tagged, c.Write("stock.picking", One(return_id), std::move(key)));
  }
  co_return co_await ReturnResult(c, return_id, "assigned");
}

asio::awaitable<CallResult> CancelPicking(Session& c, const Value& in) {
  auto id = InputId(in, "picking_id");
  if (!id) co_return Missing("picking_id");
  RF_ODOO_TRY(row, c.Read("stock.picking", One(*id), "state"));
  std::string state = ListOf(row.value).empty() ? "" : TextOf(ListOf(row.value)[0].Find("state"));
  if (state != "cancel") {
    RF_ODOO_TRY(cancelled, Transition(c, "stock.picking", *id, "action_cancel", "cancel"));
  }
  co_return co_await StateResult(c, "stock.picking", *id);
}

asio::awaitable<CallResult> ReadQuants(Session& c, const Value& in) {
  auto code = InputText(in, "location");
  if (!code) co_return Missing("location");
  auto loc = co_await LocationByCode(c, *code);
  if (auto* f = std::get_if<Fail>(&loc)) co_return FromFail(*f);
  RF_ODOO_TRY(
      quants,
      c.SearchRead("stock.quant", Dom(Term("location_id", "=", Value(std::get<std::int64_t>(loc)))),
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

constexpr const char* kCreatePicking = R"json(
  {"description": "Create and confirm a stock.picking between two locations (transfers go through a transit location).",
   "writes": "stock_moves",
   "input": [{"name": "picking_type", "type": "text", "description": "outgoing, incoming or internal"},
             {"name": "from_location", "type": "text"}, {"name": "to_location", "type": "text"},
             {"name": "lines", "type": "list"}, {"name": "origin", "type": "text"}],
   "output": [{"name": "picking_id", "type": "number"}, {"name": "name", "type": "text"},
              {"name": "state", "type": "text"}]})json";

constexpr const char* kValidatePicking = R"json(
  {"description": "Validate a picking (button_validate) with the quantities done.",
   "writes": "stock_moves",
   "input": [{"name": "picking_id", "type": "number"},
             {"name": "lines", "type": "list", "required": false}],
   "output": [{"name": "state", "type": "text"}]})json";

constexpr const char* kReturnPicking = R"json(
  {"description": "Reverse a validated picking with Odoo's return wizard (stock.return.picking).",
   "writes": "stock_moves",
   "input": [{"name": "picking_id", "type": "number"}],
   "output": [{"name": "return_picking_id", "type": "number"}, {"name": "state", "type": "text"}]})json";

constexpr const char* kCancelPicking = R"json(
  {"description": "Cancel a picking that is not done yet.",
   "writes": "stock_moves",
   "input": [{"name": "picking_id", "type": "number"}],
   "output": [{"name": "state", "type": "text"}]})json";

constexpr const char* kReadQuants = R"json(
  {"description": "Quantities on hand per SKU at a location (stock.quant).",
   "side_effects": false,
   "input": [{"name": "location", "type": "text"}],
   "output": [{"name": "items", "type": "list", "description": "[{sku, quantity, reserved_quantity}]"}]})json";

}  // namespace

const std::vector<Operation>& StockOperations() {
  static const std::vector<Operation> kTable = {
      {"create_picking", kCreatePicking, &CreatePicking},
      {"validate_picking", kValidatePicking, &ValidatePicking},
      {"return_picking", kReturnPicking, &ReturnPicking},
      {"cancel_picking", kCancelPicking, &CancelPicking},
      {"read_quants", kReadQuants, &ReadQuants},
  };
  return kTable;
}

}  // namespace rf::connectors::odoo
