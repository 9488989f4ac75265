// GET /events (recent webhooks: type, verification, processing result; rejected deliveries by
// reason), GET /events/{id} (one event with its decrypted payload), POST /events/{id}/replay
// (queues a process_event job again).
#include <nlohmann/json.hpp>

#include "domain/setting_rules.h"
#include "http/dashboard.h"
#include "service/queue.h"
#include "store/dashboard.h"
#include "store/events.h"
#include "util/json_limits.h"
#include "view/pages.h"

namespace cs::http {

void add_event_routes(httplib::Server& svr, Dashboard& d) {
  route(
      svr, d, "GET", "/events",
      [&d](const httplib::Request& req, httplib::Response& res, const Session& s) {
        view::EventsModel m;
        m.now = d.now();
        std::string state = req.get_param_value("state");
        if (state == "pending" || state == "processed" || state == "ignored" || state == "failed") {
          m.state = state;
        }
        m.filter.state = m.state;
        // Type: a Whop event type ("payment.failed"); member: an id or username. Anything else
        // (too long, odd characters) is ignored rather than searched.
        auto token = [](const std::string& v, const char* allowed) {
          return v.size() <= 100 && v.find_first_not_of(allowed) == std::string::npos ? v : "";
        };
        m.filter.type = token(req.get_param_value("type"), "abcdefghijklmnopqrstuvwxyz._");
        m.filter.member =
            token(domain::trim(req.get_param_value("member")),
                  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.");
        int64_t before = 0;
        std::string b = req.get_param_value("before");
        if (!b.empty() && b.size() < 19 && b.find_first_not_of("0123456789") == std::string::npos) {
          before = std::stoll(b);
        }
        const int kPage = 50;
        {
          auto db = d.deps.reads->lease();
          m.rows = store::list_events(*db, m.filter, before, kPage + 1);
          m.unsettled = store::count_unsettled_events(*db);
          m.total = store::count_events(*db);
        }
        if (m.rows.size() > kPage) {
          m.rows.pop_back();
          m.next_before = m.rows.back().id;
        }
        {
          auto db = d.deps.reads->lease();
          for (const auto& e : m.rows) {
            m.case_of[e.id] = store::case_for_event(*db, e.membership_id, e.event_time);
          }
        }
        if (d.deps.webhook_stats) {
          for (const auto& [reason, r] : d.deps.webhook_stats->rejections()) {
            m.rejections.push_back({reason, r.status, r.count, r.last_at});
          }
        }
        send_html(res, 200, view::events_page(d.chrome(s, "Events", "events"), m));
      });

  const char* kEvent = R"(/events/(\d{1,18}))";
  route(svr, d, "GET", kEvent,
        [&d](const httplib::Request& req, httplib::Response& res, const Session& s) {
          int64_t id = std::stoll(req.matches[1].str());
          view::EventModel m;
          std::string sealed;
          {
            auto db = d.deps.reads->lease();
            auto row = store::find_event(*db, id);
            if (!row) {
              send_html(
                  res, 404,
                  view::message_page(d.chrome(s, "Event not found", "events"), "Event not found",
                                     "There is no event with this id.", "/events", "All events"));
              return;
            }
            m.row = *row;
            sealed = store::event_payload(*db, id);
          }
          if (sealed.empty()) {
            m.payload_error =
                "The payload was removed by the retention policy; the summary above remains.";
          } else {
            auto plain = store::open_event_payload(*d.deps.keys, sealed, m.row.webhook_id);
            if (!plain) {
              m.payload_error = "The payload cannot be decrypted with the current keyring.";
            } else {
              auto j = parse_json_limited(*plain);
              m.payload = j ? j->dump(2) : *plain;
            }
          }
          send_html(res, 200,
                    view::event_page(d.chrome(s, "Event " + std::to_string(id), "events"), m));
        });

  const char* kReplay = R"(/events/(\d{1,18})/replay)";

  route(svr, d, "POST", kReplay,
        [&d](const httplib::Request& req, httplib::Response& res, const Session& s) {
          int64_t id = std::stoll(req.matches[1].str());
          auto found = service::replay_event(*d.deps.services, id);
          if (!found) throw std::runtime_error(found.error());
          if (*found) {
            d.flash(s, "ok", "Event queued for processing again.");
          } else {
            d.flash(s, "error", "There is no event with this id.");
          }
          redirect(res, "/events/" + std::to_string(id));
        });
}

}  // namespace cs::http
