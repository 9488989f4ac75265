#pragma once
// Counters of rejected webhook deliveries by reason (bad_signature, stale_timestamp, ...), kept
// across restarts. Counting happens in memory: a flood of forged deliveries must not turn into a
// flood of writes, so the counts are saved through a hook at most once per interval (and by
// flush() at shutdown), and restored at start. Thread-safe.
#include <cstdint>
#include <functional>
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
  /// Reason -> counts (restored ones included).
  std::map<std::string, Reason> rejections() const;
  uint64_t total_rejected() const;

  /// The counts as saved ({"bad_signature": {"status": 401, "count": 3, "last_at": ...}}) and
  /// back; restore() adds what `json` holds (ignoring anything malformed).
  std::string to_json() const;
  void restore(const std::string& json);
  /// Saves the counts with `save` after a rejection, at most once per `interval_ms`.
  void persist_with(std::function<void(const std::string& json)> save, int64_t interval_ms);
  /// Saves now if anything was counted since the last save.
  void flush();

 private:
  mutable std::mutex mu_;
  std::map<std::string, Reason> by_reason_;
  std::function<void(const std::string&)> save_;
  int64_t interval_ms_ = 0;
  int64_t saved_at_ = 0;
  bool dirty_ = false;
  std::mutex save_mu_;  // one save at a time, outside mu_
};

}  // namespace cs::http
