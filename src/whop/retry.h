#pragma once
// In-call retries of a Whop request: which failures are retried, how long to wait (Retry-After
// wins over exponential backoff with equal jitter), and the bounds on waiting inside one call
// (past them the call ends with a retryable error carrying the wait, so the job queue reschedules
// instead of blocking a worker). Pure: no clock, no sleeping, no randomness of its own.
#include <cstdint>
#include <optional>
#include <string>

#include "whop/api_error.h"

namespace cs::whop {

struct RetryPolicy {
  int max_retries = 3;  // in-call retries after the first attempt
  int64_t backoff_base_ms = 500;
  int64_t backoff_cap_ms = 8000;
  int64_t max_wait_ms = 10000;          // longest single in-call wait
  int64_t call_wait_budget_ms = 20000;  // total in-call waiting per call
};

/// Whether a wait of `wait_ms` still fits into the call, `waited_ms` having been waited already.
bool wait_fits(const RetryPolicy& p, int64_t wait_ms, int64_t waited_ms);

struct RetryDecision {
  bool retry = false;     // wait delay_ms, then send again
  int64_t delay_ms = 0;   // the wait (when retry, or when the wait did not fit)
  bool too_long = false;  // a retry was allowed but its wait does not fit: end the call now
};

/// After failed attempt number `attempts` (1 = the first): retry when the error is retryable, a
/// POST's outcome is known (never resend a request that may have taken effect), the breaker did
/// not just open, and retries are left. `jitter01` in [0, 1).
RetryDecision decide_retry(const RetryPolicy& p, const ApiError& e, bool is_post,
                           bool breaker_opened, int attempts, int64_t waited_ms, double jitter01);

/// Parses a Retry-After value (delta-seconds or an IMF-fixdate HTTP-date) into milliseconds from
/// `now_ms`; nullopt when unparseable. Past dates give 0; at most 7 days.
std::optional<int64_t> parse_retry_after_ms(const std::string& value, int64_t now_ms);

}  // namespace cs::whop
