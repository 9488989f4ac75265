// `churn-saver rollup rebuild`: sums the overview's rollup again from the cases, on a database the
// app is using, and the overview's figures come back as they were.
#include <doctest/doctest.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include "store/dashboard.h"
#include "store/rollup.h"
#include "support/fake_whop.h"
#include "support/test_app.h"
#include "support/webhook_client.h"
#include "util/clock.h"

using namespace cs;

TEST_CASE("rollup rebuild: a damaged rollup is summed again from the cases") {
  test::TestApp app;
  const int64_t now = SystemClock().now_ms();
  // Three members fail; the first pays inside the window.
  for (int i = 0; i < 3; ++i) {
    test::FakeWhop::PaymentSpec spec;
    spec.payment_id = "pay_fail" + std::to_string(i);
    spec.membership_id = "mem_rollup" + std::to_string(i);
    spec.user_id = "user_rollup" + std::to_string(i);
    spec.total = 10.0 + i;
    spec.time_ms = now - (i + 1) * 3600000;
    std::string body = test::FakeWhop::payment_event("payment.failed", spec).dump();
    auto res = app.client().Post(
        "/webhooks/whop", test::v1_headers(test::kTestSecret, "msg_rf" + std::to_string(i), body),
        body, "application/json");
    REQUIRE(res);
    REQUIRE(res->status == 200);
  }
  {
    test::FakeWhop::PaymentSpec spec;
    spec.payment_id = "pay_ok0";
    spec.membership_id = "mem_rollup0";
    spec.user_id = "user_rollup0";
    spec.total = 10.0;
    spec.time_ms = now - 1800000;
    std::string body = test::FakeWhop::payment_event("payment.succeeded", spec).dump();
    auto res =
        app.client().Post("/webhooks/whop", test::v1_headers(test::kTestSecret, "msg_rs0", body),
                          body, "application/json");
    REQUIRE(res);
    REQUIRE(res->status == 200);
  }
  app.drain();

  auto read = [&] {
    auto db = app.app().reads().lease();
    return std::make_pair(store::list_rollup_failures(*db),
                          store::find_kpis(*db, now - 30LL * 86400000));
  };
  const auto [rows, kpis] = read();
  REQUIRE(kpis.open == 2);
  REQUIRE(kpis.recovered == 1);
  REQUIRE(kpis.recovered_net == store::MoneyByCurrency{{"usd", 1000}});

  // Damaged by hand: the overview shows wrong figures.
  REQUIRE(app.app().writer().run([](SQLite::Database& db) {
    db.exec("UPDATE rollup_failures SET open_cases = open_cases + 5");
    db.exec("DELETE FROM rollup_recoveries");
  }));
  CHECK(read().second.open == 2 + 5 * static_cast<int64_t>(rows.size()));

  auto r = test::run_binary({"rollup", "rebuild", "--db", app.db_path()});
  CHECK_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.out.find("Rollup rebuilt from the cases") != std::string::npos);
  const auto [rows_after, kpis_after] = read();
  CHECK(kpis_after.open == 2);
  CHECK(kpis_after.recovered == 1);
  CHECK(kpis_after.recovered_net == kpis.recovered_net);
  REQUIRE(rows_after.size() == rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    CHECK(rows_after[i].bucket == rows[i].bucket);
    CHECK(rows_after[i].figures == rows[i].figures);
  }
  {
    auto db = app.app().reads().lease();
    CHECK(store::list_rollup_recoveries(*db).size() == 1);
  }

  // No database there: said so, nothing created.
  test::TempDir dir;
  auto missing = test::run_binary({"rollup", "rebuild", "--db", dir.file("none.db")});
  CHECK(missing.exit_code == 1);
  CHECK(missing.err.find("no database at") != std::string::npos);
}
