// GET /messages: the nudge templates with a preview; POST /messages previews (action=preview,
// nothing saved) or saves (action=save, through service::save_messages).
#include "http/dashboard.h"
#include "service/settings.h"
#include "view/pages.h"

namespace cs::http {

void add_message_routes(httplib::Server& svr, Dashboard& d) {
  route(svr, d, "GET", "/messages",
        [&d](const httplib::Request&, httplib::Response& res, const Session& s) {
          auto st = service::stored_settings(*d.deps.services);
          view::MessagesModel m{st.templates.push_title, st.templates.push_content,
                                st.templates.dm_content, {},
                                st.push_enabled,         st.dm_enabled};
          send_html(res, 200, view::messages_page(d.chrome(s, "Messages", "messages"), m));
        });
  route(svr, d, "POST", "/messages",
        [&d](const httplib::Request& req, httplib::Response& res, const Session& s) {
          auto settings = service::stored_settings(*d.deps.services);
          settings.templates.push_title = req.get_param_value("push_title").substr(0, 4000);
          settings.templates.push_content = req.get_param_value("push_content").substr(0, 4000);
          settings.templates.dm_content = req.get_param_value("dm_content").substr(0, 4000);
          view::MessagesModel m{settings.templates.push_title, settings.templates.push_content,
                                settings.templates.dm_content, {},
                                settings.push_enabled,         settings.dm_enabled};
          bool save = req.get_param_value("action") != "preview";
          if (save) {
            auto change = service::save_messages(*d.deps.services, settings.templates);
            if (!change.failure.empty()) throw std::runtime_error(change.failure);
            m.errors = change.errors;
          } else {
            m.errors = service::message_errors(settings);
          }
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
          d.flash(s, "ok", "Messages saved. The next nudges use them.");
          redirect(res, "/messages");
        });
}

}  // namespace cs::http
