// The dashboard's JSON API (same session auth as the pages; 401 without a session):
//   GET /api/dashboard/kpis?window=30
//   GET /api/dashboard/cases?status=&q=&sort=&cursor=
#include <nlohmann/json.hpp>

#include "domain/money.h"
#include "domain/time.h"
#include "http/dashboard.h"
#include "http/page_data.h"
#include "http/routes.h"
#include "store/dashboard.h"
#include "view/pages.h"

namespace cs::http {
namespace {

nlohmann::json money_json(const store::MoneyByCurrency& m) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [cur, cents] : m) {
    out.push_back(
        {{"currency", cur}, {"cents", cents}, {"amount", domain::minor_to_decimal(cents, cur)}});
  }
  return out;
}

nlohmann::json opt_time(const std::optional<int64_t>& ms) {
  if (!ms) return nullptr;
  return domain::format_iso8601_ms(*ms);
}

void send_json(httplib::Response& res, const nlohmann::json& j) {
  res.status = 200;
  res.set_content(j.dump(), "application/json");
}

}  // namespace

void add_api_routes(httplib::Server& svr, Dashboard& d) {
  route(svr, d, "GET", "/api/dashboard/kpis",
        [&d](const httplib::Request& req, httplib::Response& res, const Session&) {
          auto m = load_overview(d, window_param(req), false);
          auto f = view::kpi_figures(m.kpis);
          nlohmann::json rate = nullptr;
          if (f.recovery_rate) rate = *f.recovery_rate;
          send_json(res, {{"window_days", m.window_days},
                          {"since", domain::format_iso8601_ms(m.since)},
                          {"active_cases", f.active},
                          {"recoveries", f.recovered},
                          {"lost", f.lost},
                          {"cancelled", f.cancelled},
                          {"recovery_rate", rate},
                          {"recovered_revenue", money_json(m.kpis.recovered_net)},
                          {"at_risk", money_json(m.kpis.at_risk)},
                          {"incentive_days_granted", m.kpis.incentive_days_granted},
                          {"click_through_recoveries", m.kpis.click_through}});
        });

  route(svr, d, "GET", "/api/dashboard/cases",
        [&d](const httplib::Request& req, httplib::Response& res, const Session&) {
          auto q = case_query(req, d.deps.keys);
          std::string limit = req.get_param_value("limit");
          if (!limit.empty() && limit.size() < 5 &&
              limit.find_first_not_of("0123456789") == std::string::npos) {
            q.limit = std::clamp(std::stoi(limit), 1, 200);
          }
          store::CasePage page;
          std::map<domain::CaseStatus, int64_t> counts;
          {
            auto db = d.deps.reads->lease();
            page = store::list_case_page(*db, q);
            counts = store::count_cases(*db, q);
          }
          nlohmann::json rows = nlohmann::json::array();
          for (const auto& r : page.rows) {
            rows.push_back({{"id", r.id},
                            {"status", domain::status_name(r.status)},
                            {"resolution", domain::resolution_name(r.resolution)},
                            {"membership_id", r.membership_id},
                            {"user_id", r.user_id},
                            {"username", r.username},
                            {"product", r.product_title},
                            {"first_failure_at", domain::format_iso8601_ms(r.first_failure_at)},
                            {"failures", r.failures},
                            {"amount_due_cents", r.amount_due_cents},
                            {"currency", r.currency},
                            {"recovered_cents", r.recovered_cents},
                            {"refunded_cents", r.refunded_cents},
                            {"resolved_at", opt_time(r.resolved_at)},
                            {"clicks", r.clicks}});
          }
          nlohmann::json next = nullptr;
          if (!page.next_cursor.empty()) next = page.next_cursor;
          nlohmann::json by_status = nlohmann::json::object();
          for (const auto& [status, n] : counts) by_status[domain::status_name(status)] = n;
          send_json(res, {{"cases", rows}, {"next_cursor", next}, {"counts", by_status}});
        });
}

}  // namespace cs::http
