#pragma once
// Operations state the HTTP layer reports (issue 5): health and readiness, Prometheus metrics,
// alerts. The app (app/operations.h) owns one OpsState, keeps its probes and status fresh, and
// hands it to the server through Deps::ops. The webhook route records into `webhooks`.
//
// For the dashboard: `OpsState::alerts()` is the banner's data (active alerts, oldest first).
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "jobs/runner.h"
#include "jobs/scheduler.h"
#include "store/db.h"
#include "whop/client.h"

namespace cs::http {

/// Milliseconds on the monotonic clock (probe ages; never the wall clock).
inline int64_t monotonic_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// One active alert. Each alert clears itself when its condition is gone.
struct Alert {
  /// "webhooks_silent" | "whop_failing" | "dead_jobs" | "backup_failed" | "disk_low"
  std::string code;
  std::string severity;  // "warning" | "critical"
  std::string message;   // for people; never personal data or secrets
  int64_t since_ms = 0;  // unix ms (app clock) when the condition was first seen
};

/// Webhook deliveries by (HTTP status, outcome) and the ingest latency histogram, since start.
/// Thread-safe; observe() is cheap (one short lock).
class WebhookMetrics {
 public:
  /// Upper bounds (seconds) of the latency histogram's buckets; +Inf is implied.
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
  void observe(int status, const std::string& outcome, double seconds) {
    size_t b = 0;
    while (b < kBuckets.size() && seconds > kBuckets[b]) ++b;
    std::lock_guard<std::mutex> lock(mu_);
    ++by_outcome_[{status, outcome}];
    ++buckets_[b];
    sum_ += seconds;
    ++count_;
  }
  struct Snapshot {
    std::map<std::pair<int, std::string>, uint64_t> by_outcome;
    std::array<uint64_t, kBuckets.size() + 1> buckets{};  // per bucket (not cumulative)
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot snapshot() const {
    std::lock_guard<std::mutex> lock(mu_);
    return {by_outcome_, buckets_, sum_, count_};
  }

 private:
  mutable std::mutex mu_;
  std::map<std::pair<int, std::string>, uint64_t> by_outcome_;
  std::array<uint64_t, kBuckets.size() + 1> buckets_{};
  double sum_ = 0;
  uint64_t count_ = 0;
};

/// The last backup attempt (daily or `churn-saver backup` is not seen here: only serve's own).
struct BackupStatus {
  bool enabled = false;
  std::string dir;
  int64_t last_attempt_ms = 0;  // unix ms; 0 = never in this process
  bool last_ok = true;
  std::string last_error;
  std::string last_file;        // file name of the newest good backup
  int64_t last_success_ms = 0;  // unix ms of the newest good backup (file time), 0 = none
  int64_t last_size_bytes = 0;
};

/// The last retention pass.
struct RetentionStatus {
  int64_t last_run_ms = 0;
  int64_t payloads_stripped = 0;
  int64_t events_deleted = 0;
  int64_t cases_closed = 0;
  int64_t jobs_purged = 0;
  std::string last_error;
  bool stopped = false;  // ended early because the service is stopping
};

/// What the health, readiness and metrics routes read.
struct OpsState {
  // --- Set once by the app before the server starts -------------------------------------
  std::string db_path;
  /// Why the database could not be written at start (serve's read-only mode); "" = writable.
  std::string read_only;
  std::string metrics_token;    // CHURN_SAVER_METRICS_TOKEN; "" = /metrics answers 403
  int64_t started_ms = 0;       // unix ms (app clock)
  int64_t started_mono_ms = 0;  // monotonic_ms() at start
  const jobs::Scheduler* scheduler = nullptr;
  const jobs::JobRunner* runner = nullptr;
  bool workers_running = false;    // scheduler and workers run as threads (serve; not tests)
  int64_t scheduler_stale_ms = 0;  // scheduler heartbeat older than this = stuck
  int64_t workers_stale_ms = 0;    // job worker heartbeat older than this = stuck
  int64_t probe_interval_ms = 5000;
  whop::Client* whop = nullptr;
  store::ReadPool* reads = nullptr;
  const Clock* clock = nullptr;
  /// The start-up integrity check: "pending" | "ok" | "failed".
  std::function<std::string()> db_check;
  /// "" while the database takes writes; else why the last commit that wrote failed.
  std::function<std::string()> writer_failure;
  /// The kill switches: name ("processing" | "scheduler" | "notifications") -> "on" | "off by
  /// settings" | "off by environment". Unset: not reported.
  std::function<std::vector<std::pair<std::string, std::string>>()> switches;

  // --- Kept fresh by the app -------------------------------------------------------------
  WebhookMetrics webhooks;
  std::atomic<int64_t> http_heartbeat_mono_ms{0};  // last /healthz answered (self-probe or monitor)
  std::atomic<int64_t> writer_probe_mono_ms{0};    // last writer round trip that succeeded
  std::atomic<int64_t> writer_probe_us{0};         // its duration
  std::atomic<bool> writer_probe_ok{false};        // the last round trip succeeded in time
  std::atomic<bool> started{false};                // start() finished
  std::atomic<bool> draining{false};               // SIGTERM: stop taking work

  /// /metrics keeps its database figures (rendered) for a few seconds: http/metrics.cpp.
  struct MetricsCache {
    std::mutex mu;
    int64_t at_mono_ms = 0;
    std::string text;
  };
  mutable MetricsCache metrics_cache;

  std::vector<Alert> alerts() const {
    std::lock_guard<std::mutex> lock(mu_);
    return alerts_;
  }
  void set_alerts(std::vector<Alert> a) {
    std::lock_guard<std::mutex> lock(mu_);
    alerts_ = std::move(a);
  }
  BackupStatus backup() const {
    std::lock_guard<std::mutex> lock(mu_);
    return backup_;
  }
  void set_backup(BackupStatus b) {
    std::lock_guard<std::mutex> lock(mu_);
    backup_ = std::move(b);
  }
  RetentionStatus retention() const {
    std::lock_guard<std::mutex> lock(mu_);
    return retention_;
  }
  void set_retention(RetentionStatus r) {
    std::lock_guard<std::mutex> lock(mu_);
    retention_ = std::move(r);
  }

 private:
  mutable std::mutex mu_;
  std::vector<Alert> alerts_;
  BackupStatus backup_;
  RetentionStatus retention_;
};

/// One readiness check.
struct ReadyCheck {
  std::string name;  // "started" | "database" | "writer" | "scheduler" | "workers"
  bool ok = false;
  std::string detail;
};
/// Whether the service should receive traffic, and why not. Ready = started, not draining, the
/// start-up integrity check has not failed, a writer round trip succeeded recently, and (when the
/// background threads run) the scheduler and job workers have fresh heartbeats.
std::vector<ReadyCheck> readiness(const OpsState& ops);
bool all_ok(const std::vector<ReadyCheck>& checks);

/// Process figures from /proc/self (0 when unavailable).
struct ProcessStats {
  int64_t rss_bytes = 0;
  int64_t virtual_bytes = 0;
  int64_t open_fds = 0;
  int64_t threads = 0;
};
ProcessStats process_stats();
/// Size of a file in bytes, 0 when it does not exist.
int64_t file_size_or_zero(const std::string& path);

}  // namespace cs::http
