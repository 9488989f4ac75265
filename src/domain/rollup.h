#pragma once
// The overview's rollup buckets (issue 14 item 2). The overview's figures are summed per bucket
// of 15 minutes in UTC: every time zone in use has an offset of a whole number of quarter hours
// (+05:30, +05:45, -09:30, +12:45 included), so each local day is a whole number of buckets and
// a day chart in any zone is a sum of buckets. Only offsets that are not whole quarter hours
// (local mean times before about 1980) would split a bucket between two days; such a bucket
// counts for the day its start falls in.
//
// The schema's views (schema/0009_overview_rollup.up.sql) compute the same `time / 900000`;
// tests/store/test_rollup.cpp recounts every bucket with rollup_bucket().
#include <cstdint>

namespace cs::domain {

/// The length of one bucket.
inline constexpr int64_t kRollupBucketMs = 15 * 60 * 1000;
/// Buckets per UTC day: the day level of the rollup (schema/0011_rollup_days) is bucket / 96.
inline constexpr int64_t kRollupBucketsPerDay = 86400000 / kRollupBucketMs;
static_assert(kRollupBucketsPerDay * kRollupBucketMs == 86400000 && kRollupBucketsPerDay == 96);

/// The bucket a time (unix ms, not negative) falls in.
constexpr int64_t rollup_bucket(int64_t utc_ms) {
  return utc_ms / kRollupBucketMs;
}
/// The first bucket that starts at or after `utc_ms`.
constexpr int64_t rollup_bucket_ceil(int64_t utc_ms) {
  return (utc_ms + kRollupBucketMs - 1) / kRollupBucketMs;
}
/// The time a bucket starts.
constexpr int64_t rollup_bucket_start(int64_t bucket) {
  return bucket * kRollupBucketMs;
}

}  // namespace cs::domain
