#pragma once
// Retry policy for jobs: exponential backoff with jitter. Pure.
#include <algorithm>
#include <cstdint>

namespace cs::domain {

/// Delay before retry number `attempt` (1 = after the first failure): base * 2^(attempt-1), capped
/// at `cap_ms`, then scaled into [50%, 100%] by `jitter01` in [0, 1) ("equal jitter").
inline int64_t retry_delay_ms(int attempt, double jitter01, int64_t base_ms = 2000,
                              int64_t cap_ms = 3600 * 1000) {
  int shift = std::clamp(attempt - 1, 0, 30);
  int64_t d = base_ms;
  for (int i = 0; i < shift && d < cap_ms; ++i) d *= 2;
  d = std::min(d, cap_ms);
  double j = std::clamp(jitter01, 0.0, 1.0);
  return d / 2 + static_cast<int64_t>(static_cast<double>(d / 2) * j);
}

}  // namespace cs::domain
