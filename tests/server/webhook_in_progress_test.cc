// Two copies of one webhook delivery at once: the second gets 409 in_progress (Retry-After: 1)
// and acts on nothing; once the first is durable, the copy answers duplicate. The first
// delivery's commit is held on a gate, so the overlap is certain, not a matter of timing.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "connectors/builtin/standard_webhooks.h"
#include "server/webhooks.h"
#include "state/state_store.h"

namespace rf::server {
namespace {

const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

// A store whose next commit waits until it is opened; `Held()` tells when a commit waits.
class GatedStore : public state::StateStore {
 public:
  Status Commit(const state::WriteBatch& b) override {
    std::unique_lock<std::mutex> lock(mu_);
    held_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
    held_ = false;
    lock.unlock();
    return inner_.Commit(b);
  }
  Status Get(std::string_view k, std::string* v) override { return inner_.Get(k, v); }
  Status Scan(std::string_view b, std::string_view e, const state::ScanFn& fn) override { return inner_.Scan(b, e, fn); }
  bool WaitHeld(std::chrono::seconds deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, deadline, [&] { return held_; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  state::MemoryStore inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false, open_ = false;
};

HttpRequest Signed(const std::string& id, std::int64_t now, const std::string& body) {
  HttpRequest r;
  r.method = "POST";
  r.target = "/v1/webhooks/pos";
  r.body = body;
  r.headers["webhook-id"] = id;
  r.headers["webhook-timestamp"] = std::to_string(now);
  r.headers["webhook-signature"] = *connectors::standard_webhooks::Sign(kSecret, id, now, body);
  return r;
}

TEST(WebhookInProgressTest, AConcurrentCopyGets409InProgressThenDuplicate) {
  GatedStore store;
  Metrics metrics;
  WebhookSource pos;
  pos.name = "pos";
  pos.secrets = {kSecret};
  pos.routes = {WebhookRoute{"sale.completed", "ignore", "", "", "", "/data"}};
  WebhookIngress ingress({{"pos", pos}}, &store, nullptr, &metrics);
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  const std::string body = R"({"type":"sale.completed","data":{}})";

  std::promise<HttpResponse> first;
  std::thread t([&] { ingress.Handle("pos", Signed("msg_1", now, body), now, [&](HttpResponse r) { first.set_value(r); }); });
  ASSERT_TRUE(store.WaitHeld(std::chrono::seconds(10))) << "the first delivery never reached its commit";

  HttpResponse copy;
  ingress.Handle("pos", Signed("msg_1", now, body), now, [&](HttpResponse r) { copy = std::move(r); });
  EXPECT_EQ(copy.status, 409);
  EXPECT_NE(copy.body.find("\"in_progress\""), std::string::npos) << copy.body;
  bool retry_after = false;
  for (const auto& [k, v] : copy.headers) retry_after |= k == "Retry-After" && v == "1";
  EXPECT_TRUE(retry_after);

  store.Open();
  t.join();
  HttpResponse done = first.get_future().get();
  EXPECT_EQ(done.status, 200);
  EXPECT_NE(done.body.find("\"ignored\""), std::string::npos) << done.body;

  HttpResponse again;
  ingress.Handle("pos", Signed("msg_1", now, body), now, [&](HttpResponse r) { again = std::move(r); });
  EXPECT_EQ(again.status, 200);
  EXPECT_NE(again.body.find("\"duplicate\""), std::string::npos) << again.body;
}

}  // namespace
}  // namespace rf::server
