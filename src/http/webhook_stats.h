#pragma once
// In-memory counters of rejected webhook deliveries by reason (bad_signature, stale_timestamp,
// ...), since the process started. Counting must not write to the database: a flood of forged
// deliveries would otherwise turn into a flood of writes. Thread-safe.
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace cs::http {

class WebhookStats {
 public:
  /// Counts one rejected delivery with its reason code and HTTP status.
  void rejected(const std::string& reason, int status, int64_t now_ms);
  struct Reason {
    int status = 0;
    uint64_t count = 0;
    int64_t last_at = 0;
  };
  /// Reason -> counts, since start.
  std::map<std::string, Reason> rejections() const;
  uint64_t total_rejected() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, Reason> by_reason_;
};

}  // namespace cs::http
