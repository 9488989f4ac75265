#pragma once
// The dashboard's shared state and request helpers, used by its resource files (overview, cases,
// settings, messages, events, jobs, export, JSON API, sign-in, static assets).
//
// Access: every dashboard route needs a session except the public ones (is_public_path): the
// gate runs before routing (before any body is read) for every path that matches a route noted
// with note_route, so a route is protected as soon as it is in the table. Pages then go through
// `page`, forms (POST) through `form` (session + CSRF token, 403 without it), JSON through `api`.
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

  /// Counts a request against `bucket` per session (when given) and per client address; sets
  /// X-RateLimit-Limit/-Remaining/-Reset. Over the limit: answers 429 with Retry-After and a
  /// page (or JSON) saying when to try again, and returns false.
  bool within_limit(const httplib::Request& req, httplib::Response& res, const Session* s,
                    const std::string& bucket, int limit, int64_t window_ms, bool json);

  int64_t now() const { return deps.clock->now_ms(); }

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

/// One dashboard route, for the route-table tests.
struct RouteSpec {
  std::string method;   // "GET" | "POST"
  std::string pattern;  // the httplib pattern
  std::string example;  // a concrete path that matches it
  std::string kind;     // "page" | "form" | "api" | "public"
};
/// Records a route (called by the resource files as they install their routes).
void note_route(const RouteSpec& r);

void add_auth_routes(httplib::Server& svr, Dashboard& d);
void add_overview_routes(httplib::Server& svr, Dashboard& d);
void add_case_routes(httplib::Server& svr, Dashboard& d);
void add_settings_routes(httplib::Server& svr, Dashboard& d);
void add_message_routes(httplib::Server& svr, Dashboard& d);
void add_event_routes(httplib::Server& svr, Dashboard& d);
void add_job_routes(httplib::Server& svr, Dashboard& d);
void add_export_routes(httplib::Server& svr, Dashboard& d);
void add_api_routes(httplib::Server& svr, Dashboard& d);
void add_static_routes(httplib::Server& svr, Dashboard& d);

}  // namespace cs::http
