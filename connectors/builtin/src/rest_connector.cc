// The `http` and `webhook` connectors: configured REST operations over http::Client.
// See http_connector.h and webhook_connector.h for the settings, rest_settings.h for their
// parsed form.
//
// Structure: creation parses the settings into an immutable RestShared (operations, templates,
// headers, secrets, the in-progress rule) plus the Client. Invoke renders one Exchange from the
// templates and the invocation and sends it; the answer (status, body) maps to a CallResult.
// An answer saying that an earlier request with the same idempotency key is still being
// processed (in_progress.h) is not a result: the same request goes out again after a wait, as
// long as the call's deadline leaves room, so that a call re-dispatched after a crash gets the
// first attempt's stored answer instead of an error. Callbacks hold shared_ptrs to RestShared and
// the Exchange, so they are safe whatever the connector's lifetime.
#include <algorithm>
#include <chrono>
#include <map>
#include <optional>

#include "common/time_text.h"
#include "connectors/builtin/http_client.h"
#include "connectors/builtin/http_connector.h"
#include "connectors/builtin/src/rest_settings.h"
#include "connectors/builtin/standard_webhooks.h"
#include "connectors/builtin/webhook_connector.h"
#include "connectors/deadline.h"

namespace rf::connectors {
namespace {

using nlohmann::json;
using engine::CallResult;
using engine::Invocation;
using Clock = std::chrono::steady_clock;

constexpr size_t kExcerptBytes = 200;

// One call: the request as rendered once (resent unchanged, except a webhook's timestamp and
// signature, which are fresh on every attempt), and what its completion needs.
struct Exchange {
  std::string operation;
  std::string invocation_id;
  std::string what;        // "POST /v1/x", for messages
  std::string webhook_id;  // webhook mode
  bool keyed = false;      // carries an idempotency key the server can recognise
  http::Request request;
  Clock::time_point deadline;
  int in_progress_answers = 0;
  std::function<void(CallResult)> done;
};

std::string Excerpt(const std::string& body) {
  std::string e = body.substr(0, kExcerptBytes);
  for (char& c : e) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (body.size() > kExcerptBytes) e += "...";
  return e;
}

bool IsBlank(const std::string& s) {
  return s.find_first_not_of(" \t\r\n") == std::string::npos;
}

// Maps an answer to a CallResult. `what` = "POST /v1/x" for messages.
CallResult MapResponse(const RestShared& s, const RestOperation& op, const http::Response& r,
                       const std::string& what, const std::string& webhook_id) {
  std::string kind;
  auto override_it = op.statuses.find(r.status);
  if (override_it != op.statuses.end()) {
    kind = override_it->second;
  } else if (r.status >= 200 && r.status < 300) {
    kind = "ok";
  } else if (r.status == 404) {
    kind = "not_found";
  } else if (r.status == 409) {
    kind = "conflict";
  } else if (s.retryable.count(r.status)) {
    kind = "unavailable";
  } else if (r.status >= 500) {
    kind = "unavailable";
  } else {
    kind = "rejected";  // other 4xx, and 1xx/3xx (redirects are not followed)
  }
  if (kind != "ok") {
    std::string msg = "HTTP " + std::to_string(r.status) + " from " + what;
    if (!IsBlank(r.body)) msg += ": " + Excerpt(r.body);
    return CallResult::Failure(kind, s.Redact(msg));
  }

  // Success: parse the body (exact numbers) and map it.
  Value body = Value(Record{});
  if (!IsBlank(r.body)) {
    auto parsed = Value::FromJson(r.body);
    if (parsed.ok()) {
      body = std::move(*parsed);
    } else if (s.mode == RestMode::kHttp) {
      return CallResult::Failure(
          "unavailable", s.Redact("malformed response from " + what + " (HTTP " +
                                  std::to_string(r.status) + "): not JSON: " + Excerpt(r.body)));
    }
  }
  if (op.response) {
    Record out;
    for (const auto& [field, pointer] : *op.response) {
      if (const Value* v = tmpl::JsonPointer(body, pointer)) out.emplace(field, *v);
    }
    return CallResult::Success(Value(std::move(out)));
  }
  if (s.mode == RestMode::kWebhook) {
    Record out;
    out.emplace("webhook_id", Value(webhook_id));
    out.emplace("status", Value(r.status));
    return CallResult::Success(Value(std::move(out)));
  }
  if (!body.is_record()) {
    return CallResult::Failure("unavailable",
                               s.Redact("malformed response from " + what +
                                        ": expected a JSON object, got " +
                                        Value::KindName(body.kind())));
  }
  return CallResult::Success(std::move(body));
}

CallResult MapFailure(const RestShared& s, const http::Failure& f, const std::string& what) {
  switch (f.kind) {
    case http::FailureKind::kTimeout:
      return CallResult::Failure("timeout", s.Redact(what + ": " + f.message));
    case http::FailureKind::kUnavailable:
      return CallResult::Failure("unavailable", s.Redact(what + ": " + f.message));
    case http::FailureKind::kProtocol:
      return CallResult::Failure("unavailable",
                                 s.Redact(what + ": protocol error: " + f.message));
  }
  return CallResult::Failure("internal", "unknown transport failure");
}

void Send(const std::shared_ptr<RestShared>& s, const std::shared_ptr<Exchange>& x);

// Completes `x` with `r`, or, when `r` says the key is still in progress at the server, sends it
// again after a wait that ends before the deadline.
void OnResponse(const std::shared_ptr<RestShared>& s, const std::shared_ptr<Exchange>& x,
                const http::Response& r) {
  if (!x->keyed || !s->in_progress.Matches(r)) {
    x->done(MapResponse(*s, s->operations.find(x->operation)->second, r, x->what, x->webhook_id));
    return;
  }
  ++x->in_progress_answers;
  auto wait = s->in_progress.WaitAfter(x->in_progress_answers, r);
  if (Clock::now() + wait >= x->deadline) {
    x->done(CallResult::Failure(
        "timeout", s->Redact("HTTP " + std::to_string(r.status) + " from " + x->what +
                             ": an earlier request with the same idempotency key was still being "
                             "processed when the deadline came (" +
                             std::to_string(x->in_progress_answers) + " answers 'in progress')")));
    return;
  }
  auto timer = std::make_shared<boost::asio::steady_timer>(*s->io, wait);
  auto cancelled = std::make_shared<std::atomic<bool>>(false);
  bool registered = false;
  {
    std::lock_guard lock(s->waits_mu);  // Shutdown() cancels every wait registered before it
    if (!s->shut_down.load()) {
      s->waits.emplace(timer.get(), PendingWait{x->invocation_id, timer, cancelled});
      registered = true;
    }
  }
  if (!registered) {
    x->done(CallResult::Failure("unavailable", "connector '" + s->name + "' is shut down"));
    return;
  }
  timer->async_wait([s, x, timer, cancelled](boost::system::error_code ec) {
    {
      std::lock_guard lock(s->waits_mu);
      s->waits.erase(timer.get());
    }
    if (cancelled->load()) {
      x->done(CallResult::Failure("timeout", s->Redact(x->what + ": cancelled by the caller while "
                                                       "the server was still processing an "
                                                       "earlier request with the same key")));
    } else if (ec || s->shut_down.load()) {
      x->done(CallResult::Failure("unavailable", "connector '" + s->name + "' is shut down"));
    } else {
      Send(s, x);
    }
  });
}

void Send(const std::shared_ptr<RestShared>& s, const std::shared_ptr<Exchange>& x) {
  http::Request req = x->request;
  if (s->mode == RestMode::kWebhook) {
    // The receiver checks the timestamp against its own wall clock (replay protection), so it
    // is real time, whatever the deployment's clock says.
    std::int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
    auto sig = standard_webhooks::Sign(s->webhook_secret, x->webhook_id, now_s, req.body);
    if (!sig) {
      x->done(CallResult::Failure("internal", "cannot sign the webhook (invalid secret)"));
      return;
    }
    req.headers.emplace_back("webhook-timestamp", std::to_string(now_s));
    req.headers.emplace_back("webhook-signature", *sig);
  }
  s->client->Send(std::move(req), [s, x](std::variant<http::Response, http::Failure> result) {
    if (auto* r = std::get_if<http::Response>(&result)) {
      OnResponse(s, x, *r);
    } else {
      CallResult failed = MapFailure(*s, std::get<http::Failure>(result), x->what);
      if (x->in_progress_answers > 0) {
        failed.message += " (earlier: " + std::to_string(x->in_progress_answers) +
                          " answers that a request with the same idempotency key was still being "
                          "processed)";
      }
      x->done(std::move(failed));
    }
  });
}

class RestConnector final : public ConnectorInstance {
 public:
  explicit RestConnector(std::shared_ptr<RestShared> s) : s_(std::move(s)) {}
  ~RestConnector() override { Shutdown(); }

  json Describe() const override { return s_->describe; }

  void Shutdown() override {
    if (s_->shut_down.exchange(true)) return;
    s_->client->Shutdown();
    std::lock_guard lock(s_->waits_mu);
    for (auto& [ptr, wait] : s_->waits) wait.timer->cancel();
  }

  // Stops waiting for a key still in progress at the server (the call then completes with
  // `timeout`). A request already on the wire runs to its own deadline.
  void Cancel(const std::string& invocation_id) override {
    std::lock_guard lock(s_->waits_mu);
    for (auto& [ptr, wait] : s_->waits) {
      if (wait.invocation_id != invocation_id) continue;
      wait.cancelled->store(true);
      wait.timer->cancel();
    }
  }

  void Invoke(const Invocation& call, std::function<void(CallResult)> done) override {
    if (s_->shut_down.load()) {
      done(CallResult::Failure("unavailable", "connector '" + s_->name + "' is shut down"));
      return;
    }
    auto it = s_->operations.find(call.operation);
    if (it == s_->operations.end()) {
      done(CallResult::Failure("internal", "connector '" + s_->name +
                                               "' has no operation '" + call.operation + "'"));
      return;
    }
    const RestOperation& op = it->second;
    Record call_rec;
    call_rec.emplace("idempotency_key", Value(call.idempotency_key));
    call_rec.emplace("correlation_id", Value(call.correlation_id));
    call_rec.emplace("instance_id", Value(call.instance_id));
    call_rec.emplace("operation", Value(call.operation));
    call_rec.emplace("attempt", Value(call.attempt));
    Record roots_rec;
    roots_rec.emplace("input", call.input.is_null() ? Value(Record{}) : call.input);
    roots_rec.emplace("call", Value(std::move(call_rec)));
    const Value roots(std::move(roots_rec));

    auto reject = [&](const std::string& m) {
      done(CallResult::Failure("rejected", s_->Redact("cannot build the request of " + s_->name +
                                                      "." + op.name + ": " + m)));
    };
    auto path = op.path.Render(roots, /*percent_encode=*/true, /*required=*/true);
    if (!path.ok()) return reject(path.status().message() + " (needed by the path)");
    std::string target = *path;
    std::string query;
    for (const auto& [key, t] : op.query) {
      if (t.IsSinglePlaceholder()) {
        const Value* v = t.SingleValue(roots);
        if (v == nullptr || v->is_null()) continue;  // optional parameter left out
      }
      auto value = t.Render(roots, false, false);
      if (!value.ok()) return reject(value.status().message());
      query += (query.empty() ? "" : "&") + http::PercentEncode(key) + "=" +
               http::PercentEncode(*value);
    }
    if (!query.empty()) target += (target.find('?') == std::string::npos ? "?" : "&") + query;

    auto x = std::make_shared<Exchange>();
    x->operation = op.name;
    x->invocation_id = call.invocation_id;
    x->what = op.method + " " + (target.empty() ? "/" : target);
    http::Request& req = x->request;
    req.method = op.method;
    req.url = http::JoinUrl(s_->base_url, target);

    // Body.
    bool has_body = op.method == "POST" || op.method == "PUT" || op.method == "PATCH";
    Value data;
    if (op.body) {
      auto b = op.body->Render(roots);
      if (!b.ok()) return reject(b.status().message());
      data = std::move(*b);
      has_body = true;
    } else if (has_body) {
      data = roots.Find("input") ? *roots.Find("input") : Value(Record{});
    }
    auto wall_now = std::chrono::system_clock::now();  // the envelope's time: see Send
    if (s_->mode == RestMode::kWebhook) {
      std::int64_t now_s =
          std::chrono::duration_cast<std::chrono::seconds>(wall_now.time_since_epoch()).count();
      Record envelope;
      envelope.emplace("type", Value(op.event_type));
      envelope.emplace("timestamp", Value(FormatTime(Time{now_s * 1000})));
      envelope.emplace("data", std::move(data));
      req.body = Value(std::move(envelope)).ToJson();
      x->webhook_id = call.idempotency_key.empty() ? call.invocation_id : call.idempotency_key;
      x->keyed = !x->webhook_id.empty();
      req.headers.emplace_back("webhook-id", x->webhook_id);
    } else if (has_body) {
      req.body = data.ToJson();
    }

    // Headers: configured (with auth), then per operation, then the fixed ones.
    req.headers.insert(req.headers.end(), s_->headers.begin(), s_->headers.end());
    for (const auto& [key, t] : op.headers) {
      auto value = t.Render(roots, false, false);
      if (!value.ok()) return reject(value.status().message());
      req.headers.emplace_back(key, *value);
    }
    if (!call.idempotency_key.empty()) {
      req.headers.emplace_back("Idempotency-Key", call.idempotency_key);
      x->keyed = true;
    }
    if (!call.correlation_id.empty()) {
      req.headers.emplace_back("X-Correlation-Id", call.correlation_id);
    }
    req.headers.emplace_back("Content-Type", "application/json");
    req.headers.emplace_back("Accept", "application/json");
    req.headers.emplace_back("User-Agent", "retailflow/0.1");

    // Deadline: the budget left on the deployment's clock, from now in real time; it bounds
    // every attempt and every wait of this call.
    x->deadline = call.deadline.ms > 0 ? RealDeadline(call.deadline, *s_->clock)
                                       : Clock::now() + s_->default_timeout;
    req.deadline = x->deadline;
    x->done = std::move(done);
    Send(s_, x);
  }

 private:
  std::shared_ptr<RestShared> s_;
};

Result<std::unique_ptr<ConnectorInstance>> Make(const InstanceConfig& config,
                                                boost::asio::io_context& io, RestMode mode) {
  try {
    auto shared = ParseRestSettings(config, io, mode);
    if (!shared.ok()) return shared.status();
    return std::unique_ptr<ConnectorInstance>(new RestConnector(std::move(*shared)));
  } catch (const std::exception& e) {  // nlohmann type errors on unexpected shapes
    return Status::InvalidArgument("connector '" + config.name + "': invalid settings: " +
                                   e.what());
  }
}

}  // namespace

Result<std::unique_ptr<ConnectorInstance>> MakeHttpConnector(const InstanceConfig& config,
                                                             boost::asio::io_context& io) {
  return Make(config, io, RestMode::kHttp);
}

Result<std::unique_ptr<ConnectorInstance>> MakeWebhookConnector(const InstanceConfig& config,
                                                                boost::asio::io_context& io) {
  return Make(config, io, RestMode::kWebhook);
}

}  // namespace rf::connectors
