#include "http/auth.h"

#include "service/accounts.h"
#include "util/crypto.h"
#include "util/log.h"

namespace cs::http {
namespace {

constexpr const char* kSession = "cs_session";
constexpr const char* kLoginCsrf = "cs_login_csrf";

bool is_hex(const std::string& s, size_t len) {
  return s.size() == len && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace

std::optional<std::string> cookie_value(const std::string& header, const std::string& name) {
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find(';', pos);
    if (end == std::string::npos) end = header.size();
    std::string part = header.substr(pos, end - pos);
    size_t b = part.find_first_not_of(' ');
    if (b != std::string::npos) part = part.substr(b);
    size_t eq = part.find('=');
    if (eq != std::string::npos && part.substr(0, eq) == name) return part.substr(eq + 1);
    pos = end + 1;
  }
  return std::nullopt;
}

bool Auth::secure(const httplib::Request& req) const {
  if (deps_.trusted_proxy.empty() || req.remote_addr != deps_.trusted_proxy) return false;
  return req.get_header_value("X-Forwarded-Proto") == "https";
}

std::string Auth::client_ip(const httplib::Request& req) const {
  if (!deps_.trusted_proxy.empty() && req.remote_addr == deps_.trusted_proxy &&
      req.has_header("X-Forwarded-For")) {
    // The proxy appends the address it saw last: that one is the client's.
    std::string xff = req.get_header_value("X-Forwarded-For");
    auto comma = xff.rfind(',');
    std::string ip = comma == std::string::npos ? xff : xff.substr(comma + 1);
    auto b = ip.find_first_not_of(' ');
    auto e = ip.find_last_not_of(' ');
    if (b != std::string::npos) return ip.substr(b, e - b + 1).substr(0, 64);
  }
  return req.remote_addr;
}

std::optional<std::string> Auth::cookie(const httplib::Request& req,
                                        const std::string& name) const {
  std::string header = req.get_header_value("Cookie");
  if (header.empty()) return std::nullopt;
  // Only the name this connection's scheme uses counts.
  return cookie_value(header, secure(req) ? "__Host-" + name : name);
}

void Auth::set_cookie(httplib::Response& res, const httplib::Request& req, const std::string& name,
                      const std::string& value, int64_t max_age_s) const {
  bool sec = secure(req);
  std::string c = (sec ? "__Host-" + name : name) + "=" + value +
                  "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(max_age_s);
  if (sec) c += "; Secure";
  res.headers.emplace("Set-Cookie", c);
}

std::optional<Session> Auth::session(const httplib::Request& req) {
  auto id = cookie(req, kSession);
  if (!id || !is_hex(*id, 32)) return std::nullopt;
  auto found = service::resume_session(*deps_.services, service::token_hash(*id));
  if (!found) return std::nullopt;
  return Session{found->id_hash, found->csrf_token};
}

Session Auth::start(const httplib::Request& req, httplib::Response& res) {
  auto old = cookie(req, kSession);
  std::optional<std::string> replaces;
  if (old && is_hex(*old, 32)) replaces = service::token_hash(*old);
  auto started = service::start_session(*deps_.services, replaces);
  set_cookie(res, req, kSession, started.id, kSessionAbsoluteMs / 1000);
  return Session{started.id_hash, started.csrf_token};
}

void Auth::end(const httplib::Request& req, httplib::Response& res) {
  auto id = cookie(req, kSession);
  if (id && is_hex(*id, 32)) service::end_session(*deps_.services, service::token_hash(*id));
  set_cookie(res, req, kSession, "", 0);
}

bool Auth::csrf_ok(const httplib::Request& req, const Session& s) {
  if (!req.has_param("csrf_token")) return false;
  return crypto::constant_time_equal(req.get_param_value("csrf_token"), s.csrf_token);
}

std::string Auth::login_csrf(const httplib::Request& req, httplib::Response& res) {
  auto c = cookie(req, kLoginCsrf);
  if (c && is_hex(*c, 32)) return *c;
  std::string token = crypto::random_hex(16);
  set_cookie(res, req, kLoginCsrf, token, 3600);
  return token;
}

bool Auth::login_csrf_ok(const httplib::Request& req) {
  auto c = cookie(req, kLoginCsrf);
  if (!c || !is_hex(*c, 32) || !req.has_param("csrf_token")) return false;
  return crypto::constant_time_equal(req.get_param_value("csrf_token"), *c);
}

}  // namespace cs::http
