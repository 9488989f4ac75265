#include "store/rollup.h"

#include <algorithm>
#include <map>

#include <SQLiteCpp/Transaction.h>

#include "domain/rollup.h"
#include "store/statements.h"

namespace cs::store {
namespace {

/// "sum(cases), sum(open_cases), ..." or "cases, open_cases, ...".
std::string failure_list(bool sums) {
  std::string out;
  for (const char* c : failure_figure_columns()) {
    if (!out.empty()) out += ", ";
    out += sums ? std::string("sum(") + c + ")" : std::string(c);
  }
  return out;
}

void read_figures(SQLite::Statement& q, int first, FailureFigures& into) {
  for (size_t i = 0; i < kFailureFigureCount; ++i) {
    into[i] += q.getColumn(first + static_cast<int>(i)).getInt64();
  }
}

/// Adds the per-currency sums of `sql` (binding ?1, ?2) to `out`.
void add_sums(SQLite::Database& db, const std::string& sql, int64_t a, int64_t b,
              std::map<std::string, FailureFigures>& out) {
  auto q = prepare(db, sql);
  q->bind(1, a);
  q->bind(2, b);
  while (q->executeStep()) {
    auto [it, fresh] = out.try_emplace(q->getColumn(0).getString());
    if (fresh) it->second.fill(0);
    read_figures(*q, 1, it->second);
  }
}

constexpr int64_t kNoBound = INT64_MAX;

/// The rows of a rollup table keyed by (`key`, currency) whose figures are not all zero.
std::vector<FailureRow> list_figure_rows(SQLite::Database& db, const std::string& key,
                                         const std::string& table) {
  auto q = prepare(db, "SELECT " + key + ", currency, " + failure_list(false) + " FROM " + table +
                           " ORDER BY " + key + ", currency");
  std::vector<FailureRow> out;
  while (q->executeStep()) {
    FailureRow r;
    r.bucket = q->getColumn(0).getInt64();
    r.currency = q->getColumn(1).getString();
    read_figures(*q, 2, r.figures);
    if (std::any_of(r.figures.begin(), r.figures.end(), [](int64_t v) { return v != 0; })) {
      out.push_back(std::move(r));
    }
  }
  return out;
}

}  // namespace

const std::array<const char*, kFailureFigureCount>& failure_figure_columns() {
  static const std::array<const char*, kFailureFigureCount> names = {"cases",
                                                                     "open_cases",
                                                                     "at_risk_cents",
                                                                     "recovered",
                                                                     "recovered_net_cents",
                                                                     "lost",
                                                                     "lost_cents",
                                                                     "cancelled",
                                                                     "click_through",
                                                                     "incentive_days",
                                                                     "incentive_cases",
                                                                     "att0",
                                                                     "att1",
                                                                     "att2",
                                                                     "att3",
                                                                     "att4",
                                                                     "att5",
                                                                     "ch0",
                                                                     "ch1",
                                                                     "ch2",
                                                                     "ch3",
                                                                     "ttr0",
                                                                     "ttr1",
                                                                     "ttr2",
                                                                     "ttr3",
                                                                     "ttr4",
                                                                     "ttr5",
                                                                     "paid_late"};
  return names;
}

FailureSums sum_failures(SQLite::Database& db, int64_t since, int64_t until) {
  std::map<std::string, FailureFigures> sums;
  const std::string from_cases = "SELECT currency, " + failure_list(true) +
                                 " FROM rollup_failure_source WHERE at >= ?1 AND at < ?2 "
                                 "GROUP BY currency";
  const std::string from_buckets =
      "SELECT currency, " + failure_list(true) +
      " FROM rollup_failures WHERE bucket >= ?1 AND bucket < ?2 GROUP BY currency";
  // Whole buckets [lo, hi) from the rollup; the rest of [since, until) from the cases.
  const int64_t lo = domain::rollup_bucket_ceil(since);
  const int64_t hi = until == kNoBound ? kNoBound : domain::rollup_bucket(until);
  if (lo < hi) {
    // Of those, whole UTC days [dlo, dhi) from the day level; the quarter hours at either end
    // from the buckets.
    constexpr int64_t kPerDay = domain::kRollupBucketsPerDay;
    const int64_t dlo = (lo + kPerDay - 1) / kPerDay;
    const int64_t dhi = hi == kNoBound ? kNoBound : hi / kPerDay;
    if (dlo < dhi) {
      add_sums(db,
               "SELECT currency, " + failure_list(true) +
                   " FROM rollup_failures_day WHERE day >= ?1 AND day < ?2 GROUP BY currency",
               dlo, dhi, sums);
      add_sums(db, from_buckets, lo, dlo * kPerDay, sums);
      if (dhi != kNoBound) add_sums(db, from_buckets, dhi * kPerDay, hi, sums);
    } else {
      add_sums(db, from_buckets, lo, hi, sums);
    }
    add_sums(db, from_cases, since, domain::rollup_bucket_start(lo), sums);
    if (hi != kNoBound) add_sums(db, from_cases, domain::rollup_bucket_start(hi), until, sums);
  } else {
    add_sums(db, from_cases, since, until, sums);
  }
  return {sums.begin(), sums.end()};
}

std::vector<std::pair<int64_t, int64_t>> list_failures_by_bucket(SQLite::Database& db,
                                                                 int64_t since) {
  std::vector<std::pair<int64_t, int64_t>> out;
  const int64_t lo = domain::rollup_bucket_ceil(since);
  {
    // The part of a bucket at the start of the window (its rows all fall in one bucket).
    auto q = prepare(db,
                     "SELECT bucket, sum(cases) FROM rollup_failure_source WHERE at >= ? AND "
                     "at < ? GROUP BY bucket ORDER BY bucket");
    q->bind(1, since);
    q->bind(2, domain::rollup_bucket_start(lo));
    while (q->executeStep())
      out.emplace_back(q->getColumn(0).getInt64(), q->getColumn(1).getInt64());
  }
  auto q = prepare(db,
                   "SELECT bucket, sum(cases) FROM rollup_failures WHERE bucket >= ? "
                   "GROUP BY bucket HAVING sum(cases) != 0 ORDER BY bucket");
  q->bind(1, lo);
  while (q->executeStep()) out.emplace_back(q->getColumn(0).getInt64(), q->getColumn(1).getInt64());
  return out;
}

std::vector<RecoveryRow> list_recoveries_by_bucket(SQLite::Database& db, int64_t since,
                                                   int64_t from) {
  const int64_t lo = domain::rollup_bucket_ceil(from);
  std::map<std::pair<int64_t, std::string>, RecoveryRow> rows;
  {
    auto q = prepare(db,
                     "SELECT bucket, currency, recoveries, net_cents FROM rollup_recoveries "
                     "WHERE bucket >= ?");
    q->bind(1, lo);
    while (q->executeStep()) {
      RecoveryRow r{q->getColumn(0).getInt64(), q->getColumn(1).getString(),
                    q->getColumn(2).getInt64(), q->getColumn(3).getInt64()};
      rows[{r.bucket, r.currency}] = r;
    }
  }
  {
    // Less the recoveries in those buckets of cases that first failed before `since`: at most
    // the longest first-failure-to-recovery time before the first bucket.
    const int64_t start = domain::rollup_bucket_start(lo);
    auto q = prepare(db,
                     "SELECT bucket, currency, sum(recoveries), sum(net_cents) FROM "
                     "rollup_recovery_source WHERE first_failure_at >= ?1 - (SELECT "
                     "max_recovery_lag FROM rollup_state) AND first_failure_at < ?2 AND at >= ?1 "
                     "GROUP BY bucket, currency");
    q->bind(1, start);
    q->bind(2, since);
    while (q->executeStep()) {
      RecoveryRow& r = rows[{q->getColumn(0).getInt64(), q->getColumn(1).getString()}];
      r.bucket = q->getColumn(0).getInt64();
      r.currency = q->getColumn(1).getString();
      r.recoveries -= q->getColumn(2).getInt64();
      r.net_cents -= q->getColumn(3).getInt64();
    }
  }
  std::vector<RecoveryRow> out;
  for (auto& [k, r] : rows) {
    if (r.recoveries != 0 || r.net_cents != 0) out.push_back(std::move(r));
  }
  return out;
}

std::vector<FailureRow> list_rollup_failures(SQLite::Database& db) {
  return list_figure_rows(db, "bucket", "rollup_failures");
}

std::vector<FailureRow> list_rollup_failure_days(SQLite::Database& db) {
  return list_figure_rows(db, "day", "rollup_failures_day");
}

std::vector<RecoveryRow> list_rollup_recoveries(SQLite::Database& db) {
  auto q = prepare(db,
                   "SELECT bucket, currency, recoveries, net_cents FROM rollup_recoveries "
                   "WHERE recoveries != 0 OR net_cents != 0 ORDER BY bucket, currency");
  std::vector<RecoveryRow> out;
  while (q->executeStep()) {
    out.push_back({q->getColumn(0).getInt64(), q->getColumn(1).getString(),
                   q->getColumn(2).getInt64(), q->getColumn(3).getInt64()});
  }
  return out;
}

int64_t find_max_recovery_lag(SQLite::Database& db) {
  auto q = prepare(db, "SELECT max_recovery_lag FROM rollup_state");
  return q->executeStep() ? q->getColumn(0).getInt64() : 0;
}

RollupSize rebuild_rollup(SQLite::Database& db) {
  SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
  // The day level first: the buckets' triggers then find no day to subtract from, and the
  // insert below sums the days again (schema/0011_rollup_days).
  db.exec("DELETE FROM rollup_failures_day");
  db.exec("DELETE FROM rollup_failures");
  db.exec("DELETE FROM rollup_recoveries");
  // The same sums as the migration that created the rollup.
  db.exec("INSERT INTO rollup_failures (bucket, currency, " + failure_list(false) +
          ") SELECT bucket, currency, " + failure_list(true) +
          " FROM rollup_failure_source GROUP BY bucket, currency");
  db.exec(
      "INSERT INTO rollup_recoveries (bucket, currency, recoveries, net_cents) "
      "SELECT bucket, currency, sum(recoveries), sum(net_cents) "
      "FROM rollup_recovery_source GROUP BY bucket, currency");
  db.exec(
      "UPDATE rollup_state SET max_recovery_lag = "
      "max(0, ifnull((SELECT max(at - first_failure_at) FROM rollup_recovery_source), 0))");
  RollupSize s;
  s.failure_rows = db.execAndGet("SELECT count(*) FROM rollup_failures").getInt64();
  s.recovery_rows = db.execAndGet("SELECT count(*) FROM rollup_recoveries").getInt64();
  tx.commit();
  return s;
}

}  // namespace cs::store
