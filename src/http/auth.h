#pragma once
// Sign-in state for the dashboard (shared/SECURITY.md): server-side sessions whose 128-bit id
// lives only in the cookie (the database keeps its SHA-256), rotated at sign-in, idle expiry 30
// minutes, absolute expiry 8 hours, revoked on sign-out; a per-session CSRF token; the client
// address (the socket's, or X-Forwarded-For from the configured trusted proxy).
//
// Cookie names: "__Host-cs_session" when the request arrived over HTTPS (X-Forwarded-Proto: https
// from the trusted proxy), because browsers only accept a __Host- cookie with Secure; plain
// "cs_session" on http:// (e.g. http://127.0.0.1:8080). Both are HttpOnly, SameSite=Strict, Path=/.
#include <cstdint>
#include <optional>
#include <string>

#include <httplib.h>

#include "http/server.h"
#include "service/accounts.h"

namespace cs::http {

// Session lifetimes are the accounts service's rule (src/service/accounts.h).
using service::kSessionAbsoluteMs;
using service::kSessionIdleMs;
using service::kSetupLinkMs;

struct Session {
  std::string id_hash;
  std::string csrf_token;
};

class Auth {
 public:
  explicit Auth(Deps& deps) : deps_(deps) {}

  /// The request's valid session, if any. Refreshes last_seen at most once a minute.
  std::optional<Session> session(const httplib::Request& req);
  /// Creates a new session (a fresh id: rotation at sign-in), sets its cookie, revokes the
  /// session the request came with. Returns the new session.
  Session start(const httplib::Request& req, httplib::Response& res);
  /// Revokes the request's session and clears the cookie.
  void end(const httplib::Request& req, httplib::Response& res);
  /// Constant-time check of the form's csrf_token against the session's.
  static bool csrf_ok(const httplib::Request& req, const Session& s);

  /// The pre-session CSRF token for the sign-in and setup forms (double-submit cookie): the
  /// cookie's value, or a new one set on `res`.
  std::string login_csrf(const httplib::Request& req, httplib::Response& res);
  bool login_csrf_ok(const httplib::Request& req);

  /// True when the request came over HTTPS through the trusted proxy.
  bool secure(const httplib::Request& req) const;
  /// The client's address for limits and logs.
  std::string client_ip(const httplib::Request& req) const;

 private:
  std::optional<std::string> cookie(const httplib::Request& req, const std::string& name) const;
  void set_cookie(httplib::Response& res, const httplib::Request& req, const std::string& name,
                  const std::string& value, int64_t max_age_s) const;
  Deps& deps_;
};

/// The value of cookie `name` in a Cookie header, if present.
std::optional<std::string> cookie_value(const std::string& header, const std::string& name);

}  // namespace cs::http
