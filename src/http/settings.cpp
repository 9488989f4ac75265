// GET /settings and its forms: POST /settings/connection (Whop connection, stored sealed, applied
// without a restart), POST /settings/recovery (channels, reminders, incentive, window, kill
// switches, retention), POST /settings/check (calls Whop and reports the answer). Invalid input
// answers 400 with the form as typed and a message next to each wrong field. Every change is
// audited in recovery_actions (actor admin, without secret values).
#include <nlohmann/json.hpp>
#include <sstream>

#include "http/dashboard.h"
#include "store/cases.h"
#include "store/dashboard.h"
#include "store/settings.h"
#include "util/log.h"
#include "view/pages.h"

namespace cs::http {
namespace {

std::string mask(const std::string& secret) {
  if (secret.empty()) return "";
  return "set, ends in …" + (secret.size() > 8 ? secret.substr(secret.size() - 4) : "");
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string join_offsets(const std::vector<int>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + std::to_string(v[i]);
  return out;
}

std::optional<int> parse_int(const std::string& s) {
  std::string t = trim(s);
  if (t.empty() || t.size() > 6 || t.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::stoi(t);
}

std::optional<std::vector<int>> parse_offsets(const std::string& s) {
  std::vector<int> out;
  std::string cur;
  for (char c : s + ",") {
    if (c == ',' || c == ' ' || c == ';') {
      if (!cur.empty()) {
        auto v = parse_int(cur);
        if (!v) return std::nullopt;
        out.push_back(*v);
        cur.clear();
      }
    } else {
      cur += c;
    }
  }
  return out;
}

bool has_space(const std::string& s) {
  return s.find_first_of(" \t\r\n") != std::string::npos;
}

void audit(Dashboard& d, const std::string& section, const nlohmann::json& changed) {
  int64_t now = d.now();
  d.deps.writer->run([&](SQLite::Database& db) {
    store::record_action(db, {"", now, "settings_changed", "", std::nullopt, "admin", section,
                              nlohmann::json{{"section", section}, {"fields", changed}}.dump()});
  });
}

/// The page as stored now; `typed` (when given) replaces the recovery form's values.
view::SettingsModel load_model(Dashboard& d) {
  view::SettingsModel m;
  auto s = d.deps.stored_settings ? d.deps.stored_settings() : domain::RecoverySettings{};
  store::RetentionSettings r;
  {
    auto db = d.deps.reads->lease();
    r = store::load_retention(*db, d.deps.retention_defaults);
  }
  store::ConnectionSettings c;
  if (d.deps.connection) c = d.deps.connection();
  m.api_key_masked = mask(c.api_key);
  if (!c.webhook_secrets.empty()) {
    m.secrets_masked = std::to_string(c.webhook_secrets.size()) +
                       (c.webhook_secrets.size() == 1 ? " secret set" : " secrets set");
  }
  m.api_base = d.deps.whop_api_base;
  m.values = {{"company_id", c.company_id},
              {"experience_id", c.experience_id},
              {"public_url", c.public_url},
              {"reminder_offsets_days", join_offsets(s.reminder_offsets_days)},
              {"incentive_days", std::to_string(s.incentive_days)},
              {"attribution_window_days", std::to_string(s.attribution_window_days)},
              {"payload_retention_days", std::to_string(r.payload_days)},
              {"event_retention_days", std::to_string(r.event_days)}};
  m.checks = {{"push_enabled", s.push_enabled},
              {"dm_enabled", s.dm_enabled},
              {"processing_enabled", s.processing_enabled},
              {"scheduler_enabled", s.scheduler_enabled},
              {"notifications_enabled", s.notifications_enabled}};
  m.env_processing_off = d.deps.env_processing_off;
  m.env_scheduler_off = d.deps.env_scheduler_off;
  m.env_notifications_off = d.deps.env_notifications_off;
  return m;
}

}  // namespace

void add_settings_routes(httplib::Server& svr, Dashboard& d) {
  route(svr, d, "GET", "/settings",
        [&d](const httplib::Request&, httplib::Response& res, const Session& s) {
          auto m = load_model(d);
          send_html(res, 200, view::settings_page(d.chrome(s, "Settings", "settings"), m));
        });

  route(
      svr, d, "POST", "/settings/recovery",
      [&d](const httplib::Request& req, httplib::Response& res, const Session& s) {
        auto m = load_model(d);
        auto settings =
            d.deps.stored_settings ? d.deps.stored_settings() : domain::RecoverySettings{};
        auto before = domain::to_json(settings);
        domain::FieldErrors errors;
        for (const char* f : {"reminder_offsets_days", "incentive_days", "attribution_window_days",
                              "payload_retention_days", "event_retention_days"}) {
          m.values[f] = req.get_param_value(f).substr(0, 200);
        }
        for (auto& [k, v] : m.checks) v = req.has_param(k.c_str());
        auto offsets = parse_offsets(m.values["reminder_offsets_days"]);
        if (offsets) {
          settings.reminder_offsets_days = *offsets;
        } else {
          errors["reminder_offsets_days"] = "Write whole days separated by commas, e.g. 0, 2, 4.";
        }
        auto incentive = parse_int(m.values["incentive_days"]);
        if (incentive) {
          settings.incentive_days = *incentive;
        } else {
          errors["incentive_days"] = "Enter a whole number of days from 0 (off) to 30.";
        }
        auto window = parse_int(m.values["attribution_window_days"]);
        if (window) {
          settings.attribution_window_days = *window;
        } else {
          errors["attribution_window_days"] = "Enter a whole number of days from 1 to 90.";
        }
        settings.push_enabled = m.checks["push_enabled"];
        settings.dm_enabled = m.checks["dm_enabled"];
        settings.processing_enabled = m.checks["processing_enabled"];
        settings.scheduler_enabled = m.checks["scheduler_enabled"];
        settings.notifications_enabled = m.checks["notifications_enabled"];
        for (const auto& [k, v] : domain::validate(settings)) {
          if (!errors.count(k)) errors[k] = v;
        }
        store::RetentionSettings ret;
        auto pd = parse_int(m.values["payload_retention_days"]);
        auto ed = parse_int(m.values["event_retention_days"]);
        if (!pd || *pd < 1 || *pd > 365) {
          errors["payload_retention_days"] = "Enter a whole number of days from 1 to 365.";
        } else {
          ret.payload_days = *pd;
        }
        if (!ed || *ed < 1 || *ed > 3650) {
          errors["event_retention_days"] = "Enter a whole number of days from 1 to 3650.";
        } else if (pd && *ed < *pd) {
          errors["event_retention_days"] =
              "Keep events at least as long as their payloads (" + std::to_string(*pd) + " days).";
        } else {
          ret.event_days = *ed;
        }
        if (!errors.empty()) {
          m.errors = errors;
          auto c = d.chrome(s, "Settings", "settings");
          c.flash_kind = "error";
          c.flash_text = "Some settings need a fix; nothing was saved.";
          send_html(res, 400, view::settings_page(c, m));
          return;
        }
        int64_t now = d.now();
        auto st = d.deps.writer->run([&](SQLite::Database& db) {
          store::save_recovery_settings(db, settings, now);
          store::save_retention(db, ret, now);
        });
        if (!st) throw std::runtime_error(st.error());
        nlohmann::json changed = nlohmann::json::array();
        auto after = domain::to_json(settings);
        for (auto it = after.begin(); it != after.end(); ++it) {
          if (before[it.key()] != it.value()) changed.push_back(it.key());
        }
        changed.push_back("retention");
        audit(d, "recovery", changed);
        d.flash(s, "ok", "Recovery settings saved. They apply from now on.");
        redirect(res, "/settings");
      });

  route(svr, d, "POST", "/settings/connection",
        [&d](const httplib::Request& req, httplib::Response& res, const Session& s) {
          auto m = load_model(d);
          domain::FieldErrors errors;
          store::StoredConnection c;
          std::string key = trim(req.get_param_value("api_key"));
          std::string secrets = trim(req.get_param_value("webhook_secrets"));
          for (const char* f : {"company_id", "experience_id", "public_url"}) {
            m.values[f] = trim(req.get_param_value(f)).substr(0, 300);
          }
          if (!key.empty()) {
            if (has_space(key) || key.size() > 512) {
              errors["api_key"] = "Paste the API key exactly as Whop shows it (no spaces).";
            } else {
              c.api_key = key;
            }
          }
          if (!secrets.empty()) {
            std::vector<std::string> list;
            std::stringstream ss(secrets);
            std::string item;
            while (std::getline(ss, item, ',')) {
              item = trim(item);
              if (!item.empty()) list.push_back(item);
            }
            bool ok = !list.empty() && list.size() <= 5;
            for (const auto& x : list) ok = ok && !has_space(x) && x.size() <= 512;
            if (!ok) {
              errors["webhook_secrets"] =
                  "Paste one secret (ws_… or whsec_…), or up to five separated by commas.";
            } else {
              c.webhook_secrets = list;
            }
          }
          const std::string& company = m.values["company_id"];
          if (!company.empty() && (company.rfind("biz_", 0) != 0 || has_space(company))) {
            errors["company_id"] = "A company id starts with biz_ (Whop → Settings).";
          }
          const std::string& exp = m.values["experience_id"];
          if (!exp.empty() && (exp.rfind("exp_", 0) != 0 || has_space(exp))) {
            errors["experience_id"] = "An experience id starts with exp_.";
          }
          std::string url = m.values["public_url"];
          while (!url.empty() && url.back() == '/') url.pop_back();
          if (!url.empty() && ((url.rfind("https://", 0) != 0 && url.rfind("http://", 0) != 0) ||
                               has_space(url) || url.size() < 10)) {
            errors["public_url"] =
                "Give the address people reach this server at, e.g. https://cs.example.com.";
          }
          if (!errors.empty()) {
            m.errors = errors;
            auto ch = d.chrome(s, "Settings", "settings");
            ch.flash_kind = "error";
            ch.flash_text = "The Whop connection needs a fix; nothing was saved.";
            send_html(res, 400, view::settings_page(ch, m));
            return;
          }
          c.company_id = company;
          c.experience_id = exp;
          c.public_url = url;
          if (!d.deps.save_connection) throw std::runtime_error("no connection store");
          auto st = d.deps.save_connection(c);
          if (!st) {
            d.flash(s, "error", st.error());
            return redirect(res, "/settings");
          }
          nlohmann::json changed = {"company_id", "experience_id", "public_url"};
          if (c.api_key) changed.push_back("api_key");
          if (c.webhook_secrets) changed.push_back("webhook_secrets");
          audit(d, "connection", changed);
          d.flash(s, "ok", "Whop connection saved and in use.");
          redirect(res, "/settings");
        });

  route(svr, d, "POST", "/settings/check",
        [&d](const httplib::Request&, httplib::Response& res, const Session& s) {
          auto c = d.deps.connection ? d.deps.connection() : store::ConnectionSettings{};
          if (!d.deps.whop) {
            d.flash(s, "error", "The Whop client is not available.");
          } else if (c.api_key.empty() || c.company_id.empty()) {
            d.flash(s, "error", "Enter the API key and the company id first.");
          } else {
            auto r = d.deps.whop->check_connection(c.company_id);
            if (r) {
              d.flash(s, "ok", "Whop answered: " + *r);
            } else {
              d.flash(s, "error", "Whop connection failed: " + r.error().message);
            }
          }
          redirect(res, "/settings#connection");
        });
}

}  // namespace cs::http
