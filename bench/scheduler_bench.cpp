// Benchmark target 4 of shared/PERFORMANCE.md: one scheduler tick with 100,000 open cases of which
// 1,000 are due costs at most 20 ms (it reads only what is due, through an index), and outbound
// calls stay under Whop's 600/min per operation.
//
// Seeds a temp database through the store (migrations, save_case, save_nudge_schedule,
// save_incentive in one transaction), then times jobs::tick() on the writer connection: each timed
// run inside a transaction that is rolled back, so every run sees the same 1,000 due cases. Prints
// the query plans of every statement a tick runs (captured with sqlite3_trace_v2), a full-scan
// reference measured in the same run, and how the Whop client's limit (540/min per operation)
// spreads the pushes one tick enqueues. See bench/README.md.
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <SQLiteCpp/SQLiteCpp.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "domain/settings.h"
#include "jobs/kinds.h"
#include "jobs/scheduler.h"
#include "store/cases.h"
#include "store/db.h"
#include "store/engine.h"
#include "store/jobs.h"
#include "store/migrations.h"
#include "store/statements.h"
#include "support/fake_whop.h"
#include "support/test_app.h"
#include "util/clock.h"
#include "whop/client.h"

using namespace cs;

namespace {

using Steady = std::chrono::steady_clock;
constexpr int64_t kDay = 86400000;

double ms_since(Steady::time_point t) {
  return std::chrono::duration<double, std::milli>(Steady::now() - t).count();
}

struct Summary {
  double median = 0, p95 = 0, min = 0, max = 0;
};

Summary summarize(std::vector<double> v) {
  Summary s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    return v[std::min(v.size() - 1,
                      static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5))];
  };
  s.median = at(0.5);
  s.p95 = at(0.95);
  s.min = v.front();
  s.max = v.back();
  return s;
}

/// Seeds `total` open cases, `due` of them with a reminder due at `now`. The others are spread
/// over the last 10 days (inside the 14-day window): their next reminder is in the future or
/// their schedule is finished. Every incentive is already granted.
void seed(SQLite::Database& db, int total, int due, int64_t now, uint32_t seed_value) {
  std::mt19937_64 rng(seed_value);
  const std::vector<int> offsets = domain::RecoverySettings{}.reminder_offsets_days;
  SQLite::Transaction tx(db);
  for (int i = 0; i < total; ++i) {
    store::CaseRow c;
    char id[33];
    std::snprintf(id, sizeof id, "%032x", i);
    c.id = id;
    c.membership_id = "mem_S" + std::to_string(i);
    c.user_id = "user_S" + std::to_string(i);
    c.company_id = "biz_Qw12Er34Ty56Ui";
    c.product_title = "Pickaxe Analytics";
    c.amount_due_cents = 2999;
    c.currency = "usd";
    std::optional<int64_t> next_at;
    int next_attempt = 0;
    if (i < due) {
      // Day 2's reminder came due within the last hour.
      c.first_failure_at = now - 2 * kDay - static_cast<int64_t>(rng() % (3600 * 1000));
      next_attempt = 1;
      next_at = c.first_failure_at + 2 * kDay;
    } else {
      c.first_failure_at = now - static_cast<int64_t>(rng() % (10 * kDay));
      next_attempt = static_cast<int>(offsets.size());
      for (size_t k = 0; k < offsets.size(); ++k) {
        if (c.first_failure_at + offsets[k] * kDay > now) {
          next_attempt = static_cast<int>(k);
          next_at = c.first_failure_at + offsets[k] * kDay;
          break;
        }
      }
    }
    c.last_failure_at = c.first_failure_at;
    c.created_at = c.updated_at = c.first_failure_at;
    store::save_case(db, c);
    store::save_nudge_schedule(db, c.id, next_attempt, next_at);
    store::save_incentive(db, c.id, {domain::IncentiveState::Granted, 3, std::nullopt});
  }
  tx.commit();
}

/// Distinct SQL texts run on a connection while tracing.
struct Trace {
  std::set<std::string> sql;
  static int on_stmt(unsigned type, void* ctx, void* p, void*) {
    if (type == SQLITE_TRACE_STMT) {
      const char* text = sqlite3_sql(static_cast<sqlite3_stmt*>(p));
      if (text) static_cast<Trace*>(ctx)->sql.insert(text);
    }
    return 0;
  }
};

void print_plan(SQLite::Database& db, const std::string& sql) {
  std::printf("  %s\n", sql.c_str());
  try {
    SQLite::Statement q(db, "EXPLAIN QUERY PLAN " + sql);
    while (q.executeStep()) std::printf("      -> %s\n", q.getColumn(3).getString().c_str());
  } catch (const std::exception& e) {
    std::printf("      (no plan: %s)\n", e.what());
  }
}

/// The Whop client's limit against the fake: `pushes` send_push calls, re-tried after the
/// client's retry_after when refused locally (what the job queue's defer does). Time is a
/// ManualClock that the client's waits advance, so this takes real time only for the HTTP calls.
void rate_limit_demo(int pushes) {
  cs::test::FakeWhop whop(cs::test::kTestSecret, "key_bench");
  cs::ManualClock clock(static_cast<int64_t>(std::time(nullptr)) * 1000);
  const int64_t start = clock.now_ms();
  std::mutex mu;
  std::vector<int64_t> arrivals;  // manual-clock time of each push at the fake
  whop.set_call_observer([&](const cs::test::Call& c) {
    if (c.path != "/api/v1/notifications") return;
    std::lock_guard lk(mu);
    arrivals.push_back(clock.now_ms());
  });
  cs::whop::ClientConfig cfg;  // the app's defaults: 540 per minute per operation
  cfg.api_base = whop.api_base();
  cfg.api_key = "key_bench";
  cs::whop::Client client(cfg, clock, [&](int64_t ms) { clock.advance(ms); });
  int refused = 0, errors = 0;
  for (int i = 0; i < pushes; ++i) {
    for (;;) {
      auto r = client.send_push("exp_Bench123", {"user_S" + std::to_string(i)}, "t", "c");
      if (r) break;
      if (r.error().code == "rate_limited_locally") {
        ++refused;
        clock.advance(r.error().retry_after_ms.value_or(1000));  // the job is deferred
        continue;
      }
      ++errors;
      break;
    }
  }
  std::sort(arrivals.begin(), arrivals.end());
  size_t max_window = 0;
  for (size_t lo = 0, hi = 0; hi < arrivals.size(); ++hi) {
    while (arrivals[hi] - arrivals[lo] >= 60000) ++lo;
    max_window = std::max(max_window, hi - lo + 1);
  }
  const double span_s = arrivals.empty() ? 0 : (arrivals.back() - start) / 1000.0;
  size_t http_429 = 0;
  for (const auto& c : whop.calls()) http_429 += c.status == 429 ? 1 : 0;
  std::printf(
      "rate limit: %d pushes (one tick's push jobs) reached the fake over %.0f s of job time; "
      "at most %zu in any 60 s (client limit %d/min, Whop's 600/min); %d calls deferred by the "
      "local limit, %zu answered 429, %d errors\n",
      pushes, span_s, max_window, cfg.rate_limit_per_minute, refused, http_429, errors);
}

}  // namespace

int main(int argc, char** argv) {
  int total = 100000;
  int due = 1000;
  int runs = 15;
  bool keep = false;
  bool skip_rate_limit = false;
  bool analyze = false;
  int cache_kib = 0;
  CLI::App cli{"One scheduler tick with many open cases (shared/PERFORMANCE.md target 4)."};
  cli.add_option("--cases", total, "open cases (default 100000)");
  cli.add_option("--due", due, "of which due now (default 1000)");
  cli.add_option("--runs", runs, "timed ticks (default 15)");
  cli.add_flag("--skip-rate-limit", skip_rate_limit, "skip the client rate-limit demonstration");
  cli.add_option("--cache-kib", cache_kib,
                 "PRAGMA cache_size in KiB for the writer connection (default: the app's, "
                 "SQLite's 2000 KiB)");
  cli.add_flag("--analyze", analyze, "run ANALYZE after seeding (planner statistics)");
  cli.add_flag("--keep", keep, "keep the temp directory (database)");
  CLI11_PARSE(cli, argc, argv);
  if (total < 1 || due < 0 || due > total || runs < 1) {
    std::fprintf(stderr, "need --cases >= 1, 0 <= --due <= --cases, --runs >= 1\n");
    return 2;
  }

  auto dir = std::make_unique<cs::test::TempDir>();
  const std::string path = dir->file("cs.db");
  const int64_t now = static_cast<int64_t>(std::time(nullptr)) * 1000;
  const cs::domain::RecoverySettings settings;  // defaults: push + DM, days 0, 2, 4

  auto db = cs::store::open_connection(path, cs::store::ConnectionRole::Writer);
  if (auto st = cs::store::migrate_up(*db); !st) {
    std::fprintf(stderr, "migrate: %s\n", st.error().c_str());
    return 1;
  }
  cs::store::enable_statement_cache(*db);  // as the app's writer connection does
  if (cache_kib > 0) db->exec("PRAGMA cache_size = -" + std::to_string(cache_kib));
  auto t_seed = Steady::now();
  seed(*db, total, due, now, 42);
  const double seed_ms = ms_since(t_seed);
  if (analyze) db->exec("ANALYZE");  // the app never runs ANALYZE: off by default

  // Warm-up (not timed): page cache and statement cache.
  {
    SQLite::Transaction tx(*db);
    cs::jobs::tick(*db, settings, now);
  }

  // 1. A tick with `due` cases due, rolled back after each run.
  std::vector<double> due_ms;
  cs::jobs::TickResult result;
  for (int i = 0; i < runs; ++i) {
    SQLite::Transaction tx(*db);
    auto t = Steady::now();
    result = cs::jobs::tick(*db, settings, now);
    due_ms.push_back(ms_since(t));
  }

  // 1b. Where a tick's time goes: the same work, one kind of statement at a time (rolled back).
  std::vector<double> find_ms, enqueue_ms, schedule_ms;
  for (int i = 0; i < runs; ++i) {
    SQLite::Transaction tx(*db);
    auto t = Steady::now();
    auto due_rows = store::find_due_nudges(*db, now, 1000);
    find_ms.push_back(ms_since(t));
    t = Steady::now();
    for (const auto& d : due_rows) {
      store::enqueue_job(*db,
                         jobs::make_job(jobs::NudgeJob{d.case_id, "1", {"push", "dm"}, "system"},
                                        now, jobs::nudge_job_key(d.case_id, "1"), 8),
                         now);
    }
    enqueue_ms.push_back(ms_since(t));
    t = Steady::now();
    for (const auto& d : due_rows) store::save_nudge_schedule(*db, d.case_id, 2, now + 2 * kDay);
    schedule_ms.push_back(ms_since(t));
  }

  // 2. The statements a tick runs, and their plans.
  Trace trace;
  {
    SQLite::Transaction tx(*db);
    sqlite3_trace_v2(db->getHandle(), SQLITE_TRACE_STMT, &Trace::on_stmt, &trace);
    cs::jobs::tick(*db, settings, now);
    sqlite3_trace_v2(db->getHandle(), 0, nullptr, nullptr);
  }

  // 3. One tick committed (with the fsync of synchronous=FULL), then ticks with nothing due.
  double committed_ms = 0;
  {
    auto t = Steady::now();
    SQLite::Transaction tx(*db);
    cs::jobs::tick(*db, settings, now);
    tx.commit();
    committed_ms = ms_since(t);
  }
  std::vector<double> idle_ms;
  for (int i = 0; i < runs; ++i) {
    SQLite::Transaction tx(*db);
    auto t = Steady::now();
    auto r = cs::jobs::tick(*db, settings, now);
    idle_ms.push_back(ms_since(t));
    if (r.nudges_enqueued != 0)
      std::printf("unexpected: idle tick enqueued %d\n", r.nudges_enqueued);
  }

  // 4. Reference in the same run: reading every open case (what a tick without the index would
  // have to do at least).
  std::vector<double> scan_ms;
  int64_t open_cases = 0;
  for (int i = 0; i < runs; ++i) {
    auto t = Steady::now();
    SQLite::Statement q(*db,
                        "SELECT id, first_failure_at, next_nudge_attempt, next_nudge_at FROM cases "
                        "NOT INDEXED WHERE status = 'open'");
    open_cases = 0;
    while (q.executeStep()) ++open_cases;
    scan_ms.push_back(ms_since(t));
  }

  auto s_due = summarize(due_ms), s_idle = summarize(idle_ms), s_scan = summarize(scan_ms);
  std::printf(
      "scheduler_bench: %d open cases, %d due (seeded in %.0f ms), %d runs each, cache_size %lld "
      "KiB\n",
      total, due, seed_ms, runs,
      static_cast<long long>(-db->execAndGet("PRAGMA cache_size").getInt64()));
  std::printf("%-44s %9s %9s %9s %9s\n", "ms", "median", "p95", "min", "max");
  std::printf("%-44s %9.2f %9.2f %9.2f %9.2f\n", "tick, due cases (rolled back)", s_due.median,
              s_due.p95, s_due.min, s_due.max);
  std::printf("%-44s %9.2f %9.2f %9.2f %9.2f\n", "tick, nothing due", s_idle.median, s_idle.p95,
              s_idle.min, s_idle.max);
  std::printf("%-44s %9.2f %9.2f %9.2f %9.2f\n", "reference: read all open cases (no index)",
              s_scan.median, s_scan.p95, s_scan.min, s_scan.max);
  auto s_find = summarize(find_ms), s_enq = summarize(enqueue_ms), s_sched = summarize(schedule_ms);
  std::printf("%-44s %9.2f %9.2f %9.2f %9.2f\n", "  of which: find due (index)", s_find.median,
              s_find.p95, s_find.min, s_find.max);
  std::printf("%-44s %9.2f %9.2f %9.2f %9.2f\n", "  of which: enqueue 1 job per due case",
              s_enq.median, s_enq.p95, s_enq.min, s_enq.max);
  std::printf("%-44s %9.2f %9.2f %9.2f %9.2f\n", "  of which: update the case's schedule",
              s_sched.median, s_sched.p95, s_sched.min, s_sched.max);
  std::printf("one tick committed (synchronous=FULL): %.2f ms\n", committed_ms);
  std::printf(
      "a tick enqueues: %d nudge jobs (%d due cases, push + DM in each), %d incentives, %d "
      "skipped, "
      "%d expired; open cases read by the reference scan: %lld\n",
      result.nudges_enqueued, due, result.incentives_enqueued, result.nudges_skipped,
      result.cases_expired, static_cast<long long>(open_cases));
  std::printf("statements one tick runs, with their query plans:\n");
  for (const auto& sql : trace.sql) print_plan(*db, sql);

  if (!skip_rate_limit) rate_limit_demo(result.nudges_enqueued);

  std::printf(
      "tick_median_ms %.2f  tick_p95_ms %.2f  idle_tick_ms %.3f  scan_ref_ms %.2f  "
      "committed_ms %.2f  jobs_per_tick %d\n",
      s_due.median, s_due.p95, s_idle.median, s_scan.median, committed_ms, result.nudges_enqueued);
  cs::store::forget_statements(*db);
  db.reset();
  if (keep) {
    std::printf("kept %s\n", dir->path().c_str());
    dir.release();
  }
  return 0;
}
