// Retention and erasure (issue 5): payloads stripped after 30 days, events deleted after 60
// (not while their case is open), stale cases closed; `member erase USER_ID` on a running service
// leaves no trace of the member's email, name, username or ids in the database or WAL files.
#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>

#include <SQLiteCpp/SQLiteCpp.h>
#include <nlohmann/json.hpp>

#include "app/retention.h"
#include "e2e/ops_support.h"
#include "store/events.h"
#include "support/fake_whop.h"
#include "support/test_app.h"
#include "support/webhook_client.h"

using namespace cs;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

test::FakeWhop::PaymentSpec member(const std::string& tag) {
  test::FakeWhop::PaymentSpec s;
  s.payment_id = "pay_" + tag + "Fail";
  s.membership_id = "mem_" + tag + "Membership";
  s.user_id = "user_" + tag + "Person";
  s.username = tag + "_the_member";
  s.name = tag + " Lastname";
  s.email = tag + ".private@example.org";
  return s;
}

int64_t scalar(SQLite::Database& db, const std::string& sql) {
  SQLite::Statement q(db, sql);
  REQUIRE(q.executeStep());
  return q.getColumn(0).getInt64();
}

}  // namespace

TEST_CASE("retention: payloads after 30 days, events after 60, stale cases closed") {
  int64_t t0 = static_cast<int64_t>(std::time(nullptr)) * 1000;
  ManualClock clock(t0);
  test::TestApp::Options o;
  o.clock = &clock;
  test::TestApp app(o);
  auto deliver = [&](const json& ev) {
    std::string body = ev.dump();
    std::string id = test::FakeWhop::new_webhook_id();
    auto res = app.client().Post(
        "/webhooks/whop", test::v1_headers(test::kTestSecret, id, body, clock.now_ms() / 1000),
        body, "application/json");
    REQUIRE(res);
    REQUIRE(res->status == 200);
  };
  auto a = member("Alice");
  a.time_ms = t0;
  auto b = member("Bob");
  b.time_ms = t0;
  deliver(test::FakeWhop::payment_event("payment.failed", a));
  deliver(test::FakeWhop::payment_event("payment.failed", b));
  b.payment_id = "pay_BobPaid";
  b.time_ms = t0 + kHourMs;
  deliver(test::FakeWhop::payment_event("payment.succeeded", b));
  app.drain();
  auto& ops = app.app().operations();
  SQLite::Database db(app.db_path(), SQLite::OPEN_READONLY);
  db.setBusyTimeout(5000);
  REQUIRE(scalar(db, "SELECT count(*) FROM events WHERE payload IS NOT NULL") == 3);
  REQUIRE(scalar(db, "SELECT count(*) FROM cases WHERE status = 'open'") == 1);
  REQUIRE(scalar(db, "SELECT count(*) FROM cases WHERE status = 'recovered'") == 1);

  // Day 29: nothing goes.
  clock.advance(29 * kDayMs);
  auto r = ops.retention_now();
  CHECK(r.last_error.empty());
  CHECK(r.payloads_stripped == 0);
  // Day 31: the encrypted bodies go, the rows stay.
  clock.advance(2 * kDayMs);
  // A pass that is told to stop (serve shutting down) ends before its next batch, changes
  // nothing more, and says so; the next pass does the work.
  std::atomic<bool> stop{true};
  r = app::run_retention(app.app().writer(), app.app().reads(), app.db_path(),
                         app::RetentionPolicy{}, clock.now_ms(), &stop);
  CHECK(r.stopped);
  CHECK(r.last_error.empty());
  CHECK(r.payloads_stripped == 0);
  CHECK(scalar(db, "SELECT count(*) FROM events WHERE payload IS NOT NULL") == 3);
  r = ops.retention_now();
  CHECK_FALSE(r.stopped);
  CHECK(r.payloads_stripped == 3);
  CHECK(r.events_deleted == 0);
  CHECK(scalar(db, "SELECT count(*) FROM events WHERE payload IS NOT NULL") == 0);
  CHECK(scalar(db, "SELECT count(*) FROM events") == 3);
  // Day 61: Bob's events go; Alice's stay while her case is open, and her case, open 61 days,
  // is closed as stale.
  clock.advance(30 * kDayMs);
  r = ops.retention_now();
  CHECK(r.events_deleted == 2);
  CHECK(r.cases_closed == 1);
  CHECK(scalar(db, "SELECT count(*) FROM events") == 1);
  CHECK(scalar(db, "SELECT count(*) FROM cases WHERE status = 'lost' AND resolution = 'stale'") ==
        1);
  CHECK(scalar(db,
               "SELECT count(*) FROM recovery_actions WHERE type = 'case_lost' AND "
               "outcome = 'stale'") == 1);
  // The next pass: her case is closed now, so her event goes too.
  r = ops.retention_now();
  CHECK(r.events_deleted == 1);
  CHECK(scalar(db, "SELECT count(*) FROM events") == 0);
  // Cases keep their figures (no personal payloads, nothing to strip there).
  CHECK(scalar(db, "SELECT count(*) FROM cases") == 2);
  auto h = app.client().Get("/api/health/db");
  REQUIRE(h);
  auto ret = json::parse(h->body)["retention"];
  CHECK(ret["events_deleted"] == 1);
  CHECK(ret["last_error"].is_null());
}

TEST_CASE("member erase on a running service: no trace of the member in the db or WAL files") {
  ::signal(SIGPIPE, SIG_IGN);
  test::TempDir dir;
  const std::string db_path = dir.file("cs.db");
  ops_test::ServerProcess server(db_path, dir.file("server.log"),
                                 {"CHURN_SAVER_SCHEDULER_INTERVAL=0.2"});
  server.start();
  REQUIRE_MESSAGE(server.wait_ready(), ops_test::tail(server.log()));

  auto erased = member("Erin");
  auto kept = member("Karl");
  auto c = server.client();
  for (const auto* m : {&erased, &kept}) {
    for (const char* type : {"payment.failed", "payment.pending"}) {
      auto spec = *m;
      spec.payment_id += type[8] == 'f' ? "1" : "2";
      std::string body = test::FakeWhop::payment_event(type, spec).dump();
      std::string id = test::FakeWhop::new_webhook_id();
      auto res = c.Post("/webhooks/whop", test::v1_headers(test::kTestSecret, id, body), body,
                        "application/json");
      REQUIRE(res);
      REQUIRE(res->status == 200);
    }
  }
  // Wait until both cases are open and their events processed.
  {
    SQLite::Database db(db_path, SQLite::OPEN_READONLY);
    db.setBusyTimeout(5000);
    for (int i = 0; i < 500; ++i) {
      if (scalar(db, "SELECT count(*) FROM cases WHERE status = 'open'") == 2 &&
          scalar(db, "SELECT count(*) FROM events WHERE process_state = 'pending'") == 0) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    REQUIRE(scalar(db, "SELECT count(*) FROM cases WHERE status = 'open'") == 2);
  }
  auto files_contain = [&](const std::string& needle) {
    return ops_test::file_contains(db_path, needle) ||
           ops_test::file_contains(db_path + "-wal", needle);
  };
  // The projection keeps ids and the username in plain text: the grep below can see them.
  REQUIRE(files_contain(erased.username));
  REQUIRE(files_contain(erased.user_id));
  REQUIRE(files_contain(kept.username));

  auto r = test::run_binary({"member", "erase", erased.user_id, "--db", db_path});
  CHECK_MESSAGE(r.exit_code == 0, r.out << r.err);
  CHECK(r.out.find("2 event(s) deleted, 1 case(s) anonymised (1 cancelled)") != std::string::npos);
  CHECK(r.out.find("Backups made before now") != std::string::npos);

  // Nothing of the member in either file, while the service keeps running (and writing).
  for (const auto& needle : {erased.email, erased.name, erased.username, erased.user_id,
                             erased.membership_id, erased.payment_id + "1"}) {
    INFO(needle);
    CHECK_FALSE(ops_test::file_contains(db_path, needle));
    CHECK_FALSE(ops_test::file_contains(db_path + "-wal", needle));
  }
  CHECK(files_contain(kept.username));  // the other member is untouched
  // The service is still healthy, and the erased member's case is anonymised and cancelled.
  auto res = c.Get("/readyz");
  REQUIRE(res);
  CHECK(res->status == 200);
  {
    SQLite::Database db(db_path, SQLite::OPEN_READONLY);
    db.setBusyTimeout(5000);
    CHECK(scalar(db,
                 "SELECT count(*) FROM cases WHERE status = 'cancelled' AND resolution = "
                 "'erased' AND user_id = '' AND username = ''") == 1);
    CHECK(scalar(db, "SELECT count(*) FROM recovery_actions WHERE type = 'member_erased'") == 1);
  }
  // Erasing again is harmless; an unknown member erases nothing.
  auto again = test::run_binary({"member", "erase", erased.user_id, "--db", db_path});
  CHECK(again.exit_code == 0);
  CHECK(again.out.find("0 event(s) deleted") != std::string::npos);

  server.signal_and_reap(SIGTERM);
  for (const auto& needle : {erased.email, erased.name, erased.username, erased.user_id}) {
    INFO(needle);
    CHECK_FALSE(ops_test::file_contains(db_path, needle));
    CHECK_FALSE(ops_test::file_contains(db_path + "-wal", needle));
  }
}
