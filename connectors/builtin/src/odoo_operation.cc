// Inputs, lookups, keyed creates and idempotent state changes of the `odoo` connector (see
// odoo_operation.h).
#include "connectors/builtin/src/odoo_operation.h"

// GCC 12 reports Boost.Asio's coroutine frame allocator (recycling operator new/delete pair) as
// mismatched at the end of every coroutine: a false positive for this translation unit.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace rf::connectors::odoo {

namespace asio = boost::asio;

CallResult FromFail(const Fail& f) { return CallResult::Failure(f.kind, f.message); }

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
    if (!out.count(sku))
      out[sku] = Product{IdOf(p.Find("id")), Field(p, "list_price"), Field(p, "taxes_id")};
  }
  std::string missing;
  for (const auto& s : wanted) {
    if (!out.count(s)) missing += (missing.empty() ? "" : ", ") + s;
  }
  if (!missing.empty()) co_return Fail{"not_found", "unknown SKU in Odoo: " + missing};
  co_return out;
}

asio::awaitable<std::variant<std::int64_t, Fail>> LocationByCode(Session& c,
                                                                 const std::string& code) {
  Rpc r =
      co_await c.SearchRead("stock.location", Dom(Term("barcode", "=ilike", Value(code))), "id", 1);
  if (!r.ok()) co_return *r.error;
  if (ListOf(r.value).empty()) co_return Fail{"not_found", "no Odoo location with code " + code};
  co_return IdOf(ListOf(r.value)[0].Find("id"));
}

asio::awaitable<Rpc> FindByKey(Session& c, const std::string& model, std::string fields) {
  co_return co_await c.SearchRead(model, Dom(Term(c.shared().reference_field, "=", Value(c.key()))),
                                  std::move(fields), 1, "id asc");
}

asio::awaitable<CallResult> StateResult(Session& c, const std::string& model, std::int64_t id) {
  RF_ODOO_TRY(row, c.Read(model, One(id), "state"));
  if (ListOf(row.value).empty()) co_return CallResult::Failure("not_found", model + " vanished");
  Record out;
  out["state"] = Field(ListOf(row.value)[0], "state");
  co_return CallResult::Success(Value(std::move(out)));
}

namespace {

// A ValidationError that names the key field: the unique constraint's message. Used only to
// word the failure when the record holding the key cannot be read (another company, access
// rules); a violation is recognised by reading that record, since Odoo translates the message.
bool NamesKey(const Session& c, const Rpc& failed) {
  return failed.odoo_error == "odoo.exceptions.ValidationError" && failed.error &&
         failed.error->message.find(c.shared().reference_field) != std::string::npos;
}

}  // namespace

asio::awaitable<std::variant<Keyed, Fail>> EarlierOnViolation(Session& c, std::string model,
                                                              Rpc failed) {
  if (failed.odoo_error == "odoo.exceptions.ValidationError") {
    Rpc existing = co_await FindByKey(c, model, "id");
    if (!existing.ok()) co_return *existing.error;
    if (!ListOf(existing.value).empty()) {
      co_return Keyed{IdOf(ListOf(existing.value)[0].Find("id")), true};
    }
    if (NamesKey(c, failed)) {
      co_return Fail{"conflict", "Odoo refused a second " + model + " for idempotency key " +
                                     c.key() + " but shows no record with it in " +
                                     c.shared().reference_field + ": " + failed.error->message};
    }
  }
  co_return *failed.error;
}

asio::awaitable<std::optional<Fail>> AwaitPreviousAttempt(Session& c) {
  if (c.shared().idempotency != Idempotency::kSearchAfterDeadline || !c.previous_deadline()) {
    co_return std::nullopt;
  }
  auto until = *c.previous_deadline();
  if (until > c.deadline()) {
    co_return Fail{"timeout",
                   "the previous attempt's deadline comes after this attempt's: "
                   "cannot wait for it (idempotency search_after_deadline)"};
  }
  // In slices, so that Shutdown() is noticed while waiting.
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (std::chrono::steady_clock::now() < until) {
    if (c.shared().shut_down.load()) co_return Fail{"unavailable", "connector is shut down"};
    timer.expires_at(
        std::min(until, std::chrono::steady_clock::now() + std::chrono::milliseconds(100)));
    co_await timer.async_wait(asio::use_awaitable);
  }
  co_return std::nullopt;
}

asio::awaitable<std::variant<Keyed, Fail>> KeyedCreate(Session& c, std::string model, Record vals) {
  if (c.shared().idempotency == Idempotency::kSearchAfterDeadline) {
    if (auto waited = co_await AwaitPreviousAttempt(c)) co_return *waited;
    Rpc existing = co_await FindByKey(c, model, "id");
    if (!existing.ok()) co_return *existing.error;
    if (!ListOf(existing.value).empty()) {
      co_return Keyed{IdOf(ListOf(existing.value)[0].Find("id")), true};
    }
  }
  vals[c.shared().reference_field] = Value(c.key());
  Rpc created = co_await c.Create(model, std::move(vals));
  if (created.ok()) co_return Keyed{IdOf(&created.value), false};
  co_return co_await EarlierOnViolation(c, std::move(model), std::move(created));
}

asio::awaitable<Rpc> Transition(Session& c, std::string model, std::int64_t id, std::string method,
                                std::string reached, Record context) {
  Rpc r = co_await c.Method(model, std::move(method), One(id), std::move(context));
  if (r.ok() || r.odoo_error.empty()) co_return r;  // transport failures are not refusals
  Rpc row = co_await c.Read(model, One(id), "state");
  if (row.ok() && !ListOf(row.value).empty() &&
      ("," + reached + ",").find("," + TextOf(ListOf(row.value)[0].Find("state")) + ",") !=
          std::string::npos) {
    Rpc done;
    done.value = Value(true);
    co_return done;
  }
  co_return r;
}

}  // namespace rf::connectors::odoo
