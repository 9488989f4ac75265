#pragma once
// The dashboard's shared state and request helpers, used by its resource files (overview, cases,
// settings, messages, events, jobs, export, JSON API, sign-in, static assets).
//
// Access: the route table (http/route_table.h) declares each route's access. The gate runs before
// routing for every path a signed-in route matches, so a route is protected as soon as it is in
// the table. route() then wraps pages in `page`, forms (POST) in `form` (session + CSRF token,
// 403 without it) and JSON in `api`, and applies the route's rate limit.
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <httplib.h>

#include "http/auth.h"
#include "http/rate_limit.h"
#include "http/server.h"
#include "util/tz.h"
#include "view/render.h"

namespace cs::http {

class Dashboard {
 public:
  explicit Dashboard(Deps& d) : deps(d), auth(d) {}

  Deps& deps;
  Auth auth;
  RateLimiter limits;
  LoginThrottle throttle;

  /// A one-shot message shown on the next page of this session (post/redirect/get).
  void flash(const Session& s, const std::string& kind, const std::string& text);
  std::pair<std::string, std::string> take_flash(const Session& s);
  /// The page frame for a signed-in page (takes the session's flash message).
  view::Chrome chrome(const Session& s, const std::string& title, const std::string& active);
  /// The page frame for a form answered 400: `text` says what needs a fix.
  view::Chrome form_error_chrome(const Session& s, const std::string& title,
                                 const std::string& active, const std::string& text);

  /// Counts a request against `bucket` per session (when given) and per client address; sets
  /// X-RateLimit-Limit/-Remaining/-Reset. Over the limit: answers 429 with Retry-After and a
  /// page (or JSON) saying when to try again, and returns false.
  bool within_limit(const httplib::Request& req, httplib::Response& res, const Session* s,
                    const std::string& bucket, int limit, int64_t window_ms, bool json);

  int64_t now() const { return deps.clock->now_ms(); }
  /// The creator's display time zone (settings), UTC when none is saved.
  std::shared_ptr<const tz::Zone> zone();

 private:
  std::mutex flash_mu_;
  std::map<std::string, std::pair<std::string, std::string>> flashes_;
};

using SessionHandler =
    std::function<void(const httplib::Request&, httplib::Response&, const Session&)>;

/// GET page: needs a session (else redirect to /login).
httplib::Server::Handler page(Dashboard& d, SessionHandler h);
/// POST form: needs a session (else redirect to /login) and its CSRF token (else 403).
httplib::Server::Handler form(Dashboard& d, SessionHandler h);
/// JSON: needs a session (else 401).
httplib::Server::Handler api(Dashboard& d, SessionHandler h);

void send_html(httplib::Response& res, int status, const std::string& html);
/// 303 See Other to a local path.
void redirect(httplib::Response& res, const std::string& to);
/// A local path to return to after sign-in ("/" unless `next` is a safe local path).
std::string safe_next(const std::string& next);

/// Installs a signed-in dashboard route declared in the route table: wraps `h` as a page, form or
/// api by the route's access, and counts it against the route's rate-limit class (after the
/// session and CSRF checks). Throws std::logic_error for a route the table lacks or declares
/// public.
void route(httplib::Server& svr, Dashboard& d, const std::string& method,
           const std::string& pattern, SessionHandler h);
/// Installs a public dashboard route (sign-in, setup) with the table's rate-limit class.
void route_public(httplib::Server& svr, Dashboard& d, const std::string& method,
                  const std::string& pattern, httplib::Server::Handler h);

void add_auth_routes(httplib::Server& svr, Dashboard& d);
void add_overview_routes(httplib::Server& svr, Dashboard& d);
void add_case_routes(httplib::Server& svr, Dashboard& d);
void add_settings_routes(httplib::Server& svr, Dashboard& d);
void add_message_routes(httplib::Server& svr, Dashboard& d);
void add_experiment_routes(httplib::Server& svr, Dashboard& d);
void add_event_routes(httplib::Server& svr, Dashboard& d);
void add_job_routes(httplib::Server& svr, Dashboard& d);
void add_export_routes(httplib::Server& svr, Dashboard& d);
void add_api_routes(httplib::Server& svr, Dashboard& d);
void add_static_routes(httplib::Server& svr, Dashboard& d);

}  // namespace cs::http
