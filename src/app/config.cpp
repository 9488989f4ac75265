#include "app/config.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "util/log.h"

namespace cs::app {
namespace {

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> split_secrets(const std::string& v) {
  std::vector<std::string> out;
  std::stringstream ss(v);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item = trim(item);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

/// Applies one KEY=VALUE to the config. Unknown keys return false.
Result<bool> apply(Config& c, const std::string& key, const std::string& value) {
  if (key == "CHURN_SAVER_DB") {
    c.db_path = value;
  } else if (key == "CHURN_SAVER_LISTEN") {
    c.listen = value;
  } else if (key == "CHURN_SAVER_WHOP_WEBHOOK_SECRET") {
    c.webhook_secrets = split_secrets(value);
  } else if (key == "CHURN_SAVER_WHOP_API_KEY") {
    c.whop_api_key = value;
  } else if (key == "CHURN_SAVER_WHOP_API_BASE") {
    c.whop_api_base = value;
  } else if (key == "CHURN_SAVER_WHOP_COMPANY_ID") {
    c.whop_company_id = value;
  } else if (key == "CHURN_SAVER_WHOP_EXPERIENCE_ID") {
    c.whop_experience_id = value;
  } else if (key == "CHURN_SAVER_KEY_FILE") {
    c.key_file = value;
  } else if (key == "CHURN_SAVER_LOG_LEVEL") {
    c.log_level = value;
  } else if (key == "CHURN_SAVER_ATTRIBUTION_WINDOW_DAYS") {
    try {
      c.attribution_window_days = std::stoi(value);
    } catch (...) {
      return Error{key + " must be a whole number of days"};
    }
    if (c.attribution_window_days < 1 || c.attribution_window_days > 90) {
      return Error{key + " must be between 1 and 90 days"};
    }
  } else if (key == "CHURN_SAVER_JOB_LEASE") {
    try {
      c.job_lease_s = std::stoi(value);
    } catch (...) {
      return Error{key + " must be a whole number of seconds"};
    }
    if (c.job_lease_s < 1 || c.job_lease_s > 3600) {
      return Error{key + " must be between 1 and 3600 seconds"};
    }
  } else if (key == "CHURN_SAVER_PUBLIC_URL") {
    c.public_url = value;
  } else if (key == "CHURN_SAVER_TRUSTED_PROXY") {
    c.trusted_proxy = value;
  } else if (key == "CHURN_SAVER_SCHEDULER_INTERVAL" || key == "CHURN_SAVER_RECONCILE_INTERVAL") {
    double v = 0;
    try {
      v = std::stod(value);
    } catch (...) {
      return Error{key + " must be a number of seconds"};
    }
    if (!(v >= 0.01 && v <= 86400)) return Error{key + " must be between 0.01 and 86400 seconds"};
    (key == "CHURN_SAVER_SCHEDULER_INTERVAL" ? c.scheduler_interval_s : c.reconcile_interval_s) = v;
  } else if (key == "CHURN_SAVER_DISABLE_PROCESSING") {
    c.disable_processing = value == "1" || value == "true";
  } else if (key == "CHURN_SAVER_DISABLE_SCHEDULER") {
    c.disable_scheduler = value == "1" || value == "true";
  } else if (key == "CHURN_SAVER_DISABLE_NOTIFICATIONS") {
    c.disable_notifications = value == "1" || value == "true";
  } else if (key == "CHURN_SAVER_METRICS_TOKEN") {
    c.metrics_token = value;
  } else if (key == "CHURN_SAVER_BACKUP_DIR") {
    c.backup_dir = (value == "off" || value == "none") ? "off" : value;
  } else if (key == "CHURN_SAVER_ALERT_URL") {
    c.alert_url = value;
  } else if (key == "CHURN_SAVER_BACKUP_KEEP" || key == "CHURN_SAVER_RETENTION_PAYLOAD_DAYS" ||
             key == "CHURN_SAVER_RETENTION_EVENT_DAYS" ||
             key == "CHURN_SAVER_RETENTION_CASE_DAYS" ||
             key == "CHURN_SAVER_ALERT_WEBHOOK_SILENCE_HOURS" ||
             key == "CHURN_SAVER_ALERT_DISK_FREE_PERCENT") {
    // Operations (issue 5): whole numbers with a sane range each.
    struct Range {
      const char* key;
      int* field;
      int lo, hi;
      const char* unit;
    };
    const Range ranges[] = {
        {"CHURN_SAVER_BACKUP_KEEP", &c.backup_keep, 1, 1000, "backups"},
        {"CHURN_SAVER_RETENTION_PAYLOAD_DAYS", &c.retention_payload_days, 1, 3650, "days"},
        {"CHURN_SAVER_RETENTION_EVENT_DAYS", &c.retention_event_days, 1, 3650, "days"},
        {"CHURN_SAVER_RETENTION_CASE_DAYS", &c.retention_case_days, 1, 3650, "days"},
        {"CHURN_SAVER_ALERT_WEBHOOK_SILENCE_HOURS", &c.alert_webhook_silence_hours, 1, 8760,
         "hours"},
        {"CHURN_SAVER_ALERT_DISK_FREE_PERCENT", &c.alert_disk_free_percent, 0, 99, "percent"}};
    for (const auto& r : ranges) {
      if (key != r.key) continue;
      int v = 0;
      try {
        size_t used = 0;
        v = std::stoi(value, &used);
        if (used != value.size()) throw std::invalid_argument(key);
      } catch (...) {
        return Error{key + " must be a whole number of " + r.unit};
      }
      if (v < r.lo || v > r.hi) {
        return Error{key + " must be between " + std::to_string(r.lo) + " and " +
                     std::to_string(r.hi) + " " + r.unit};
      }
      *r.field = v;
    }
  } else if (key == "CHURN_SAVER_MAINTENANCE_INTERVAL") {
    double v = 0;
    try {
      v = std::stod(value);
    } catch (...) {
      return Error{key + " must be a number of seconds"};
    }
    if (!(v >= 0.05 && v <= 86400)) return Error{key + " must be between 0.05 and 86400 seconds"};
    c.maintenance_interval_s = v;
  } else if (key == "CHURN_SAVER_HTTP_THREADS") {
    try {
      c.http_threads = std::stoi(value);
    } catch (...) {
      return Error{key + " must be a number"};
    }
  } else {
    return false;
  }
  return true;
}

const char* const kKeys[] = {"CHURN_SAVER_DB",
                             "CHURN_SAVER_LISTEN",
                             "CHURN_SAVER_WHOP_WEBHOOK_SECRET",
                             "CHURN_SAVER_WHOP_API_KEY",
                             "CHURN_SAVER_WHOP_API_BASE",
                             "CHURN_SAVER_WHOP_COMPANY_ID",
                             "CHURN_SAVER_WHOP_EXPERIENCE_ID",
                             "CHURN_SAVER_KEY_FILE",
                             "CHURN_SAVER_LOG_LEVEL",
                             "CHURN_SAVER_ATTRIBUTION_WINDOW_DAYS",
                             "CHURN_SAVER_HTTP_THREADS",
                             "CHURN_SAVER_PUBLIC_URL",
                             "CHURN_SAVER_TRUSTED_PROXY",
                             "CHURN_SAVER_JOB_LEASE",
                             "CHURN_SAVER_SCHEDULER_INTERVAL",
                             "CHURN_SAVER_RECONCILE_INTERVAL",
                             "CHURN_SAVER_DISABLE_PROCESSING",
                             "CHURN_SAVER_DISABLE_SCHEDULER",
                             "CHURN_SAVER_DISABLE_NOTIFICATIONS",
                             "CHURN_SAVER_METRICS_TOKEN",
                             "CHURN_SAVER_BACKUP_DIR",
                             "CHURN_SAVER_BACKUP_KEEP",
                             "CHURN_SAVER_RETENTION_PAYLOAD_DAYS",
                             "CHURN_SAVER_RETENTION_EVENT_DAYS",
                             "CHURN_SAVER_RETENTION_CASE_DAYS",
                             "CHURN_SAVER_ALERT_URL",
                             "CHURN_SAVER_ALERT_WEBHOOK_SILENCE_HOURS",
                             "CHURN_SAVER_ALERT_DISK_FREE_PERCENT",
                             "CHURN_SAVER_MAINTENANCE_INTERVAL"};

}  // namespace

Result<std::map<std::string, std::string>> parse_env_file(const std::string& text) {
  std::map<std::string, std::string> out;
  std::stringstream ss(text);
  std::string line;
  int n = 0;
  while (std::getline(ss, line)) {
    ++n;
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    auto eq = line.find('=');
    if (eq == std::string::npos) {
      return Error{"line " + std::to_string(n) + ": expected KEY=VALUE"};
    }
    std::string key = trim(line.substr(0, eq));
    std::string value = trim(line.substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    out[key] = value;
  }
  return out;
}

Result<Config> load_config(const Flags& flags, const Getenv& getenv,
                           const std::string& default_config_file) {
  Config c;
  std::string file = flags.config.value_or("");
  bool explicit_file = !file.empty();
  if (file.empty() && getenv("CHURN_SAVER_CONFIG")) {
    file = getenv("CHURN_SAVER_CONFIG");
    explicit_file = !file.empty();
  }
  if (file.empty()) file = default_config_file;
  std::ifstream in(file);
  if (in) {
    std::stringstream buf;
    buf << in.rdbuf();
    auto kv = parse_env_file(buf.str());
    if (!kv) return Error{"config file " + file + ": " + kv.error()};
    for (const auto& [k, v] : *kv) {
      auto applied = apply(c, k, v);
      if (!applied) return Error{"config file " + file + ": " + applied.error()};
      if (!*applied) log::warn("unknown setting in config file", {{"file", file}, {"key", k}});
    }
    c.config_file = file;
  } else if (explicit_file) {
    return Error{"cannot read config file " + file};
  } else if (::access(file.c_str(), F_OK) == 0) {
    // The packaged file is 0640 root:churn-saver: say so instead of silently using defaults.
    return Error{"cannot read config file " + file +
                 " (run as root or as the churn-saver user, or pass --config)"};
  }
  for (const char* key : kKeys) {
    if (const char* v = getenv(key)) {
      auto applied = apply(c, key, v);
      if (!applied) return Error{applied.error()};
    }
  }
  if (flags.db) c.db_path = *flags.db;
  if (flags.listen) c.listen = *flags.listen;
  if (flags.scheduler_interval) {
    auto applied =
        apply(c, "CHURN_SAVER_SCHEDULER_INTERVAL", std::to_string(*flags.scheduler_interval));
    if (!applied) return Error{"--scheduler-interval: " + applied.error()};
  }
  if (c.key_file.empty()) c.key_file = c.db_path + ".key";
  if (c.backup_dir.empty()) {
    auto slash = c.db_path.rfind('/');
    c.backup_dir =
        (slash == std::string::npos ? std::string(".") : c.db_path.substr(0, slash)) + "/backups";
  } else if (c.backup_dir == "off") {
    c.backup_dir.clear();
  }
  if (c.retention_case_days <= c.attribution_window_days) {
    return Error{"CHURN_SAVER_RETENTION_CASE_DAYS must be longer than the attribution window (" +
                 std::to_string(c.attribution_window_days) + " days)"};
  }
  return c;
}

}  // namespace cs::app
