#pragma once
// The application services over a real SQLite file, without HTTP: a writer, a read pool, a
// keyring and a hand-set clock.
#include <memory>
#include <string>
#include <vector>

#include <SQLiteCpp/Statement.h>

#include "service/context.h"
#include "store/db.h"
#include "store/migrations.h"
#include "store/writer.h"
#include "support/test_app.h"
#include "util/clock.h"
#include "util/crypto.h"

namespace cs::test {

class ServiceEnv {
 public:
  ServiceEnv() : clock(1'780'000'000'000) {
    auto db = store::open_connection(dir.file("s.db"), store::ConnectionRole::Writer);
    REQUIRE(store::migrate_up(*db));
    writer = std::make_unique<store::Writer>(std::move(db));
    reads = std::make_unique<store::ReadPool>(dir.file("s.db"), 2);
    auto k = crypto::load_or_create_keyring(dir.file("keys"));
    REQUIRE(k);
    keys = std::move(*k);
    ctx = std::make_unique<service::Context>(
        service::Context{*writer, reads.get(), clock, keys, {}, {30, 60}, {}, {}, {}});
    ctx->wake_jobs = [this] { ++wakeups; };
  }

  /// The audit rows not tied to a case: "type outcome", oldest first.
  std::vector<std::string> audit_rows() {
    auto db = reads->lease();
    SQLite::Statement q(*db,
                        "SELECT type, outcome FROM recovery_actions WHERE case_id IS NULL "
                        "ORDER BY id");
    std::vector<std::string> out;
    while (q.executeStep())
      out.push_back(q.getColumn(0).getString() + " " + q.getColumn(1).getString());
    return out;
  }

  /// Makes every audit insert fail (as a full disk or a crash between the two writes would),
  /// or lets them pass again.
  void refuse_audit(bool on) {
    auto st = writer->run([on](SQLite::Database& db) {
      if (on) {
        db.exec(
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON recovery_actions "
            "BEGIN SELECT RAISE(ABORT, 'audit refused'); END");
      } else {
        db.exec("DROP TRIGGER refuse_audit");
      }
    });
    REQUIRE(st);
  }

  TempDir dir;
  ManualClock clock;
  std::unique_ptr<store::Writer> writer;
  std::unique_ptr<store::ReadPool> reads;
  crypto::Keyring keys;
  std::unique_ptr<service::Context> ctx;
  int wakeups = 0;
};

}  // namespace cs::test
