// GET /settings and its forms: POST /settings/connection (Whop connection, stored sealed, applied
// without a restart), POST /settings/recovery (channels, reminders, incentive, window, kill
// switches, retention), POST /settings/check (calls Whop and reports the answer). Invalid input
// answers 400 with the form as typed and a message next to each wrong field. The forms are saved
// (validated, audited) by src/service/settings.h.
#include "service/settings.h"

#include <nlohmann/json.hpp>

#include "domain/time.h"
#include "http/dashboard.h"
#include "service/ingest.h"
#include "store/dashboard.h"
#include "util/crypto.h"
#include "view/pages.h"

namespace cs::http {
namespace {

/// "set, ending in 3f9a": the last four characters of a secret long enough that they say
/// little about it; a shorter one only says it is set.
std::string mask(const std::string& secret) {
  if (secret.empty()) return "";
  if (secret.size() < 12) return "set";
  return "set, ending in " + secret.substr(secret.size() - 4);
}

constexpr const char* kCheckPrefix = "check-";
constexpr const char* kTestPrefix = "test-";

/// The page as stored now; `typed` (when given) replaces the recovery form's values.
view::SettingsModel load_model(Dashboard& d) {
  view::SettingsModel m;
  auto s = service::stored_settings(*d.deps.services);
  auto r = service::stored_retention(*d.deps.services);
  store::ConnectionSettings c;
  if (d.deps.connection) c = d.deps.connection();
  m.api_key_masked = mask(c.api_key);
  m.has_api_key = !c.api_key.empty();
  m.has_secret = !c.webhook_secrets.empty();
  if (!c.webhook_secrets.empty()) {
    m.secrets_masked = std::to_string(c.webhook_secrets.size()) +
                       (c.webhook_secrets.size() == 1 ? " secret set" : " secrets set");
    std::string ends;
    for (const auto& sec : c.webhook_secrets) {
      if (sec.size() >= 12) ends += (ends.empty() ? "" : ", ") + sec.substr(sec.size() - 4);
    }
    if (!ends.empty()) m.secrets_masked += ", ending in " + ends;
  }
  if (!c.public_url.empty()) {
    std::string base = c.public_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    m.webhook_url = base + "/webhooks/whop";
    m.public_url_problem = domain::public_url_problem(base);
  }
  m.api_base = d.deps.whop_api_base;
  m.values = {{"company_id", c.company_id},
              {"experience_id", c.experience_id},
              {"public_url", c.public_url},
              {"reminder_offsets_days", domain::format_day_list(s.reminder_offsets_days)},
              {"incentive_days", std::to_string(s.incentive_days)},
              {"attribution_window_days", std::to_string(s.attribution_window_days)},
              {"payload_retention_days", std::to_string(r.payload_days)},
              {"event_retention_days", std::to_string(r.event_days)}};
  m.checks = {{"push_enabled", s.push_enabled},
              {"dm_enabled", s.dm_enabled},
              {"processing_enabled", s.processing_enabled},
              {"scheduler_enabled", s.scheduler_enabled},
              {"notifications_enabled", s.notifications_enabled}};
  m.values["time_zone"] = service::stored_time_zone(*d.deps.services);
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
          // The answers of "Check connection" and "Send a test webhook" go next to their
          // buttons, not in the banner at the top.
          auto [kind, text] = d.take_flash(s);
          if (kind.rfind(kCheckPrefix, 0) == 0) {
            m.check_kind = kind.substr(6);
            m.check_text = text;
          } else if (kind.rfind(kTestPrefix, 0) == 0) {
            m.test_kind = kind.substr(5);
            m.test_text = text;
          } else if (!kind.empty()) {
            d.flash(s, kind, text);
          }
          send_html(res, 200, view::settings_page(d.chrome(s, "Settings", "settings"), m));
        });

  route(
      svr, d, "POST", "/settings/recovery",
      [&d](const httplib::Request& req, httplib::Response& res, const Session& s) {
        auto m = load_model(d);
        for (const char* f : {"reminder_offsets_days", "incentive_days", "attribution_window_days",
                              "payload_retention_days", "event_retention_days"}) {
          m.values[f] = req.get_param_value(f).substr(0, 200);
        }
        for (auto& [k, v] : m.checks) v = req.has_param(k.c_str());
        auto change = service::save_recovery_settings(
            *d.deps.services,
            {m.values["reminder_offsets_days"], m.values["incentive_days"],
             m.values["attribution_window_days"], m.values["payload_retention_days"],
             m.values["event_retention_days"], m.checks["push_enabled"], m.checks["dm_enabled"],
             m.checks["processing_enabled"], m.checks["scheduler_enabled"],
             m.checks["notifications_enabled"]});
        if (!change.failure.empty()) throw std::runtime_error(change.failure);
        if (!change.errors.empty()) {
          m.errors = change.errors;
          auto c = d.form_error_chrome(s, "Settings", "settings",
                                       "Some settings need a fix; nothing was saved.");
          send_html(res, 400, view::settings_page(c, m));
          return;
        }
        d.flash(s, "ok", "Recovery settings saved. They apply from now on.");
        redirect(res, "/settings");
      });

  route(svr, d, "POST", "/settings/connection",
        [&d](const httplib::Request& req, httplib::Response& res, const Session& s) {
          auto m = load_model(d);
          for (const char* f : {"company_id", "experience_id", "public_url"}) {
            m.values[f] = domain::trim(req.get_param_value(f)).substr(0, 300);
          }
          auto change = service::save_connection(
              *d.deps.services,
              {req.get_param_value("api_key"), req.get_param_value("webhook_secrets"),
               m.values["company_id"], m.values["experience_id"], m.values["public_url"],
               req.has_param("remove_api_key"), req.has_param("remove_webhook_secrets")});
          if (!change.errors.empty()) {
            m.errors = change.errors;
            auto ch = d.form_error_chrome(s, "Settings", "settings",
                                          "The Whop connection needs a fix; nothing was saved.");
            send_html(res, 400, view::settings_page(ch, m));
            return;
          }
          if (!change.failure.empty()) {
            d.flash(s, "error", change.failure);
            return redirect(res, "/settings");
          }
          d.flash(s, "ok", "Whop connection saved and in use.");
          redirect(res, "/settings");
        });

  route(svr, d, "POST", "/settings/time-zone",
        [&d](const httplib::Request& req, httplib::Response& res, const Session& s) {
          auto m = load_model(d);
          m.values["time_zone"] = domain::trim(req.get_param_value("time_zone")).substr(0, 100);
          auto change = service::save_time_zone(*d.deps.services, m.values["time_zone"]);
          if (!change.errors.empty()) {
            m.errors = change.errors;
            auto ch = d.form_error_chrome(s, "Settings", "settings",
                                          "The time zone needs a fix; nothing was saved.");
            send_html(res, 400, view::settings_page(ch, m));
            return;
          }
          if (!change.failure.empty()) {
            d.flash(s, "error", change.failure);
          } else {
            d.flash(
                s, "ok",
                "Time zone saved: times and daily charts now use " + m.values["time_zone"] + ".");
          }
          redirect(res, "/settings#display");
        });

  route(svr, d, "POST", "/settings/check",
        [&d](const httplib::Request&, httplib::Response& res, const Session& s) {
          auto c = d.deps.connection ? d.deps.connection() : store::ConnectionSettings{};
          if (!d.deps.whop) {
            d.flash(s, "check-error", "The Whop client is not available.");
          } else if (c.api_key.empty() || c.company_id.empty()) {
            d.flash(s, "check-error", "Enter the API key and the company id first, and save.");
          } else {
            auto r = d.deps.whop->check_connection(c.company_id);
            if (r) {
              d.flash(s, "check-ok", "Whop answered: " + *r);
            } else {
              d.flash(s, "check-error", "Whop connection failed: " + r.error().message);
            }
          }
          redirect(res, "/settings#check-result");
        });

  // Sends a webhook to ourselves through the same path as Whop's: signed with the first secret
  // in force (v1), verified and stored by service::ingest_webhook, processed as an unknown type
  // (kTestWebhookType), so it never opens a case and never counts as Whop's first webhook.
  route(svr, d, "POST", "/settings/test-webhook",
        [&d](const httplib::Request&, httplib::Response& res, const Session& s) {
          auto c = d.deps.connection ? d.deps.connection() : store::ConnectionSettings{};
          if (!d.deps.ingest) {
            d.flash(s, "test-error", "Webhooks cannot be received by this server.");
          } else if (c.webhook_secrets.empty()) {
            d.flash(s, "test-error",
                    "Paste the webhook secret from Whop above and save first: without one, "
                    "webhooks are refused.");
          } else {
            const int64_t now = d.now();
            const std::string id = "msg_test" + crypto::random_hex(10);
            nlohmann::json body = {
                {"id", id},
                {"api_version", "v1"},
                {"timestamp", domain::format_iso8601_ms(now)},
                {"type", store::kTestWebhookType},
                {"company_id", c.company_id},
                {"data",
                 {{"id", id}, {"note", "Sent by Churn Saver's settings page to test the path"}}}};
            const std::string text = body.dump();
            whop::SignatureHeaders h;
            h.webhook_id = id;
            h.webhook_timestamp = std::to_string(now / 1000);
            h.webhook_signature = whop::sign_v1(c.webhook_secrets.front(), id, now / 1000, text);
            auto r = service::ingest_webhook(*d.deps.ingest, h, text);
            if (r.status == 200) {
              d.flash(s, "test-ok",
                      "Test webhook received: signed with your secret, verified and stored "
                      "(it is on the Events page as " +
                          std::string(store::kTestWebhookType) + "; it opens no case).");
            } else {
              d.flash(
                  s, "test-error",
                  "The test webhook was refused (" + std::to_string(r.status) + "): " + r.message);
            }
          }
          redirect(res, "/settings#test-result");
        });
}

}  // namespace cs::http
