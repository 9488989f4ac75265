#include "app/config.h"

#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <variant>

#include "domain/setting_rules.h"
#include "util/crypto.h"

#include "util/log.h"

namespace cs::app {
namespace {

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

using Field =
    std::variant<std::monostate, std::string Config::*, std::vector<std::string> Config::*,
                 bool Config::*, int Config::*, double Config::*>;

struct Entry {
  Setting setting;
  Field field;
};

using T = SettingType;

// THE table of settings: parsing, --help, the man page and the README follow it.
const std::vector<Entry>& entries() {
  static const std::vector<Entry> all = {
      {{"CHURN_SAVER_DB", "--db", T::Text, 0, 0, "./churn-saver.db", "",
        "the SQLite database file"},
       &Config::db_path},
      {{"CHURN_SAVER_LISTEN", "--listen", T::Text, 0, 0, "127.0.0.1:8080", "",
        "HOST:PORT to serve on ([::1]:8080 for IPv6)"},
       &Config::listen},
      {{"CHURN_SAVER_CONFIG", "--config", T::Text, 0, 0, "/etc/churn-saver/churn-saver.conf", "",
        "the config file (environment or flag only)"},
       std::monostate{}},
      {{"CHURN_SAVER_WHOP_WEBHOOK_SECRET", "", T::SecretList, 0, 0, "(none)", "",
        "the webhook secret(s) from Whop (ws_... or whsec_... + base64), comma-separated"},
       &Config::webhook_secrets},
      {{"CHURN_SAVER_WHOP_API_KEY", "", T::Secret, 0, 0, "(none)", "", "Whop API key (bearer)"},
       &Config::whop_api_key},
      {{"CHURN_SAVER_WHOP_API_BASE", "", T::Text, 0, 0, "https://api.whop.com/api/v1", "",
        "Whop REST base URL"},
       &Config::whop_api_base},
      {{"CHURN_SAVER_WHOP_COMPANY_ID", "", T::Text, 0, 0, "(none)", "",
        "your company id (biz_...)"},
       &Config::whop_company_id},
      {{"CHURN_SAVER_WHOP_EXPERIENCE_ID", "", T::Text, 0, 0, "(none)", "",
        "the experience (exp_...) push notifications go to"},
       &Config::whop_experience_id},
      {{"CHURN_SAVER_PUBLIC_URL", "", T::Text, 0, 0, "(none)", "",
        "public HTTPS address of this server (tracked links in messages)"},
       &Config::public_url},
      {{"CHURN_SAVER_TRUSTED_PROXY", "", T::Text, 0, 0, "(none)", "",
        "address of the reverse proxy whose X-Forwarded-* headers count"},
       &Config::trusted_proxy},
      {{"CHURN_SAVER_HTTP_THREADS", "", T::Int, 1, 1024, "32", "threads", "HTTP worker threads"},
       &Config::http_threads},
      {{"CHURN_SAVER_SCHEDULER_INTERVAL", "--scheduler-interval", T::Seconds, 0.01, 86400, "60",
        "seconds", "seconds between scheduler passes"},
       &Config::scheduler_interval_s},
      {{"CHURN_SAVER_RECONCILE_INTERVAL", "", T::Seconds, 0.01, 86400, "600", "seconds",
        "seconds between reconciliation passes"},
       &Config::reconcile_interval_s},
      {{"CHURN_SAVER_JOB_LEASE", "", T::Int, 1, 3600, "120", "seconds",
        "seconds after which a job whose worker died is taken again"},
       &Config::job_lease_s},
      {{"CHURN_SAVER_DISABLE_PROCESSING", "", T::Bool, 0, 0, "off", "",
        "pause webhook processing (events are still stored)"},
       &Config::disable_processing},
      {{"CHURN_SAVER_DISABLE_SCHEDULER", "", T::Bool, 0, 0, "off", "",
        "stop the scheduler (no nudges, incentives or window expiries)"},
       &Config::disable_scheduler},
      {{"CHURN_SAVER_DISABLE_NOTIFICATIONS", "", T::Bool, 0, 0, "off", "",
        "stop every outbound push and DM"},
       &Config::disable_notifications},
      {{"CHURN_SAVER_KEY_FILE", "", T::Text, 0, 0, "<db>.key", "", "the data-at-rest keyring"},
       &Config::key_file},
      {{"CHURN_SAVER_ATTRIBUTION_WINDOW_DAYS", "", T::Int, 1, 90, "14", "days",
        "how long after the first failure a payment counts as recovered"},
       &Config::attribution_window_days},
      {{"CHURN_SAVER_LOG_LEVEL", "", T::LogLevel, 0, 0, "info", "", "log level"},
       &Config::log_level},
      {{"CHURN_SAVER_METRICS_TOKEN", "", T::Secret, 0, 0, "(none)", "",
        "bearer token of GET /metrics (without it /metrics answers 403)"},
       &Config::metrics_token},
      {{"CHURN_SAVER_BACKUP_DIR", "", T::Text, 0, 0, "<db directory>/backups", "",
        "daily backups; off switches them off"},
       &Config::backup_dir},
      {{"CHURN_SAVER_BACKUP_KEEP", "", T::Int, 1, 1000, "7", "backups", "daily backups kept"},
       &Config::backup_keep},
      {{"CHURN_SAVER_RETENTION_PAYLOAD_DAYS", "", T::Int, domain::kMinRetentionDays,
        domain::kMaxRetentionDays, "30", "days",
        "encrypted webhook bodies are removed after this many days"},
       &Config::retention_payload_days},
      {{"CHURN_SAVER_RETENTION_EVENT_DAYS", "", T::Int, domain::kMinRetentionDays,
        domain::kMaxRetentionDays, "60", "days", "events are deleted after this many days"},
       &Config::retention_event_days},
      {{"CHURN_SAVER_RETENTION_CASE_DAYS", "", T::Int, domain::kMinRetentionDays,
        domain::kMaxRetentionDays, "60", "days",
        "an open case this old is closed as lost; must exceed the attribution window"},
       &Config::retention_case_days},
      {{"CHURN_SAVER_ALERT_URL", "", T::Secret, 0, 0, "(none)", "",
        "Slack or Discord incoming-webhook URL for alerts"},
       &Config::alert_url},
      {{"CHURN_SAVER_ALERT_WEBHOOK_SILENCE_HOURS", "", T::Int, 1, 8760, "24", "hours",
        "alert when no webhook arrived for this long while cases are open"},
       &Config::alert_webhook_silence_hours},
      {{"CHURN_SAVER_ALERT_DISK_FREE_PERCENT", "", T::Int, 0, 99, "10", "percent",
        "alert when the database's disk has less free space than this"},
       &Config::alert_disk_free_percent},
      {{"CHURN_SAVER_MAINTENANCE_INTERVAL", "", T::Seconds, 0.05, 86400, "60", "seconds",
        "seconds between alert checks"},
       &Config::maintenance_interval_s},
  };
  return all;
}

const Entry* find_entry(std::string_view key) {
  for (const auto& e : entries()) {
    if (key == e.setting.key) return &e;
  }
  return nullptr;
}

std::string lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

/// The value as it may appear in a message: printable ASCII, at most 40 characters.
std::string shown(const std::string& v) {
  std::string out;
  for (char c : v.substr(0, 40)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return "\"" + out + (v.size() > 40 ? "...\"" : "\"");
}

std::string number(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

std::optional<bool> parse_bool(const std::string& v) {
  const std::string l = lower(v);
  if (l == "1" || l == "yes" || l == "true" || l == "on") return true;
  if (l == "0" || l == "no" || l == "false" || l == "off") return false;
  return std::nullopt;
}

std::optional<int64_t> parse_int(const std::string& v) {
  int64_t out = 0;
  const char* end = v.data() + v.size();
  auto [ptr, ec] = std::from_chars(v.data(), end, out);
  if (ec != std::errc() || ptr != end || v.empty()) return std::nullopt;
  return out;
}

std::optional<double> parse_seconds(const std::string& v) {
  // Digits with an optional fraction: no sign, exponent, spaces or unit.
  const auto dot = v.find('.');
  const auto digits = [](std::string_view s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
  };
  const std::string_view sv(v);
  if (!digits(sv.substr(0, dot))) return std::nullopt;
  if (dot != std::string::npos && !digits(sv.substr(dot + 1))) return std::nullopt;
  double out = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || ptr != v.data() + v.size()) return std::nullopt;
  return out;
}

/// Checks each comma-separated secret; a whsec_ secret must be whsec_ + strict base64 (it is
/// never used as raw bytes).
Result<std::vector<std::string>> parse_secrets(const std::string& key, const std::string& v) {
  std::vector<std::string> out = domain::split_list(v);
  for (size_t i = 0; i < out.size(); ++i) {
    const std::string& s = out[i];
    if (s.rfind("whsec_", 0) != 0) continue;
    const auto decoded = crypto::base64_decode(std::string_view(s).substr(6));
    if (!decoded || decoded->empty()) {
      return Error{key + ": secret " + std::to_string(i + 1) + " of " + std::to_string(out.size()) +
                   " starts with whsec_ but the rest is not base64; copy the secret exactly as "
                   "Whop shows it"};
    }
  }
  return out;
}

/// Applies one KEY=VALUE to the config. Unknown keys return false; an invalid value is an error
/// that names the key and what it accepts. An empty value leaves the default.
Result<bool> apply(Config& c, const std::string& key, const std::string& value) {
  const Entry* e = find_entry(key);
  if (e == nullptr) return false;
  const Setting& s = e->setting;
  if (value.empty() || std::holds_alternative<std::monostate>(e->field)) return true;
  auto refuse = [&] {
    const bool secret = s.type == T::Secret || s.type == T::SecretList;
    return Error{key + ": " + (secret ? std::string("the value") : shown(value)) +
                 " is not accepted; use " + accepted_values(s)};
  };
  switch (s.type) {
    case T::Text:
    case T::Secret:
      c.*std::get<std::string Config::*>(e->field) = value;
      return true;
    case T::SecretList: {
      auto secrets = parse_secrets(key, value);
      if (!secrets) return Error{secrets.error()};
      c.*std::get<std::vector<std::string> Config::*>(e->field) = *secrets;
      return true;
    }
    case T::Bool: {
      auto b = parse_bool(value);
      if (!b) return refuse();
      c.*std::get<bool Config::*>(e->field) = *b;
      return true;
    }
    case T::Int: {
      auto n = parse_int(value);
      if (!n || *n < s.min || *n > s.max) return refuse();
      c.*std::get<int Config::*>(e->field) = static_cast<int>(*n);
      return true;
    }
    case T::Seconds: {
      auto d = parse_seconds(value);
      if (!d || !(*d >= s.min && *d <= s.max)) return refuse();
      c.*std::get<double Config::*>(e->field) = *d;
      return true;
    }
    case T::LogLevel: {
      const std::string l = lower(value);
      if (l != "debug" && l != "info" && l != "warn" && l != "error") return refuse();
      c.*std::get<std::string Config::*>(e->field) = l;
      return true;
    }
  }
  return refuse();
}

bool valid_key(const std::string& key) {
  return !key.empty() &&
         key.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == std::string::npos;
}

}  // namespace

const std::vector<Setting>& settings_table() {
  static const std::vector<Setting> all = [] {
    std::vector<Setting> out;
    for (const auto& e : entries()) out.push_back(e.setting);
    return out;
  }();
  return all;
}

std::string accepted_values(const Setting& s) {
  switch (s.type) {
    case T::Text:
    case T::Secret:
      return "any text";
    case T::SecretList:
      return "secrets separated by commas (ws_..., or whsec_ followed by base64)";
    case T::Bool:
      return "1, 0, yes, no, true, false, on or off";
    case T::Int:
      return "a whole number of " + std::string(s.unit) + " from " + number(s.min) + " to " +
             number(s.max);
    case T::Seconds:
      return "a number of seconds from " + number(s.min) + " to " + number(s.max) +
             " (digits, an optional fraction, no unit)";
    case T::LogLevel:
      return "debug, info, warn or error";
  }
  return "";
}

std::string settings_help() {
  std::string out =
      "Settings (environment variables, or KEY=VALUE lines of the config file; later wins: "
      "defaults, file, environment, flags):\n";
  for (const auto& s : settings_table()) {
    out += "  " + std::string(s.key);
    if (*s.flag) out += " (" + std::string(s.flag) + ")";
    out += "  default: " + std::string(s.default_text) + "\n      " + s.help;
    if (s.type != T::Text && s.type != T::Secret) out += "; " + accepted_values(s);
    out += "\n";
  }
  return out;
}

Result<std::map<std::string, std::string>> parse_env_file(const std::string& text) {
  std::map<std::string, std::string> out;
  std::stringstream ss(text);
  std::string line;
  int n = 0;
  while (std::getline(ss, line)) {
    ++n;
    line = trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    const std::string where = "line " + std::to_string(n) + ": ";
    auto eq = line.find('=');
    if (eq == std::string::npos) return Error{where + "expected KEY=VALUE"};
    std::string key = trim(line.substr(0, eq));
    if (!valid_key(key)) return Error{where + "a key is upper-case letters, digits and _"};
    std::string value = trim(line.substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    } else {
      // An unquoted value ends where whitespace and '#' begin ("debug  # note" is "debug").
      // systemd's EnvironmentFile would keep the comment in the value: there, the strict checks
      // of each setting refuse it with a message instead of reading it silently.
      for (size_t i = 1; i < value.size(); ++i) {
        if (value[i] == '#' && (value[i - 1] == ' ' || value[i - 1] == '\t')) {
          value = trim(value.substr(0, i));
          break;
        }
      }
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
      if (!*applied && k.rfind("CHURN_SAVER_", 0) == 0) {
        return Error{"config file " + file + ": unknown setting " + k +
                     " (churn-saver serve --help lists them)"};
      }
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
  for (const auto& s : settings_table()) {
    const char* key = s.key;
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
  } else if (c.backup_dir == "off" || c.backup_dir == "none") {
    c.backup_dir.clear();
  }
  if (c.retention_case_days <= c.attribution_window_days) {
    return Error{"CHURN_SAVER_RETENTION_CASE_DAYS must be longer than the attribution window (" +
                 std::to_string(c.attribution_window_days) + " days)"};
  }
  return c;
}

}  // namespace cs::app
