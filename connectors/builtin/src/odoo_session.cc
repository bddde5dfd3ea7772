// The JSON-RPC / JSON-2 session of the `odoo` connector (see odoo_session.h).
#include "connectors/builtin/src/odoo_session.h"

// GCC 12 reports Boost.Asio's coroutine frame allocator (recycling operator new/delete pair) as
// mismatched at the end of every coroutine: a false positive for this translation unit.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <boost/asio/async_result.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "connectors/deadline.h"

namespace rf::connectors::odoo {

namespace asio = boost::asio;
using engine::Invocation;

Value IdList(const std::vector<std::int64_t>& ids) {
  List l;
  for (auto id : ids) l.emplace_back(Value(id));
  return Value(std::move(l));
}

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

Rpc RpcFail(std::string kind, std::string message, bool auth) {
  Rpc r;
  r.error = Fail{std::move(kind), std::move(message)};
  r.auth = auth;
  return r;
}

namespace {

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

}  // namespace

Session::Session(std::shared_ptr<Shared> s, const Invocation& call) : s_(std::move(s)) {
  key_ = call.idempotency_key.empty() ? call.invocation_id : call.idempotency_key;
  // Both deadlines are on the deployment's clock: what is left of them now, in real time.
  auto start = std::chrono::steady_clock::now();
  deadline_ = call.deadline.ms > 0 ? RealDeadline(call.deadline, *s_->clock, start)
                                   : start + s_->default_timeout;
  if (call.previous_attempt_deadline.ms > 0) {
    previous_deadline_ = RealDeadline(call.previous_attempt_deadline, *s_->clock, start);
  }
}

asio::awaitable<Rpc> Session::Exec(std::string model, std::string method,
                                   std::optional<std::vector<std::int64_t>> ids, Record named,
                                   Record context) {
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

asio::awaitable<Rpc> Session::SearchRead(std::string model, Value domain, std::string fields,
                                         int limit, std::string order) {
  Record named;
  named["domain"] = std::move(domain);
  named["fields"] = FieldList(fields);
  if (limit > 0) named["limit"] = Value(limit);
  if (!order.empty()) named["order"] = Value(std::move(order));
  co_return co_await Exec(std::move(model), "search_read", std::nullopt, std::move(named));
}

asio::awaitable<Rpc> Session::Read(std::string model, std::vector<std::int64_t> ids,
                                   std::string fields) {
  Record named;
  named["fields"] = FieldList(fields);
  co_return co_await Exec(std::move(model), "read", std::move(ids), std::move(named));
}

asio::awaitable<Rpc> Session::Create(std::string model, Record vals) {
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

asio::awaitable<Rpc> Session::Write(std::string model, std::vector<std::int64_t> ids, Record vals) {
  Record named;
  named["vals"] = Value(std::move(vals));
  co_return co_await Exec(std::move(model), "write", std::move(ids), std::move(named));
}

asio::awaitable<Rpc> Session::Method(std::string model, std::string method,
                                     std::vector<std::int64_t> ids, Record context) {
  co_return co_await Exec(std::move(model), std::move(method), std::move(ids), Record{},
                          std::move(context));
}

http::Request Session::NewRequest(const std::string& path, const Value& body) {
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
asio::awaitable<std::variant<http::Response, Rpc>> Session::Send(http::Request req,
                                                                 std::string what) {
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

asio::awaitable<Rpc> Session::Authenticate() {
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

asio::awaitable<Rpc> Session::JsonRpc(std::string service, std::string method, List args,
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
    std::string msg = "HTTP " + std::to_string(resp.status) + " from Odoo /jsonrpc (" + what + ")" +
                      (IsBlank(resp.body) ? "" : ": " + Excerpt(resp.body));
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
    Rpc failed = RpcFail(
        kind, s_->Redact(message + " (" + (name.empty() ? "error" : name) + " on " + what + ")"),
        auth);
    failed.odoo_error = name;
    co_return failed;
  }
  Rpc ok;
  if (const Value* result = doc->Find("result")) ok.value = *result;
  co_return ok;
}

asio::awaitable<Rpc> Session::Json2(http::Request req, std::string what) {
  auto sent = co_await Send(std::move(req), what);
  if (auto* failed = std::get_if<Rpc>(&sent)) co_return std::move(*failed);
  const http::Response& resp = std::get<http::Response>(sent);
  auto doc = Value::FromJson(resp.body);
  if (resp.status >= 200 && resp.status < 300) {
    if (!doc.ok()) {
      co_return RpcFail("unavailable", s_->Redact("malformed JSON-2 answer from Odoo (" + what +
                                                  "): " + Excerpt(resp.body)));
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
  std::string msg = message.empty()
                        ? "HTTP " + std::to_string(resp.status) + " from Odoo (" + what + ")" +
                              (IsBlank(resp.body) ? "" : ": " + Excerpt(resp.body))
                        : message + " (" + name + " on " + what + ")";
  Rpc failed = RpcFail(kind, s_->Redact(msg));
  failed.odoo_error = name;
  co_return failed;
}

}  // namespace rf::connectors::odoo
