// Seeds a database with many stored events, fast, for the growth and footprint figures of issue 14
// item 6 (ingest on a 10,000,000-event database within 10 % of an empty one, ready to serve and
// resident memory on it). bench/run seeds one under /work/bench-data and points ingest_bench
// --db at it. See bench/README.md.
//
// The schema comes from the store (migrate_up); the rows go in through one bench-only bulk
// INSERT naming the columns, in transactions of 50,000, with the events table's secondary
// indexes dropped during the load and created again afterwards (a sort is much cheaper than
// 10 M random index inserts). The payloads are real ones: the fixture's payment.failed and
// payment.succeeded bodies, deflated and sealed with the database's keyring (<db>.key, as the
// server finds it) — 64 variants that the rows share, so the stored size per event is what the
// server writes, but a row's payload opens only under the webhook id it was sealed for.
// Every seeded event is already processed (nothing for the server to catch up on), spread over
// the last 365 days and 10 events per membership, over memberships of their own.
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

#include <SQLiteCpp/SQLiteCpp.h>
#include <CLI/CLI.hpp>

#include "store/db.h"
#include "store/events.h"
#include "store/migrations.h"
#include "support/fake_whop.h"
#include "util/crypto.h"

namespace {

using Steady = std::chrono::steady_clock;
constexpr int64_t kDay = 86400000;

double seconds_since(Steady::time_point t) {
  return std::chrono::duration<double>(Steady::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"seed_events: a database with many stored events (issue 14 item 6)"};
  std::string db_path;
  int64_t events = 10'000'000;
  int per_membership = 10;
  bool force = false;
  cli.add_option("--db", db_path, "database to create (its keyring is <db>.key)")->required();
  cli.add_option("--events", events, "events to store (default 10000000)")
      ->check(CLI::Range(int64_t{1}, int64_t{1'000'000'000}));
  cli.add_option("--per-membership", per_membership, "events per membership (default 10)")
      ->check(CLI::Range(1, 100000));
  cli.add_flag("--force", force, "replace an existing database at --db");
  CLI11_PARSE(cli, argc, argv);

  namespace fs = std::filesystem;
  try {
    if (fs::exists(db_path)) {
      // Reused when it holds enough events already (bench/run seeds once).
      if (!force) {
        SQLite::Database db(db_path, SQLite::OPEN_READONLY);
        const int64_t have = db.execAndGet("SELECT max(id) FROM events").getInt64();
        if (have >= events) {
          std::printf("seed_events: %s already holds %lld events\n", db_path.c_str(),
                      static_cast<long long>(have));
          return 0;
        }
      }
      for (const char* suffix : {"", "-wal", "-shm", ".key"}) fs::remove(db_path + suffix);
    }
    const auto t0 = Steady::now();
    auto keys = cs::crypto::load_or_create_keyring(db_path + ".key");
    if (!keys) throw std::runtime_error(keys.error());
    {
      auto db = cs::store::open_connection(db_path, cs::store::ConnectionRole::Writer);
      if (auto st = cs::store::migrate_up(*db); !st) throw std::runtime_error(st.error());
      db->exec("PRAGMA wal_checkpoint(TRUNCATE)");
    }

    // Payload variants: the fixture's bodies, sealed as the server seals them.
    std::vector<std::string> sealed;
    size_t body_bytes = 0, sealed_bytes = 0;
    for (int v = 0; v < 64; ++v) {
      cs::test::FakeWhop::PaymentSpec spec;
      spec.payment_id = "pay_seed" + std::to_string(1000000 + v);
      spec.membership_id = "mem_seed" + std::to_string(1000000 + v);
      spec.user_id = "user_seed" + std::to_string(1000000 + v);
      spec.time_ms = 1'700'000'000'000 + v;
      auto body =
          cs::test::FakeWhop::payment_event(v % 4 ? "payment.failed" : "payment.succeeded", spec)
              .dump();
      std::string webhook_id = "msg_seedtemplate" + std::to_string(v);
      sealed.push_back(cs::store::seal_event_payload(*keys, body, webhook_id));
      body_bytes += body.size();
      sealed_bytes += sealed.back().size();
    }

    SQLite::Database db(db_path, SQLite::OPEN_READWRITE);
    db.exec("PRAGMA journal_mode = OFF");  // a crash here only loses the seed
    db.exec("PRAGMA synchronous = OFF");
    db.exec("PRAGMA cache_size = -262144");  // 256 MiB while loading
    // The events table's own indexes (whatever the schema has now), dropped for the load.
    std::vector<std::string> index_sql;
    {
      SQLite::Statement q(db,
                          "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND "
                          "tbl_name = 'events' AND sql IS NOT NULL");
      std::vector<std::string> names;
      while (q.executeStep()) {
        names.push_back(q.getColumn(0).getString());
        index_sql.push_back(q.getColumn(1).getString());
      }
      q.reset();
      for (const auto& n : names) db.exec("DROP INDEX \"" + n + "\"");
    }

    const int64_t now = static_cast<int64_t>(std::time(nullptr)) * 1000;
    const int64_t span = 365 * kDay;
    SQLite::Statement ins(db,
                          "INSERT INTO events (id, webhook_id, source, type, api_version, "
                          "sig_scheme, event_time, received_at, membership_id, payment_id, "
                          "user_id, amount_cents, currency, failure_message, payload, "
                          "product_id, process_state, processed_at) "
                          "VALUES (?,?,'webhook',?,'v1','v1',?,?,?,?,?,?,'usd',?,?,?,"
                          "'processed',?)");
    const auto t_load = Steady::now();
    constexpr int64_t kBatch = 50000;
    char buf[64];
    for (int64_t i = 0; i < events;) {
      SQLite::Transaction tx(db);
      for (int64_t end = std::min(events, i + kBatch); i < end; ++i) {
        const int64_t id = i + 1;
        const int64_t received = now - span + span * i / events;
        const int64_t m = i / per_membership;
        const bool failed = (i % per_membership) % 4 != 3;
        ins.bind(1, id);
        std::snprintf(buf, sizeof buf, "msg_seed%016lld", static_cast<long long>(id));
        ins.bind(2, std::string(buf));
        ins.bind(3, failed ? "payment.failed" : "payment.succeeded");
        ins.bind(4, received - 1500);
        ins.bind(5, received);
        std::snprintf(buf, sizeof buf, "mem_seed%012lld", static_cast<long long>(m));
        ins.bind(6, std::string(buf));
        std::snprintf(buf, sizeof buf, "pay_seed%016lld", static_cast<long long>(id));
        ins.bind(7, std::string(buf));
        std::snprintf(buf, sizeof buf, "user_seed%012lld", static_cast<long long>(m));
        ins.bind(8, std::string(buf));
        ins.bind(9, static_cast<int64_t>(2999));
        ins.bind(10, failed ? "Your card has insufficient funds." : "");
        const auto& p = sealed[static_cast<size_t>(i % 64)];
        ins.bind(11, p.data(), static_cast<int>(p.size()));
        ins.bind(12, "prod_seed" + std::to_string(m % 20));
        ins.bind(13, received + 5);
        ins.exec();
        ins.reset();
      }
      tx.commit();
      if ((i / kBatch) % 20 == 0 || i == events) {
        std::printf("\r%lld events, %.0f s", static_cast<long long>(i), seconds_since(t_load));
        std::fflush(stdout);
      }
    }
    std::printf("\n");
    const double load_s = seconds_since(t_load);
    const auto t_index = Steady::now();
    for (const auto& sql : index_sql) db.exec(sql);
    const double index_s = seconds_since(t_index);
    db.exec("PRAGMA journal_mode = WAL");
    const int64_t bytes = static_cast<int64_t>(fs::file_size(db_path));
    std::printf(
        "seed_events: %lld events in %s (%.1f GB, %.0f bytes/event; payload: body %zu bytes, "
        "sealed %zu bytes on average) in %.0f s (rows %.0f s, %zu indexes %.0f s)\n",
        static_cast<long long>(events), db_path.c_str(), static_cast<double>(bytes) / 1e9,
        static_cast<double>(bytes) / static_cast<double>(events), body_bytes / sealed.size(),
        sealed_bytes / sealed.size(), seconds_since(t0), load_s, index_sql.size(), index_s);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "seed_events: %s\n", e.what());
    return 1;
  }
}
