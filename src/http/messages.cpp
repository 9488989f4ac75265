// GET /messages: the copy of each step (and each kind of failure) with a preview; POST /messages
// previews (action=preview, nothing saved) or saves (action=save, through service::save_messages).
#include "http/dashboard.h"
#include "service/settings.h"
#include "view/pages.h"

namespace cs::http {
namespace {

/// The copy as typed: step fields replace the step copy; category fields that are not empty
/// become that category's copy.
domain::MessageCopy copy_from_form(const httplib::Request& req) {
  domain::MessageCopy copy;
  for (auto s : domain::kNudgeSteps) {
    for (const char* f : domain::kCopyFields) {
      domain::copy_field(copy.step(s), f) =
          req.get_param_value(domain::copy_key(s, f).c_str()).substr(0, 4000);
    }
  }
  for (auto c : domain::kSpecificCategories) {
    for (auto s : domain::kNudgeSteps) {
      domain::MessageTemplates t;
      bool any = false;
      for (const char* f : domain::kCopyFields) {
        auto v = req.get_param_value(domain::copy_key(c, s, f).c_str()).substr(0, 4000);
        any = any || !v.empty();
        domain::copy_field(t, f) = v;
      }
      if (any) copy.by_category[{c, s}] = t;
    }
  }
  return copy;
}

view::MessagesModel model(const domain::RecoverySettings& st, int64_t now) {
  view::MessagesModel m;
  m.copy = st.copy;
  m.push_enabled = st.push_enabled;
  m.dm_enabled = st.dm_enabled;
  m.incentive_days = st.incentive_days;
  m.offsets_days = st.reminder_offsets_days;
  m.now = now;
  return m;
}

}  // namespace

void add_message_routes(httplib::Server& svr, Dashboard& d) {
  route(svr, d, "GET", "/messages",
        [&d](const httplib::Request& req, httplib::Response& res, const Session& s) {
          auto m = model(service::stored_settings(*d.deps.services), d.now());
          m.preview_category = domain::category_from_name(req.get_param_value("preview_category"))
                                   .value_or(domain::FailureCategory::Other);
          send_html(res, 200, view::messages_page(d.chrome(s, "Messages", "messages"), m));
        });
  route(svr, d, "POST", "/messages",
        [&d](const httplib::Request& req, httplib::Response& res, const Session& s) {
          auto settings = service::stored_settings(*d.deps.services);
          settings.copy = copy_from_form(req);
          auto m = model(settings, d.now());
          m.preview_category = domain::category_from_name(req.get_param_value("preview_category"))
                                   .value_or(domain::FailureCategory::Other);
          bool save = req.get_param_value("action") != "preview";
          if (save) {
            auto change = service::save_messages(*d.deps.services, settings.copy);
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
              c.flash_text = "Previews updated below. Nothing is saved until you press Save.";
            }
            send_html(res, m.errors.empty() ? 200 : 400, view::messages_page(c, m));
            return;
          }
          d.flash(s, "ok", "Messages saved. The next nudges use them.");
          redirect(res, "/messages");
        });
}

}  // namespace cs::http
