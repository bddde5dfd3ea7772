// Accounting operations of the `odoo` connector: customer credit notes (account.move).
#include "connectors/builtin/src/odoo_operation.h"

// GCC 12 reports Boost.Asio's coroutine frame allocator (recycling operator new/delete pair) as
// mismatched at the end of every coroutine: a false positive for this translation unit.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <map>
#include <string>

namespace rf::connectors::odoo {
namespace {

namespace asio = boost::asio;

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
      co_return CallResult::Failure("rejected", "credit note total " + total.ToFixed(2) +
                                                    " computed by Odoo differs from "
                                                    "the control amount " +
                                                    control->ToFixed(2) + "; nothing was posted");
    }
    RF_ODOO_TRY(posted, Transition(c, "account.move", move_id, "action_post", "posted"));
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
  auto parsed = ParseLines(in.Find("lines"), true);
  if (auto* err = std::get_if<std::string>(&parsed))
    co_return CallResult::Failure("rejected", *err);
  const auto& lines = std::get<std::vector<Line>>(parsed);

  std::string customer = InputText(in, "customer_ref").value_or(c.shared().default_customer_ref);
  if (customer.empty()) {
    co_return CallResult::Failure("rejected",
                                  "input.customer_ref is missing and no "
                                  "default_customer_ref is configured");
  }
  RF_ODOO_TRY(partner,
              c.SearchRead("res.partner", Dom(Term("ref", "=", Value(customer))), "id", 1));
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
      co_return CallResult::Failure("rejected",
                                    "no sale tax of " + l.tax_rate->ToString() + "% in Odoo");
    }
    tax_by_rate[l.tax_rate->ToString()] = IdOf(ListOf(tax.value)[0].Find("id"));
  }

  Record vals;
  vals["move_type"] = Value("out_refund");
  vals["partner_id"] = Value(partner_id);
  if (auto origin = InputText(in, "origin")) {
    vals["invoice_origin"] = Value(*origin);
    vals["ref"] = Value(*origin);
  }
  if (auto currency = InputText(in, "currency")) {
    RF_ODOO_TRY(cur,
                c.SearchRead("res.currency", Dom(Term("name", "=", Value(*currency))), "id", 1));
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
    Value taxes =
        l.tax_rate ? IdList(One(tax_by_rate.at(l.tax_rate->ToString()))) : IdList(IdsOf(&p.taxes));
    line["tax_ids"] = Value(List{Value(List{Value(6), Value(0), std::move(taxes)})});
    commands.emplace_back(Value(List{Value(0), Value(0), Value(std::move(line))}));
  }
  vals["invoice_line_ids"] = Value(std::move(commands));
  // Straight to create: the key's unique constraint decides, atomically, whether this attempt or
  // an earlier one (maybe still in flight) makes the credit note; both go on from that record.
  auto created = co_await KeyedCreate(c, "account.move", std::move(vals));
  if (auto* f = std::get_if<Fail>(&created)) co_return FromFail(*f);
  co_return co_await CreditNoteResult(c, std::get<Keyed>(created).id, control);
}

asio::awaitable<CallResult> CancelCreditNote(Session& c, const Value& in) {
  auto id = InputId(in, "move_id");
  if (!id) co_return Missing("move_id");
  RF_ODOO_TRY(row, c.Read("account.move", One(*id), "state"));
  std::string state = ListOf(row.value).empty() ? "" : TextOf(ListOf(row.value)[0].Find("state"));
  if (state == "posted") {
    RF_ODOO_TRY(drafted, Transition(c, "account.move", *id, "button_draft", "draft,cancel"));
    state = "draft";
  }
  if (state == "draft") {
    RF_ODOO_TRY(cancelled, Transition(c, "account.move", *id, "button_cancel", "cancel"));
  }
  co_return co_await StateResult(c, "account.move", *id);
}

constexpr const char* kCreateCreditNote = R"json(
  {"description": "Create and post a customer credit note (account.move, out_refund). Idempotent on the step's idempotency key.",
   "writes": "accounting",
   "input": [{"name": "customer_ref", "type": "text"},
             {"name": "origin", "type": "text", "description": "the original sale or receipt"},
             {"name": "lines", "type": "list", "description": "[{sku, qty, unit_price, tax_rate}]"},
             {"name": "amount", "type": "money", "description": "total including tax, as a control"},
             {"name": "currency", "type": "text"}],
   "output": [{"name": "move_id", "type": "number"}, {"name": "name", "type": "text"},
              {"name": "amount_total", "type": "money"}, {"name": "state", "type": "text"}]})json";

constexpr const char* kCancelCreditNote = R"json(
  {"description": "Reverse a credit note that was created by mistake (button_draft + button_cancel).",
   "writes": "accounting",
   "input": [{"name": "move_id", "type": "number"}],
   "output": [{"name": "state", "type": "text"}]})json";

}  // namespace

const std::vector<Operation>& AccountingOperations() {
  static const std::vector<Operation> kTable = {
      {"create_credit_note", kCreateCreditNote, &CreateCreditNote},
      {"cancel_credit_note", kCancelCreditNote, &CancelCreditNote},
  };
  return kTable;
}

}  // namespace rf::connectors::odoo
