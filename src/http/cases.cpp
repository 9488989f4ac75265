// GET /cases (filter, search, sort, keyset pagination, counts), GET /cases/{id} (one case, its
// timeline, nudges, clicks and actions with a confirmation step), POST /cases/{id}/actions/{a}.
#include "store/cases.h"
#include "domain/recovery.h"
#include "http/dashboard.h"
#include "http/page_data.h"
#include "service/cases.h"
#include "service/settings.h"
#include "store/engine.h"
#include "store/events.h"
#include "store/member_search.h"
#include "util/json_limits.h"
#include "view/pages.h"

namespace cs::http {

store::CaseQuery case_query(const httplib::Request& req, const crypto::Keyring* keys) {
  store::CaseQuery q;
  q.status = domain::status_from_name(req.get_param_value("status"));
  q.q = req.get_param_value("q").substr(0, 200);
  auto b = q.q.find_first_not_of(" \t");
  auto e = q.q.find_last_not_of(" \t");
  q.q = b == std::string::npos ? "" : q.q.substr(b, e - b + 1);
  std::string sort = req.get_param_value("sort");
  if (store::valid_case_sort(sort)) q.sort = sort;
  q.cursor = req.get_param_value("cursor").substr(0, 100);
  q.before = req.get_param_value("before").substr(0, 100);
  if (keys && !q.q.empty()) q.tokens = store::search_tokens(*keys, q.q);
  return q;
}

namespace {

/// The member's name, email and card from the newest stored payloads of the membership that name
/// them, decrypted for the case page only (never stored in plaintext, never logged).
domain::MemberDetails member_details(SQLite::Database& db, const crypto::Keyring& keys,
                                     const std::string& membership_id) {
  domain::MemberDetails out;
  for (const auto& e : store::events_with_payload(db, membership_id, 10)) {
    auto body = store::open_event_payload(keys, store::event_payload(db, e.id), e.webhook_id);
    if (!body) continue;
    auto json = parse_json_limited(*body);
    if (!json) continue;
    auto m = domain::member_details(*json);
    for (auto [dst, src] :
         {std::pair{&out.name, &m.name}, std::pair{&out.email, &m.email},
          std::pair{&out.username, &m.username}, std::pair{&out.card_brand, &m.card_brand},
          std::pair{&out.card_last4, &m.card_last4}}) {
      if (dst->empty()) *dst = *src;
    }
    if (!out.name.empty() && !out.email.empty() && !out.card_last4.empty()) break;
  }
  return out;
}

/// The member's page in the Whop dashboard.
std::string whop_member_url(const std::string& company_id, const std::string& user_id) {
  auto safe = [](const std::string& s) {
    return !s.empty() && s.size() <= 64 &&
           s.find_first_not_of(
               "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") ==
               std::string::npos;
  };
  if (!safe(company_id) || !safe(user_id)) return "";
  return "https://whop.com/dashboard/" + company_id + "/users/" + user_id + "/";
}

}  // namespace

void add_case_routes(httplib::Server& svr, Dashboard& d) {
  route(svr, d, "GET", "/cases",
        [&d](const httplib::Request& req, httplib::Response& res, const Session& s) {
          view::CasesModel m;
          m.query = case_query(req, d.deps.keys);
          m.now = d.now();
          {
            auto db = d.deps.reads->lease();
            m.page = store::list_case_page(*db, m.query);
            m.counts = store::count_cases(*db, m.query);
          }
          send_html(res, 200, view::cases_page(d.chrome(s, "Cases", "cases"), m));
        });

  const char* kCase = R"(/cases/([0-9a-f]{1,64}))";
  route(svr, d, "GET", kCase,
        [&d](const httplib::Request& req, httplib::Response& res, const Session& s) {
          std::string id = req.matches[1].str();
          view::CaseModel m;
          m.now = d.now();
          if (d.deps.services) {
            m.window_ms = static_cast<int64_t>(
                              service::stored_settings(*d.deps.services).attribution_window_days) *
                          86400000;
          }
          {
            auto db = d.deps.reads->lease();
            auto detail = store::find_case_detail(*db, id);
            if (!detail) {
              send_html(
                  res, 404,
                  view::message_page(d.chrome(s, "Case not found", "cases"), "Case not found",
                                     "There is no case with this id.", "/cases", "All cases"));
              return;
            }
            m.detail = *detail;
            m.arm = store::case_arm(*db, id);
            // A lost case's timeline runs to now, so a payment after the window shows.
            const auto& row = m.detail.row;
            int64_t to = row.status == domain::CaseStatus::Lost
                             ? m.now
                             : row.resolved_at.value_or(m.now) + 86400000;
            const int64_t from = row.first_failure_at - 60000;
            m.events = store::list_events_for_membership(*db, row.membership_id, from, to, 200);
            // The member's events for the same product under a new membership (win-back).
            auto other =
                store::list_rejoin_events_for_membership(*db, row.membership_id, from, to, 50);
            m.events.insert(m.events.end(), other.begin(), other.end());
            std::stable_sort(m.events.begin(), m.events.end(), [](const auto& a, const auto& b) {
              return a.event_time < b.event_time;
            });
            m.actions = store::list_actions_for_case(*db, id);
            m.sends = store::list_sends_for_case(*db, id);
            if (d.deps.keys) m.member = member_details(*db, *d.deps.keys, row.membership_id);
          }
          m.whop_member_url = whop_member_url(m.detail.company_id, m.detail.row.user_id);
          std::string confirm = req.get_param_value("confirm");
          for (const auto& a : view::case_actions()) {
            if (a.key == confirm) m.confirm = confirm;
          }
          std::string who =
              m.detail.row.username.empty() ? m.detail.row.membership_id : m.detail.row.username;
          send_html(res, 200, view::case_page(d.chrome(s, "Case · " + who, "cases"), m));
        });

  const char* kAction =
      R"(/cases/([0-9a-f]{1,64})/actions/(nudge|cancel|cancel-at-period-end|terminate))";
  route(svr, d, "POST", kAction,
        [&d](const httplib::Request& req, httplib::Response& res, const Session& s) {
          std::string id = req.matches[1].str();
          auto action = service::case_action_from_name(req.matches[2].str());
          if (!action) return redirect(res, "/cases/" + id);  // the pattern allows none other
          auto done = service::run_case_action(*d.deps.services, d.deps.engine, id, *action);
          if (done) {
            d.flash(s, "ok", *done);
          } else {
            d.flash(s, "error", done.error());
          }
          redirect(res, "/cases/" + id);
        });
}

}  // namespace cs::http
