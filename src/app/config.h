#pragma once
// Configuration, later wins: built-in defaults, the config file (--config, CHURN_SAVER_CONFIG, or
// /etc/churn-saver/churn-saver.conf when it exists), CHURN_SAVER_* environment variables, flags.
// The config file holds the same KEY=VALUE lines as the environment (systemd EnvironmentFile
// syntax), so one name means one setting everywhere.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "util/result.h"

namespace cs::app {

struct Config {
  std::string db_path = "./churn-saver.db";
  std::string listen = "127.0.0.1:8080";
  std::string config_file;  // the file that was read, "" when none
  std::vector<std::string> webhook_secrets;
  std::string whop_api_key;
  std::string whop_api_base = "https://api.whop.com/api/v1";
  std::string whop_company_id;
  std::string whop_experience_id;
  std::string key_file;  // default: <db_path>.key
  std::string log_level = "info";
  int attribution_window_days = 14;
  int http_threads = 32;
  std::string public_url;  // base of tracked links in messages, e.g. https://cs.example.com
  /// Address of the reverse proxy whose X-Forwarded-For / X-Forwarded-Proto are believed
  /// (CHURN_SAVER_TRUSTED_PROXY, e.g. 127.0.0.1 when Caddy runs on the same host); "" = none.
  std::string trusted_proxy;
  double scheduler_interval_s = 60;  // fractions allowed (tests)
  double reconcile_interval_s = 600;
  int job_lease_s = 120;  // a job whose worker died is taken again after this long
  // Kill switches from the environment (the settings page has its own; either one switches off).
  bool disable_processing = false;
  bool disable_scheduler = false;
  bool disable_notifications = false;

  // --- Operations (issue 5; see README "Operations").
  std::string metrics_token;  // CHURN_SAVER_METRICS_TOKEN: bearer for /metrics ("" = 403)
  /// CHURN_SAVER_BACKUP_DIR: serve's daily backups. load_config defaults it to
  /// <database directory>/backups; "off" (or a Config built in code, "") means no daily backups.
  std::string backup_dir;
  int backup_keep = 7;                   // CHURN_SAVER_BACKUP_KEEP
  int retention_payload_days = 30;       // CHURN_SAVER_RETENTION_PAYLOAD_DAYS
  int retention_event_days = 60;         // CHURN_SAVER_RETENTION_EVENT_DAYS
  int retention_case_days = 60;          // CHURN_SAVER_RETENTION_CASE_DAYS
  std::string alert_url;                 // CHURN_SAVER_ALERT_URL (Slack/Discord incoming webhook)
  int alert_webhook_silence_hours = 24;  // CHURN_SAVER_ALERT_WEBHOOK_SILENCE_HOURS
  int alert_disk_free_percent = 10;      // CHURN_SAVER_ALERT_DISK_FREE_PERCENT
  /// CHURN_SAVER_MAINTENANCE_INTERVAL: seconds between alert checks (backups and retention run
  /// when a day has passed since the last one).
  double maintenance_interval_s = 60;
};

/// The kind of value a setting takes; each has one parser (config.cpp) and one description.
enum class SettingType {
  Text,        // any string
  Secret,      // any string, never echoed in messages or --help
  SecretList,  // comma-separated secrets; "whsec_" ones must be whsec_ + base64
  Bool,        // 1/0, yes/no, true/false, on/off (systemd's spellings, any letter case)
  Int,         // a whole number in [min, max], nothing else on the line
  Seconds,     // a decimal number of seconds in [min, max] ("0.5", "60")
  LogLevel,    // debug, info, warn, error
};

/// One setting: the single declaration that parsing, `--help`, the man page and the README's
/// configuration tables follow (tests check the last two list every key).
struct Setting {
  const char* key;   // "CHURN_SAVER_DB"
  const char* flag;  // "--db", or "" when there is none
  SettingType type;
  double min = 0, max = 0;        // Int and Seconds
  const char* default_text = "";  // as shown to people
  const char* unit = "";          // "days", "seconds", ... (Int and Seconds)
  const char* help = "";
};

/// Every setting, in the order --help lists them.
const std::vector<Setting>& settings_table();
/// "CHURN_SAVER_DB (--db)  default ./churn-saver.db\n    the SQLite database file\n..." for --help.
std::string settings_help();
/// What a setting accepts, in words: "1, 0, yes, no, true, false, on or off".
std::string accepted_values(const Setting& s);

/// Values given on the command line (unset = not given).
struct Flags {
  std::optional<std::string> db;
  std::optional<std::string> listen;
  std::optional<std::string> config;
  std::optional<double> scheduler_interval;
};

using Getenv = std::function<const char*(const char*)>;

/// Builds the configuration. Error for an unreadable explicit config file or an invalid value.
Result<Config> load_config(
    const Flags& flags, const Getenv& getenv,
    const std::string& default_config_file = "/etc/churn-saver/churn-saver.conf");

/// Parses KEY=VALUE lines (systemd EnvironmentFile syntax: lines starting with '#' or ';' are
/// comments, blank lines are skipped, optional quotes around the value). Whitespace followed by
/// '#' ends an unquoted value: "debug  # note" is "debug" (a local edit that must keep working
/// after an upgrade). systemd's EnvironmentFile would keep the comment in the value; read that
/// way, the value is refused by the setting's strict check, never used silently.
Result<std::map<std::string, std::string>> parse_env_file(const std::string& text);

}  // namespace cs::app
