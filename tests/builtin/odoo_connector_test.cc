// The `odoo` connector against the real Odoo simulator (examples/sim/odoo_sim.py), started on a
// free port for each test suite, with both protocols (JSON-RPC and JSON-2).
#include "connectors/builtin/odoo_connector.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <future>
#include <sstream>
#include <string>
#include <thread>

#include "common/value.h"
#include "connectors/builtin/http_client.h"
#include "engine/clock.h"

namespace rf::connectors {
namespace {

using engine::CallResult;
using engine::Invocation;

constexpr const char* kApiKey = "odoo-test-key";

// The simulator as a child process; the port is read from its "LISTENING <port>" line.
class OdooSim {
 public:
  OdooSim() {
    int out[2];
    if (pipe(out) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      close(out[1]);
      const char* py = std::getenv("RF_PYTHON3");
      std::string script = std::string(RF_SOURCE_DIR) + "/examples/sim/odoo_sim.py";
      execlp(py ? py : "python3", "python3", script.c_str(), "--port", "0", "--api-key", kApiKey,
             static_cast<char*>(nullptr));
      _exit(127);
    }
    close(out[1]);
    std::string line;
    char c;
    pollfd p{out[0], POLLIN, 0};
    while (poll(&p, 1, 20000) > 0 && read(out[0], &c, 1) == 1 && c != '\n') line += c;
    close(out[0]);
    if (line.rfind("LISTENING ", 0) == 0) port_ = std::stoi(line.substr(10));
  }
  ~OdooSim() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

struct Env {
  OdooSim sim;
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work =
      boost::asio::make_work_guard(io);
  std::unique_ptr<http::Client> admin;
  std::thread runner;

  Env() {
    admin = std::make_unique<http::Client>(io, http::ClientOptions{});
    runner = std::thread([this] { io.run(); });
  }
  ~Env() {
    admin->Shutdown();
    work.reset();
    io.stop();
    runner.join();
  }

  // A plain HTTP exchange with the simulator (admin routes).
  std::variant<http::Response, http::Failure> Http(const std::string& method,
                                                   const std::string& path,
                                                   const std::string& body = "") {
    http::Request r;
    r.method = method;
    r.url = sim.url() + path;
    r.body = body;
    r.headers.emplace_back("Content-Type", "application/json");
    r.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    std::promise<std::variant<http::Response, http::Failure>> done;
    auto f = done.get_future();
    admin->Send(std::move(r), [&done](std::variant<http::Response, http::Failure> v) {
      done.set_value(std::move(v));
    });
    return f.get();
  }
  Value Admin(const std::string& method, const std::string& path, const std::string& body = "") {
    auto r = Http(method, path, body);
    if (auto* resp = std::get_if<http::Response>(&r)) {
      auto v = Value::FromJson(resp->body);
      if (v.ok()) return *v;
      ADD_FAILURE() << "admin " << path << ": " << resp->body;
    } else {
      ADD_FAILURE() << "admin " << path << ": " << std::get<http::Failure>(r).message;
    }
    return Value();
  }
  // Records of `model` matching a JSON domain, as the simulator's /__admin/state shows them.
  List Records(const std::string& model, const std::string& domain) {
    Value v =
        Admin("GET", "/__admin/state?model=" + model + "&domain=" + http::PercentEncode(domain));
    const Value* recs = v.Find("records");
    return recs != nullptr && recs->is_list() ? recs->as_list() : List{};
  }
};

Env* env = nullptr;

class OdooConnectorTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() { env = new Env(); }
  static void TearDownTestSuite() {
    delete env;
    env = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(env->sim.port(), 0) << "the Odoo simulator did not start";
    env->Admin("POST", "/__admin/reset", "{}");
    env->Admin("POST", "/__admin/addon", R"({"installed": true})");
    connector_ = Make(kApiKey);
    ASSERT_NE(connector_, nullptr);
  }
  void TearDown() override {
    if (connector_) connector_->Shutdown();
  }

  std::unique_ptr<ConnectorInstance> Make(const std::string& key, const std::string& url = "",
                                          const std::string& idempotency = "addon",
                                          const engine::Clock* clock = nullptr) {
    InstanceConfig config;
    config.clock = clock;
    config.name = "odoo";
    config.type = "odoo";
    config.settings = {{"url", url.empty() ? env->sim.url() : url},
                       {"db", "retail"},
                       {"login", "integration"},
                       {"api_key", key},
                       {"protocol", GetParam()},
                       {"timeout", "20s"},
                       {"idempotency", idempotency}};
    auto made = MakeOdooConnector(config, env->io);
    EXPECT_TRUE(made.ok()) << made.status().ToString();
    return made.ok() ? std::move(*made) : nullptr;
  }

  CallResult Invoke(const std::string& op, const std::string& input_json,
                    const std::string& key = "", ConnectorInstance* c = nullptr,
                    std::int64_t deadline_ms = 0) {
    Invocation call;
    call.instance_id = "inst-1";
    call.invocation_id = "inv-" + std::to_string(++counter_);
    call.idempotency_key = key.empty() ? "key-" + std::to_string(counter_) : key;
    call.connector = "odoo";
    call.operation = op;
    auto input = Value::FromJson(input_json);
    EXPECT_TRUE(input.ok()) << input_json;
    call.input = input.ok() ? *input : Value();
    if (deadline_ms > 0) {
      call.deadline = Time{std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count() +
                           deadline_ms};
    }
    std::promise<CallResult> done;
    auto f = done.get_future();
    (c ? c : connector_.get())->Invoke(call, [&done](CallResult r) {
      done.set_value(std::move(r));
    });
    return f.get();
  }

  // Starts an invocation and returns at once; `previous_deadline_ms` (from now) plays the
  // engine's re-dispatch after a restart.
  std::shared_future<CallResult> Launch(const std::string& op, const std::string& input_json,
                                        const std::string& key, ConnectorInstance* c = nullptr,
                                        std::int64_t previous_deadline_ms = 0) {
    Invocation call;
    call.instance_id = "inst-1";
    call.invocation_id = "inv-" + std::to_string(++counter_);
    call.idempotency_key = key;
    call.connector = "odoo";
    call.operation = op;
    auto input = Value::FromJson(input_json);
    EXPECT_TRUE(input.ok()) << input_json;
    call.input = input.ok() ? *input : Value();
    if (previous_deadline_ms > 0) {
      call.previous_attempt_deadline = Time{std::chrono::duration_cast<std::chrono::milliseconds>(
                                                std::chrono::system_clock::now().time_since_epoch())
                                                .count() +
                                            previous_deadline_ms};
    }
    auto done = std::make_shared<std::promise<CallResult>>();
    std::shared_future<CallResult> f = done->get_future().share();
    (c ? c : connector_.get())->Invoke(call, [done](CallResult r) {
      done->set_value(std::move(r));
    });
    return f;
  }

  // The simulator's gate on model.method: its requests [{n, state, outcome, message}].
  List GateRequests(const std::string& model, const std::string& method) {
    Value v = env->Admin("GET", "/__admin/gate");
    const Value* gates = v.Find("gates");
    if (gates == nullptr || !gates->is_list()) return {};
    for (const Value& g : gates->as_list()) {
      if (g.Find("model")->as_text() == model && g.Find("method")->as_text() == method) {
        return g.Find("requests")->as_list();
      }
    }
    return {};
  }
  void Gate(const std::string& model, const std::string& method, const std::string& command) {
    env->Admin("POST", "/__admin/gate",
               R"({"model": ")" + model + R"(", "method": ")" + method + R"(", )" + command + "}");
  }
  // Waits (bounded) until request `n` of model.method is in `state`; its outcome.
  std::string AwaitRequest(const std::string& model, const std::string& method, size_t n,
                           const std::string& state) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      List reqs = GateRequests(model, method);
      if (reqs.size() >= n && reqs[n - 1].Find("state")->as_text() == state) {
        const Value* o = reqs[n - 1].Find("outcome");
        return o != nullptr && o->is_text() ? o->as_text() : "";
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << model << "." << method << " request " << n << " never " << state;
    return "";
  }

  // The race of an operation with an earlier attempt still in flight at Odoo: the first
  // invocation's call of model.method is held at the gate after Odoo received it; a second
  // invocation with the same key (the restarted service's) runs to the end; then the held call
  // runs and is refused (`refused`), and the first invocation carries on from what the second
  // made. Returns (first, second).
  std::pair<CallResult, CallResult> Race(const std::string& model, const std::string& method,
                                         const std::string& op, const std::string& input,
                                         const std::string& key, const std::string& refused) {
    size_t base = GateRequests(model, method).size();
    Gate(model, method, R"("action": "hold", "count": 1)");
    auto first = Launch(op, input, key);
    AwaitRequest(model, method, base + 1, "held");
    CallResult second = Invoke(op, input, key);
    Gate(model, method, R"("action": "release")");
    EXPECT_EQ(AwaitRequest(model, method, base + 1, "done"), refused) << op;
    return {first.get(), second};
  }

  static std::int64_t Int(const CallResult& r, const char* field) {
    const Value* v = r.output.Find(field);
    return v != nullptr && v->is_number() ? v->as_number().ToInt64().value_or(-1) : -1;
  }
  static std::int64_t IdOfRecord(const Value& rec) {
    const Value* v = rec.Find("id");
    return v != nullptr && v->is_number() ? v->as_number().ToInt64().value_or(-1) : -1;
  }
  static std::string Text(const CallResult& r, const char* field) {
    const Value* v = r.output.Find(field);
    return v != nullptr && v->is_text() ? v->as_text() : "";
  }
  Decimal Quantity(const std::string& location, const std::string& sku) {
    CallResult r = Invoke("read_quants", R"({"location": ")" + location + R"("})");
    EXPECT_TRUE(r.ok) << r.message;
    for (const Value& item : r.output.Find("items")->as_list()) {
      if (item.Find("sku")->as_text() == sku) return item.Find("quantity")->as_number();
    }
    return Decimal(0);
  }

  std::unique_ptr<ConnectorInstance> connector_;
  int counter_ = 0;
};

INSTANTIATE_TEST_SUITE_P(Protocols, OdooConnectorTest, ::testing::Values("jsonrpc", "json2"),
                         [](const auto& info) { return info.param; });

// SKU-0001 at its catalogue price (examples/sim/simlib.py: 1999 minor units, VAT included) and
// SKU-0003 at an explicit price. The simulator's 20% sale tax is included in the price.
constexpr const char* kCreditNote = R"({
  "customer_ref": "CUST-0003", "origin": "PAR-01/0001", "currency": "EUR", "amount": 52.41,
  "lines": [{"sku": "SKU-0001", "qty": 2, "unit_price": 19.99, "tax_rate": 20},
            {"sku": "SKU-0003", "qty": 1, "unit_price": 12.43, "tax_rate": 20}]})";

TEST_P(OdooConnectorTest, DescribeIsTheCatalogContract) {
  std::ifstream f(std::string(RF_SOURCE_DIR) + "/workflows/connectors/retail.json");
  std::stringstream text;
  text << f.rdbuf();
  auto catalog = nlohmann::json::parse(text.str(), nullptr, true, /*ignore_comments=*/true);
  nlohmann::json contract;
  for (const auto& c : catalog["connectors"]) {
    if (c["name"] == "odoo") contract = c;
  }
  ASSERT_FALSE(contract.is_null());
  nlohmann::json described = connector_->Describe();
  EXPECT_EQ(described["system"], "odoo");
  for (const auto& op : contract["operations"]) {
    nlohmann::json mine;
    for (const auto& o : described["operations"]) {
      if (o["name"] == op["name"]) mine = o;
    }
    ASSERT_FALSE(mine.is_null()) << op["name"];
    EXPECT_EQ(mine["input"], op["input"]) << op["name"];
    EXPECT_EQ(mine["output"], op["output"]) << op["name"];
    EXPECT_EQ(mine["writes"], op.value("writes", "")) << op["name"];
    EXPECT_EQ(mine["side_effects"], op.value("side_effects", true)) << op["name"];
  }
  for (const char* generic : {"search_read", "read", "create", "write", "call"}) {
    bool found = false;
    for (const auto& o : described["operations"]) found = found || o["name"] == generic;
    EXPECT_TRUE(found) << generic;
  }
}

TEST_P(OdooConnectorTest, CreditNoteIsPostedWithExactAmountsAndCancelled) {
  CallResult r = Invoke("create_credit_note", kCreditNote, "return-1");
  ASSERT_TRUE(r.ok) << r.error_kind << ": " << r.message;
  EXPECT_EQ(Text(r, "state"), "posted");
  EXPECT_EQ(Text(r, "name").rfind("RINV/", 0), 0u) << Text(r, "name");
  // Prices include the 20% VAT: 2 × 19.99 + 12.43 = 52.41; the tax inside is
  // 6.66 + 2.07 = 8.73 (total × 20/120 per line, rounded half-up), untaxed 43.68.
  EXPECT_EQ(r.output.Find("amount_total")->as_number(), *Decimal::Parse("52.41"));
  std::int64_t move_id = Int(r, "move_id");
  ASSERT_GT(move_id, 0);

  CallResult again = Invoke("create_credit_note", kCreditNote, "return-1");
  ASSERT_TRUE(again.ok) << again.message;
  EXPECT_EQ(Int(again, "move_id"), move_id);
  List moves = env->Records("account.move", R"([["x_rf_key", "=", "return-1"]])");
  ASSERT_EQ(moves.size(), 1u);
  EXPECT_EQ(moves[0].Find("move_type")->as_text(), "out_refund");
  EXPECT_EQ(moves[0].Find("invoice_origin")->as_text(), "PAR-01/0001");

  CallResult cancelled =
      Invoke("cancel_credit_note", R"({"move_id": )" + std::to_string(move_id) + "}");
  ASSERT_TRUE(cancelled.ok) << cancelled.message;
  EXPECT_EQ(Text(cancelled, "state"), "cancel");
  CallResult twice =
      Invoke("cancel_credit_note", R"({"move_id": )" + std::to_string(move_id) + "}");
  ASSERT_TRUE(twice.ok) << twice.message;
  EXPECT_EQ(Text(twice, "state"), "cancel");
}

TEST_P(OdooConnectorTest, CreditNoteControlAmountMismatchPostsNothing) {
  std::string input = kCreditNote;
  input.replace(input.find("52.41"), 5, "52.42");
  CallResult r = Invoke("create_credit_note", input, "return-2");
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.error_kind, "rejected");
  EXPECT_NE(r.message.find("52.41"), std::string::npos) << r.message;
  EXPECT_TRUE(env->Records("account.move", R"([["x_rf_key", "=", "return-2"]])").empty());
}

TEST_P(OdooConnectorTest, CreditNoteUnknownCustomerOrSkuIsNotFound) {
  std::string input = kCreditNote;
  input.replace(input.find("CUST-0003"), 9, "CUST-9999");
  CallResult r = Invoke("create_credit_note", input);
  EXPECT_EQ(r.error_kind, "not_found") << r.message;
  input = kCreditNote;
  input.replace(input.find("SKU-0003"), 8, "SKU-9999");
  r = Invoke("create_credit_note", input);
  EXPECT_EQ(r.error_kind, "not_found") << r.message;
  EXPECT_NE(r.message.find("SKU-9999"), std::string::npos);
}

TEST_P(OdooConnectorTest, RetriedCreateAfterLostResponseMakesOneCreditNote) {
  // The answer to the create is lost after Odoo committed it.
  env->Admin("POST", "/__admin/faults", R"({"drop_next_commits": 1})");
  CallResult lost = Invoke("create_credit_note", kCreditNote, "return-3");
  ASSERT_FALSE(lost.ok);
  EXPECT_EQ(lost.error_kind, "unavailable") << lost.message;
  CallResult retried = Invoke("create_credit_note", kCreditNote, "return-3");
  ASSERT_TRUE(retried.ok) << retried.message;
  EXPECT_EQ(Text(retried, "state"), "posted");
  List moves = env->Records("account.move", R"([["x_rf_key", "=", "return-3"]])");
  ASSERT_EQ(moves.size(), 1u);
  EXPECT_EQ(moves[0].Find("id")->as_number().ToInt64(), Int(retried, "move_id"));
  EXPECT_EQ(moves[0].Find("state")->as_text(), "posted");
}

TEST_P(OdooConnectorTest, EveryAnswerLostUntilTheSystemRecovers) {
  // Every answer to a call that changed something is lost: the create, then the post.
  env->Admin("POST", "/__admin/faults", R"({"drop_response_after_commit_rate": 1.0})");
  for (int i = 0; i < 2; ++i) {
    CallResult r = Invoke("create_credit_note", kCreditNote, "return-4");
    EXPECT_EQ(r.error_kind, "unavailable") << r.message;
  }
  // The third attempt only reads: it finds the posted credit note and reports it.
  CallResult r = Invoke("create_credit_note", kCreditNote, "return-4");
  ASSERT_TRUE(r.ok) << r.message;
  EXPECT_EQ(env->Records("account.move", R"([["x_rf_key", "=", "return-4"]])").size(), 1u);
  EXPECT_EQ(Text(r, "state"), "posted");
  env->Admin("POST", "/__admin/faults", R"({"drop_response_after_commit_rate": 0.0})");
}

TEST_P(OdooConnectorTest, TransferThroughTransitAndReturn) {
  Decimal par0 = Quantity("PAR-01", "SKU-0005");
  Decimal lon0 = Quantity("LON-01", "SKU-0005");
  CallResult out = Invoke("create_picking", R"({"picking_type": "outgoing",
      "from_location": "PAR-01", "to_location": "transit", "origin": "TR-1",
      "lines": [{"sku": "SKU-0005", "qty": 3}]})",
                          "out-1");
  ASSERT_TRUE(out.ok) << out.message;
  EXPECT_EQ(Text(out, "state"), "assigned");
  std::int64_t out_id = Int(out, "picking_id");
  CallResult out_again = Invoke("create_picking", R"({"picking_type": "outgoing",
      "from_location": "PAR-01", "to_location": "transit", "origin": "TR-1",
      "lines": [{"sku": "SKU-0005", "qty": 3}]})",
                                "out-1");
  ASSERT_TRUE(out_again.ok) << out_again.message;
  EXPECT_EQ(Int(out_again, "picking_id"), out_id);

  CallResult in = Invoke("create_picking", R"({"picking_type": "incoming",
      "from_location": "transit", "to_location": "LON-01", "origin": "TR-1",
      "lines": [{"sku": "SKU-0005", "qty": 3}]})",
                         "in-1");
  ASSERT_TRUE(in.ok) << in.message;
  std::int64_t in_id = Int(in, "picking_id");

  CallResult shipped =
      Invoke("validate_picking", R"({"picking_id": )" + std::to_string(out_id) + "}");
  ASSERT_TRUE(shipped.ok) << shipped.message;
  EXPECT_EQ(Text(shipped, "state"), "done");
  EXPECT_EQ(Quantity("PAR-01", "SKU-0005"), par0 - Decimal(3));
  // Validating again (a retry) keeps the picking done.
  EXPECT_TRUE(Invoke("validate_picking", R"({"picking_id": )" + std::to_string(out_id) + "}").ok);

  // Two of three units arrive.
  CallResult received =
      Invoke("validate_picking", R"({"picking_id": )" + std::to_string(in_id) +
                                     R"(, "lines": [{"sku": "SKU-0005", "qty": 2}]})");
  ASSERT_TRUE(received.ok) << received.message;
  EXPECT_EQ(Text(received, "state"), "done");
  EXPECT_EQ(Quantity("LON-01", "SKU-0005"), lon0 + Decimal(2));

  // The outgoing picking is reversed with the return wizard.
  CallResult returned =
      Invoke("return_picking", R"({"picking_id": )" + std::to_string(out_id) + "}", "ret-1");
  ASSERT_TRUE(returned.ok) << returned.message;
  EXPECT_EQ(Text(returned, "state"), "done");
  EXPECT_EQ(Quantity("PAR-01", "SKU-0005"), par0);
  CallResult returned_again =
      Invoke("return_picking", R"({"picking_id": )" + std::to_string(out_id) + "}", "ret-1");
  ASSERT_TRUE(returned_again.ok) << returned_again.message;
  EXPECT_EQ(Int(returned_again, "return_picking_id"), Int(returned, "return_picking_id"));
  EXPECT_EQ(
      env->Records("stock.picking", "[[\"return_id\", \"=\", " + std::to_string(out_id) + "]]")
          .size(),
      1u);
}

TEST_P(OdooConnectorTest, CancelPickingAndRefusalOfADonePicking) {
  CallResult p = Invoke("create_picking", R"({"picking_type": "outgoing",
      "from_location": "NYC-01", "to_location": "TRANSIT", "origin": "TR-2",
      "lines": [{"sku": "SKU-0008", "qty": 1}]})");
  ASSERT_TRUE(p.ok) << p.message;
  std::string id = std::to_string(Int(p, "picking_id"));
  CallResult cancelled = Invoke("cancel_picking", R"({"picking_id": )" + id + "}");
  ASSERT_TRUE(cancelled.ok) << cancelled.message;
  EXPECT_EQ(Text(cancelled, "state"), "cancel");
  CallResult validated = Invoke("validate_picking", R"({"picking_id": )" + id + "}");
  EXPECT_EQ(validated.error_kind, "rejected");

  CallResult q = Invoke("create_picking", R"({"picking_type": "outgoing",
      "from_location": "NYC-01", "to_location": "TRANSIT", "origin": "TR-3",
      "lines": [{"sku": "SKU-0008", "qty": 1}]})");
  ASSERT_TRUE(q.ok) << q.message;
  std::string done_id = std::to_string(Int(q, "picking_id"));
  ASSERT_TRUE(Invoke("validate_picking", R"({"picking_id": )" + done_id + "}").ok);
  CallResult refused = Invoke("cancel_picking", R"({"picking_id": )" + done_id + "}");
  ASSERT_FALSE(refused.ok);
  EXPECT_EQ(refused.error_kind, "rejected");
  EXPECT_NE(refused.message.find("Done"), std::string::npos) << refused.message;
}

TEST_P(OdooConnectorTest, ClickAndCollectOrder) {
  CallResult r = Invoke("confirm_sale_order", R"({"order_ref": "CC-0001"})");
  ASSERT_TRUE(r.ok) << r.message;
  EXPECT_EQ(Text(r, "state"), "sale");
  EXPECT_GT(Int(r, "order_id"), 0);
  std::int64_t picking = Int(r, "picking_id");
  ASSERT_GT(picking, 0);
  CallResult again = Invoke("confirm_sale_order", R"({"order_ref": "CC-0001"})");
  ASSERT_TRUE(again.ok) << again.message;
  EXPECT_EQ(Int(again, "picking_id"), picking);
  CallResult delivered =
      Invoke("validate_picking", R"({"picking_id": )" + std::to_string(picking) + "}");
  ASSERT_TRUE(delivered.ok) << delivered.message;
  EXPECT_EQ(Text(delivered, "state"), "done");

  ASSERT_TRUE(Invoke("confirm_sale_order", R"({"order_ref": "CC-0002"})").ok);
  CallResult cancelled = Invoke("cancel_sale_order", R"({"order_ref": "CC-0002"})");
  ASSERT_TRUE(cancelled.ok) << cancelled.message;
  EXPECT_EQ(Text(cancelled, "state"), "cancel");
  EXPECT_EQ(Invoke("confirm_sale_order", R"({"order_ref": "CC-9999"})").error_kind, "not_found");
}

TEST_P(OdooConnectorTest, ReadQuantsOfAStore) {
  CallResult r = Invoke("read_quants", R"({"location": "PAR-01"})");
  ASSERT_TRUE(r.ok) << r.message;
  const List& items = r.output.Find("items")->as_list();
  ASSERT_EQ(items.size(), 200u);
  EXPECT_EQ(items[0].Find("sku")->as_text(), "SKU-0001");
  EXPECT_TRUE(items[0].Find("quantity")->is_number());
  EXPECT_TRUE(items[0].Find("reserved_quantity")->is_number());
  EXPECT_EQ(Invoke("read_quants", R"({"location": "MARS-01"})").error_kind, "not_found");
}

TEST_P(OdooConnectorTest, GenericOperations) {
  CallResult found = Invoke("search_read", R"({"model": "res.partner",
      "domain": [["ref", "=", "CUST-0001"]], "fields": ["name", "email"]})");
  ASSERT_TRUE(found.ok) << found.message;
  ASSERT_EQ(found.output.Find("records")->as_list().size(), 1u);
  CallResult created = Invoke("create", R"({"model": "res.partner",
      "values": {"name": "Generic", "ref": "GEN-1"}})");
  ASSERT_TRUE(created.ok) << created.message;
  std::string id = std::to_string(Int(created, "id"));
  CallResult written = Invoke("write", R"({"model": "res.partner", "ids": [)" + id +
                                           R"(], "values": {"email": "g@example.com"}})");
  ASSERT_TRUE(written.ok) << written.message;
  CallResult read =
      Invoke("read", R"({"model": "res.partner", "ids": [)" + id + R"(], "fields": ["email"]})");
  ASSERT_TRUE(read.ok) << read.message;
  EXPECT_EQ(read.output.Find("records")->as_list()[0].Find("email")->as_text(), "g@example.com");
  CallResult called = Invoke("call", R"({"model": "sale.order", "method": "action_confirm",
      "ids": [5]})");
  ASSERT_TRUE(called.ok) << called.message;
  // Idempotent generic create on a reference model.
  CallResult so1 =
      Invoke("create", R"({"model": "sale.order", "values": {"partner_id": 2}})", "gen-so");
  CallResult so2 =
      Invoke("create", R"({"model": "sale.order", "values": {"partner_id": 2}})", "gen-so");
  ASSERT_TRUE(so1.ok && so2.ok) << so1.message << so2.message;
  EXPECT_EQ(Int(so1, "id"), Int(so2, "id"));
}

TEST_P(OdooConnectorTest, ErrorMapping) {
  auto bad = Make("wrong-key");
  CallResult denied = Invoke("read_quants", R"({"location": "PAR-01"})", "", bad.get());
  EXPECT_EQ(denied.error_kind, "rejected") << denied.message;
  EXPECT_EQ(denied.message.find("wrong-key"), std::string::npos) << denied.message;
  bad->Shutdown();

  CallResult missing = Invoke("cancel_credit_note", R"({"move_id": 987654})");
  EXPECT_EQ(missing.error_kind, "not_found") << missing.message;

  CallResult invalid = Invoke("call", R"({"model": "sale.order", "method": "action_confirm",
      "ids": [7]})");
  ASSERT_TRUE(invalid.ok) << invalid.message;
  CallResult twice = Invoke("call", R"({"model": "sale.order", "method": "action_confirm",
      "ids": [7]})");
  EXPECT_EQ(twice.error_kind, "rejected");
  EXPECT_NE(twice.message.find("not in a state requiring confirmation"), std::string::npos)
      << twice.message;

  CallResult private_method = Invoke("call", R"({"model": "res.partner", "method": "_secret",
      "ids": [1]})");
  EXPECT_EQ(private_method.error_kind, "rejected") << private_method.message;
  EXPECT_EQ(Invoke("create_picking", R"({"picking_type": "sideways"})").error_kind, "rejected");
}

TEST_P(OdooConnectorTest, DownMalformedAndDeadline) {
  env->Admin("POST", "/__admin/faults",
             R"({"down_until": )" + std::to_string(std::time(nullptr) + 3600) + "}");
  CallResult down = Invoke("read_quants", R"({"location": "PAR-01"})");
  EXPECT_EQ(down.error_kind, "unavailable") << down.message;
  env->Admin("POST", "/__admin/faults", R"({"down_until": 0, "malformed_rate": 1.0})");
  CallResult malformed = Invoke("read_quants", R"({"location": "PAR-01"})");
  EXPECT_EQ(malformed.error_kind, "unavailable") << malformed.message;
  env->Admin("POST", "/__admin/faults", R"({"malformed_rate": 0.0, "latency_ms": 1500})");
  CallResult slow = Invoke("read_quants", R"({"location": "PAR-01"})", "", nullptr, 300);
  EXPECT_EQ(slow.error_kind, "timeout") << slow.message;
  env->Admin("POST", "/__admin/faults", R"({"latency_ms": 0})");

  // Nothing listening at all.
  auto nowhere = Make(kApiKey, "http://127.0.0.1:1");
  CallResult refused = Invoke("read_quants", R"({"location": "PAR-01"})", "", nowhere.get());
  EXPECT_EQ(refused.error_kind, "unavailable") << refused.message;
  nowhere->Shutdown();
}

TEST_P(OdooConnectorTest, SettingsAreValidated) {
  InstanceConfig config;
  config.name = "odoo";
  config.type = "odoo";
  config.settings = {{"url", env->sim.url()}, {"api_key", "k"}, {"protocol", "soap"}};
  EXPECT_FALSE(MakeOdooConnector(config, env->io).ok());
  config.settings = {{"url", env->sim.url()},
                     {"api_key", {{"env", "RF_ODOO_TEST_UNSET_VAR"}}},
                     {"db", "retail"},
                     {"login", "integration"}};
  EXPECT_FALSE(MakeOdooConnector(config, env->io).ok());
  config.settings = {{"url", env->sim.url()}, {"api_key", "k"}, {"surprise", 1}};
  EXPECT_FALSE(MakeOdooConnector(config, env->io).ok());
  // The shared settings reader's rules hold for odoo too: a ca_file that does not exist is
  // refused at creation, naming the setting, and the API key never appears in the message.
  config.settings = {{"url", env->sim.url()},
                     {"api_key", "odoo-key-that-must-not-leak"},
                     {"db", "retail"},
                     {"login", "integration"},
                     {"tls", {{"ca_file", "/nonexistent/retailflow-ca.pem"}}}};
  auto missing_ca = MakeOdooConnector(config, env->io);
  ASSERT_FALSE(missing_ca.ok());
  EXPECT_NE(missing_ca.status().message().find("settings.tls.ca_file"), std::string::npos)
      << missing_ca.status().message();
  EXPECT_EQ(missing_ca.status().message().find("odoo-key-that-must-not-leak"), std::string::npos);
}

// The violation path of every keyed create and the refusal path of every state change: the
// held (earlier) call loses against the second invocation, and the earlier invocation ends as if
// it had made the effect itself: same record, same final state, one record per key.
TEST_P(OdooConnectorTest, CreditNoteCarriesOnFromTheRecordOfTheAttemptThatWon) {
  auto [first, second] = Race("account.move", "create", "create_credit_note", kCreditNote,
                              "race-cn", "odoo.exceptions.ValidationError");
  ASSERT_TRUE(second.ok) << second.message;
  ASSERT_TRUE(first.ok) << first.error_kind << ": " << first.message;
  EXPECT_EQ(Int(first, "move_id"), Int(second, "move_id"));
  EXPECT_EQ(Text(first, "state"), "posted");
  EXPECT_EQ(Text(first, "name"), Text(second, "name"));
  List moves = env->Records("account.move", R"([["x_rf_key", "=", "race-cn"]])");
  ASSERT_EQ(moves.size(), 1u);
  EXPECT_EQ(moves[0].Find("state")->as_text(), "posted");

  auto [c1, c2] = Race("account.move", "button_cancel", "cancel_credit_note",
                       R"({"move_id": )" + std::to_string(Int(first, "move_id")) + "}",
                       "race-cn-undo", "odoo.exceptions.UserError");
  ASSERT_TRUE(c1.ok && c2.ok) << c1.message << " / " << c2.message;
  EXPECT_EQ(Text(c1, "state"), "cancel");
  EXPECT_EQ(Text(c2, "state"), "cancel");
}

TEST_P(OdooConnectorTest, DraftLeftByAnEarlierAttemptIsPosted) {
  // The earlier attempt's create committed but it never posted (its caller died): the keyed
  // create of the next attempt hits the constraint and posts that draft.
  size_t base = GateRequests("account.move", "action_post").size();
  Gate("account.move", "action_post", R"("action": "hold", "count": 1)");
  auto first = Launch("create_credit_note", kCreditNote, "race-draft");
  AwaitRequest("account.move", "action_post", base + 1, "held");
  List drafts = env->Records("account.move", R"([["x_rf_key", "=", "race-draft"]])");
  ASSERT_EQ(drafts.size(), 1u);
  EXPECT_EQ(drafts[0].Find("state")->as_text(), "draft");
  CallResult second = Invoke("create_credit_note", kCreditNote, "race-draft");
  ASSERT_TRUE(second.ok) << second.message;
  EXPECT_EQ(Text(second, "state"), "posted");
  Gate("account.move", "action_post", R"("action": "release")");
  EXPECT_EQ(AwaitRequest("account.move", "action_post", base + 1, "done"),
            "odoo.exceptions.UserError");
  CallResult late = first.get();
  ASSERT_TRUE(late.ok) << late.message;  // its post was refused: it was posted already
  EXPECT_EQ(Int(late, "move_id"), Int(second, "move_id"));
  EXPECT_EQ(env->Records("account.move", R"([["x_rf_key", "=", "race-draft"]])").size(), 1u);
}

TEST_P(OdooConnectorTest, PickingsAndTheirReturnCarryOnFromTheAttemptThatWon) {
  const std::string out = R"({"picking_type": "outgoing", "from_location": "PAR-01",
      "to_location": "transit", "lines": [{"sku": "SKU-0005", "qty": 1}], "origin": "TR-RACE"})";
  auto [p1, p2] = Race("stock.picking", "create", "create_picking", out, "race-pick",
                       "odoo.exceptions.ValidationError");
  ASSERT_TRUE(p1.ok && p2.ok) << p1.message << " / " << p2.message;
  EXPECT_EQ(Int(p1, "picking_id"), Int(p2, "picking_id"));
  EXPECT_EQ(Text(p1, "state"), "assigned");
  EXPECT_EQ(env->Records("stock.picking", R"([["x_rf_key", "=", "race-pick"]])").size(), 1u);
  std::string id = std::to_string(Int(p1, "picking_id"));
  Decimal before = Quantity("PAR-01", "SKU-0005");

  auto [v1, v2] =
      Race("stock.picking", "button_validate", "validate_picking", R"({"picking_id": )" + id + "}",
           "race-validate", "odoo.exceptions.UserError");
  ASSERT_TRUE(v1.ok && v2.ok) << v1.message << " / " << v2.message;
  EXPECT_EQ(Text(v1, "state"), "done");
  EXPECT_EQ(Quantity("PAR-01", "SKU-0005"), before - Decimal(1)) << "shipped once";

  auto [r1, r2] =
      Race("stock.return.picking", "action_create_returns", "return_picking",
           R"({"picking_id": )" + id + "}", "race-return", "odoo.exceptions.ValidationError");
  ASSERT_TRUE(r1.ok && r2.ok) << r1.message << " / " << r2.message;
  EXPECT_EQ(Int(r1, "return_picking_id"), Int(r2, "return_picking_id"));
  EXPECT_EQ(Text(r1, "state"), "done");
  EXPECT_EQ(env->Records("stock.picking", "[[\"return_id\", \"=\", " + id + "]]").size(), 1u);
  EXPECT_EQ(Quantity("PAR-01", "SKU-0005"), before) << "returned once";

  CallResult other = Invoke("create_picking", out, "race-pick-2");
  ASSERT_TRUE(other.ok) << other.message;
  auto [k1, k2] = Race("stock.picking", "action_cancel", "cancel_picking",
                       R"({"picking_id": )" + std::to_string(Int(other, "picking_id")) + "}",
                       "race-cancel", "ok");  // cancelling twice is allowed by Odoo
  ASSERT_TRUE(k1.ok && k2.ok) << k1.message << " / " << k2.message;
  EXPECT_EQ(Text(k1, "state"), "cancel");
}

TEST_P(OdooConnectorTest, SaleOrderConfirmedAndCancelledOnceWhileAnEarlierAttemptIsInFlight) {
  auto [c1, c2] = Race("sale.order", "action_confirm", "confirm_sale_order",
                       R"({"order_ref": "CC-0002"})", "race-so", "odoo.exceptions.UserError");
  ASSERT_TRUE(c1.ok && c2.ok) << c1.message << " / " << c2.message;
  EXPECT_EQ(Text(c1, "state"), "sale");
  EXPECT_EQ(Int(c1, "picking_id"), Int(c2, "picking_id"));
  List so = env->Records("sale.order", R"([["client_order_ref", "=", "CC-0002"]])");
  ASSERT_EQ(so.size(), 1u);
  EXPECT_EQ(env->Records("stock.picking",
                         "[[\"sale_id\", \"=\", " + std::to_string(IdOfRecord(so[0])) + "]]")
                .size(),
            1u);
  auto [k1, k2] = Race("sale.order", "action_cancel", "cancel_sale_order",
                       R"({"order_ref": "CC-0002"})", "race-so-undo", "ok");
  ASSERT_TRUE(k1.ok && k2.ok) << k1.message << " / " << k2.message;
  EXPECT_EQ(Text(k1, "state"), "cancel");

  auto [g1, g2] = Race("sale.order", "create", "create",
                       R"({"model": "sale.order", "values": {"partner_id": 2}})", "race-gen",
                       "odoo.exceptions.ValidationError");
  ASSERT_TRUE(g1.ok && g2.ok) << g1.message << " / " << g2.message;
  EXPECT_EQ(Int(g1, "id"), Int(g2, "id"));
}

// Without the addon nothing in Odoo stops a second create: the weaker mode waits until the
// previous attempt's deadline has passed before it looks for that attempt's record.
TEST_P(OdooConnectorTest, SearchAfterDeadlineWaitsOutThePreviousAttempt) {
  env->Admin("POST", "/__admin/addon", R"({"installed": false})");
  auto weak = Make(kApiKey, "", "search_after_deadline");
  ASSERT_NE(weak, nullptr);
  size_t base = GateRequests("account.move", "create").size();

  // Control: a re-dispatch that does not wait (no previous deadline) duplicates the effect.
  Gate("account.move", "create", R"("action": "hold", "count": 1)");
  auto old_call = Launch("create_credit_note", kCreditNote, "weak-1", weak.get());
  AwaitRequest("account.move", "create", base + 1, "held");
  CallResult eager = Invoke("create_credit_note", kCreditNote, "weak-1", weak.get());
  ASSERT_TRUE(eager.ok) << eager.message;
  Gate("account.move", "create", R"("action": "release")");
  ASSERT_TRUE(old_call.get().ok);
  EXPECT_EQ(env->Records("account.move", R"([["x_rf_key", "=", "weak-1"]])").size(), 2u)
      << "the simulator without the addon accepts a second record per key";

  // The re-dispatch with the previous attempt's deadline (3 s away) waits; the earlier attempt
  // finishes before its deadline, as the mode assumes; the re-dispatch then finds its record.
  Gate("account.move", "create", R"("action": "hold", "count": 1)");
  auto earlier = Launch("create_credit_note", kCreditNote, "weak-2", weak.get());
  AwaitRequest("account.move", "create", base + 2, "held");
  auto redispatch = Launch("create_credit_note", kCreditNote, "weak-2", weak.get(), 3000);
  Gate("account.move", "create", R"("action": "release")");
  CallResult e = earlier.get();
  ASSERT_TRUE(e.ok) << e.message;
  CallResult r = redispatch.get();
  ASSERT_TRUE(r.ok) << r.message;
  EXPECT_EQ(Int(r, "move_id"), Int(e, "move_id"));
  List moves = env->Records("account.move", R"([["x_rf_key", "=", "weak-2"]])");
  ASSERT_EQ(moves.size(), 1u);
  EXPECT_EQ(moves[0].Find("state")->as_text(), "posted");
  weak->Shutdown();
}

// The previous attempt's deadline is on the deployment's clock too: with the engine's clock 4 h
// ahead of the wall clock, a previous deadline 300 ms away is waited out for 300 ms of real time
// (read on the wall clock it would be 4 h away, beyond this attempt's own deadline, and refused).
TEST_P(OdooConnectorTest, SearchAfterDeadlineReadsThePreviousDeadlineOnTheDeploymentClock) {
  env->Admin("POST", "/__admin/addon", R"({"installed": false})");
  engine::AdjustableClock ahead;
  ahead.Advance(Duration{4 * 3600 * 1000});
  auto weak = Make(kApiKey, "", "search_after_deadline", &ahead);
  ASSERT_NE(weak, nullptr);
  Invocation call;
  call.instance_id = "inst-1";
  call.invocation_id = "inv-clock";
  call.idempotency_key = "weak-clock";
  call.connector = "odoo";
  call.operation = "create_credit_note";
  call.input = Value::FromJson(kCreditNote).value();
  call.deadline = Time{ahead.Now().ms + 15'000};
  call.previous_attempt_deadline = Time{ahead.Now().ms + 300};
  auto done = std::make_shared<std::promise<CallResult>>();
  auto f = done->get_future();
  weak->Invoke(call, [done](CallResult r) { done->set_value(std::move(r)); });
  // Read on the wall clock, the previous deadline would be 4 h away: a wait, not an answer.
  ASSERT_EQ(f.wait_for(std::chrono::seconds(60)), std::future_status::ready);
  CallResult r = f.get();
  ASSERT_TRUE(r.ok) << r.error_kind << ": " << r.message;
  EXPECT_EQ(env->Records("account.move", R"([["x_rf_key", "=", "weak-clock"]])").size(), 1u);
  weak->Shutdown();
}

TEST_P(OdooConnectorTest, IdempotencySettingIsValidated) {
  InstanceConfig config;
  config.name = "odoo";
  config.type = "odoo";
  config.settings = {{"url", env->sim.url()},
                     {"api_key", "k"},
                     {"db", "retail"},
                     {"login", "integration"},
                     {"idempotency", "hope"}};
  auto made = MakeOdooConnector(config, env->io);
  ASSERT_FALSE(made.ok());
  EXPECT_NE(made.status().message().find("idempotency"), std::string::npos);
}

}  // namespace
}  // namespace rf::connectors
