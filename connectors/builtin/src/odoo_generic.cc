// Generic ORM operations of the `odoo` connector: search_read, read, create, write, call.
#include "connectors/builtin/src/odoo_operation.h"

// GCC 12 reports Boost.Asio's coroutine frame allocator (recycling operator new/delete pair) as
// mismatched at the end of every coroutine: a false positive for this translation unit.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <string>

namespace rf::connectors::odoo {
namespace {

namespace asio = boost::asio;

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

asio::awaitable<CallResult> SearchRead(Session& c, const Value& in) {
  auto model = InputText(in, "model");
  if (!model) co_return Missing("model");
  Record named;
  named["domain"] = in.Find("domain") ? *in.Find("domain") : Value(List{});
  static const std::vector<std::string> kOptional = {"fields", "limit", "offset", "order"};
  for (const std::string& k : kOptional) {
    if (const Value* v = in.Find(k); v != nullptr && !v->is_null()) named[k] = *v;
  }
  RF_ODOO_TRY(r, c.Exec(*model, "search_read", std::nullopt, std::move(named)));
  Record out;
  out["records"] = r.value;
  co_return CallResult::Success(Value(std::move(out)));
}

asio::awaitable<CallResult> ReadRecords(Session& c, const Value& in) {
  auto model = InputText(in, "model");
  if (!model) co_return Missing("model");
  auto ids = InputIds(in);
  if (!ids) co_return Missing("ids");
  Record named;
  if (const Value* f = in.Find("fields"); f != nullptr && !f->is_null()) named["fields"] = *f;
  RF_ODOO_TRY(r, c.Exec(*model, "read", *ids, std::move(named)));
  Record out;
  out["records"] = r.value;
  co_return CallResult::Success(Value(std::move(out)));
}

// On a reference model the create carries the key and is made once per key (KeyedCreate).
asio::awaitable<CallResult> CreateRecord(Session& c, const Value& in) {
  auto model = InputText(in, "model");
  if (!model) co_return Missing("model");
  const Value* values = in.Find("values");
  if (values == nullptr || !values->is_record()) co_return Missing("values");
  Record out;
  if (c.shared().reference_models.count(*model) > 0) {
    auto created = co_await KeyedCreate(c, *model, values->as_record());
    if (auto* f = std::get_if<Fail>(&created)) co_return FromFail(*f);
    out["id"] = Value(std::get<Keyed>(created).id);
  } else {
    RF_ODOO_TRY(r, c.Create(*model, values->as_record()));
    out["id"] = r.value;
  }
  co_return CallResult::Success(Value(std::move(out)));
}

asio::awaitable<CallResult> WriteRecords(Session& c, const Value& in) {
  auto model = InputText(in, "model");
  if (!model) co_return Missing("model");
  auto ids = InputIds(in);
  if (!ids) co_return Missing("ids");
  const Value* values = in.Find("values");
  if (values == nullptr || !values->is_record()) co_return Missing("values");
  RF_ODOO_TRY(r, c.Write(*model, *ids, values->as_record()));
  Record out;
  out["written"] = Value(true);
  co_return CallResult::Success(Value(std::move(out)));
}

asio::awaitable<CallResult> CallMethod(Session& c, const Value& in) {
  auto model = InputText(in, "model");
  if (!model) co_return Missing("model");
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
  Record out;
  out["result"] = r.value;
  co_return CallResult::Success(Value(std::move(out)));
}

constexpr const char* kSearchRead = R"json(
  {"description": "Generic ORM search_read on any model.",
   "side_effects": false,
   "input": [{"name": "model", "type": "text"}, {"name": "domain", "type": "list", "required": false},
             {"name": "fields", "type": "list", "required": false},
             {"name": "limit", "type": "number", "required": false},
             {"name": "offset", "type": "number", "required": false},
             {"name": "order", "type": "text", "required": false}],
   "output": [{"name": "records", "type": "list"}]})json";

constexpr const char* kRead = R"json(
  {"description": "Generic ORM read of records by id.", "side_effects": false,
   "input": [{"name": "model", "type": "text"}, {"name": "ids", "type": "list"},
             {"name": "fields", "type": "list", "required": false}],
   "output": [{"name": "records", "type": "list"}]})json";

constexpr const char* kCreate = R"json(
  {"description": "Generic ORM create; idempotent on the step's key for the reference models.",
   "input": [{"name": "model", "type": "text"}, {"name": "values", "type": "record"}],
   "output": [{"name": "id", "type": "number"}]})json";

constexpr const char* kWrite = R"json(
  {"description": "Generic ORM write.",
   "input": [{"name": "model", "type": "text"}, {"name": "ids", "type": "list"},
             {"name": "values", "type": "record"}],
   "output": [{"name": "written", "type": "bool"}]})json";

constexpr const char* kCall = R"json(
  {"description": "Call a public model method (JSON-2 takes named arguments only).",
   "input": [{"name": "model", "type": "text"}, {"name": "method", "type": "text"},
             {"name": "ids", "type": "list", "required": false},
             {"name": "args", "type": "list", "required": false},
             {"name": "kwargs", "type": "record", "required": false}],
   "output": [{"name": "result", "type": "any"}]})json";

}  // namespace

const std::vector<Operation>& GenericOperations() {
  static const std::vector<Operation> kTable = {
      {"search_read", kSearchRead, &SearchRead},
      {"read", kRead, &ReadRecords},
      {"create", kCreate, &CreateRecord},
      {"write", kWrite, &WriteRecords},
      {"call", kCall, &CallMethod},
  };
  return kTable;
}

}  // namespace rf::connectors::odoo
