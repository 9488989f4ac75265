// The dashboard's composition: shared state, the access gate, the page/form/api wrappers, rate
// limiting, and the route registry the route-table tests walk.
#include "http/dashboard.h"

#include "service/settings.h"
#include "view/format.h"

#include <memory>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "domain/redirect.h"
#include "http/routes.h"
#include "view/pages.h"

namespace cs::http {
namespace {

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

std::shared_ptr<const tz::Zone> Dashboard::zone() {
  auto z = tz::find(service::stored_time_zone(*deps.services));
  return z ? *z : tz::utc();
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

view::Chrome Dashboard::form_error_chrome(const Session& s, const std::string& title,
                                          const std::string& active, const std::string& text) {
  auto c = chrome(s, title, active);
  c.flash_kind = "error";
  c.flash_text = text;
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
  return domain::safe_redirect_path(next);
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

void route(httplib::Server& svr, Dashboard& d, const std::string& method,
           const std::string& pattern, SessionHandler h) {
  const RouteDef* def = nullptr;
  for (const auto& r : route_table()) {
    if (method == r.method && pattern == r.pattern) def = &r;
  }
  if (!def || !needs_session(def->access)) {
    throw std::logic_error("route " + method + " " + pattern + " is not a signed-in route");
  }
  RateRule rule = rate_rule(def->rate);
  bool json = def->access == Access::Api;
  SessionHandler limited = h;
  if (rule.limit > 0) {
    limited = [&d, h, rule, json](const httplib::Request& req, httplib::Response& res,
                                  const Session& s) {
      if (!d.within_limit(req, res, &s, rule.bucket, rule.limit, rule.window_ms, json)) return;
      h(req, res, s);
    };
  }
  // Every time a page writes is in the creator's time zone (for this request's thread only).
  limited = [&d, limited](const httplib::Request& req, httplib::Response& res, const Session& s) {
    view::ZoneScope zone(d.zone());
    limited(req, res, s);
  };
  switch (def->access) {
    case Access::Page:
      install(svr, method, pattern, page(d, limited));
      return;
    case Access::Form:
      install(svr, method, pattern, form(d, limited));
      return;
    case Access::Api:
      install(svr, method, pattern, api(d, limited));
      return;
    case Access::Public:
    case Access::Webhook:
    case Access::MetricsToken:
      break;
  }
  throw std::logic_error("route " + method + " " + pattern + " is not a signed-in route");
}

void route_public(httplib::Server& svr, Dashboard& d, const std::string& method,
                  const std::string& pattern, httplib::Server::Handler h) {
  const RouteDef* def = nullptr;
  for (const auto& r : route_table()) {
    if (method == r.method && pattern == r.pattern) def = &r;
  }
  if (!def || def->access != Access::Public) {
    throw std::logic_error("route " + method + " " + pattern + " is not a public route");
  }
  RateRule rule = rate_rule(def->rate);
  if (rule.limit == 0) {
    install(svr, method, pattern, std::move(h));
    return;
  }
  install(svr, method, pattern, [&d, h, rule](const httplib::Request& req, httplib::Response& res) {
    if (!d.within_limit(req, res, nullptr, rule.bucket, rule.limit, rule.window_ms, false)) return;
    h(req, res);
  });
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
  add_experiment_routes(svr, *d);
  add_event_routes(svr, *d);
  add_job_routes(svr, *d);
  add_api_routes(svr, *d);
  return [d](const httplib::Request& req, httplib::Response& res) {
    // Public paths and paths no route serves (404) pass; every signed-in route needs a session.
    if (!path_needs_session(req.path)) return false;
    if (d->auth.session(req)) return false;
    deny(req, res);
    return true;
  };
}

}  // namespace cs::http
