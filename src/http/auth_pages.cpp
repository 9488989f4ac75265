// Sign-in (/login), sign-out (/logout) and the one-time setup link (/setup/{token}).
#include "http/dashboard.h"
#include "http/routes.h"
#include "service/accounts.h"
#include "util/log.h"
#include "view/pages.h"

namespace cs::http {
namespace {

constexpr const char* kGenericError = "That did not work. Check the password and try again.";

/// The port the browser reached (from Host), for the SSH tunnel command; 8080 when unknown.
int listen_port_of(const httplib::Request& req) {
  std::string host = req.get_header_value("Host");
  auto colon = host.rfind(':');
  if (colon == std::string::npos || host.find(']', colon) != std::string::npos) return 8080;
  try {
    int p = std::stoi(host.substr(colon + 1));
    return p > 0 && p < 65536 ? p : 8080;
  } catch (const std::exception&) {
    return 8080;
  }
}

}  // namespace

void add_auth_routes(httplib::Server& svr, Dashboard& d) {
  route_public(svr, d, "GET", "/login", [&d](const httplib::Request& req, httplib::Response& res) {
    if (d.auth.session(req)) return redirect(res, safe_next(req.get_param_value("next")));
    std::string csrf = d.auth.login_csrf(req, res);
    // Before any password exists, the page says how to set one instead of asking for it.
    bool no_admin = !service::admin_exists(*d.deps.services);
    send_html(res, 200,
              view::login_page(csrf, safe_next(req.get_param_value("next")), "", no_admin,
                               listen_port_of(req)));
  });

  route_public(svr, d, "POST", "/login", [&d](const httplib::Request& req, httplib::Response& res) {
    std::string next = safe_next(req.get_param_value("next"));
    if (!d.auth.login_csrf_ok(req)) {
      std::string csrf = d.auth.login_csrf(req, res);
      send_html(res, 403,
                view::login_page(csrf, next, "The form expired. Please enter the password again."));
      return;
    }
    std::string ip = d.auth.client_ip(req);
    int64_t now = d.now();
    int64_t wait =
        std::max(d.throttle.blocked_for("account", now), d.throttle.blocked_for("ip|" + ip, now));
    if (wait > 0) {
      int64_t s = (wait + 999) / 1000;
      res.set_header("Retry-After", std::to_string(s));
      std::string csrf = d.auth.login_csrf(req, res);
      send_html(res, 429,
                view::login_page(csrf, next,
                                 std::string(kGenericError) + " Too many attempts: try again in " +
                                     std::to_string((s + 59) / 60) + " minutes."));
      return;
    }
    if (!service::password_matches(*d.deps.services, req.get_param_value("password"))) {
      d.throttle.failed("account", now);
      d.throttle.failed("ip|" + ip, now);
      log::warn("sign-in failed",
                {{"request_id", res.get_header_value("X-Request-Id")}, {"ip", ip}});
      std::string csrf = d.auth.login_csrf(req, res);
      bool no_admin = !service::admin_exists(*d.deps.services);
      send_html(res, 401,
                view::login_page(csrf, next, no_admin ? "" : kGenericError, no_admin,
                                 listen_port_of(req)));
      return;
    }
    d.throttle.succeeded("ip|" + ip);
    d.throttle.succeeded("account");
    d.auth.start(req, res);
    log::info("signed in", {{"request_id", res.get_header_value("X-Request-Id")}, {"ip", ip}});
    redirect(res, next);
  });

  route(svr, d, "POST", "/logout",
        [&d](const httplib::Request& req, httplib::Response& res, const Session&) {
          d.auth.end(req, res);
          redirect(res, "/login");
        });

  route_public(svr, d, "GET", R"(/setup/([0-9a-f]{1,64}))",
               [&d](const httplib::Request& req, httplib::Response& res) {
                 std::string token = req.matches[1].str();
                 bool valid = service::setup_token_usable(*d.deps.services, token);
                 res.set_header("Referrer-Policy", "no-referrer");
                 std::string csrf = d.auth.login_csrf(req, res);
                 send_html(res, valid ? 200 : 404, view::setup_page(token, csrf, "", valid));
               });

  route_public(
      svr, d, "POST", R"(/setup/([0-9a-f]{1,64}))",
      [&d](const httplib::Request& req, httplib::Response& res) {
        std::string token = req.matches[1].str();
        res.set_header("Referrer-Policy", "no-referrer");
        if (!d.auth.login_csrf_ok(req)) {
          std::string csrf = d.auth.login_csrf(req, res);
          send_html(res, 403,
                    view::setup_page(token, csrf, "The form expired. Please try again.", true));
          return;
        }
        auto out = service::complete_setup(*d.deps.services, token, req.get_param_value("password"),
                                           req.get_param_value("confirm"));
        if (!out.problem.empty()) {
          std::string csrf = d.auth.login_csrf(req, res);
          send_html(res, 400, view::setup_page(token, csrf, out.problem, true));
          return;
        }
        if (!out.used) {
          std::string csrf = d.auth.login_csrf(req, res);
          send_html(res, 404, view::setup_page(token, csrf, "", false));
          return;
        }
        log::info("admin password set through the setup link");
        d.auth.start(req, res);
        redirect(res, "/settings");
      });
}

}  // namespace cs::http
