// GET /metrics: Prometheus text format 0.0.4, behind `Authorization: Bearer
// <CHURN_SAVER_METRICS_TOKEN>` (403 while no token is configured, 401 for a wrong one).
// Counters are since the process started; the database figures are gauges read through indexes
// (cached for a few seconds, so a busy scraper costs little).
#include <cmath>
#include <cstdio>
#include <mutex>
#include <sstream>

#include "http/ops.h"
#include "http/routes.h"
#include "store/jobs.h"
#include "store/migrations.h"
#include "store/ops_stats.h"
#include "util/crypto.h"

namespace cs::http {
namespace {

std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

using Labels = std::vector<std::pair<std::string, std::string>>;

/// Builds the exposition text: one HELP/TYPE header per family, then its samples.
class Exposition {
 public:
  void family(const std::string& name, const char* type, const std::string& help) {
    out_ << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
  }
  void sample(const std::string& name, const Labels& labels, double value) {
    out_ << name;
    if (!labels.empty()) {
      out_ << "{";
      for (size_t i = 0; i < labels.size(); ++i) {
        if (i) out_ << ",";
        out_ << labels[i].first << "=\"" << escape_label(labels[i].second) << "\"";
      }
      out_ << "}";
    }
    out_ << " " << number(value) << "\n";
  }
  void gauge(const std::string& name, const std::string& help, double value) {
    family(name, "gauge", help);
    sample(name, {}, value);
  }
  std::string str() const { return out_.str(); }

 private:
  std::ostringstream out_;
};

constexpr int64_t kDbCacheMs = 5000;

/// The database gauges (a few indexed counts through indexes), rendered; cached for kDbCacheMs.
std::string db_section(const OpsState& ops) {
  std::lock_guard<std::mutex> lock(ops.metrics_cache.mu);
  int64_t now = monotonic_ms();
  if (ops.metrics_cache.at_mono_ms > 0 && now - ops.metrics_cache.at_mono_ms < kDbCacheMs) {
    return ops.metrics_cache.text;
  }
  std::map<std::string, int64_t> events, cases, jobs;
  std::map<std::pair<std::string, std::string>, int64_t> nudges;
  int schema = 0;
  {
    auto db = ops.reads->lease();
    events = store::count_events_by_state(*db);
    cases = store::count_cases_by_status(*db);
    jobs = store::count_jobs_by_state(*db);
    nudges = store::count_nudges(*db);
    schema = store::schema_version(*db);
  }
  Exposition e;
  e.family("churn_saver_events", "gauge", "Stored events by processing state.");
  for (const auto& [state, n] : events) {
    e.sample("churn_saver_events", {{"state", state}}, static_cast<double>(n));
  }
  e.family("churn_saver_cases", "gauge", "Recovery cases by status.");
  for (const auto& [status, n] : cases) {
    e.sample("churn_saver_cases", {{"status", status}}, static_cast<double>(n));
  }
  e.family("churn_saver_nudges", "gauge", "Nudges (messages to members) by channel and outcome.");
  for (const auto& [key, n] : nudges) {
    e.sample("churn_saver_nudges", {{"channel", key.first}, {"outcome", key.second}},
             static_cast<double>(n));
  }
  e.family("churn_saver_jobs", "gauge", "Job queue depth by state.");
  for (const auto& [state, n] : jobs) {
    e.sample("churn_saver_jobs", {{"state", state}}, static_cast<double>(n));
  }
  e.gauge("churn_saver_database_schema_version", "The database's schema version.", schema);
  ops.metrics_cache.at_mono_ms = now;
  ops.metrics_cache.text = e.str();
  return ops.metrics_cache.text;
}

std::string render(const OpsState& ops, const Deps&) {
  Exposition e;
  e.family("churn_saver_build_info", "gauge", "Version of the running binary (always 1).");
  e.sample("churn_saver_build_info",
           {{"version", CHURN_SAVER_VERSION},
            {"schema", std::to_string(store::binary_schema_version())}},
           1);
  auto checks = readiness(ops);
  e.gauge("churn_saver_ready", "1 when /readyz answers 200.", all_ok(checks) ? 1 : 0);

  // Webhooks.
  auto wh = ops.webhooks.snapshot();
  e.family("churn_saver_webhooks_total", "counter",
           "Webhook deliveries answered, by HTTP status and outcome.");
  for (const auto& [key, n] : wh.by_outcome) {
    e.sample("churn_saver_webhooks_total",
             {{"status", std::to_string(key.first)}, {"outcome", key.second}},
             static_cast<double>(n));
  }
  e.family("churn_saver_webhook_ingest_duration_seconds", "histogram",
           "Time from a webhook's body being read to its answer (verify, commit with fsync).");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < WebhookMetrics::kBuckets.size(); ++i) {
    cumulative += wh.buckets[i];
    e.sample("churn_saver_webhook_ingest_duration_seconds_bucket",
             {{"le", number(WebhookMetrics::kBuckets[i])}}, static_cast<double>(cumulative));
  }
  cumulative += wh.buckets.back();
  e.sample("churn_saver_webhook_ingest_duration_seconds_bucket", {{"le", "+Inf"}},
           static_cast<double>(cumulative));
  e.sample("churn_saver_webhook_ingest_duration_seconds_sum", {}, wh.sum);
  e.sample("churn_saver_webhook_ingest_duration_seconds_count", {}, static_cast<double>(wh.count));

  // Database figures.
  std::string text = e.str();
  if (ops.reads) text += db_section(ops);
  Exposition rest;
  // Whop.
  if (ops.whop) {
    rest.family("churn_saver_whop_calls_total", "counter",
                "Calls to Whop's API by operation and outcome (ok, http_4xx, http_429, http_5xx, "
                "timeout, network, tls, bad_response, breaker_open, throttled, not_configured).");
    for (const auto& [key, n] : ops.whop->calls()) {
      rest.sample("churn_saver_whop_calls_total",
                  {{"operation", key.first}, {"outcome", key.second}}, static_cast<double>(n));
    }
    rest.family("churn_saver_whop_breaker_open", "gauge",
                "1 while the circuit breaker of an operation is open or half-open.");
    for (const auto& [op, b] : ops.whop->breakers()) {
      rest.sample("churn_saver_whop_breaker_open", {{"operation", op}},
                  b.state == "closed" ? 0 : 1);
    }
  }

  // Scheduler and workers.
  if (ops.scheduler) {
    rest.gauge("churn_saver_scheduler_tick_duration_seconds",
               "Duration of the last scheduler pass.",
               static_cast<double>(ops.scheduler->last_tick_duration_us()) / 1e6);
    rest.gauge("churn_saver_scheduler_last_run_timestamp_seconds",
               "Unix time of the last scheduler pass (0 = none yet).",
               static_cast<double>(ops.scheduler->heartbeat_ms()) / 1000.0);
  }
  if (ops.runner) {
    rest.gauge("churn_saver_job_workers_heartbeat_timestamp_seconds",
               "Unix time a job worker last looked for work (0 = none yet).",
               static_cast<double>(ops.runner->heartbeat_ms()) / 1000.0);
  }

  // Storage, backups, alerts.
  rest.gauge("churn_saver_database_size_bytes", "Size of the database file.",
             static_cast<double>(file_size_or_zero(ops.db_path)));
  rest.gauge("churn_saver_database_wal_size_bytes", "Size of the database's write-ahead log.",
             static_cast<double>(file_size_or_zero(ops.db_path + "-wal")));
  auto b = ops.backup();
  rest.gauge("churn_saver_backup_enabled", "1 when serve makes daily backups.", b.enabled ? 1 : 0);
  rest.gauge("churn_saver_backup_last_success_timestamp_seconds",
             "Unix time of the newest good backup (0 = none).",
             static_cast<double>(b.last_success_ms) / 1000.0);
  rest.gauge("churn_saver_backup_last_attempt_ok", "0 when the last backup attempt failed.",
             b.last_ok ? 1 : 0);
  rest.family("churn_saver_alert_active", "gauge", "1 while an alert is active.");
  auto alerts = ops.alerts();
  for (const char* code :
       {"webhooks_silent", "whop_failing", "dead_jobs", "backup_failed", "disk_low"}) {
    bool on = false;
    for (const auto& a : alerts) on = on || a.code == code;
    rest.sample("churn_saver_alert_active", {{"alert", code}}, on ? 1 : 0);
  }

  // Process.
  auto p = process_stats();
  rest.gauge("process_resident_memory_bytes", "Resident memory size in bytes.",
             static_cast<double>(p.rss_bytes));
  rest.gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.",
             static_cast<double>(p.virtual_bytes));
  rest.gauge("process_open_fds", "Number of open file descriptors.",
             static_cast<double>(p.open_fds));
  rest.gauge("process_threads", "Number of threads.", static_cast<double>(p.threads));
  rest.gauge("process_start_time_seconds", "Start time of the process since the unix epoch.",
             static_cast<double>(ops.started_ms) / 1000.0);
  return text + rest.str();
}

}  // namespace

void add_metrics_routes(httplib::Server& svr, Deps& deps) {
  install(svr, "GET", "/metrics", [&deps](const httplib::Request& req, httplib::Response& res) {
    if (!deps.ops) return json_error(res, 503, "unavailable", "metrics are not wired");
    const std::string& token = deps.ops->metrics_token;
    if (token.empty()) {
      return json_error(res, 403, "metrics_off",
                        "metrics are off: set CHURN_SAVER_METRICS_TOKEN and send it as a bearer "
                        "token");
    }
    std::string auth = req.get_header_value("Authorization");
    const std::string prefix = "Bearer ";
    bool ok = auth.size() > prefix.size() && auth.compare(0, prefix.size(), prefix) == 0 &&
              crypto::constant_time_equal(crypto::sha256(auth.substr(prefix.size())),
                                          crypto::sha256(token));
    if (!ok) {
      res.set_header("WWW-Authenticate", "Bearer realm=\"churn-saver metrics\"");
      return json_error(res, 401, "unauthorized", "a valid bearer token is required");
    }
    res.status = 200;
    res.set_content(render(*deps.ops, deps), "text/plain; version=0.0.4; charset=utf-8");
  });
}

}  // namespace cs::http
