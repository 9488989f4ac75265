#include "http/webhook_stats.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace cs::http {

void WebhookStats::rejected(const std::string& reason, int status, int64_t now_ms) {
  bool save = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Reasons are the ingest layer's short codes; cap the map so odd input cannot grow it.
    if (by_reason_.size() >= 64 && !by_reason_.count(reason)) return;
    auto& r = by_reason_[reason];
    r.status = status;
    r.count += 1;
    r.last_at = now_ms;
    dirty_ = true;
    if (save_ && now_ms - saved_at_ >= interval_ms_) {
      saved_at_ = now_ms;
      save = true;
    }
  }
  if (save) flush();
}

std::string WebhookStats::to_json() const {
  std::lock_guard<std::mutex> lock(mu_);
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : by_reason_) {
    j[k] = {{"status", v.status}, {"count", v.count}, {"last_at", v.last_at}};
  }
  return j.dump();
}

void WebhookStats::restore(const std::string& json) {
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (!j.is_object()) return;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = j.begin(); it != j.end(); ++it) {
    const auto& v = it.value();
    if (by_reason_.size() >= 64 || it.key().size() > 64 || !v.is_object()) continue;
    auto num = [&](const char* k) -> int64_t {
      return v.contains(k) && v[k].is_number_integer() ? v[k].get<int64_t>() : 0;
    };
    if (num("count") <= 0) continue;
    auto& r = by_reason_[it.key()];
    r.status = static_cast<int>(num("status"));
    r.count += static_cast<uint64_t>(num("count"));
    r.last_at = std::max(r.last_at, num("last_at"));
  }
}

void WebhookStats::persist_with(std::function<void(const std::string&)> save, int64_t interval_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  save_ = std::move(save);
  interval_ms_ = interval_ms;
}

void WebhookStats::flush() {
  std::lock_guard<std::mutex> one(save_mu_);
  std::function<void(const std::string&)> save;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!save_ || !dirty_) return;
    dirty_ = false;
    save = save_;
  }
  save(to_json());
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
