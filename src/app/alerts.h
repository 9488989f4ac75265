#pragma once
// Alerts (issue 5): conditions an operator must hear about, shown as a banner on the dashboard
// (http::OpsState::alerts()) and, when CHURN_SAVER_ALERT_URL is set, posted once per incident to
// a Slack- or Discord-compatible incoming webhook ({"text": ..., "content": ...}). Every alert
// clears itself when its condition is gone (and the URL hears that once too).
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/ops.h"
#include "util/result.h"

namespace cs::app {

/// What the conditions are computed from (one snapshot).
struct AlertInputs {
  int64_t now = 0;
  int64_t open_cases = 0;
  std::optional<int64_t> last_webhook_at;  // newest webhook received (unix ms)
  int64_t serving_since = 0;               // when this process started (no webhook yet: from here)
  uint64_t whop_calls = 0;                 // Whop calls in the last 15 minutes
  uint64_t whop_failures = 0;              // of which failed
  int64_t dead_jobs = 0;
  bool backup_failed = false;
  std::string backup_error;
  std::string writer_error;     // "" = the last commit that wrote succeeded
  uint64_t disk_available = 0;  // bytes available to us on the database's filesystem
  uint64_t disk_total = 0;
};

struct AlertPolicy {
  int64_t webhook_silence_ms = 24 * 3600 * 1000LL;  // CHURN_SAVER_ALERT_WEBHOOK_SILENCE_HOURS
  double whop_failure_ratio = 0.10;
  uint64_t whop_min_calls = 10;                     // fewer calls in the window say too little
  int disk_free_percent = 10;                       // CHURN_SAVER_ALERT_DISK_FREE_PERCENT
  uint64_t disk_free_floor = 512ull * 1024 * 1024;  // below this is "nearly full" on any disk
};

/// The alerts that hold for `in` (since_ms = in.now; the tracker keeps the first time seen).
/// Pure: no clock, no I/O.
std::vector<http::Alert> evaluate_alerts(const AlertInputs& in, const AlertPolicy& policy);

/// Keeps incidents across evaluations: when each began, and whether the alert URL heard of it.
class AlertTracker {
 public:
  struct Change {
    http::Alert alert;
    bool raised = false;  // false: cleared
  };
  /// Applies the current conditions; returns what was raised or cleared.
  std::vector<Change> update(const std::vector<http::Alert>& current, int64_t now);
  /// Active alerts, oldest first.
  std::vector<http::Alert> active() const;

  /// Posts what the alert URL has not heard yet through `post` (returns true when delivered):
  /// each raised alert once, each clearing of a notified alert once (three tries at most).
  /// Returns true when something changed that should be persisted.
  bool notify(const std::function<bool(const std::string& body)>& post, const std::string& host);

  /// Persistence (engine_state "ops.alerts"), so a restart does not notify an incident twice.
  nlohmann::json to_json() const;
  void from_json(const nlohmann::json& j);

 private:
  struct Entry {
    http::Alert alert;
    bool notified = false;
  };
  struct Cleared {
    http::Alert alert;
    int64_t cleared_at = 0;
    int tries = 0;
  };
  std::map<std::string, Entry> active_;
  std::vector<Cleared> cleared_;
};

/// The JSON body posted for an alert or its clearing (Slack reads "text", Discord "content").
std::string alert_body(const http::Alert& alert, bool raised, const std::string& host,
                       int64_t cleared_at = 0);
/// POSTs `body` to `url` (http or https) with short timeouts. Error with the HTTP status or
/// connection problem (never the URL, which holds a secret token).
Status post_json(const std::string& url, const std::string& body);

}  // namespace cs::app
