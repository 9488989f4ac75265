// Everything that runs on its own thread at once, for ThreadSanitizer (packaging/dev.sh tsan runs
// the test_http cases named "*parallel*"): the HTTP server under parallel clients (webhooks,
// health and dashboard reads), the single writer, the job runner and the scheduler as background
// threads, and the operations monitor. Checks what a user would see: every delivery is stored
// once and processed into its case.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <SQLiteCpp/Statement.h>

#include "support/fake_whop.h"
#include "support/test_app.h"
#include "support/webhook_client.h"

using namespace cs;

TEST_CASE("parallel clients with the job runner and scheduler threads running: nothing lost") {
  test::TestApp::Options o;
  o.background_workers = true;  // runner, scheduler and the operations monitor as threads
  o.configure = [](app::Config& c) { c.disable_notifications = true; };  // nothing leaves
  test::TestApp t(o);

  constexpr int kClients = 6, kEach = 15;
  std::atomic<int> ok{0}, other{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      auto cli = t.client();
      for (int i = 0; i < kEach; ++i) {
        std::string id = "msg_PAR" + std::to_string(c) + "_" + std::to_string(i);
        test::FakeWhop::PaymentSpec spec;
        spec.payment_id = "pay_" + id;
        spec.membership_id = "mem_" + id;
        spec.user_id = "user_" + id;
        std::string body = test::FakeWhop::payment_event("payment.failed", spec).dump();
        auto res = cli.Post("/webhooks/whop", test::v1_headers(test::kTestSecret, id, body), body,
                            "application/json");
        (res && res->status == 200 ? ok : other)++;
        auto health = cli.Get(i % 2 ? "/readyz" : "/api/health");
        if (!health) other++;
      }
    });
  }
  for (auto& th : clients) th.join();
  CHECK(ok.load() == kClients * kEach);
  CHECK(other.load() == 0);
  CHECK(test::stored_events(t) == kClients * kEach);

  // The background workers process every event into its case (bounded wait for their work).
  int64_t cases = 0;
  for (int i = 0; i < 600 && cases < kClients * kEach; ++i) {
    {
      auto db = t.app().reads().lease();
      SQLite::Statement q(*db, "SELECT count(*) FROM cases");
      q.executeStep();
      cases = q.getColumn(0).getInt64();
    }
    if (cases < kClients * kEach) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(cases == kClients * kEach);
}
