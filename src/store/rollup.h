#pragma once
// The overview's rollup (schema/0009_overview_rollup): the overview's figures summed per 15-minute
// UTC bucket (domain/rollup.h), kept by triggers in the same transaction as every change of a
// case or a sent nudge. Reads combine whole buckets from the rollup with the part of a bucket at
// either end of a window read from the cases, so every figure is exact for any window and any
// time zone whose offsets are whole quarter hours.
#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <SQLiteCpp/Database.h>

namespace cs::store {

/// The figures of rollup_failures, in its column order (cases by the bucket of their first
/// failure). att* count recovered cases by distinct nudge attempts sent before paying (5: five or
/// more), ch* by the channels nudged (0 none, 1 push, 2 DM, 3 both), ttr* by the time from the
/// first failure to the recovery (kRecoveryBucketDays). kPaidLate counts the cases lost without a
/// payment (expired or deactivated) whose member paid after the case was lost (cases.last_paid_at,
/// schema/0010_paid_after_window).
enum FailureFigure : size_t {
  kCases,
  kOpenCases,
  kAtRiskCents,
  kRecovered,
  kRecoveredNetCents,
  kLost,
  kLostCents,
  kCancelled,
  kClickThrough,
  kIncentiveDays,
  kIncentiveCases,
  kAttempts0,
  kChannels0 = kAttempts0 + 6,
  kTimeToRecovery0 = kChannels0 + 4,
  kPaidLate = kTimeToRecovery0 + 6,
  kFailureFigureCount,
};
/// The column of each FailureFigure.
const std::array<const char*, kFailureFigureCount>& failure_figure_columns();

using FailureFigures = std::array<int64_t, kFailureFigureCount>;
struct FailureRow {
  int64_t bucket = 0;
  std::string currency;
  FailureFigures figures{};
};
struct RecoveryRow {
  int64_t bucket = 0;
  std::string currency;
  int64_t recoveries = 0, net_cents = 0;
};

/// Figures per currency (currency order).
using FailureSums = std::vector<std::pair<std::string, FailureFigures>>;
/// The figures of the cases whose first failure is in [since, until), per currency. `until` =
/// INT64_MAX: no upper bound.
FailureSums sum_failures(SQLite::Database& db, int64_t since, int64_t until);
/// Cases whose first failure is at or after `since`, per bucket (ascending).
std::vector<std::pair<int64_t, int64_t>> list_failures_by_bucket(SQLite::Database& db,
                                                                 int64_t since);
/// Recovered cases whose first failure is at or after `since`, per currency and bucket of their
/// recovery, for the buckets that start at or after `from` (bucket order).
std::vector<RecoveryRow> list_recoveries_by_bucket(SQLite::Database& db, int64_t since,
                                                   int64_t from);

/// The rollup as stored, rows whose figures are all zero left out (bucket, currency order).
std::vector<FailureRow> list_rollup_failures(SQLite::Database& db);
/// The day level (schema/0011_rollup_days) as stored, `bucket` holding the UTC day (bucket / 96).
std::vector<FailureRow> list_rollup_failure_days(SQLite::Database& db);
std::vector<RecoveryRow> list_rollup_recoveries(SQLite::Database& db);
/// The longest first-failure-to-recovery time the rollup has seen (ms).
int64_t find_max_recovery_lag(SQLite::Database& db);

struct RollupSize {
  int64_t failure_rows = 0, recovery_rows = 0;
};
/// Empties the rollup and sums it again from the cases and nudges, in one write transaction: the
/// dashboard reads the old rollup until it commits, and case changes wait for it.
RollupSize rebuild_rollup(SQLite::Database& db);

}  // namespace cs::store
