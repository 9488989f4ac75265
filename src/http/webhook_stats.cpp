#include "http/webhook_stats.h"

namespace cs::http {

void WebhookStats::rejected(const std::string& reason, int status, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  // Reasons are the ingest layer's short codes; cap the map so odd input cannot grow it.
  if (by_reason_.size() >= 64 && !by_reason_.count(reason)) return;
  auto& r = by_reason_[reason];
  r.status = status;
  r.count += 1;
  r.last_at = now_ms;
}

std::map<std::string, WebhookStats::Reason> WebhookStats::rejections() const {
  std::lock_guard<std::mutex> lock(mu_);
  return by_reason_;
}

uint64_t WebhookStats::total_rejected() const {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t n = 0;
  for (const auto& [k, v] : by_reason_) n += v.count;
  return n;
}

}  // namespace cs::http
