// GET /messages: the nudge templates with a preview; POST /messages previews (action=preview,
// nothing saved) or saves (action=save, validated with domain::validate, audited).
#include <nlohmann/json.hpp>

#include "http/dashboard.h"
#include "store/cases.h"
#include "store/settings.h"
#include "view/pages.h"

namespace cs::http {

void add_message_routes(httplib::Server& svr, Dashboard& d) {
  route(svr, d, "GET", "/messages",
        [&d](const httplib::Request&, httplib::Response& res, const Session& s) {
          auto st = d.deps.stored_settings ? d.deps.stored_settings() : domain::RecoverySettings{};
          view::MessagesModel m{st.templates.push_title, st.templates.push_content,
                                st.templates.dm_content, {},
                                st.push_enabled,         st.dm_enabled};
          send_html(res, 200, view::messages_page(d.chrome(s, "Messages", "messages"), m));
        });

  route(svr, d, "POST", "/messages",
        [&d](const httplib::Request& req, httplib::Response& res, const Session& s) {
          auto settings =
              d.deps.stored_settings ? d.deps.stored_settings() : domain::RecoverySettings{};
          auto before = settings.templates;
          settings.templates.push_title = req.get_param_value("push_title").substr(0, 4000);
          settings.templates.push_content = req.get_param_value("push_content").substr(0, 4000);
          settings.templates.dm_content = req.get_param_value("dm_content").substr(0, 4000);
          view::MessagesModel m{settings.templates.push_title, settings.templates.push_content,
                                settings.templates.dm_content, {},
                                settings.push_enabled,         settings.dm_enabled};
          for (const auto& [k, v] : domain::validate(settings)) {
            if (k == "push_title" || k == "push_content" || k == "dm_content") m.errors[k] = v;
          }
          bool save = req.get_param_value("action") != "preview";
          if (!m.errors.empty() || !save) {
            auto c = d.chrome(s, "Messages", "messages");
            if (!m.errors.empty()) {
              c.flash_kind = "error";
              c.flash_text = save ? "A message needs a fix; nothing was saved."
                                  : "A message needs a fix before it can be saved.";
            } else {
              c.flash_kind = "ok";
              c.flash_text = "Preview updated below. Nothing is saved until you press Save.";
            }
            send_html(res, m.errors.empty() ? 200 : 400, view::messages_page(c, m));
            return;
          }
          int64_t now = d.now();
          nlohmann::json changed = nlohmann::json::array();
          if (before.push_title != settings.templates.push_title) changed.push_back("push_title");
          if (before.push_content != settings.templates.push_content) {
            changed.push_back("push_content");
          }
          if (before.dm_content != settings.templates.dm_content) changed.push_back("dm_content");
          auto st = d.deps.writer->run([&](SQLite::Database& db) {
            store::save_recovery_settings(db, settings, now);
            store::record_action(
                db, {"", now, "settings_changed", "", std::nullopt, "admin", "messages",
                     nlohmann::json{{"section", "messages"}, {"fields", changed}}.dump()});
          });
          if (!st) throw std::runtime_error(st.error());
          d.flash(s, "ok", "Messages saved. The next nudges use them.");
          redirect(res, "/messages");
        });
}

}  // namespace cs::http
