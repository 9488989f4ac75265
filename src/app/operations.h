#pragma once
// The operations side of a running `serve` (issue 5), owned by App:
// - a monitor thread (every 5 s): probes the HTTP loop (GET /healthz on the bound address) and
//   the writer (an empty round trip), and sends systemd WATCHDOG=1 only while the HTTP loop and
//   the scheduler both have a fresh heartbeat;
// - a maintenance thread (every CHURN_SAVER_MAINTENANCE_INTERVAL, first pass 30 s after start,
//   never before READY): evaluates alerts and notifies the alert URL, makes the daily backup
//   (keeping the last N), runs daily retention.
// The figures and status it keeps are in http::OpsState, which the health and metrics routes read.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "app/alerts.h"
#include "app/retention.h"
#include "http/ops.h"
#include "util/clock.h"

namespace cs::app {

class App;

class Operations {
 public:
  Operations(App& app, const Clock& clock);
  ~Operations();
  Operations(const Operations&) = delete;
  Operations& operator=(const Operations&) = delete;

  /// Fills the state from the started App's parts (called by App::start before the server is
  /// built) and returns it for http::Deps::ops.
  http::OpsState& prepare();
  /// Starts the threads (call once the port is bound). `background` = the app's workers run as
  /// threads (serve); the maintenance thread runs only then.
  void start(bool background);
  /// Marks the service draining (readiness answers 503) and stops the threads. Idempotent.
  void stop();
  http::OpsState& state() { return state_; }

  // --- One pass on the calling thread (tests, and what the threads call) -------------------
  /// Probes the HTTP loop and the writer; sends WATCHDOG=1 when everything is fresh.
  void probe_now();
  /// Evaluates the alert conditions, updates the banner, notifies the alert URL.
  std::vector<http::Alert> evaluate_alerts_now();
  /// Makes a backup into the backup directory now (whether due or not).
  http::BackupStatus backup_now();
  /// Runs retention now.
  http::RetentionStatus retention_now();
  /// What the maintenance thread does each pass: alerts, then a backup and retention when a day
  /// has passed since the last ones.
  void maintenance_pass();

 private:
  void monitor_loop();
  void maintenance_loop();
  bool http_fresh() const;
  bool scheduler_fresh() const;
  void load_persisted();
  void persist_alerts();
  /// Whop calls and failures over the last 15 minutes (from sampled client counters).
  std::pair<uint64_t, uint64_t> whop_window(int64_t now);

  App& app_;
  const Clock& clock_;
  http::OpsState state_;
  RetentionPolicy retention_policy_;
  AlertPolicy alert_policy_;
  AlertTracker tracker_;
  std::mutex alerts_mu_;                                              // tracker_, whop_samples_
  std::deque<std::tuple<int64_t, uint64_t, uint64_t>> whop_samples_;  // (time, calls, failures)
  std::string probe_host_;
  std::string hostname_;
  int64_t last_retention_ms_ = 0;
  bool backup_failed_persisted_ = false;
  int64_t watchdog_ms_ = 0;
  std::atomic<bool> watchdog_withheld_{false};
  bool background_ = false;

  std::mutex mu_;
  std::condition_variable cv_;
  /// Set under mu_ (for cv_); also read without it by a backup or retention pass in progress,
  /// so that stop() need not wait minutes for it.
  std::atomic<bool> stopping_{false};
  bool started_ = false;
  std::thread monitor_;
  std::thread maintenance_;
};

}  // namespace cs::app
