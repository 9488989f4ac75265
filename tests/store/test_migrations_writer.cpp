// Store tests on real temp files: migrations (up, down, verify, newer-database refusal) and the
// group-commit writer.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include <SQLiteCpp/Statement.h>

#include "store/dashboard.h"
#include "store/db.h"
#include "store/events.h"
#include "store/member_search.h"
#include "store/migrations.h"
#include "store/rollup.h"
#include "store/writer.h"
#include "support/test_app.h"

using namespace cs;

namespace {
int table_count(SQLite::Database& db) {
  return db.execAndGet("SELECT count(*) FROM sqlite_master WHERE type='table'").getInt();
}
}  // namespace

TEST_CASE("migrations go up, verify, go down and up again") {
  test::TempDir dir;
  auto db = store::open_connection(dir.file("m.db"), store::ConnectionRole::Writer);
  CHECK(store::schema_version(*db) == 0);
  REQUIRE(store::migrate_up(*db));
  CHECK(store::schema_version(*db) == store::binary_schema_version());
  CHECK(store::verify_schema(*db));
  CHECK(table_count(*db) >= 5);

  REQUIRE(store::migrate_down(*db, store::binary_schema_version()));
  CHECK(store::schema_version(*db) == 0);
  CHECK(table_count(*db) == 0);

  REQUIRE(store::migrate_up(*db));
  CHECK(store::verify_schema(*db));
  CHECK(db->execAndGet("PRAGMA journal_mode").getString() == "wal");
  CHECK(db->execAndGet("PRAGMA synchronous").getInt() == 2);  // FULL
  CHECK(db->execAndGet("PRAGMA foreign_keys").getInt() == 1);
}

TEST_CASE("every migration's down script undoes exactly its up script") {
  test::TempDir dir;
  auto db = store::open_connection(dir.file("m.db"), store::ConnectionRole::Writer);
  REQUIRE(store::migrate_up(*db));
  for (int v = store::binary_schema_version(); v > 0; --v) {
    REQUIRE(store::migrate_down(*db, 1));
    CHECK(store::schema_version(*db) == v - 1);
    CHECK(store::verify_schema(*db));
  }
}

TEST_CASE("verify notices a schema that drifted") {
  test::TempDir dir;
  auto db = store::open_connection(dir.file("m.db"), store::ConnectionRole::Writer);
  REQUIRE(store::migrate_up(*db));
  db->exec("CREATE INDEX sneaky ON events (type)");
  auto st = store::verify_schema(*db);
  REQUIRE_FALSE(st);
  CHECK(st.error().find("sneaky") != std::string::npos);
}

TEST_CASE("a database newer than the binary is refused with both versions named") {
  test::TempDir dir;
  auto db = store::open_connection(dir.file("m.db"), store::ConnectionRole::Writer);
  REQUIRE(store::migrate_up(*db));
  db->exec("PRAGMA user_version = 99");
  auto st = store::migrate_up(*db);
  REQUIRE_FALSE(st);
  CHECK(st.error().find("99") != std::string::npos);
  CHECK(st.error().find("schema version " + std::to_string(store::binary_schema_version())) !=
        std::string::npos);
}

TEST_CASE("quick_check passes on a healthy file") {
  test::TempDir dir;
  auto db = store::open_connection(dir.file("m.db"), store::ConnectionRole::Writer);
  REQUIRE(store::migrate_up(*db));
  CHECK(store::quick_check(*db));
}

namespace {
store::NewEvent sample_event(const std::string& id) {
  store::NewEvent e;
  e.webhook_id = id;
  e.type = "payment.failed";
  e.event_time = 1000;
  e.received_at = 2000;
  e.membership_id = "mem_1";
  return e;
}
}  // namespace

TEST_CASE("the writer commits concurrent tasks in groups and every task is durable") {
  test::TempDir dir;
  std::string path = dir.file("w.db");
  {
    auto db = store::open_connection(path, store::ConnectionRole::Writer);
    REQUIRE(store::migrate_up(*db));
  }
  constexpr int kThreads = 16, kPerThread = 50;
  uint64_t commits = 0;
  {
    store::Writer writer(store::open_connection(path, store::ConnectionRole::Writer));
    std::vector<std::thread> threads;
    std::atomic<int> ok{0};
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          auto st = writer.run([&](SQLite::Database& db) {
            store::save_event(db,
                              sample_event("msg_" + std::to_string(t) + "_" + std::to_string(i)));
          });
          if (st) ok++;
        }
      });
    }
    for (auto& th : threads) th.join();
    CHECK(ok.load() == kThreads * kPerThread);
    commits = writer.commits();
  }
  // Fewer commits than tasks: that is group commit at work.
  CHECK(commits < static_cast<uint64_t>(kThreads * kPerThread));
  auto db = store::open_connection(path, store::ConnectionRole::Reader);
  CHECK(store::count_events(*db) == kThreads * kPerThread);
}

TEST_CASE(
    "an urgent task goes before the normal tasks queued ahead of it and joins the running "
    "transaction") {
  test::TempDir dir;
  std::string path = dir.file("w.db");
  {
    auto db = store::open_connection(path, store::ConnectionRole::Writer);
    REQUIRE(store::migrate_up(*db));
  }
  store::Writer writer(store::open_connection(path, store::ConnectionRole::Writer));
  std::mutex mu;
  std::vector<std::string> order;
  auto note = [&](const std::string& what) {
    std::lock_guard<std::mutex> lock(mu);
    order.push_back(what);
  };
  const uint64_t commits_before = writer.commits();
  std::atomic<bool> long_running{false};
  // A long normal task (event processing) that makes way as soon as an urgent task waits.
  std::thread processing([&] {
    CHECK(writer.run([&](SQLite::Database&) {
      note("processing");
      long_running = true;
      while (!writer.urgent_waiting()) std::this_thread::yield();
    }));
  });
  while (!long_running) std::this_thread::yield();
  std::thread normal([&] { CHECK(writer.run([&](SQLite::Database&) { note("normal"); })); });
  while (writer.queued() < 1) std::this_thread::yield();  // queued behind the long one
  CHECK(writer.run(
      [&](SQLite::Database& db) {
        note("webhook");
        store::save_event(db, sample_event("msg_urgent"));
      },
      store::Writer::Priority::Urgent));
  processing.join();
  normal.join();
  CHECK(order == std::vector<std::string>{"processing", "webhook", "normal"});
  // The webhook committed with the long task: one commit for both, one for the normal task.
  CHECK(writer.commits() == commits_before + 2);
  CHECK_FALSE(writer.urgent_waiting());
}

namespace {

/// Commits `n` rows of 40 KB (10-30 WAL pages each) through `writer`, one per commit; returns the
/// largest size the -wal file reached.
std::uintmax_t commit_blobs(store::Writer& writer, const std::string& path, int from, int n) {
  const std::string blob(40000, 'x');
  std::uintmax_t largest_wal = 0;
  for (int i = from; i < from + n; ++i) {
    REQUIRE(writer.run([&](SQLite::Database& db) {
      SQLite::Statement q(db, "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, 0)");
      q.bind(1, "blob_" + std::to_string(i));
      q.bind(2, blob);
      q.exec();
    }));
    std::error_code ec;
    largest_wal = std::max(largest_wal, std::filesystem::file_size(path + "-wal", ec));
  }
  return largest_wal;
}

constexpr std::uintmax_t kWalFrameBytes = 4096 + 24;

/// A migrated database file in `dir`; returns its path.
std::string migrated_file(const test::TempDir& dir) {
  std::string path = dir.file("w.db");
  auto db = store::open_connection(path, store::ConnectionRole::Writer);
  REQUIRE(store::migrate_up(*db));
  return path;
}

}  // namespace

TEST_CASE("the WAL is checkpointed off the writer and stays bounded under constant writes") {
  test::TempDir dir;
  const std::string path = migrated_file(dir);
  {
    store::Writer writer(store::open_connection(path, store::ConnectionRole::Writer));
    // 600 commits, about 6,000 pages in all: without checkpoints the WAL would hold them all.
    std::uintmax_t largest_wal = commit_blobs(writer, path, 0, 600);
    // Checkpoints ran (SQLite's own autocheckpoint is replaced), and the WAL restarted from its
    // beginning instead of growing: it never held much more than the checkpoint mark.
    CHECK(writer.background_checkpoints() > 0);
    CHECK(writer.inline_checkpoints() > 0);
    CHECK(largest_wal <= (4 * store::Writer::kWalCheckpointPages + 40) * kWalFrameBytes + 32);
  }
  auto db = store::open_connection(path, store::ConnectionRole::Reader);
  CHECK(db->execAndGet("SELECT count(*) FROM settings WHERE key LIKE 'blob_%'").getInt() == 600);
}

TEST_CASE("after a reader held an old snapshot, the backlog is copied off the writer") {
  test::TempDir dir;
  const std::string path = migrated_file(dir);
  store::Writer writer(store::open_connection(path, store::ConnectionRole::Writer));
  {
    // A reader in a transaction (as a backup's VACUUM INTO is for minutes): no checkpoint can copy
    // past its snapshot, so the WAL grows to about 4,000 pages.
    auto reader = store::open_connection(path, store::ConnectionRole::Reader);
    reader->exec("BEGIN");
    CHECK(reader->execAndGet("SELECT count(*) FROM settings").getInt() >= 0);
    std::uintmax_t grown = commit_blobs(writer, path, 0, 400);
    CHECK(grown > 3 * store::Writer::kWalCheckpointPages * kWalFrameBytes);
    reader->exec("COMMIT");
  }
  // Once it lets go, the checkpointer copies the backlog; the writer copies only what is left
  // after a background run when that is at most kWalInlineMaxPages (before, it copied the
  // whole backlog inside a commit that webhooks waited for).
  commit_blobs(writer, path, 400, 300);
  CHECK(writer.background_checkpoints() > 0);
  CHECK(writer.inline_checkpoints() > 0);
  CHECK(writer.largest_inline_checkpoint() <= store::Writer::kWalInlineMaxPages);
  auto db = store::open_connection(path, store::ConnectionRole::Reader);
  CHECK(db->execAndGet("SELECT count(*) FROM settings WHERE key LIKE 'blob_%'").getInt() == 700);
}

TEST_CASE("a failing task is rolled back alone; a failed commit fails every task in it") {
  test::TempDir dir;
  std::string path = dir.file("w.db");
  {
    auto db = store::open_connection(path, store::ConnectionRole::Writer);
    REQUIRE(store::migrate_up(*db));
  }
  store::Writer writer(store::open_connection(path, store::ConnectionRole::Writer));
  auto bad = writer.run([](SQLite::Database& db) {
    store::save_event(db, sample_event("msg_half"));
    throw std::runtime_error("boom");
  });
  CHECK_FALSE(bad);
  CHECK(bad.error() == "boom");
  CHECK(writer.run([](SQLite::Database& db) { store::save_event(db, sample_event("msg_ok")); }));

  writer.set_fail_commits_for_test(true);
  auto refused =
      writer.run([](SQLite::Database& db) { store::save_event(db, sample_event("msg_lost")); });
  CHECK_FALSE(refused);
  writer.set_fail_commits_for_test(false);

  auto check =
      writer.run_value<int64_t>([](SQLite::Database& db) { return store::count_events(db); });
  REQUIRE(check);
  CHECK(*check == 1);  // only msg_ok
}

TEST_CASE("a duplicate webhook-id stores nothing new") {
  test::TempDir dir;
  auto db = store::open_connection(dir.file("e.db"), store::ConnectionRole::Writer);
  REQUIRE(store::migrate_up(*db));
  CHECK(store::save_event(*db, sample_event("msg_x")).has_value());
  CHECK_FALSE(store::save_event(*db, sample_event("msg_x")).has_value());
  CHECK(store::count_events(*db) == 1);
}

TEST_CASE("migration 4 converts amounts stored as cents into each currency's minor units") {
  test::TempDir dir;
  auto db = store::open_connection(dir.file("m.db"), store::ConnectionRole::Writer);
  REQUIRE(store::migrate_up(*db));
  REQUIRE(store::migrate_down(*db, store::binary_schema_version() - 3));
  // What the binary before migration 4 stored for JPY 1000, KWD 12.345, USD 29.99, CLF 1.2345.
  int n = 0;
  for (auto [currency, cents] : {std::pair<const char*, int64_t>{"jpy", 100000},
                                 {"kwd", 1235},
                                 {"usd", 2999},
                                 {"clf", 123},
                                 {"xyz", 1234}}) {
    ++n;
    SQLite::Statement ev(*db,
                         "INSERT INTO events (webhook_id, type, event_time, received_at, "
                         "membership_id, amount_cents, currency) VALUES (?, 'payment.failed', 1, "
                         "1, ?, ?, ?)");
    ev.bind(1, "msg_" + std::to_string(n));
    ev.bind(2, std::string("mem_") + currency);
    ev.bind(3, cents);
    ev.bind(4, currency);
    ev.exec();
    SQLite::Statement c(*db,
                        "INSERT INTO cases (id, membership_id, status, first_failure_at, "
                        "last_failure_at, amount_due_cents, currency, recovered_cents, "
                        "refunded_cents, created_at, updated_at) VALUES (?, ?, 'recovered', 1, 1, "
                        "?, ?, ?, 0, 1, 1)");
    c.bind(1, "case_" + std::to_string(n));
    c.bind(2, std::string("mem_") + currency);
    c.bind(3, cents);
    c.bind(4, currency);
    c.bind(5, cents);
    c.exec();
  }
  REQUIRE(store::migrate_up(*db));
  auto amount = [&](const char* table, const char* column, const char* currency) {
    SQLite::Statement q(*db,
                        std::string("SELECT ") + column + " FROM " + table + " WHERE currency = ?");
    q.bind(1, currency);
    REQUIRE(q.executeStep());
    return q.getColumn(0).getInt64();
  };
  CHECK(amount("events", "amount_cents", "jpy") == 1000);
  CHECK(amount("cases", "amount_due_cents", "jpy") == 1000);
  CHECK(amount("cases", "recovered_cents", "jpy") == 1000);
  CHECK(amount("events", "amount_cents", "kwd") == 12350);  // the third decimal was lost before
  CHECK(amount("cases", "recovered_cents", "kwd") == 12350);
  CHECK(amount("events", "amount_cents", "clf") == 12300);
  CHECK(amount("events", "amount_cents", "usd") == 2999);
  CHECK(amount("cases", "amount_due_cents", "usd") == 2999);
  CHECK(amount("events", "amount_cents", "xyz") == 1234);
  REQUIRE(store::verify_schema(*db));
}

TEST_CASE("migration 10 fills last_paid_at and 'paid after the window' from the stored payments") {
  test::TempDir dir;
  auto db = store::open_connection(dir.file("m.db"), store::ConnectionRole::Writer);
  REQUIRE(store::migrate_up(*db));
  REQUIRE(store::migrate_down(*db, store::binary_schema_version() - 9));
  REQUIRE(store::schema_version(*db) == 9);
  const int64_t day = 86400000, t0 = 1767225600000;
  // What schema 9 stored: lost cases (the window passed, or Whop deactivated), and payments.
  auto add_case = [&](const char* id, const char* membership, const char* user,
                      const char* resolution, int64_t resolved_at) {
    SQLite::Statement c(*db,
                        "INSERT INTO cases (id, membership_id, user_id, product_id, status, "
                        "resolution, first_failure_at, last_failure_at, amount_due_cents, "
                        "currency, resolved_at, created_at, updated_at) VALUES (?, ?, ?, "
                        "'prod_1', 'lost', ?, ?, ?, 1000, 'usd', ?, 1, 1)");
    c.bind(1, id);
    c.bind(2, membership);
    c.bind(3, user);
    c.bind(4, resolution);
    c.bind(5, t0);
    c.bind(6, t0);
    c.bind(7, resolved_at);
    c.exec();
  };
  int n = 0;
  auto add_payment = [&](const char* membership, const char* user, int64_t at) {
    SQLite::Statement e(*db,
                        "INSERT INTO events (webhook_id, type, event_time, received_at, "
                        "membership_id, user_id, product_id, process_state) VALUES (?, "
                        "'payment.succeeded', ?, ?, ?, ?, 'prod_1', 'processed')");
    e.bind(1, "msg_" + std::to_string(++n));
    e.bind(2, at);
    e.bind(3, at);
    e.bind(4, membership);
    e.bind(5, user);
    e.exec();
  };
  add_case("case_paid", "mem_1", "user_1", "expired", t0 + 14 * day);
  add_payment("mem_1", "user_1", t0 - 30 * day);  // the renewal before the failure
  add_payment("mem_1", "user_1", t0 + 20 * day);  // after the window
  add_case("case_rebought", "mem_2", "user_2", "deactivated", t0 + 3 * day);
  add_payment("mem_3", "user_2", t0 + 16 * day);  // the same member buys the product again
  add_case("case_unpaid", "mem_4", "user_4", "expired", t0 + 14 * day);
  add_payment("mem_4", "user_4", t0 - 30 * day);  // only before the failure
  add_case("case_stale", "mem_5", "user_5", "stale", t0 + 40 * day);
  add_payment("mem_5", "user_5", t0 + 50 * day);  // not a lost-without-payment resolution

  REQUIRE(store::migrate_up(*db));
  REQUIRE(store::verify_schema(*db));
  auto last_paid = [&](const char* id) {
    SQLite::Statement q(*db, "SELECT last_paid_at FROM cases WHERE id = ?");
    q.bind(1, id);
    REQUIRE(q.executeStep());
    return q.getColumn(0).getInt64();
  };
  CHECK(last_paid("case_paid") == t0 + 20 * day);
  CHECK(last_paid("case_rebought") == t0 + 16 * day);
  CHECK(last_paid("case_unpaid") == t0 - 30 * day);
  CHECK(last_paid("case_stale") == t0 + 50 * day);
  CHECK(store::find_kpis(*db, t0 - day).paid_after_window == 2);
  CHECK(store::find_kpis(*db, t0 - day).lost == 4);

  // Down to 9 and up again: the same figures.
  REQUIRE(store::migrate_down(*db, store::binary_schema_version() - 9));
  REQUIRE(store::schema_version(*db) == 9);
  REQUIRE(store::verify_schema(*db));
  REQUIRE(store::migrate_up(*db));
  CHECK(store::find_kpis(*db, t0 - day).paid_after_window == 2);
  // Migration 11 summed the day level from the buckets: a window of whole days reads it.
  CHECK(store::list_rollup_failure_days(*db).size() == 1);
  CHECK(store::find_kpis(*db, t0 - day, t0 + day).lost == 4);
}

TEST_CASE("migration 12 keeps every event's search hashes as a set of its own, and back") {
  test::TempDir dir;
  auto db = store::open_connection(dir.file("m.db"), store::ConnectionRole::Writer);
  REQUIRE(store::migrate_up(*db));
  REQUIRE(store::migrate_down(*db, store::binary_schema_version() - 11));
  REQUIRE(store::schema_version(*db) == 11);
  // What schema 11 stored: one row per fragment hash and event; an event without details.
  for (int i = 1; i <= 3; ++i) {
    SQLite::Statement e(*db,
                        "INSERT INTO events (id, webhook_id, type, event_time, received_at, "
                        "membership_id, payload, process_state) VALUES (?, ?, 'payment.failed', "
                        "1, 1, ?, X'00', 'processed')");
    e.bind(1, i);
    e.bind(2, "msg_" + std::to_string(i));
    e.bind(3, i == 3 ? "mem_2" : "mem_1");
    e.exec();
  }
  const std::vector<std::pair<std::string, int>> rows = {
      {"aaaaaaaa", 1}, {"bbbbbbbb", 1}, {"aaaaaaaa", 2}, {"cccccccc", 2}};
  for (const auto& [token, event] : rows) {
    SQLite::Statement r(*db, "INSERT INTO member_search (token, event_id) VALUES (?, ?)");
    r.bind(1, token.data(), static_cast<int>(token.size()));
    r.bind(2, event);
    r.exec();
  }
  auto strings = [&](const std::string& sql) {
    std::vector<std::string> out;
    SQLite::Statement q(*db, sql);
    while (q.executeStep()) {
      std::string row;
      for (int c = 0; c < q.getColumnCount(); ++c)
        row += (c ? " " : "") + q.getColumn(c).getString();
      out.push_back(row);
    }
    return out;
  };

  REQUIRE(store::migrate_up(*db));
  REQUIRE(store::verify_schema(*db));
  CHECK(strings("SELECT id, membership_id FROM member_search_sets ORDER BY id") ==
        std::vector<std::string>{"1 mem_1", "2 mem_1"});
  CHECK(strings("SELECT id, coalesce(search_set, 'none') FROM events ORDER BY id") ==
        std::vector<std::string>{"1 1", "2 2", "3 none"});
  CHECK(strings("SELECT set_id, token FROM member_search_tokens ORDER BY set_id, token") ==
        std::vector<std::string>{"1 aaaaaaaa", "1 bbbbbbbb", "2 aaaaaaaa", "2 cccccccc"});
  // A search needs all its fragments in one event's set: a and c only in event 2's.
  store::SearchTokens both;
  both.per_key = 2;
  both.tokens = {"aaaaaaaa", "cccccccc"};
  CHECK(strings("SELECT DISTINCT membership_id FROM events WHERE " +
                store::member_search_condition(both)) == std::vector<std::string>{"mem_1"});
  both.tokens = {"bbbbbbbb", "cccccccc"};
  CHECK(strings("SELECT DISTINCT membership_id FROM events WHERE " +
                store::member_search_condition(both))
            .empty());

  // Down to 11: the same rows as before.
  REQUIRE(store::migrate_down(*db, store::binary_schema_version() - 11));
  REQUIRE(store::verify_schema(*db));
  CHECK(strings("SELECT event_id, token FROM member_search ORDER BY event_id, token") ==
        std::vector<std::string>{"1 aaaaaaaa", "1 bbbbbbbb", "2 aaaaaaaa", "2 cccccccc"});
}
