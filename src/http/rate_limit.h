#pragma once
// Fixed-window request limits in memory, keyed by a bucket name and a client (session or
// address), and the login throttle (failures per account and per address in a sliding window).
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>

namespace cs::http {

struct LimitDecision {
  bool allowed = true;
  int limit = 0;
  int remaining = 0;
  int64_t reset_ms = 0;  // when the current window ends (unix ms)
};

class RateLimiter {
 public:
  /// Counts one request for `key` in a window of `window_ms`; allowed while the count is within
  /// `limit`.
  LimitDecision hit(const std::string& key, int limit, int64_t window_ms, int64_t now);

 private:
  struct Window {
    int64_t start = 0;
    int count = 0;
    int64_t window_ms = 0;
  };
  std::mutex mu_;
  std::map<std::string, Window> windows_;
};

/// At most `max_failures` failed sign-ins per `window_ms` per key (the account, and each address).
class LoginThrottle {
 public:
  explicit LoginThrottle(int max_failures = 10, int64_t window_ms = 5 * 60 * 1000)
      : max_(max_failures), window_(window_ms) {}
  /// 0 when `key` may try now, else milliseconds until it may.
  int64_t blocked_for(const std::string& key, int64_t now);
  void failed(const std::string& key, int64_t now);
  void succeeded(const std::string& key);

 private:
  void prune(std::deque<int64_t>& d, int64_t now) const;
  int max_;
  int64_t window_;
  std::mutex mu_;
  std::map<std::string, std::deque<int64_t>> failures_;
};

}  // namespace cs::http
