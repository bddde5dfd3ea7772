// Writes the format-1 golden store (tests/state/golden/README.md). Built by make_format1.sh
// against the first edition (commit e7d45b6), never by the normal build: what it writes is what
// that code wrote. It uses only the public Engine API, plus the two records the first edition's
// server wrote itself, spelled exactly as server/src/auth.cc and server/src/webhooks.cc did.
//
//   rf_golden_format1_writer OUT_DIR   (prints every key written, one a line)
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <future>
#include <iostream>
#include <string>
#include <thread>

#include "dsl/catalog.h"
#include "dsl/compiler.h"
#include "engine/engine.h"
#include "state/leveldb_store.h"
#include "tests/state/golden/flows.h"

namespace {

using namespace rf;

[[noreturn]] void Die(const std::string& what) {
  std::cerr << "format1_writer: " << what << "\n";
  std::exit(1);
}

class NoConnectors : public engine::ConnectorRegistry {
 public:
  engine::Connector* Find(const std::string&) override { return nullptr; }
};

template <typename T>
T Wait(std::future<Result<T>> f, const std::string& what) {
  auto r = f.get();
  if (!r.ok()) Die(what + ": " + r.status().message());
  return *r;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) Die("usage: rf_golden_format1_writer OUT_DIR");
  auto store = state::OpenLevelDb(argv[1], state::LevelDbOptions{});
  if (!store.ok()) Die(store.status().message());

  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::thread io_thread([&] { io.run(); });
  engine::ManualClock clock(Time{golden::kStartMs});
  NoConnectors connectors;
  {
    engine::Engine engine(io, store->get(), &clock, &connectors, engine::EngineOptions{});
    if (Status s = engine.Recover(); !s.ok()) Die(s.message());
    dsl::Catalog catalog;
    for (const char* source : {golden::kClickCollect, golden::kReturnReview, golden::kCoolOff}) {
      dsl::Diagnostics diags;
      auto machine = dsl::CompileSource(source, catalog, diags);
      if (!machine) Die(std::string("does not compile:\n") + source);
      if (auto d = engine.Deploy(*machine, source); !d.ok()) Die(d.status().message());
    }
    auto start = [&](const std::string& workflow, const std::string& business_key, const std::string& input) {
      engine::StartRequest req;
      req.workflow = workflow;
      req.business_key = business_key;
      auto v = Value::FromJson(input);
      if (!v.ok()) Die(input);
      req.input = *v;
      std::promise<Result<engine::StartResult>> p;
      engine.Start(std::move(req), [&p](Result<engine::StartResult> r) { p.set_value(std::move(r)); });
      return Wait(p.get_future(), "start " + business_key).instance_id;
    };
    // An early event, buffered under a key with a '/'.
    {
      std::promise<Result<int>> p;
      auto data = Value::FromJson(R"({"who": "early bird"})");
      engine.DeliverEvent("pickup", "EARLY/9", *data, [&p](Result<int> r) { p.set_value(std::move(r)); });
      if (Wait(p.get_future(), "deliver EARLY/9") != 0) Die("EARLY/9 found a waiter");
    }
    std::cout << "# " << start("click_collect", "ORD/1", R"({"parcel": "PAR/01"})") << " click_collect ORD/1 waits for PAR/01\n";
    std::cout << "# " << start("click_collect", "ORD/2", R"({"parcel": "PAR"})") << " click_collect ORD/2 waits for PAR\n";
    std::cout << "# " << start("return_review", "RET/2%", R"({"return_id": "RET/2%"})") << " return_review RET/2% waits for approval\n";
    std::cout << "# " << start("cool_off", "COOL/3", "{}") << " cool_off COOL/3 waits 1h\n";
    engine.WaitSettled();
  }
  // The server's own records, as the first edition spelled them: a token (the hash of
  // "rf_golden_fixture_token") and a webhook delivery whose webhook-id holds a '/'.
  state::WriteBatch b;
  b.Put("auth/token/c579ca2bfcf86b48543f337e152d028ccd52541a17a6c78a120df5eb73780d88",
        R"({"name":"golden","roles":["operator"]})");
  b.Put("webhook/pos/evt/42", R"({"received_at":1764230400,"status":"accepted","delivered_to":0})");
  if (Status s = (*store)->Commit(b); !s.ok()) Die(s.message());
  work.reset();
  io_thread.join();

  Status s = (*store)->Scan("", "", [](std::string_view k, std::string_view) {
    std::cout << k << "\n";
    return true;
  });
  if (!s.ok()) Die(s.message());
  return 0;
}
