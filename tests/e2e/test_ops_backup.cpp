// Backups, restores and checks (issue 5) with the real binary: a backup taken while webhooks
// stream in holds every event acknowledged before it began; restore validates first and refuses
// while serve runs; serve's daily backups keep the last N; a failing backup raises an alert that
// clears itself; `check` runs integrity and foreign-key checks.
#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include <SQLiteCpp/SQLiteCpp.h>
#include <nlohmann/json.hpp>

#include "app/backup.h"
#include "e2e/ops_support.h"
#include "http/dashboard_support.h"
#include "store/db.h"
#include "store/migrations.h"
#include "support/fake_whop.h"
#include "support/test_app.h"
#include "support/webhook_client.h"

using namespace cs;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string failed_body(const std::string& tag) {
  test::FakeWhop::PaymentSpec spec;
  spec.payment_id = "pay_" + tag;
  spec.membership_id = "mem_" + tag;
  spec.user_id = "user_" + tag;
  return test::FakeWhop::payment_event("payment.failed", spec).dump();
}

/// Streams signed webhooks from several threads; remembers every id answered 200 with the time
/// its answer arrived.
class Stream {
 public:
  Stream(int port, int threads) {
    for (int t = 0; t < threads; ++t) {
      threads_.emplace_back([this, port, t] {
        httplib::Client c("127.0.0.1", port);
        c.set_keep_alive(true);
        c.set_tcp_nodelay(true);
        c.set_read_timeout(10, 0);
        for (int seq = 0; !stop_.load(); ++seq) {
          std::string tag = "s" + std::to_string(t) + "n" + std::to_string(seq);
          std::string id = "msg_backup_" + tag;
          std::string body = failed_body(tag);
          auto res = c.Post("/webhooks/whop", test::v1_headers(test::kTestSecret, id, body), body,
                            "application/json");
          if (!res || res->status != 200) continue;
          std::lock_guard<std::mutex> lock(mu_);
          acked_.push_back(id);
        }
      });
    }
  }
  ~Stream() { stop(); }
  void stop() {
    stop_.store(true);
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  /// Ids acknowledged so far.
  std::vector<std::string> acked() {
    std::lock_guard<std::mutex> lock(mu_);
    return acked_;
  }

 private:
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<std::string> acked_;
  std::vector<std::thread> threads_;
};

std::set<std::string> webhook_ids(const std::string& db_path) {
  SQLite::Database db(db_path, SQLite::OPEN_READONLY);
  SQLite::Statement q(db, "SELECT webhook_id FROM events");
  std::set<std::string> out;
  while (q.executeStep()) out.insert(q.getColumn(0).getString());
  return out;
}

}  // namespace

TEST_CASE("backup while webhooks stream in: the restored copy has every event acked before it") {
  ::signal(SIGPIPE, SIG_IGN);
  test::TempDir dir;
  const std::string db = dir.file("cs.db");
  ops_test::ServerProcess server(db, dir.file("server.log"));
  server.start();
  REQUIRE_MESSAGE(server.wait_ready(), ops_test::tail(server.log()));

  Stream stream(server.port(), 6);
  for (int i = 0; i < 500 && stream.acked().size() < 300; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // Everything acknowledged up to here was acknowledged before the backup began.
  auto before = stream.acked();
  REQUIRE(before.size() > 0);
  const std::string backup = dir.file("backup.db");
  auto r = test::run_binary({"backup", backup, "--db", db});
  CHECK_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.out.find("checked") != std::string::npos);
  CHECK(r.out.find("keyring") != std::string::npos);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the stream goes on meanwhile
  stream.stop();
  auto after = stream.acked();
  MESSAGE(before.size() << " acked before the backup, " << after.size() << " in all");
  CHECK(after.size() > before.size());

  // The backup is one self-contained, valid file.
  CHECK(fs::exists(backup));
  CHECK_FALSE(fs::exists(backup + "-wal"));
  CHECK((fs::status(backup).permissions() & fs::perms::others_read) == fs::perms::none);
  CHECK(test::run_binary({"backup", backup, "--db", db}).exit_code == 1);  // never overwritten

  // Restore it elsewhere (no service there) and look.
  fs::create_directories(dir.file("other"));
  const std::string restored = dir.file("other/cs.db");
  auto rr = test::run_binary({"restore", backup, "--db", restored});
  CHECK_MESSAGE(rr.exit_code == 0, rr.err);
  auto ids = webhook_ids(restored);
  size_t missing = 0;
  for (const auto& id : before) missing += ids.count(id) ? 0 : 1;
  CHECK_MESSAGE(missing == 0, missing << " of " << before.size()
                                      << " events acknowledged before the backup are missing");
  auto ck = test::run_binary({"check", "--db", restored});
  CHECK_MESSAGE(ck.exit_code == 0, ck.out << ck.err);
  CHECK(ck.out.find("integrity_check ok, foreign_key_check ok") != std::string::npos);
  server.signal_and_reap(SIGTERM);
}

TEST_CASE("restore validates first, refuses while serve runs, and keeps what it replaces") {
  ::signal(SIGPIPE, SIG_IGN);
  test::TempDir dir;
  const std::string db = dir.file("cs.db");
  ops_test::ServerProcess server(db, dir.file("server.log"));
  server.start();
  REQUIRE_MESSAGE(server.wait_ready(), ops_test::tail(server.log()));
  {
    auto c = server.client();
    std::string body = failed_body("r1");
    auto res = c.Post("/webhooks/whop", test::v1_headers(test::kTestSecret, "msg_r1", body), body,
                      "application/json");
    REQUIRE(res);
    REQUIRE(res->status == 200);
  }
  const std::string good = dir.file("good.db");
  REQUIRE(test::run_binary({"backup", good, "--db", db}).exit_code == 0);

  // Junk is refused before anything is touched.
  ops_test::write_file(dir.file("junk.db"), "this is not a database at all, not even close......");
  auto junk = test::run_binary({"restore", dir.file("junk.db"), "--db", db});
  CHECK(junk.exit_code == 1);
  CHECK(junk.err.find("cannot be restored") != std::string::npos);
  // A good file is refused while the service runs.
  auto busy = test::run_binary({"restore", good, "--db", db});
  CHECK(busy.exit_code == 1);
  CHECK(busy.err.find("churn-saver is running") != std::string::npos);
  CHECK(busy.err.find("systemctl stop churn-saver") != std::string::npos);
  // A second serve on the same database is refused the same way.
  ops_test::ServerProcess second(db, dir.file("second.log"));
  second.start();
  CHECK_FALSE(second.wait_ready("/readyz", std::chrono::milliseconds(3000)));
  CHECK(second.log().find("churn-saver is running") != std::string::npos);

  // Stopped: the restore goes through; the old database is kept beside it.
  int st = server.signal_and_reap(SIGTERM);
  CHECK(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 0);
  auto ok = test::run_binary({"restore", good, "--db", db});
  CHECK_MESSAGE(ok.exit_code == 0, ok.err);
  CHECK(ok.out.find("kept as") != std::string::npos);
  bool kept = false;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    kept = kept || e.path().filename().string().rfind("cs.db.before-restore-", 0) == 0;
  }
  CHECK(kept);
  CHECK(webhook_ids(db).count("msg_r1") == 1);
  CHECK(test::run_binary({"check", "--db", db}).exit_code == 0);

  // And the service starts on it.
  server.start();
  REQUIRE_MESSAGE(server.wait_ready(), ops_test::tail(server.log()));
  server.signal_and_reap(SIGTERM);
}

TEST_CASE("check: integrity and foreign-key problems are reported with what to do") {
  test::TempDir dir;
  const std::string db = dir.file("cs.db");
  REQUIRE(test::run_binary({"migrate", "up", "--db", db}).exit_code == 0);
  auto ok = test::run_binary({"check", "--db", db});
  CHECK(ok.exit_code == 0);
  CHECK(test::run_binary({"check", "--quick", "--db", db}).exit_code == 0);
  {
    SQLite::Database conn(db, SQLite::OPEN_READWRITE);
    conn.exec("PRAGMA foreign_keys = OFF");
    conn.exec(
        "INSERT INTO recovery_actions (case_id, at, type) VALUES ('no_such_case', 1, 'test')");
  }
  auto bad = test::run_binary({"check", "--db", db});
  CHECK(bad.exit_code == 1);
  CHECK(bad.out.find("foreign key violation: recovery_actions") != std::string::npos);
  CHECK(bad.out.find("churn-saver restore FILE") != std::string::npos);
  auto missing = test::run_binary({"check", "--db", dir.file("nope.db")});
  CHECK(missing.exit_code == 1);
  CHECK(missing.err.find("no database at") != std::string::npos);
}

TEST_CASE("daily backups: one a day, the last N kept, a failure alerts and clears itself") {
  test::TempDir dir;
  int64_t start = 1'800'000'000'000LL;
  ManualClock clock(start);
  // A little alert receiver (Slack/Discord style incoming webhook).
  httplib::Server hook;
  std::mutex mu;
  std::vector<std::string> posted;
  hook.Post("/hook", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    posted.push_back(json::parse(req.body)["text"]);
    res.status = 204;
  });
  int hook_port = hook.bind_to_any_port("127.0.0.1");
  std::thread hook_thread([&] { hook.listen_after_bind(); });

  const std::string backups = dir.file("backups");
  test::TestApp::Options o;
  o.clock = &clock;
  o.db_path = dir.file("cs.db");
  o.configure = [&](app::Config& c) {
    c.backup_dir = backups;
    c.backup_keep = 3;
    c.alert_disk_free_percent = 0;  // whatever this machine's disk looks like
    c.alert_url = "http://127.0.0.1:" + std::to_string(hook_port) + "/hook";
  };
  {
    test::TestApp app(o);
    auto& ops = app.app().operations();
    // First pass: no backup yet, so one is made.
    ops.maintenance_pass();
    CHECK(app::list_backups(backups).size() == 1);
    // Later the same day: nothing new.
    clock.advance(6 * kHourMs);
    ops.maintenance_pass();
    CHECK(app::list_backups(backups).size() == 1);
    // Five more days: one a day, the oldest beyond three deleted.
    for (int d = 0; d < 5; ++d) {
      clock.advance(kDayMs);
      ops.maintenance_pass();
    }
    auto files = app::list_backups(backups);
    REQUIRE(files.size() == 3);
    CHECK(files[0].time_ms == clock.now_ms());
    for (const auto& f : files) {
      INFO(f.name);
      fs::copy_file(f.path, dir.file("copy.db"), fs::copy_options::overwrite_existing);
      CHECK(app::validate_database_file(dir.file("copy.db")));
    }
    // Files that are not serve's backups are never touched.
    ops_test::write_file(backups + "/notes.txt", "keep me");

    // The directory becomes unusable: the backup fails, the alert is raised once.
    fs::rename(backups, dir.file("moved"));
    ops_test::write_file(backups, "a file where the directory was");
    clock.advance(kDayMs);
    ops.maintenance_pass();
    auto b = ops.state().backup();
    CHECK_FALSE(b.last_ok);
    auto alerts = ops.state().alerts();
    REQUIRE(alerts.size() == 1);
    CHECK(alerts[0].code == "backup_failed");
    clock.advance(10 * kMinuteMs);
    ops.maintenance_pass();  // still failing, retried only after an hour: no second message
    {
      std::lock_guard<std::mutex> lock(mu);
      REQUIRE(posted.size() == 1);
      CHECK(posted[0].find("CRITICAL (backup_failed)") != std::string::npos);
    }
    auto health = app.client().Get("/api/health");
    REQUIRE(health);
    CHECK(json::parse(health->body)["status"] == "degraded");
    // The dashboard shows it as a banner on every page.
    test::set_admin(app);
    test::WebClient web(app);
    REQUIRE(web.sign_in());
    for (const char* page : {"/", "/cases", "/settings"}) {
      auto res = web.get(page);
      REQUIRE(res);
      INFO(page);
      CHECK(res->body.find("class=\"alert alert-critical\"") != std::string::npos);
      CHECK(res->body.find("backup") != std::string::npos);
    }

    // Fixed: the next try (an hour later) succeeds, and the alert clears itself.
    fs::remove(backups);
    fs::rename(dir.file("moved"), backups);
    clock.advance(kHourMs);
    ops.maintenance_pass();
    CHECK(ops.state().backup().last_ok);
    CHECK(ops.state().alerts().empty());
    auto cleared = web.get("/");
    REQUIRE(cleared);
    CHECK(cleared->body.find("class=\"alert") == std::string::npos);
    CHECK(fs::exists(backups + "/notes.txt"));
    std::lock_guard<std::mutex> lock(mu);
    REQUIRE(posted.size() == 2);
    CHECK(posted[1].find("resolved (backup_failed)") != std::string::npos);
  }
  hook.stop();
  hook_thread.join();
}

TEST_CASE("a service that is stopping gives up its backup at once: no file left, no failure") {
  test::TempDir dir;
  const std::string backups = dir.file("backups");
  test::TestApp::Options o;
  o.db_path = dir.file("cs.db");
  o.configure = [&](app::Config& c) {
    c.backup_dir = backups;
    c.alert_disk_free_percent = 0;
  };
  test::TestApp app(o);
  for (int i = 0; i < 20; ++i) {
    std::string body = failed_body("Stop" + std::to_string(i));
    auto res = app.client().Post(
        "/webhooks/whop",
        test::v1_headers(test::kTestSecret, "msg_stop_" + std::to_string(i), body), body,
        "application/json");
    REQUIRE(res);
    REQUIRE(res->status == 200);
  }
  app.drain();

  // The copy and its check are interrupted when the flag turns (here: before they start), and
  // neither the backup nor its temporary file is left behind.
  std::atomic<bool> stop{true};
  auto r = app::backup_database(app.db_path(), dir.file("copy.db"), &stop);
  REQUIRE_FALSE(r);
  CHECK(r.error() == app::kBackupStopped);
  for (const auto& f : fs::directory_iterator(fs::path(app.db_path()).parent_path())) {
    INFO(f.path().string());
    CHECK(f.path().filename().string().find("copy.db") == std::string::npos);
  }
  stop = false;
  CHECK(app::backup_database(app.db_path(), dir.file("copy.db"), &stop));

  // serve's daily backup: once stop() is called, a backup that runs records no failure (and so
  // raises no alert); it is still due, so the next start makes it.
  auto& ops = app.app().operations();
  ops.stop();
  auto b = ops.backup_now();
  CHECK(b.last_error.empty());
  CHECK(ops.state().backup().last_ok);
  CHECK(ops.state().backup().last_attempt_ms == 0);
  CHECK(app::list_backups(backups).empty());
  CHECK(ops.evaluate_alerts_now().empty());
}
