// Sign-in (/login), sign-out (/logout) and the one-time setup link (/setup/{token}).
#include "http/dashboard.h"
#include "http/routes.h"
#include "store/auth.h"
#include "store/cases.h"
#include "util/crypto.h"
#include "util/log.h"
#include "util/password.h"
#include "view/pages.h"

namespace cs::http {
namespace {

constexpr const char* kGenericError = "That did not work. Check the password and try again.";

std::string token_hash(const std::string& token) {
  return crypto::hex_encode(crypto::sha256(token));
}

bool valid_token_shape(const std::string& t) {
  return t.size() == 32 && t.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace

void add_auth_routes(httplib::Server& svr, Dashboard& d) {
  route_public(svr, d, "GET", "/login", [&d](const httplib::Request& req, httplib::Response& res) {
    if (d.auth.session(req)) return redirect(res, safe_next(req.get_param_value("next")));
    std::string csrf = d.auth.login_csrf(req, res);
    send_html(res, 200, view::login_page(csrf, safe_next(req.get_param_value("next")), ""));
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
    std::optional<std::string> hash;
    {
      auto db = d.deps.reads->lease();
      hash = store::admin_password_hash(*db);
    }
    std::string pw = req.get_param_value("password");
    bool ok = hash && pw.size() <= password::kMaxLength && password::verify(pw, *hash);
    if (!ok) {
      d.throttle.failed("account", now);
      d.throttle.failed("ip|" + ip, now);
      log::warn("sign-in failed",
                {{"request_id", res.get_header_value("X-Request-Id")}, {"ip", ip}});
      std::string csrf = d.auth.login_csrf(req, res);
      send_html(res, 401, view::login_page(csrf, next, kGenericError));
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
                 bool valid = false;
                 if (valid_token_shape(token)) {
                   auto db = d.deps.reads->lease();
                   valid = !store::admin_password_hash(*db) &&
                           store::setup_token_valid(*db, token_hash(token), d.now());
                 }
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
        std::string pw = req.get_param_value("password");
        std::string problem = password::check_strength(pw);
        if (problem.empty() && pw != req.get_param_value("confirm")) {
          problem = "The two passwords are not the same.";
        }
        if (!problem.empty()) {
          std::string csrf = d.auth.login_csrf(req, res);
          send_html(res, 400, view::setup_page(token, csrf, problem, true));
          return;
        }
        std::string encoded = password::hash(pw);
        int64_t now = d.now();
        bool used = false;
        auto st = d.deps.writer->run([&](SQLite::Database& db) {
          if (!valid_token_shape(token) || store::admin_password_hash(db)) return;
          used = store::use_setup_token(db, token_hash(token), now);
          if (used) {
            store::set_admin_password(db, encoded, now);
            store::record_action(
                db, {"", now, "admin_password_set", "", std::nullopt, "admin", "setup_link", "{}"});
          }
        });
        if (!st) throw std::runtime_error(st.error());
        if (!used) {
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
