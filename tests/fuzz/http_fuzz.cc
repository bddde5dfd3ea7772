// libFuzzer target over the service's request path, without sockets: arbitrary bytes are one
// connection's byte stream, fed in pieces to RequestReader (framing and limits, as a session
// does), each complete request's target through DecodeTarget, then through Api::Handle (router,
// Authorization header, JSON bodies) on a real engine over an in-memory store.
//
// Properties (abort on violation): every request gets exactly one answer; its status is a real
// HTTP status and never 500; an error's body is the API's shape {"error":{"code","message"}};
// every JSON body is valid JSON (hence valid UTF-8). The first input byte chooses the size of
// the pieces, and the same bytes framed in one piece must give the same requests and refusals.
// Built as a fuzzer with -DRF_FUZZ=ON (clang); the same entry point replays tests/fuzz/http_corpus
// in every build (http_replay_test.cc). RF_HTTP_FUZZ_TRACE=1 prints each answer's status and code.
#include <boost/asio/io_context.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dsl/catalog.h"
#include "engine/clock.h"
#include "engine/engine.h"
#include "server/api.h"
#include "server/auth.h"
#include "server/metrics.h"
#include "server/request_reader.h"
#include "server/request_target.h"
#include "server/webhooks.h"
#include "server/workflows.h"
#include "state/state_store.h"

namespace {

using namespace rf;
using namespace rf::server;

// Seeds use these tokens (tests/fuzz/http_corpus/README.md).
const char* kAdminToken = "fuzz-admin";
const char* kApproverToken = "fuzz-approver";
const char* kWebhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

class NoConnectors : public engine::ConnectorRegistry {
 public:
  engine::Connector* Find(const std::string&) override { return nullptr; }
};

// The service's parts, wired as service.cc does, on an io_context run by one thread of its own
// (the engine's work and callbacks run there, as on the service's threads).
struct World {
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::thread runner{[this] { io.run(); }};
  state::MemoryStore store;
  engine::ManualClock clock{Time{1767225600000}};  // 2026-01-01
  NoConnectors connectors;
  Metrics metrics;
  std::unique_ptr<engine::Engine> engine;
  std::unique_ptr<WorkflowLibrary> workflows;
  std::unique_ptr<TokenStore> tokens;
  std::unique_ptr<WebhookIngress> webhooks;
  std::unique_ptr<Api> api;

  World() {
    engine = std::make_unique<engine::Engine>(io, &store, &clock, &connectors, engine::EngineOptions{});
    if (!engine->Recover().ok()) std::abort();
    workflows = std::make_unique<WorkflowLibrary>(engine.get(), dsl::Catalog{});
    for (const char* flow : {"workflow order version 1\ninput id text\n"
                             "approval ok\n  ask store_manager \"Approve {input.id}?\"\n"
                             "  if nobody decides within 4h go to late\n  if approved go to wait_pickup\n"
                             "  if rejected go to late\n"
                             "wait wait_pickup\n  for event picked where key == input.id within 2 days\n"
                             "  on timeout go to late\n"
                             "finish\nfail late \"late\"\n"}) {
      DeployOutcome o = workflows->Deploy(flow, "fuzz");
      if (!o.ok()) {
        std::fprintf(stderr, "fuzz world: %s\n%s\n", o.error.c_str(), o.diagnostics_text.c_str());
        std::abort();
      }
    }
    std::vector<TokenConfig> t;
    t.push_back(TokenConfig{"admin", Sha256Hex(kAdminToken), {"admin"}});
    t.push_back(TokenConfig{"approver", Sha256Hex(kApproverToken), {"approver:store_manager"}});
    tokens = std::make_unique<TokenStore>(nullptr, t);
    WebhookSource pos;
    pos.name = "pos";
    pos.secrets = {kWebhookSecret};
    pos.routes = {{"order.created", "start", "order", "", "/data/id", "/data"},
                  {"order.picked", "event", "", "picked", "/data/id", "/data"}};
    webhooks = std::make_unique<WebhookIngress>(std::map<std::string, WebhookSource>{{"pos", pos}}, &store,
                                                engine.get(), &metrics);
    ApiDeps deps;
    deps.engine = engine.get();
    deps.tokens = tokens.get();
    deps.metrics = &metrics;
    deps.workflows = workflows.get();
    deps.webhooks = webhooks.get();
    deps.ready = [] { return true; };
    deps.connectors = [] { return nlohmann::json::array(); };
    deps.now = [this] { return clock.Now(); };
    deps.advance_clock = [this](Duration d) {
      clock.Advance(d);
      engine->Tick();
      return clock.Now();
    };
    deps.limits.token_rate_per_second = 1e9;  // rate limiting is not what is fuzzed
    deps.limits.token_burst = 1e9;
    api = std::make_unique<Api>(std::move(deps));
  }
};

World& TheWorld() {
  static World* w = new World();  // never destroyed: libFuzzer exits without unwinding
  return *w;
}

void CheckResponse(const HttpResponse& r) {
  static const bool trace = std::getenv("RF_HTTP_FUZZ_TRACE") != nullptr;
  if (trace) std::fprintf(stderr, "  -> %d %s\n", r.status, r.body.substr(0, 120).c_str());
  if (r.status < 200 || r.status > 599) std::abort();
  if (r.status == 500) {
    std::fprintf(stderr, "500: %s\n", r.body.c_str());
    std::abort();
  }
  if (r.content_type != "application/json") return;
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded()) {
    std::fprintf(stderr, "not JSON: %s\n", r.body.c_str());
    std::abort();
  }
  if (r.status >= 400) {
    const auto& e = j.is_object() ? j.value("error", nlohmann::json()) : nlohmann::json();
    if (!e.is_object() || !e.value("code", nlohmann::json()).is_string() ||
        !e.value("message", nlohmann::json()).is_string()) {
      std::fprintf(stderr, "not the error shape: %s\n", r.body.c_str());
      std::abort();
    }
  }
}

// What a session does with one complete request, minus the socket.
void Serve(World& w, HttpRequest req) {
  if (FramingRefusal bad = CheckRequestContent(req); bad.status != 0)
    return CheckResponse(ErrorResponse(bad.status, bad.code, bad.message));
  struct Answer {
    std::mutex mu;
    std::condition_variable cv;
    int count = 0;
    HttpResponse response;
  };
  auto answer = std::make_shared<Answer>();
  w.api->Handle(std::move(req), [answer](HttpResponse r) {
    std::lock_guard<std::mutex> lock(answer->mu);
    if (++answer->count == 1) answer->response = std::move(r);
    answer->cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(answer->mu);
  // Bounded: an answer that never comes is a finding, not a hang.
  if (!answer->cv.wait_for(lock, std::chrono::seconds(30), [&] { return answer->count > 0; })) {
    std::fprintf(stderr, "no answer within 30 s\n");
    std::abort();
  }
  // Most handlers answer before Handle returns; the engine's, on the io thread soon after. A
  // second answer would arrive through the same callback and is caught on the next request.
  if (answer->count != 1) {
    std::fprintf(stderr, "%d answers\n", answer->count);
    std::abort();
  }
  CheckResponse(answer->response);
}

// Frames one connection's bytes fed `piece` bytes at a time; returns what came out, in order
// ("request METHOD TARGET BODY-BYTES" or "refused STATUS CODE"), serving each request when
// `world` is given. At most 8 requests, as a bound on the work per input.
std::vector<std::string> Frame(const uint8_t* data, size_t size, size_t piece, World* world) {
  std::vector<std::string> out;
  FramingLimits limits;
  limits.max_body_bytes = 64 * 1024;
  RequestReader reader(limits);
  size_t pos = 0;
  while (out.size() < 8) {
    RequestReader::Progress p = reader.Parse();
    if (p == RequestReader::Progress::kRefused) {
      const FramingRefusal& r = reader.refusal();
      if (r.status < 400 || r.status > 599 || r.code.empty() || r.message.empty()) std::abort();
      CheckResponse(ErrorResponse(r.status, r.code, r.message));
      out.push_back("refused " + std::to_string(r.status) + " " + r.code);
      break;
    }
    if (p == RequestReader::Progress::kComplete) {
      HttpRequest req = reader.TakeRequest();
      out.push_back("request " + req.method + " " + req.target + " " + std::to_string(req.body.size()));
      if (world) Serve(*world, std::move(req));
      reader.Next();
      continue;
    }
    if (pos >= size) break;  // the connection ends here
    size_t n = std::min(piece, size - pos);
    auto buf = reader.buffer().prepare(n);
    std::memcpy(buf.data(), data + pos, n);
    reader.buffer().commit(n);
    pos += n;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || size > 256 * 1024) return 0;
  size_t piece = 1 + data[0] * 67;  // 1 .. 17086 bytes per read
  ++data, --size;
  std::vector<std::string> served = Frame(data, size, piece, &TheWorld());
  // Property: how the bytes were cut into reads changes nothing.
  std::vector<std::string> whole = Frame(data, size, size + 1, nullptr);
  if (served != whole) {
    std::fprintf(stderr, "framing depends on the read size %zu:\n", piece);
    for (size_t i = 0; i < std::max(served.size(), whole.size()); ++i)
      std::fprintf(stderr, "  %s | %s\n", i < served.size() ? served[i].c_str() : "-",
                   i < whole.size() ? whole[i].c_str() : "-");
    std::abort();
  }
  return 0;
}
