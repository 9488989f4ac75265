// Sliding-window rate limit (see rate_limiter.h).
#include "whop/rate_limiter.h"

#include <algorithm>

namespace cs::whop {

SlidingWindowLimit::SlidingWindowLimit(int per_window, int64_t window_ms)
    : limit_(static_cast<size_t>(std::max(1, per_window))),
      window_ms_(std::max<int64_t>(1, window_ms)) {}

void SlidingWindowLimit::expire(int64_t now_ms) {
  while (!times_.empty() && now_ms - times_.front() >= window_ms_) times_.pop_front();
}

int64_t SlidingWindowLimit::acquire(int64_t now_ms) {
  expire(now_ms);
  if (times_.size() < limit_) {
    times_.push_back(now_ms);
    return 0;
  }
  return std::max<int64_t>(1, times_.front() + window_ms_ - now_ms);
}

size_t SlidingWindowLimit::in_window(int64_t now_ms) {
  expire(now_ms);
  return times_.size();
}

}  // namespace cs::whop
