#pragma once
// Every resource file installs its routes (declared in http/route_table.h) through one of these
// functions, and the server installs them all in one place (server.cpp).
#include <httplib.h>

#include "http/route_table.h"
#include "http/server.h"

namespace cs::http {

void add_health_routes(httplib::Server& svr, Deps& deps);
void add_webhook_routes(httplib::Server& svr, Deps& deps);
void add_link_routes(httplib::Server& svr, Deps& deps);
/// GET /metrics (Prometheus text, bearer CHURN_SAVER_METRICS_TOKEN): http/metrics.cpp.
void add_metrics_routes(httplib::Server& svr, Deps& deps);

/// Installs the dashboard (pages, JSON API, export, sign-in, static assets; see http/dashboard.h)
/// and returns its access gate, which the server runs before routing: it answers (and returns
/// true for) a request that needs a session and has none: 401 JSON under /api/, else a redirect
/// to /login. Returns an empty function when `deps` lacks what the dashboard needs.
std::function<bool(const httplib::Request&, httplib::Response&)> add_dashboard_routes(
    httplib::Server& svr, Deps& deps);

/// Writes a JSON error body {"error": {"code", "message"}}.
/// True when a browser asks for a page (Accept names text/html) at an address that is not an API
/// (/api/, /webhooks/, /metrics): it should get HTML, not JSON, when something goes wrong.
bool wants_html(const httplib::Request& req);

void json_error(httplib::Response& res, int status, const std::string& code,
                const std::string& message);

}  // namespace cs::http
