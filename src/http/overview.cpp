// GET /: the overview (KPI tiles for 7, 30 or 90 days by first_failure_at, charts, next steps).
#include <tuple>

#include "http/dashboard.h"
#include "http/page_data.h"
#include "view/format.h"
#include "view/pages.h"

namespace cs::http {

int window_param(const httplib::Request& req) {
  std::string w = req.get_param_value("window");
  if (w == "7") return 7;
  if (w == "90") return 90;
  return 30;
}

view::OverviewModel load_overview(Dashboard& d, int window_days, bool charts) {
  view::OverviewModel m;
  m.window_days = window_days;
  m.now = d.now();
  m.since = m.now - static_cast<int64_t>(window_days) * 86400000;
  {
    auto db = d.deps.reads->lease();
    // The window's sums are read once for its KPIs and its charts.
    if (charts) {
      std::tie(m.kpis, m.charts) =
          store::find_kpis_and_charts(*db, m.since, m.now, view::display_zone());
    } else {
      m.kpis = store::find_kpis(*db, m.since);
    }
    m.previous =
        store::find_kpis(*db, m.since - static_cast<int64_t>(window_days) * 86400000, m.since);
    m.any_events = store::any_events(*db);
    auto done = store::load_milestones(*db);
    m.real_webhook = done.real_webhook;
    m.test_webhook = done.test_webhook;
    m.nudge_sent = done.nudge_sent;
  }
  if (d.deps.connection) {
    auto c = d.deps.connection();
    m.connected = !c.api_key.empty() && !c.company_id.empty();
    m.has_secret = !c.webhook_secrets.empty();
    std::string base = c.public_url.empty() ? std::string("https://YOUR-HOST") : c.public_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    m.webhook_url = base + "/webhooks/whop";
  }
  return m;
}

void add_overview_routes(httplib::Server& svr, Dashboard& d) {
  route(svr, d, "GET", "/",
        [&d](const httplib::Request& req, httplib::Response& res, const Session& s) {
          auto m = load_overview(d, window_param(req));
          send_html(res, 200, view::overview_page(d.chrome(s, "Overview", "overview"), m));
        });
}

}  // namespace cs::http
