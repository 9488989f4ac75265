#include "app/alerts.h"

#include <algorithm>
#include <cstdio>

#include <httplib.h>

namespace cs::app {
namespace {

std::string hours_text(int64_t ms) {
  int64_t h = ms / (3600 * 1000LL);
  if (h >= 48) return std::to_string(h / 24) + " days";
  if (h >= 1) return std::to_string(h) + (h == 1 ? " hour" : " hours");
  return std::to_string(std::max<int64_t>(ms / 60000, 1)) + " minutes";
}

std::string gib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(bytes) / (1024.0 * 1024 * 1024));
  return buf;
}

}  // namespace

std::vector<http::Alert> evaluate_alerts(const AlertInputs& in, const AlertPolicy& p) {
  std::vector<http::Alert> out;
  auto add = [&](const char* code, const char* severity, std::string message) {
    out.push_back({code, severity, std::move(message), in.now});
  };
  if (in.open_cases > 0) {
    int64_t since = in.last_webhook_at.value_or(in.serving_since);
    if (in.now - since >= p.webhook_silence_ms) {
      add("webhooks_silent", "warning",
          "No webhook has arrived from Whop for " + hours_text(in.now - since) + " while " +
              std::to_string(in.open_cases) +
              " case(s) are open. Check the webhook URL and secret in Whop, and the reverse "
              "proxy.");
    }
  }
  if (in.whop_calls >= p.whop_min_calls &&
      static_cast<double>(in.whop_failures) >
          p.whop_failure_ratio * static_cast<double>(in.whop_calls)) {
    add("whop_failing", "critical",
        std::to_string(in.whop_failures) + " of " + std::to_string(in.whop_calls) +
            " calls to Whop failed in the last 15 minutes. Check the API key and Whop's status; "
            "jobs retry on their own.");
  }
  if (in.dead_jobs > 0) {
    add("dead_jobs", "warning",
        std::to_string(in.dead_jobs) +
            " job(s) gave up after their last attempt. See the Jobs page or `churn-saver jobs "
            "list --state dead`, then retry them.");
  }
  if (in.backup_failed) {
    add("backup_failed", "critical",
        "The last backup failed" + (in.backup_error.empty() ? "" : ": " + in.backup_error) + ".");
  }
  if (!in.writer_error.empty()) {
    add("database_unwritable", "critical",
        "The database cannot be written (" + in.writer_error +
            "): webhooks get 503 and Whop retries them. Check the disk (free space, read-only "
            "filesystem) and the file's permissions.");
  }
  if (in.disk_total > 0) {
    double free_pct =
        100.0 * static_cast<double>(in.disk_available) / static_cast<double>(in.disk_total);
    if (free_pct < p.disk_free_percent || in.disk_available < p.disk_free_floor) {
      char pct[16];
      std::snprintf(pct, sizeof pct, "%.0f%%", free_pct);
      add("disk_low", "critical",
          "The disk holding the database is nearly full: " + gib(in.disk_available) + " (" + pct +
              ") free. Webhooks are refused when it is full.");
    }
  }
  return out;
}

std::vector<AlertTracker::Change> AlertTracker::update(const std::vector<http::Alert>& current,
                                                       int64_t now) {
  std::vector<Change> changes;
  std::map<std::string, const http::Alert*> by_code;
  for (const auto& a : current) by_code[a.code] = &a;
  for (auto it = active_.begin(); it != active_.end();) {
    if (by_code.count(it->first)) {
      ++it;
      continue;
    }
    changes.push_back({it->second.alert, false});
    if (it->second.notified) cleared_.push_back({it->second.alert, now, 0});
    it = active_.erase(it);
  }
  for (const auto& a : current) {
    auto it = active_.find(a.code);
    if (it == active_.end()) {
      Entry e{a, false};
      e.alert.since_ms = now;
      active_[a.code] = e;
      changes.push_back({e.alert, true});
    } else {
      int64_t since = it->second.alert.since_ms;
      it->second.alert = a;
      it->second.alert.since_ms = since;
    }
  }
  return changes;
}

std::vector<http::Alert> AlertTracker::active() const {
  std::vector<http::Alert> out;
  for (const auto& [code, e] : active_) out.push_back(e.alert);
  std::sort(out.begin(), out.end(), [](const http::Alert& a, const http::Alert& b) {
    return a.since_ms != b.since_ms ? a.since_ms < b.since_ms : a.code < b.code;
  });
  return out;
}

bool AlertTracker::notify(const std::function<bool(const std::string&)>& post,
                          const std::string& host) {
  bool changed = false;
  for (auto& [code, e] : active_) {
    if (e.notified) continue;
    if (post(alert_body(e.alert, true, host))) {
      e.notified = true;
      changed = true;
    }
  }
  for (auto it = cleared_.begin(); it != cleared_.end();) {
    bool sent = post(alert_body(it->alert, false, host, it->cleared_at));
    if (sent || ++it->tries >= 3) {
      it = cleared_.erase(it);
      changed = true;
    } else {
      ++it;
    }
  }
  return changed;
}

nlohmann::json AlertTracker::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [code, e] : active_) {
    j[code] = {{"severity", e.alert.severity},
               {"message", e.alert.message},
               {"since", e.alert.since_ms},
               {"notified", e.notified}};
  }
  return j;
}

void AlertTracker::from_json(const nlohmann::json& j) {
  if (!j.is_object()) return;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const auto& v = it.value();
    if (!v.is_object()) continue;
    Entry e;
    e.alert.code = it.key();
    e.alert.severity = v.value("severity", std::string("warning"));
    e.alert.message = v.value("message", std::string());
    e.alert.since_ms = v.value("since", int64_t{0});
    e.notified = v.value("notified", false);
    active_[it.key()] = e;
  }
}

std::string alert_body(const http::Alert& alert, bool raised, const std::string& host,
                       int64_t cleared_at) {
  std::string where = host.empty() ? "Churn Saver" : "Churn Saver on " + host;
  std::string text;
  if (raised) {
    text = "[" + where + "] " + (alert.severity == "critical" ? "CRITICAL" : "WARNING") + " (" +
           alert.code + "): " + alert.message;
  } else {
    text = "[" + where + "] resolved (" + alert.code + ") after " +
           hours_text(std::max<int64_t>(cleared_at - alert.since_ms, 0)) + ".";
  }
  return nlohmann::json{{"text", text}, {"content", text}}.dump();
}

Status post_json(const std::string& url, const std::string& body) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos ||
      (url.compare(0, scheme_end, "http") != 0 && url.compare(0, scheme_end, "https") != 0)) {
    return Error{"the alert URL must start with https:// (or http://)"};
  }
  auto path_at = url.find('/', scheme_end + 3);
  std::string scheme_host = path_at == std::string::npos ? url : url.substr(0, path_at);
  std::string path = path_at == std::string::npos ? "/" : url.substr(path_at);
  httplib::Client cli(scheme_host);
  cli.set_connection_timeout(5, 0);
  cli.set_read_timeout(10, 0);
  cli.set_write_timeout(10, 0);
  cli.set_follow_location(false);
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
  cli.enable_server_certificate_verification(true);
#endif
  httplib::Headers headers{{"User-Agent", std::string("churn-saver/") + CHURN_SAVER_VERSION}};
  auto res = cli.Post(path, headers, body, "application/json");
  if (!res) return Error{"alert URL not reachable (" + httplib::to_string(res.error()) + ")"};
  if (res->status < 200 || res->status >= 300) {
    return Error{"alert URL answered HTTP " + std::to_string(res->status)};
  }
  return Ok{};
}

}  // namespace cs::app
