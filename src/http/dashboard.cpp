// The dashboard's composition: shared state, the access gate, the page/form/api wrappers, rate
// limiting, and the route registry the route-table tests walk.
#include "http/dashboard.h"

#include <memory>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "http/routes.h"
#include "view/pages.h"

namespace cs::http {
namespace {

std::mutex& registry_mu() {
  static std::mutex mu;
  return mu;
}
std::vector<RouteSpec>& registry() {
  static std::vector<RouteSpec> r;
  return r;
}
/// The compiled patterns of every non-public dashboard route.
std::vector<std::regex>& protected_patterns() {
  static std::vector<std::regex> p;
  return p;
}

/// True when `path` is one of the dashboard's session-only routes (any method).
bool is_protected_route(const std::string& path) {
  std::lock_guard<std::mutex> lock(registry_mu());
  for (const auto& re : protected_patterns()) {
    if (std::regex_match(path, re)) return true;
  }
  return false;
}

bool starts_with(const std::string& s, const char* prefix) {
  return s.rfind(prefix, 0) == 0;
}

void deny(const httplib::Request& req, httplib::Response& res) {
  if (starts_with(req.path, "/api/")) {
    json_error(res, 401, "unauthorized", "sign in first");
  } else {
    std::string next = req.method == "GET" ? req.path : "/";
    if (req.method == "GET" && !req.params.empty()) {
      // Keep the query so a bookmarked filtered list survives the sign-in.
      std::string q;
      for (const auto& [k, v] : req.params) {
        q += (q.empty() ? "?" : "&") + httplib::detail::encode_query_param(k) + "=" +
             httplib::detail::encode_query_param(v);
      }
      next += q;
    }
    redirect(res,
             next == "/" ? "/login" : "/login?next=" + httplib::detail::encode_query_param(next));
  }
  // A rejected request's body is never read: close the connection (SECURITY.md).
  if (req.has_header("Content-Length") || req.has_header("Transfer-Encoding")) {
    res.set_header("Connection", "close");
  }
}

}  // namespace

bool is_public_path(const std::string& p) {
  static const std::set<std::string> exact = {"/login",   "/healthz",       "/readyz",
                                              "/metrics", "/webhooks/whop", "/favicon.ico"};
  if (exact.count(p)) return true;
  return starts_with(p, "/setup/") || starts_with(p, "/r/") || starts_with(p, "/static/") ||
         p == "/api/health" || starts_with(p, "/api/health/");
}

void note_route(const RouteSpec& r) {
  std::lock_guard<std::mutex> lock(registry_mu());
  for (const auto& x : registry()) {
    if (x.method == r.method && x.pattern == r.pattern) return;
  }
  registry().push_back(r);
  if (r.kind != "public") protected_patterns().emplace_back(r.pattern);
}

std::vector<std::pair<std::string, std::string>> dashboard_route_examples(const std::string& kind) {
  std::lock_guard<std::mutex> lock(registry_mu());
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& r : registry()) {
    if (r.kind == kind) out.emplace_back(r.method, r.example);
  }
  return out;
}

void Dashboard::flash(const Session& s, const std::string& kind, const std::string& text) {
  std::lock_guard<std::mutex> lock(flash_mu_);
  if (flashes_.size() > 1000) flashes_.clear();
  flashes_[s.id_hash] = {kind, text};
}

std::pair<std::string, std::string> Dashboard::take_flash(const Session& s) {
  std::lock_guard<std::mutex> lock(flash_mu_);
  auto it = flashes_.find(s.id_hash);
  if (it == flashes_.end()) return {};
  auto f = it->second;
  flashes_.erase(it);
  return f;
}

view::Chrome Dashboard::chrome(const Session& s, const std::string& title,
                               const std::string& active) {
  auto [kind, text] = take_flash(s);
  view::Chrome c{title, active, s.csrf_token, kind, text, {}};
  if (deps.ops) {
    for (const auto& a : deps.ops->alerts()) c.alerts.emplace_back(a.severity, a.message);
  }
  return c;
}

bool Dashboard::within_limit(const httplib::Request& req, httplib::Response& res, const Session* s,
                             const std::string& bucket, int limit, int64_t window_ms, bool json) {
  int64_t t = now();
  LimitDecision d = limits.hit(bucket + "|ip|" + auth.client_ip(req), limit, window_ms, t);
  if (s && d.allowed) {
    LimitDecision ds = limits.hit(bucket + "|s|" + s->id_hash, limit, window_ms, t);
    if (!ds.allowed || ds.remaining < d.remaining) d = ds;
  }
  int64_t reset_s = std::max<int64_t>(1, (d.reset_ms - t + 999) / 1000);
  res.set_header("X-RateLimit-Limit", std::to_string(d.limit));
  res.set_header("X-RateLimit-Remaining", std::to_string(d.remaining));
  res.set_header("X-RateLimit-Reset", std::to_string(reset_s));
  if (d.allowed) return true;
  res.set_header("Retry-After", std::to_string(reset_s));
  std::string when = reset_s < 90 ? std::to_string(reset_s) + " seconds"
                                  : std::to_string((reset_s + 59) / 60) + " minutes";
  if (json) {
    json_error(res, 429, "rate_limited", "too many requests; try again in " + when);
  } else {
    view::Chrome c{"Too many requests", "", s ? s->csrf_token : "", "", "", {}};
    send_html(res, 429,
              view::message_page(c, "Too many requests",
                                 "You have made a lot of requests in a short time. Please try "
                                 "again in " +
                                     when + ".",
                                 req.path, "Try again"));
  }
  return false;
}

void send_html(httplib::Response& res, int status, const std::string& html) {
  res.status = status;
  res.set_content(html, "text/html; charset=utf-8");
}

void redirect(httplib::Response& res, const std::string& to) {
  res.status = 303;
  res.set_header("Location", to);
}

std::string safe_next(const std::string& next) {
  // Only local absolute paths: no scheme, no "//host", no backslashes.
  if (next.empty() || next[0] != '/' || (next.size() > 1 && (next[1] == '/' || next[1] == '\\')) ||
      next.find_first_of("\r\n\\") != std::string::npos || next.size() > 512) {
    return "/";
  }
  return next;
}

httplib::Server::Handler page(Dashboard& d, SessionHandler h) {
  return [&d, h](const httplib::Request& req, httplib::Response& res) {
    auto s = d.auth.session(req);
    if (!s) return deny(req, res);
    h(req, res, *s);
  };
}

httplib::Server::Handler form(Dashboard& d, SessionHandler h) {
  return [&d, h](const httplib::Request& req, httplib::Response& res) {
    auto s = d.auth.session(req);
    if (!s) return deny(req, res);
    if (!Auth::csrf_ok(req, *s)) {
      view::Chrome c{"Form expired", "", s->csrf_token, "", "", {}};
      send_html(res, 403,
                view::message_page(c, "This form has expired",
                                   "The form was missing its security token, or it came from "
                                   "another page. Go back, reload the page and try again.",
                                   "/", "Back to the overview"));
      return;
    }
    h(req, res, *s);
  };
}

httplib::Server::Handler api(Dashboard& d, SessionHandler h) {
  return [&d, h](const httplib::Request& req, httplib::Response& res) {
    auto s = d.auth.session(req);
    if (!s) return deny(req, res);
    h(req, res, *s);
  };
}

std::function<bool(const httplib::Request&, httplib::Response&)> add_dashboard_routes(
    httplib::Server& svr, Deps& deps) {
  if (!deps.services || !deps.reads || !deps.clock || !deps.keys) return {};
  // Shared by every handler; lives as long as the handlers that capture it.
  auto d = std::make_shared<Dashboard>(deps);
  add_static_routes(svr, *d);
  add_auth_routes(svr, *d);
  add_overview_routes(svr, *d);
  add_export_routes(svr, *d);  // before /cases/{id}
  add_case_routes(svr, *d);
  add_settings_routes(svr, *d);
  add_message_routes(svr, *d);
  add_event_routes(svr, *d);
  add_job_routes(svr, *d);
  add_api_routes(svr, *d);
  return [d](const httplib::Request& req, httplib::Response& res) {
    // Public paths and paths no route serves (404) pass; every dashboard route needs a session.
    if (is_public_path(req.path) || !is_protected_route(req.path)) return false;
    if (d->auth.session(req)) return false;
    deny(req, res);
    return true;
  };
}

}  // namespace cs::http
