// Health (issue 5, DESIGN.md §7). No session needed; no personal data, no secrets, no paths.
//   GET /healthz              200 while the process serves HTTP (liveness; also the HTTP-loop
//                             heartbeat the watchdog needs).
//   GET /readyz               200 when the service should get traffic, else 503, with the checks.
//   GET /api/health           everything in one JSON document (503 when not ready).
//   GET /api/health/db        the database: integrity, writer, sizes, disk, backups, retention.
//   GET /api/health/webhooks  last event received, counts in the last hour, rejections by reason,
//                             backlog.
#include <dirent.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "domain/time.h"
#include "http/ops.h"
#include "http/routes.h"
#include "store/jobs.h"
#include "store/migrations.h"
#include "store/ops_stats.h"
#include "view/pages.h"

namespace cs::http {
namespace {

using nlohmann::json;

json iso_or_null(int64_t ms) {
  if (ms <= 0) return nullptr;
  return domain::format_iso8601_ms(ms);
}

json iso_or_null(const std::optional<int64_t>& ms) {
  return ms ? iso_or_null(*ms) : json(nullptr);
}

void send(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

json checks_json(const std::vector<ReadyCheck>& checks) {
  json out = json::object();
  for (const auto& c : checks) out[c.name] = {{"ok", c.ok}, {"detail", c.detail}};
  return out;
}

json backup_json(const BackupStatus& b) {
  return {{"enabled", b.enabled},
          {"last_success_at", iso_or_null(b.last_success_ms)},
          {"last_file", b.last_file.empty() ? json(nullptr) : json(b.last_file)},
          {"last_size_bytes", b.last_size_bytes},
          {"last_attempt_at", iso_or_null(b.last_attempt_ms)},
          {"last_ok", b.last_ok},
          {"last_error", b.last_error.empty() ? json(nullptr) : json(b.last_error)}};
}

json retention_json(const RetentionStatus& r) {
  return {{"last_run_at", iso_or_null(r.last_run_ms)},
          {"payloads_stripped", r.payloads_stripped},
          {"events_deleted", r.events_deleted},
          {"cases_closed", r.cases_closed},
          {"jobs_purged", r.jobs_purged},
          {"last_error", r.last_error.empty() ? json(nullptr) : json(r.last_error)}};
}

json alerts_json(const std::vector<Alert>& alerts) {
  json out = json::array();
  for (const auto& a : alerts) {
    out.push_back({{"code", a.code},
                   {"severity", a.severity},
                   {"message", a.message},
                   {"since", iso_or_null(a.since_ms)}});
  }
  return out;
}

int64_t now_ms(const OpsState& ops) {
  return ops.clock ? ops.clock->now_ms() : 0;
}

json database_json(const OpsState& ops) {
  int schema = 0;
  if (ops.reads) {
    auto db = ops.reads->lease();
    schema = store::schema_version(*db);
  }
  json disk = nullptr;
  struct statvfs vfs {};
  if (!ops.db_path.empty() && ::statvfs(dir_of(ops.db_path).c_str(), &vfs) == 0) {
    double avail = static_cast<double>(vfs.f_bavail) * static_cast<double>(vfs.f_frsize);
    double total = static_cast<double>(vfs.f_blocks) * static_cast<double>(vfs.f_frsize);
    disk = {{"available_bytes", static_cast<int64_t>(avail)},
            {"total_bytes", static_cast<int64_t>(total)},
            {"free_percent", total > 0 ? static_cast<int>(100.0 * avail / total) : 0}};
  }
  int64_t probe_at = ops.writer_probe_mono_ms.load();
  return {{"integrity", ops.db_check ? ops.db_check() : std::string("unknown")},
          {"schema_version", schema},
          {"binary_schema_version", store::binary_schema_version()},
          {"size_bytes", file_size_or_zero(ops.db_path)},
          {"wal_bytes", file_size_or_zero(ops.db_path + "-wal")},
          {"read_only", !ops.read_only.empty()},
          {"writer",
           {{"ok", ops.read_only.empty() && ops.writer_probe_ok.load() &&
                       (!ops.writer_failure || ops.writer_failure().empty())},
            {"round_trip_ms", static_cast<double>(ops.writer_probe_us.load()) / 1000.0},
            {"checked_ms_ago", probe_at > 0 ? json(monotonic_ms() - probe_at) : json(nullptr)}}},
          {"disk", disk},
          {"backup", backup_json(ops.backup())},
          {"retention", retention_json(ops.retention())}};
}

json webhooks_json(const OpsState& ops, const Deps& deps) {
  int64_t now = now_ms(ops);
  store::WebhookFacts f;
  if (ops.reads) {
    auto db = ops.reads->lease();
    f = store::find_webhook_facts(*db, now - 3600 * 1000LL);
  }
  json rejections = json::object();
  uint64_t rejected = 0;
  if (deps.webhook_stats) {
    for (const auto& [reason, r] : deps.webhook_stats->rejections()) {
      rejections[reason] = {
          {"status", r.status}, {"count", r.count}, {"last_at", iso_or_null(r.last_at)}};
      rejected += r.count;
    }
  }
  json outcomes = json::object();
  for (const auto& [key, n] : ops.webhooks.snapshot().by_outcome) {
    if (key.first == 200) outcomes[key.second] = outcomes.value(key.second, uint64_t{0}) + n;
  }
  return {{"last_received_at", iso_or_null(f.last_received_at)},
          {"last_received_ago_s",
           f.last_received_at ? json((now - *f.last_received_at) / 1000) : json(nullptr)},
          {"last_event_time", iso_or_null(f.last_event_time)},
          {"last_type", f.last_type.empty() ? json(nullptr) : json(f.last_type)},
          {"received_last_hour", f.received_since},
          {"accepted_since_start", outcomes},
          {"rejected_since_start", rejected},
          {"rejections", rejections},
          {"backlog",
           {{"pending_events", f.pending},
            {"failed_events", f.failed},
            {"process_jobs_waiting", f.process_jobs_waiting}}}};
}

json components_json(const OpsState& ops) {
  int64_t now = now_ms(ops);
  int64_t http_beat = ops.http_heartbeat_mono_ms.load();
  json scheduler = {{"running", ops.workers_running}};
  if (ops.scheduler) {
    int64_t beat = ops.scheduler->heartbeat_ms();
    scheduler["last_tick_at"] = iso_or_null(beat);
    scheduler["heartbeat_age_ms"] = beat > 0 ? json(now - beat) : json(nullptr);
    scheduler["last_tick_ms"] =
        static_cast<double>(ops.scheduler->last_tick_duration_us()) / 1000.0;
    scheduler["switched_off"] = ops.scheduler->disabled();
  }
  json workers = {{"running", ops.workers_running}};
  if (ops.runner) {
    int64_t beat = ops.runner->heartbeat_ms();
    workers["heartbeat_age_ms"] = beat > 0 ? json(now - beat) : json(nullptr);
    workers["fresh"] = !ops.workers_running || (beat > 0 && now - beat <= ops.workers_stale_ms);
  }
  json whop = json::object();
  if (ops.whop) {
    json breakers = json::object();
    for (const auto& [op, b] : ops.whop->breakers()) breakers[op] = b.state;
    uint64_t ok = 0, failed = 0;
    for (const auto& [key, n] : ops.whop->calls()) (key.second == "ok" ? ok : failed) += n;
    whop = {{"breakers", breakers}, {"calls_ok", ok}, {"calls_failed", failed}};
  }
  if (ops.reads) {
    // Jobs that cannot call Whop until an API key is configured (they wait, never go dead).
    auto db = ops.reads->lease();
    const int64_t waiting = store::count_jobs_waiting_for_api_key(*db);
    whop["jobs_waiting_for_api_key"] = waiting;
    if (waiting > 0) whop["waiting"] = store::kWaitingForApiKey;
  }
  json switches = json::object();
  if (ops.switches) {
    for (const auto& [name, state] : ops.switches()) switches[name] = state;
  }
  return {
      {"http",
       {{"heartbeat_age_ms", http_beat > 0 ? json(monotonic_ms() - http_beat) : json(nullptr)}}},
      {"scheduler", scheduler},
      {"workers", workers},
      {"whop", whop},
      {"switches", switches}};
}

}  // namespace

std::vector<ReadyCheck> readiness(const OpsState& ops) {
  std::vector<ReadyCheck> out;
  if (ops.draining.load()) {
    out.push_back({"started", false, "shutting down"});
  } else if (!ops.started.load()) {
    out.push_back({"started", false, "starting"});
  } else {
    out.push_back({"started", true, "serving"});
  }
  std::string integrity = ops.db_check ? ops.db_check() : std::string("ok");
  out.push_back({"database", integrity != "failed",
                 integrity == "failed"           ? "the integrity check failed: restore a backup"
                 : integrity == "clean_shutdown" ? "closed cleanly by the last run: not checked"
                                                 : "integrity " + integrity});
  int64_t probe_at = ops.writer_probe_mono_ms.load();
  int64_t age = probe_at > 0 ? monotonic_ms() - probe_at : -1;
  bool writer_ok =
      ops.writer_probe_ok.load() && age >= 0 && age <= 3 * ops.probe_interval_ms + 5000;
  std::string failure = ops.writer_failure ? ops.writer_failure() : std::string();
  if (!ops.read_only.empty()) {
    out.push_back({"writer", false, "read-only: " + ops.read_only});
  } else if (!failure.empty()) {
    out.push_back({"writer", false, "the last commit failed: " + failure});
  } else {
    out.push_back(
        {"writer", writer_ok,
         writer_ok ? "writable" : (age < 0 ? "not checked yet" : "the writer does not answer")});
  }
  if (ops.workers_running && ops.scheduler && ops.clock) {
    int64_t beat = ops.scheduler->heartbeat_ms();
    int64_t now = ops.clock->now_ms();
    if (beat <= 0 && now - ops.started_ms <= ops.scheduler_stale_ms) {
      out.push_back({"scheduler", true, "first pass pending"});  // just started
    } else {
      int64_t sage = beat > 0 ? now - beat : -1;
      bool fresh = sage >= 0 && sage <= ops.scheduler_stale_ms;
      out.push_back({"scheduler", fresh,
                     fresh ? "heartbeat " + std::to_string(sage / 1000) + " s ago"
                           : "no heartbeat for too long"});
    }
  }
  return out;
}

bool all_ok(const std::vector<ReadyCheck>& checks) {
  for (const auto& c : checks) {
    if (!c.ok) return false;
  }
  return true;
}

ProcessStats process_stats() {
  ProcessStats s;
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    std::istringstream in(line);
    std::string key;
    int64_t value = 0;
    in >> key >> value;
    if (key == "VmRSS:") s.rss_bytes = value * 1024;
    if (key == "VmSize:") s.virtual_bytes = value * 1024;
    if (key == "Threads:") s.threads = value;
  }
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (struct dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') ++s.open_fds;
    }
    ::closedir(d);
    if (s.open_fds > 0) --s.open_fds;  // the directory stream itself
  }
  return s;
}

int64_t file_size_or_zero(const std::string& path) {
  struct stat st {};
  if (path.empty() || ::stat(path.c_str(), &st) != 0) return 0;
  return static_cast<int64_t>(st.st_size);
}

void add_health_routes(httplib::Server& svr, Deps& deps) {
  install(svr, "GET", "/healthz", [&deps](const httplib::Request&, httplib::Response& res) {
    if (deps.ops) deps.ops->http_heartbeat_mono_ms.store(monotonic_ms());
    res.set_content("{\"status\":\"ok\"}", "application/json");
  });

  install(svr, "GET", "/readyz", [&deps](const httplib::Request&, httplib::Response& res) {
    if (!deps.ops) return send(res, 503, {{"status", "not_ready"}, {"checks", json::object()}});
    auto checks = readiness(*deps.ops);
    bool ok = all_ok(checks);
    send(res, ok ? 200 : 503,
         {{"status", ok ? "ready" : "not_ready"}, {"checks", checks_json(checks)}});
  });

  install(svr, "GET", "/api/health", [&deps](const httplib::Request& req, httplib::Response& res) {
    if (!deps.ops) return send(res, 503, {{"status", "unavailable"}});
    const OpsState& ops = *deps.ops;
    auto checks = readiness(ops);
    bool ready = all_ok(checks);
    auto alerts = ops.alerts();
    bool read_only = !ops.read_only.empty();
    json body = {{"status", read_only ? "read_only"
                            : !ready  ? "unavailable"
                                      : (alerts.empty() ? "ok" : "degraded")},
                 {"ready", ready},
                 {"read_only", read_only},
                 {"read_only_reason", read_only ? json(ops.read_only) : json(nullptr)},
                 {"version", CHURN_SAVER_VERSION},
                 {"started_at", iso_or_null(ops.started_ms)},
                 {"uptime_s", (monotonic_ms() - ops.started_mono_ms) / 1000},
                 {"checks", checks_json(checks)},
                 {"alerts", alerts_json(alerts)}};
    body.update(components_json(ops));
    body["database"] = database_json(ops);
    body["webhooks"] = webhooks_json(ops, deps);
    // The dashboard's alert banner links here: a browser gets the same document as a page.
    if (req.get_header_value("Accept").find("text/html") != std::string::npos) {
      res.status = ready ? 200 : 503;
      res.set_content(view::health_page(body), "text/html; charset=utf-8");
      return;
    }
    send(res, ready ? 200 : 503, body);
  });

  install(svr, "GET", "/api/health/db", [&deps](const httplib::Request&, httplib::Response& res) {
    if (!deps.ops) return send(res, 503, {{"status", "unavailable"}});
    auto checks = readiness(*deps.ops);
    bool ready = all_ok(checks);
    json body = database_json(*deps.ops);
    body["status"] = ready ? "ok" : "unavailable";
    body["checks"] = checks_json(checks);
    send(res, ready ? 200 : 503, body);
  });

  install(svr, "GET", "/api/health/webhooks",
          [&deps](const httplib::Request&, httplib::Response& res) {
            if (!deps.ops) return send(res, 503, {{"status", "unavailable"}});
            auto checks = readiness(*deps.ops);
            bool ready = all_ok(checks);
            json body = webhooks_json(*deps.ops, deps);
            body["status"] = ready ? "ok" : "unavailable";
            send(res, ready ? 200 : 503, body);
          });
}

}  // namespace cs::http
