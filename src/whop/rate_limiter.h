#pragma once
// The client-side rate limit of one Whop operation: at most N requests in any sliding window
// (default one minute). Not thread-safe: the client calls it under its own lock. Pure: the time
// is a parameter.
#include <cstddef>
#include <cstdint>
#include <deque>

namespace cs::whop {

class SlidingWindowLimit {
 public:
  /// `per_window` < 1 is taken as 1.
  explicit SlidingWindowLimit(int per_window, int64_t window_ms = 60'000);

  /// Takes a slot at `now_ms` and returns 0, or returns how many ms until a slot frees up (> 0)
  /// without taking one.
  int64_t acquire(int64_t now_ms);

  /// Requests counted in the window ending at `now_ms`.
  size_t in_window(int64_t now_ms);

 private:
  void expire(int64_t now_ms);
  size_t limit_;
  int64_t window_ms_;
  std::deque<int64_t> times_;  // request times within the window, oldest first
};

}  // namespace cs::whop
