#include "http/rate_limit.h"

#include <algorithm>

namespace cs::http {

LimitDecision RateLimiter::hit(const std::string& key, int limit, int64_t window_ms, int64_t now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (windows_.size() > 20000) {
    for (auto it = windows_.begin(); it != windows_.end();) {
      it = now >= it->second.start + it->second.window_ms ? windows_.erase(it) : std::next(it);
    }
  }
  auto& w = windows_[key];
  if (w.window_ms != window_ms || now >= w.start + window_ms) {
    w.start = now;
    w.count = 0;
    w.window_ms = window_ms;
  }
  LimitDecision d;
  d.limit = limit;
  d.reset_ms = w.start + window_ms;
  if (w.count >= limit) {
    d.allowed = false;
    d.remaining = 0;
    return d;
  }
  w.count += 1;
  d.remaining = limit - w.count;
  return d;
}

void LoginThrottle::prune(std::deque<int64_t>& d, int64_t now) const {
  while (!d.empty() && d.front() <= now - window_) d.pop_front();
}

int64_t LoginThrottle::blocked_for(const std::string& key, int64_t now) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = failures_.find(key);
  if (it == failures_.end()) return 0;
  prune(it->second, now);
  if (static_cast<int>(it->second.size()) < max_) return 0;
  // Free again when enough of the oldest failures have left the window.
  int64_t oldest_to_expire = it->second[it->second.size() - static_cast<size_t>(max_)];
  return std::max<int64_t>(1, oldest_to_expire + window_ - now);
}

void LoginThrottle::failed(const std::string& key, int64_t now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (failures_.size() > 20000) {
    for (auto it = failures_.begin(); it != failures_.end();) {
      prune(it->second, now);
      it = it->second.empty() ? failures_.erase(it) : std::next(it);
    }
  }
  auto& d = failures_[key];
  prune(d, now);
  d.push_back(now);
  while (static_cast<int>(d.size()) > max_ * 2) d.pop_front();
}

void LoginThrottle::succeeded(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  failures_.erase(key);
}

}  // namespace cs::http
