#include "app/operations.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <httplib.h>

#include "app/app.h"
#include "app/backup.h"
#include "app/systemd.h"
#include "store/dashboard.h"
#include "store/engine.h"
#include "store/ops_stats.h"
#include "util/log.h"
#include "util/thread_name.h"

namespace cs::app {
namespace {

constexpr int64_t kWhopWindowMs = 15 * kMinuteMs;
constexpr int64_t kBackupEveryMs = kDayMs;
constexpr int64_t kBackupRetryMs = kHourMs;  // after a failed backup
constexpr int64_t kRetentionEveryMs = kDayMs;
constexpr int64_t kHttpFreshMs = 20 * kSecondMs;

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

Operations::Operations(App& app, const Clock& clock) : app_(app), clock_(clock) {
  char host[256] = {0};
  if (::gethostname(host, sizeof host - 1) == 0) hostname_ = host;
}

Operations::~Operations() {
  stop();
}

http::OpsState& Operations::prepare() {
  const Config& c = app_.config();
  state_.db_path = c.db_path;
  state_.read_only = app_.read_only();
  state_.metrics_token = c.metrics_token;
  state_.started_ms = clock_.now_ms();
  state_.started_mono_ms = http::monotonic_ms();
  state_.scheduler = &app_.scheduler();
  state_.runner = &app_.runner();
  state_.scheduler_stale_ms = static_cast<int64_t>(c.scheduler_interval_s * 1000) + 30 * kSecondMs;
  state_.workers_stale_ms = static_cast<int64_t>(c.job_lease_s) * 1000 + 30 * kSecondMs;
  state_.whop = &app_.whop();
  state_.reads = &app_.reads();
  state_.clock = &clock_;
  state_.db_check = [this] { return app_.db_check().state(); };
  state_.writer_failure = [this] {
    return app_.writer().last_commit_ok() ? std::string() : app_.writer().last_commit_error();
  };
  state_.switches = [this] {
    const Config& c = app_.config();
    domain::RecoverySettings stored = app_.stored_settings();
    auto state = [](bool env_off, bool enabled) -> std::string {
      if (env_off) return "off by environment";
      return enabled ? "on" : "off by settings";
    };
    return std::vector<std::pair<std::string, std::string>>{
        {"processing", state(c.disable_processing, stored.processing_enabled)},
        {"scheduler", state(c.disable_scheduler, stored.scheduler_enabled)},
        {"notifications", state(c.disable_notifications, stored.notifications_enabled)}};
  };

  retention_policy_.payload_days = c.retention_payload_days;
  retention_policy_.event_days = c.retention_event_days;
  retention_policy_.case_days = c.retention_case_days;
  alert_policy_.webhook_silence_ms = static_cast<int64_t>(c.alert_webhook_silence_hours) * kHourMs;
  alert_policy_.disk_free_percent = c.alert_disk_free_percent;

  http::BackupStatus b;
  b.enabled = !c.backup_dir.empty();
  b.dir = c.backup_dir;
  if (b.enabled) {
    auto files = list_backups(c.backup_dir);
    if (!files.empty()) {
      b.last_success_ms = files.front().time_ms;
      b.last_file = files.front().name;
      b.last_size_bytes = files.front().bytes;
    }
  }
  state_.set_backup(b);
  load_persisted();
  if (!state_.read_only.empty()) {
    // The dashboard's banner: nothing else evaluates alerts in read-only mode.
    auto alerts = state_.alerts();
    alerts.insert(alerts.begin(),
                  http::Alert{"database_read_only", "critical",
                              "The database is read-only (" + state_.read_only +
                                  "): webhooks are refused (Whop retries them) and nothing can "
                                  "be changed. Make it writable and restart the service.",
                              clock_.now_ms()});
    state_.set_alerts(std::move(alerts));
  }
  return state_;
}

void Operations::load_persisted() {
  try {
    auto db = app_.reads().lease();
    if (auto v = store::find_engine_state(*db, "ops.alerts")) {
      auto j = nlohmann::json::parse(*v, nullptr, false);
      std::lock_guard<std::mutex> lock(alerts_mu_);
      tracker_.from_json(j);
      state_.set_alerts(tracker_.active());
    }
    if (auto v = store::find_engine_state(*db, "ops.retention_last_run")) {
      last_retention_ms_ = std::stoll(*v);
    }
    if (auto v = store::find_engine_state(*db, "ops.backup")) {
      auto j = nlohmann::json::parse(*v, nullptr, false);
      auto b = state_.backup();
      if (j.is_object() && b.enabled && !j.value("ok", true) &&
          j.value("at", int64_t{0}) > b.last_success_ms) {
        b.last_ok = false;
        b.last_error = j.value("error", std::string());
        b.last_attempt_ms = j.value("at", int64_t{0});
        backup_failed_persisted_ = true;
        state_.set_backup(b);
      }
    }
  } catch (const std::exception& e) {
    log::warn("cannot read the saved operations state", {{"error", e.what()}});
  }
}

void Operations::start(bool background) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (started_ || stopping_) return;
    started_ = true;
  }
  background_ = background;
  state_.workers_running = background;
  auto listen = http::parse_listen(app_.config().listen);
  probe_host_ = listen ? listen->first : "127.0.0.1";
  if (probe_host_.empty() || probe_host_ == "0.0.0.0") probe_host_ = "127.0.0.1";
  if (probe_host_ == "::") probe_host_ = "::1";
  watchdog_ms_ = systemd::watchdog_interval_ms();
  // One writer round trip now (an empty transaction: no fsync), so readiness holds from the
  // first request on. The HTTP probe waits for the monitor thread (serve() is not running yet).
  // (Not in read-only mode: readiness reports that instead, and nothing is to be written.)
  if (state_.read_only.empty()) {
    auto t0 = http::monotonic_ms();
    auto st = app_.writer().run([](SQLite::Database&) {});
    state_.writer_probe_ok.store(static_cast<bool>(st));
    if (st) {
      state_.writer_probe_mono_ms.store(http::monotonic_ms());
      state_.writer_probe_us.store((http::monotonic_ms() - t0) * 1000);
    }
  }
  state_.started.store(true);
  monitor_ = std::thread([this] {
    name_this_thread("cs-monitor");
    monitor_loop();
  });
  if (background)
    maintenance_ = std::thread([this] {
      name_this_thread("cs-maintenance");
      maintenance_loop();
    });
}

void Operations::stop() {
  state_.draining.store(true);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (monitor_.joinable()) monitor_.join();
  if (maintenance_.joinable()) maintenance_.join();
}

bool Operations::http_fresh() const {
  int64_t beat = state_.http_heartbeat_mono_ms.load();
  return beat > 0 && http::monotonic_ms() - beat <= kHttpFreshMs;
}

bool Operations::scheduler_fresh() const {
  if (!state_.workers_running) return true;
  int64_t beat = app_.scheduler().heartbeat_ms();
  int64_t now = clock_.now_ms();
  if (beat <= 0) return now - state_.started_ms <= state_.scheduler_stale_ms;  // first pass pending
  return now - beat <= state_.scheduler_stale_ms;
}

void Operations::probe_now() {
  // The HTTP loop: the /healthz handler records the heartbeat when it answers.
  {
    httplib::Client cli(probe_host_, app_.port());
    cli.set_connection_timeout(2, 0);
    cli.set_read_timeout(2, 0);
    cli.set_write_timeout(2, 0);
    cli.set_keep_alive(false);
    auto res = cli.Get("/healthz", {{"User-Agent", "churn-saver-self-probe"}});
    (void)res;
  }
  // The writer: an empty transaction through the queue (no fsync when nothing changed).
  if (state_.read_only.empty()) {
    auto t0 = http::monotonic_ms();
    auto st = app_.writer().run([](SQLite::Database&) {});
    bool ok = static_cast<bool>(st);
    if (ok != state_.writer_probe_ok.exchange(ok) && !ok) {
      log::error("the database writer does not answer", {{"error", st.error()}});
    }
    if (ok) {
      state_.writer_probe_mono_ms.store(http::monotonic_ms());
      state_.writer_probe_us.store((http::monotonic_ms() - t0) * 1000);
    }
  }
  if (watchdog_ms_ > 0 && !state_.draining.load()) {
    bool http_ok = http_fresh();
    bool sched_ok = scheduler_fresh();
    if (http_ok && sched_ok) {
      systemd::notify_watchdog();
      if (watchdog_withheld_.exchange(false)) log::info("watchdog pings resumed");
    } else if (!watchdog_withheld_.exchange(true)) {
      log::error(
          "watchdog ping withheld: a heartbeat is stale (systemd restarts the service "
          "if this lasts)",
          {{"http_loop", http_ok ? "fresh" : "stale"},
           {"scheduler", sched_ok ? "fresh" : "stale"}});
    }
  }
}

void Operations::monitor_loop() {
  int64_t every = state_.probe_interval_ms;
  if (watchdog_ms_ > 0) every = std::min(every, std::max<int64_t>(watchdog_ms_ / 3, 500));
  for (;;) {
    probe_now();
    std::unique_lock<std::mutex> lock(mu_);
    if (cv_.wait_for(lock, std::chrono::milliseconds(every), [this] { return stopping_.load(); }))
      return;
  }
}

void Operations::maintenance_loop() {
  auto every =
      std::chrono::milliseconds(static_cast<int64_t>(app_.config().maintenance_interval_s * 1000));
  // The first pass waits a little: nothing slow happens around start-up (PERFORMANCE.md 5).
  auto first = std::min<std::chrono::milliseconds>(every, std::chrono::seconds(30));
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (cv_.wait_for(lock, first, [this] { return stopping_.load(); })) return;
  }
  for (;;) {
    maintenance_pass();
    std::unique_lock<std::mutex> lock(mu_);
    if (cv_.wait_for(lock, every, [this] { return stopping_.load(); })) return;
  }
}

void Operations::maintenance_pass() {
  try {
    evaluate_alerts_now();
    int64_t now = clock_.now_ms();
    auto b = state_.backup();
    if (b.enabled) {
      bool due = b.last_success_ms == 0 || now - b.last_success_ms >= kBackupEveryMs;
      bool waiting_retry = !b.last_ok && now - b.last_attempt_ms < kBackupRetryMs;
      if (due && !waiting_retry) {
        backup_now();
        evaluate_alerts_now();
      }
    }
    if (now - last_retention_ms_ >= kRetentionEveryMs) retention_now();
  } catch (const std::exception& e) {
    log::error("maintenance pass failed", {{"error", e.what()}});
  }
}

http::BackupStatus Operations::backup_now() {
  int64_t now = clock_.now_ms();
  auto b = state_.backup();
  b.last_attempt_ms = now;
  if (!b.enabled) {
    b.last_error = "no backup directory configured";
    return b;
  }
  auto r = backup_to_dir(app_.config().db_path, b.dir, app_.config().backup_keep, now, &stopping_);
  if (!r && stopping_.load()) {
    // Not a failure: the next start makes it (it is still due).
    log::info("backup stopped: the service is stopping; it runs again after the restart");
    return b;
  }
  if (r) {
    b.last_ok = true;
    b.last_error.clear();
    b.last_success_ms = now;
    b.last_file = r->file.substr(r->file.rfind('/') + 1);
    b.last_size_bytes = r->bytes;
    log::info("backup made", {{"file", b.last_file}, {"bytes", r->bytes}, {"ms", r->millis}});
  } else {
    b.last_ok = false;
    b.last_error = r.error();
    log::error("backup failed", {{"error", r.error()}});
  }
  state_.set_backup(b);
  if (!b.last_ok || backup_failed_persisted_) {
    backup_failed_persisted_ = !b.last_ok;
    nlohmann::json j = {{"ok", b.last_ok}, {"error", b.last_error}, {"at", now}};
    auto st = app_.writer().run(
        [&](SQLite::Database& db) { store::save_engine_state(db, "ops.backup", j.dump(), now); });
    if (!st) log::warn("cannot save the backup status", {{"error", st.error()}});
  }
  return b;
}

http::RetentionStatus Operations::retention_now() {
  int64_t now = clock_.now_ms();
  // The settings page's retention (issue 4) over the configuration's.
  RetentionPolicy policy = retention_policy_;
  {
    auto db = app_.reads().lease();
    auto saved = store::find_retention(*db, {policy.payload_days, policy.event_days});
    policy.payload_days = saved.payload_days;
    policy.event_days = saved.event_days;
  }
  // Never close a case that is still inside the attribution window in force (the settings page
  // may have widened it since start).
  policy.case_days = std::max(policy.case_days, app_.settings().attribution_window_days + 1);
  auto r =
      run_retention(app_.writer(), app_.reads(), app_.config().db_path, policy, now, &stopping_);
  state_.set_retention(r);
  if (r.last_error.empty() && !r.stopped) {
    last_retention_ms_ = now;
    auto st = app_.writer().run([&](SQLite::Database& db) {
      store::save_engine_state(db, "ops.retention_last_run", std::to_string(now), now);
    });
    if (!st) log::warn("cannot save the retention time", {{"error", st.error()}});
  }
  return r;
}

std::pair<uint64_t, uint64_t> Operations::whop_window(int64_t now) {
  uint64_t calls = 0, failures = 0;
  for (const auto& [key, n] : app_.whop().calls()) {
    calls += n;
    if (key.second != "ok") failures += n;
  }
  whop_samples_.emplace_back(now, calls, failures);
  while (whop_samples_.size() > 1 && std::get<0>(whop_samples_.front()) < now - kWhopWindowMs) {
    whop_samples_.pop_front();
  }
  const auto& base = whop_samples_.front();
  return {calls - std::get<1>(base), failures - std::get<2>(base)};
}

std::vector<http::Alert> Operations::evaluate_alerts_now() {
  AlertInputs in;
  in.now = clock_.now_ms();
  in.serving_since = state_.started_ms;
  {
    auto db = app_.reads().lease();
    in.open_cases = store::count_open_cases(*db);
    in.last_webhook_at = store::find_webhook_facts(*db, in.now).last_received_at;
    in.dead_jobs = store::count_dead_jobs(*db);
  }
  auto b = state_.backup();
  in.backup_failed = b.enabled && !b.last_ok;
  in.backup_error = b.last_error;
  in.writer_error = state_.writer_failure();
  struct statvfs vfs {};
  if (::statvfs(dir_of(app_.config().db_path).c_str(), &vfs) == 0) {
    in.disk_available = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
    in.disk_total = static_cast<uint64_t>(vfs.f_blocks) * vfs.f_frsize;
  }
  std::lock_guard<std::mutex> lock(alerts_mu_);
  std::tie(in.whop_calls, in.whop_failures) = whop_window(in.now);
  auto current = evaluate_alerts(in, alert_policy_);
  auto changes = tracker_.update(current, in.now);
  for (const auto& ch : changes) {
    if (ch.raised) {
      log::warn("alert raised", {{"alert", ch.alert.code},
                                 {"severity", ch.alert.severity},
                                 {"detail", ch.alert.message}});
    } else {
      log::info("alert cleared", {{"alert", ch.alert.code}});
    }
  }
  bool notified = false;
  const std::string& url = app_.config().alert_url;
  if (!url.empty()) {
    notified = tracker_.notify(
        [&](const std::string& body) {
          auto st = post_json(url, body);
          if (!st) log::warn("alert notification failed", {{"error", st.error()}});
          return static_cast<bool>(st);
        },
        hostname_);
  }
  auto active = tracker_.active();
  state_.set_alerts(active);
  if (!changes.empty() || notified) persist_alerts();
  return active;
}

void Operations::persist_alerts() {
  int64_t now = clock_.now_ms();
  std::string value = tracker_.to_json().dump();
  auto st = app_.writer().run(
      [&](SQLite::Database& db) { store::save_engine_state(db, "ops.alerts", value, now); });
  if (!st) log::warn("cannot save the alert state", {{"error", st.error()}});
}

}  // namespace cs::app
