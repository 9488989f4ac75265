#pragma once
// The route table (issue 9): every route the server answers is declared here once, with its
// method, pattern, access, body limit and rate-limit class. The session gate, the body limits
// (enforced before the body is read, see http/connection.h), the rate limits and the route-walking
// auth test all read this table; a handler is installed with install()/route(), which refuse a
// route the table does not declare.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <httplib.h>

namespace cs::http {

/// Who may call a route.
enum class Access {
  Public,        // anyone (sign-in, setup link, static assets, health, click redirect)
  Page,          // a signed-in GET page (no session: redirect to /login)
  Form,          // a signed-in POST form with its CSRF token (no session: /login; no token: 403)
  Api,           // signed-in JSON (no session: 401)
  Webhook,       // signed by Whop (the handler verifies the signature)
  MetricsToken,  // bearer CHURN_SAVER_METRICS_TOKEN (the handler checks it)
};

/// Rate-limit classes; each counts per client address and, when signed in, per session.
enum class RateClass { None, Login, Settings, CaseAction, Api, Export };

struct RateRule {
  const char* bucket;
  int limit;          // requests per window
  int64_t window_ms;  // fixed window
};

/// The limit for a rate class (limit 0 for RateClass::None).
RateRule rate_rule(RateClass c);

constexpr size_t kFormBodyLimit = 64 * 1024;

struct RouteDef {
  const char* method;   // "GET" | "POST"
  const char* pattern;  // the httplib pattern (a regex over the decoded path)
  const char* example;  // a concrete path (with query) that matches it, for tests
  Access access;
  size_t body_limit;  // bytes; 0 = takes no body
  RateClass rate;
};

/// Every route, in installation order (a more specific pattern before a more general one).
const std::vector<RouteDef>& route_table();

/// The route for `method` and a decoded `path`, or nullptr.
const RouteDef* find_route(const std::string& method, const std::string& path);
/// True when a route for `path` (any method) needs a session (Page, Form or Api).
bool path_needs_session(const std::string& path);
/// Body limit for a request before routing: the route's, or for a path no route serves, the form
/// limit for POST/PUT/PATCH and 0 otherwise.
size_t body_limit_for(const std::string& method, const std::string& path);
bool needs_session(Access a);
const char* access_name(Access a);

/// Installs `h` for the table's route (method, pattern). Throws std::logic_error when the table
/// does not declare it, so a route cannot exist outside the table.
const RouteDef& install(httplib::Server& svr, const std::string& method, const std::string& pattern,
                        httplib::Server::Handler h);

}  // namespace cs::http
