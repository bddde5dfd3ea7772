#include "server/webhooks.h"

#include <nlohmann/json.hpp>

#include "common/json_reader.h"
#include "connectors/builtin/standard_webhooks.h"
#include "state/keys.h"

namespace rf::server {

using nlohmann::json;
namespace sw = rf::connectors::standard_webhooks;

namespace {

// RFC 6901 JSON pointer over a Value ("" = the whole document).
const Value* Pointer(const Value& doc, const std::string& pointer) {
  const Value* cur = &doc;
  size_t i = 0;
  if (pointer.empty()) return cur;
  if (pointer[0] != '/') return nullptr;
  while (i < pointer.size() && cur) {
    size_t j = pointer.find('/', i + 1);
    if (j == std::string::npos) j = pointer.size();
    std::string token = pointer.substr(i + 1, j - i - 1);
    for (size_t p = 0; (p = token.find('~', p)) != std::string::npos; ++p)
      token.replace(p, 2, p + 1 < token.size() && token[p + 1] == '1' ? "/" : "~");
    if (cur->is_record()) {
      cur = cur->Find(token);
    } else if (cur->is_list()) {
      char* end = nullptr;
      unsigned long idx = std::strtoul(token.c_str(), &end, 10);
      cur = (end && *end == '\0' && !token.empty() && idx < cur->as_list().size()) ? &cur->as_list()[idx] : nullptr;
    } else {
      cur = nullptr;
    }
    i = j;
  }
  return cur;
}

std::string Header(const HttpRequest& r, const char* name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? std::string() : it->second;
}

HttpResponse Ok(json body) {
  HttpResponse r;
  r.status = 200;
  r.body = body.dump();
  return r;
}

}  // namespace

WebhookIngress::WebhookIngress(std::map<std::string, WebhookSource> sources, state::StateStore* store,
                               engine::Engine* engine, Metrics* metrics)
    : sources_(std::move(sources)), store_(store), engine_(engine), metrics_(metrics) {
  metrics_->Declare("retailflow_webhooks_total", Metrics::Type::kCounter,
                    "Webhook deliveries by source and outcome (accepted, duplicate, ignored, rejected) and reason.");
}

void WebhookIngress::Reject(const std::string& source, const std::string& reason, int status,
                            const std::string& message, const Respond& respond) {
  metrics_->Add("retailflow_webhooks_total", {{"source", source}, {"outcome", "rejected"}, {"reason", reason}});
  respond(ErrorResponse(status, status == 401 ? "unauthenticated" : reason, message));
}

void WebhookIngress::Handle(const std::string& source_name, const HttpRequest& request,
                            std::int64_t now_seconds, Respond respond) {
  auto src = sources_.find(source_name);
  // An unknown source answers like a bad signature: the sender learns nothing about what exists.
  if (src == sources_.end()) return Reject("unknown", "unknown_source", 401, "webhook signature not valid", respond);
  const WebhookSource& source = src->second;
  std::string id = Header(request, "webhook-id");
  auto v = sw::Verify(source.secrets, id, Header(request, "webhook-timestamp"),
                      Header(request, "webhook-signature"), request.body, now_seconds,
                      source.tolerance_seconds);
  if (!v.ok) return Reject(source_name, "signature", 401, "webhook not accepted: " + v.error, respond);

  auto parsed = ParseJson(request.body);
  if (!parsed.ok())
    return Reject(source_name, "malformed", 400, std::string("the webhook body is not accepted: ") + parsed.error->message,
                  respond);
  const Value* doc = &parsed.value;
  if (!doc->is_record())
    return Reject(source_name, "malformed", 400, "the webhook body is not a JSON object", respond);
  std::string type;
  if (const Value* t = doc->Find("type"); t && t->is_text()) type = t->as_text();

  const WebhookRoute* route = nullptr;
  for (const auto& r : source.routes)
    if (r.event_type == type || r.event_type == "*") {
      route = &r;
      break;
    }

  std::string dedupe_key = state::keys::WebhookDelivery(source_name, id);
  {
    std::string seen;
    if (store_->Get(dedupe_key, &seen).ok()) {
      metrics_->Add("retailflow_webhooks_total", {{"source", source_name}, {"outcome", "duplicate"}, {"reason", ""}});
      json prior = json::parse(seen, nullptr, false);
      json body{{"status", "duplicate"}, {"webhook_id", id}};
      if (prior.is_object() && prior.contains("instance")) body["instance"] = prior["instance"];
      return respond(Ok(body));
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (!in_progress_.insert(source_name + "/" + id).second) {
      // The same delivery is being acted on right now: ask the sender to come back.
      HttpResponse r = ErrorResponse(409, "in_progress", "this webhook-id is being processed");
      r.headers.emplace_back("Retry-After", "1");
      metrics_->Add("retailflow_webhooks_total", {{"source", source_name}, {"outcome", "duplicate"}, {"reason", "in_progress"}});
      return respond(std::move(r));
    }
  }
  auto release = [this, key = source_name + "/" + id] {
    std::lock_guard<std::mutex> lock(mu_);
    in_progress_.erase(key);
  };
  auto remember = [this, dedupe_key, now_seconds](const json& outcome) {
    state::WriteBatch b;
    json rec = outcome;
    rec["received_at"] = now_seconds;
    b.Put(dedupe_key, rec.dump());
    return store_->Commit(b);
  };

  if (!route || route->action == "ignore") {
    Status s = remember({{"status", "ignored"}});
    release();
    if (!s.ok()) return respond(ErrorResponse(503, "unavailable", "could not record the delivery; retry"));
    metrics_->Add("retailflow_webhooks_total", {{"source", source_name}, {"outcome", "ignored"}, {"reason", type}});
    return respond(Ok({{"status", "ignored"}, {"type", type}}));
  }

  const Value* key = Pointer(*doc, route->key_pointer);
  if (!key || key->is_null() || key->ToDisplayString().empty()) {
    release();
    return Reject(source_name, "missing_key", 422, "the webhook has no value at " + route->key_pointer, respond);
  }
  std::string key_text = key->ToDisplayString();
  const Value* data = Pointer(*doc, route->data_pointer);
  Value payload = data ? *data : Value(Record{});

  if (route->action == "start") {
    engine::StartRequest req;
    req.workflow = route->workflow;
    req.input = std::move(payload);
    req.business_key = key_text;
    engine_->Start(std::move(req), [this, respond, release, remember, source_name, id](Result<engine::StartResult> r) {
      if (!r.ok()) {
        release();
        int st = r.status().code() == Status::Code::kInvalidArgument || r.status().code() == Status::Code::kNotFound ? 422 : 503;
        // A 422 explains the input (engine text); a 503 never shows store details.
        return Reject(source_name, st == 422 ? "refused" : "unavailable", st,
                      st == 422 ? r.status().message() : "the delivery could not be acted on now; retry", respond);
      }
      Status s = remember({{"status", "accepted"}, {"instance", r->instance_id}});
      release();
      if (!s.ok()) return respond(ErrorResponse(503, "unavailable", "could not record the delivery; retry"));
      metrics_->Add("retailflow_webhooks_total",
                    {{"source", source_name}, {"outcome", r->created ? "accepted" : "duplicate"}, {"reason", r->created ? "" : "business_key"}});
      respond(Ok({{"status", r->created ? "accepted" : "duplicate"}, {"webhook_id", id}, {"instance", r->instance_id}}));
    });
    return;
  }
  engine_->DeliverEvent(route->event, key_text, std::move(payload),
                        [this, respond, release, remember, source_name, id](Result<int> r) {
                          if (!r.ok()) {
                            release();
                            return Reject(source_name, "unavailable", 503, "the delivery could not be acted on now; retry",
                                          respond);
                          }
                          Status s = remember({{"status", "accepted"}, {"delivered_to", *r}});
                          release();
                          if (!s.ok()) return respond(ErrorResponse(503, "unavailable", "could not record the delivery; retry"));
                          metrics_->Add("retailflow_webhooks_total", {{"source", source_name}, {"outcome", "accepted"}, {"reason", ""}});
                          respond(Ok({{"status", "accepted"}, {"webhook_id", id}, {"delivered_to", *r}}));
                        });
}

Result<size_t> WebhookIngress::SweepOldDeliveries(std::int64_t now_seconds) {
  state::WriteBatch batch;
  size_t n = 0;
  Status s = store_->ScanPrefix(state::keys::WebhookDeliveryPrefix(), [&](std::string_view k, std::string_view v) {
    auto delivery = state::keys::ParseWebhookDelivery(k);
    auto src = delivery ? sources_.find(delivery->source) : sources_.end();
    std::int64_t keep = 2 * (src == sources_.end() ? 300 : src->second.tolerance_seconds);
    json rec = json::parse(v, nullptr, false);
    std::int64_t at = rec.is_object() ? rec.value("received_at", std::int64_t{0}) : 0;
    if (at < now_seconds - keep) {
      batch.Delete(std::string(k));
      ++n;
    }
    return n < 100000;
  });
  if (!s.ok()) return s;
  if (n == 0) return n;
  if (Status c = store_->Commit(batch); !c.ok()) return c;
  return n;
}

}  // namespace rf::server
