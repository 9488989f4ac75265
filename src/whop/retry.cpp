// In-call retry rules (see retry.h).
#include "whop/retry.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "domain/backoff.h"
#include "domain/time.h"
#include "util/clock.h"

namespace cs::whop {

namespace {
constexpr int64_t kMaxRetryAfterMs = 7 * kDayMs;
}

bool wait_fits(const RetryPolicy& p, int64_t wait_ms, int64_t waited_ms) {
  return wait_ms <= p.max_wait_ms && waited_ms + wait_ms <= p.call_wait_budget_ms;
}

RetryDecision decide_retry(const RetryPolicy& p, const ApiError& e, bool is_post,
                           bool breaker_opened, int attempts, int64_t waited_ms, double jitter01) {
  RetryDecision d;
  const bool may_retry = e.retryable && !(is_post && e.outcome_unknown) && !breaker_opened &&
                         attempts <= std::max(0, p.max_retries);
  if (!may_retry) return d;
  d.delay_ms = e.retry_after_ms ? *e.retry_after_ms
                                : domain::retry_delay_ms(attempts, jitter01, p.backoff_base_ms,
                                                         p.backoff_cap_ms);
  d.too_long = !wait_fits(p, d.delay_ms, waited_ms);
  d.retry = !d.too_long;
  return d;
}

std::optional<int64_t> parse_retry_after_ms(const std::string& value, int64_t now_ms) {
  std::string v = value;
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.pop_back();
  size_t start = 0;
  while (start < v.size() && std::isspace(static_cast<unsigned char>(v[start]))) ++start;
  v = v.substr(start);
  if (v.empty()) return std::nullopt;
  if (std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); })) {
    if (v.size() > 9) return kMaxRetryAfterMs;
    return std::min<int64_t>(std::stoll(v) * kSecondMs, kMaxRetryAfterMs);
  }
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
  char wday[4] = {}, mon[4] = {}, zone[4] = {};
  int day = 0, year = 0, hh = 0, mm = 0, ss = 0;
  if (std::sscanf(v.c_str(), "%3s, %d %3s %d %d:%d:%d %3s", wday, &day, mon, &year, &hh, &mm, &ss,
                  zone) != 8)
    return std::nullopt;
  if (std::string(zone) != "GMT") return std::nullopt;
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  int month = 0;
  for (int i = 0; i < 12; ++i)
    if (std::string(mon) == kMonths[i]) month = i + 1;
  if (month == 0) return std::nullopt;
  char iso[40];
  std::snprintf(iso, sizeof iso, "%04d-%02d-%02dT%02d:%02d:%02dZ", year, month, day, hh, mm, ss);
  auto t = domain::parse_iso8601_ms(iso);
  if (!t) return std::nullopt;
  return std::clamp<int64_t>(*t - now_ms, 0, kMaxRetryAfterMs);
}

}  // namespace cs::whop
