// Upgrades (issue 5) through the real binary: a newer binary migrates an older database when
// serve starts and keeps every row; an older binary refuses a newer database in every command
// that opens it, naming both schema versions.
#include <doctest/doctest.h>

#include <SQLiteCpp/SQLiteCpp.h>
#include <nlohmann/json.hpp>

#include "e2e/ops_support.h"
#include "store/db.h"
#include "store/migrations.h"
#include "support/fake_whop.h"
#include "support/test_app.h"
#include "support/webhook_client.h"

using namespace cs;
using nlohmann::json;

TEST_CASE("upgrade: serve migrates an older database on start and keeps its rows") {
  ::signal(SIGPIPE, SIG_IGN);
  test::TempDir dir;
  const std::string db = dir.file("cs.db");
  const int latest = store::binary_schema_version();
  REQUIRE(latest >= 2);
  {
    ops_test::ServerProcess server(db, dir.file("v1.log"));
    server.start();
    REQUIRE(server.wait_ready());
    test::FakeWhop::PaymentSpec spec;
    std::string body = test::FakeWhop::payment_event("payment.failed", spec).dump();
    auto res = server.client().Post("/webhooks/whop",
                                    test::v1_headers(test::kTestSecret, "msg_before_upgrade", body),
                                    body, "application/json");
    REQUIRE(res);
    REQUIRE(res->status == 200);
    server.signal_and_reap(SIGTERM);
  }
  // What the previous release left: one migration less.
  REQUIRE(test::run_binary({"migrate", "down", "1", "--db", db}).exit_code == 0);
  auto before = test::run_binary({"migrate", "status", "--db", db});
  CHECK(before.out.find("1 pending") != std::string::npos);

  ops_test::ServerProcess server(db, dir.file("v2.log"));
  server.start();
  REQUIRE_MESSAGE(server.wait_ready(), ops_test::tail(server.log()));
  auto h = server.client().Get("/api/health/db");
  REQUIRE(h);
  auto j = json::parse(h->body);
  CHECK(j["schema_version"] == latest);
  CHECK(j["binary_schema_version"] == latest);
  server.signal_and_reap(SIGTERM);

  auto after = test::run_binary({"migrate", "verify", "--db", db});
  CHECK(after.exit_code == 0);
  auto events = test::run_binary({"events", "--json", "--db", db});
  CHECK(events.out.find("msg_before_upgrade") != std::string::npos);
  CHECK(test::run_binary({"check", "--db", db}).exit_code == 0);
}

TEST_CASE("downgrade: an older binary refuses a newer database, naming both versions") {
  test::TempDir dir;
  const std::string db = dir.file("cs.db");
  const int latest = store::binary_schema_version();
  REQUIRE(test::run_binary({"migrate", "up", "--db", db}).exit_code == 0);
  const std::string backup = dir.file("newer-backup.db");
  {
    SQLite::Database conn(db, SQLite::OPEN_READWRITE);
    conn.exec("PRAGMA user_version = " + std::to_string(latest + 1));
  }
  const std::string newer = "schema version " + std::to_string(latest + 1);
  const std::string ours = "schema version " + std::to_string(latest);
  struct Row {
    std::vector<std::string> args;
  };
  std::vector<Row> rows = {
      {{"serve", "--db", db, "--listen", "127.0.0.1:" + std::to_string(test::free_port())}},
      {{"check", "--db", db}},
      {{"cases", "--db", db}},
      {{"jobs", "list", "--db", db}},
      {{"member", "erase", "user_x", "--db", db}},
      {{"migrate", "up", "--db", db}},
  };
  for (const auto& r : rows) {
    INFO(r.args[0]);
    auto res = test::run_binary(r.args);
    CHECK(res.exit_code == 1);
    CHECK(res.err.find(newer) != std::string::npos);
    CHECK(res.err.find(ours) != std::string::npos);
  }
  // A backup of the newer database can be taken (it is a copy) but not restored by this binary.
  auto b = test::run_binary({"backup", backup, "--db", db});
  CHECK(b.exit_code == 1);  // the copy is checked: a schema this binary does not know
  CHECK(b.err.find(newer) != std::string::npos);
  // The database itself was not changed by any of this.
  SQLite::Database conn(db, SQLite::OPEN_READONLY);
  CHECK(store::schema_version(conn) == latest + 1);
}
