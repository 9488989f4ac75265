// The dashboard's access rules against the real server: the route table walked without a session
// (pages redirect to /login, JSON answers 401), every form refused without its CSRF token (403),
// sign-in with throttling, session rotation, expiry and sign-out, the setup link, cookies and
// headers.
#include <doctest/doctest.h>

#include <set>

#include "http/dashboard_support.h"
#include "http/route_table.h"

using namespace cs;

namespace {

/// The route table's routes of one access kind ("page", "form", "api", "public", ...).
std::vector<std::pair<std::string, std::string>> table_routes(const std::string& kind) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& r : http::route_table()) {
    if (http::access_name(r.access) == kind) out.emplace_back(r.method, r.example);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> routes(const std::string& kind) {
  auto r = table_routes(kind);
  REQUIRE_FALSE(r.empty());
  return r;
}

httplib::Result send(test::WebClient& w, const std::string& method, const std::string& path,
                     httplib::Params params = {}) {
  return method == "GET" ? w.get(path) : w.post(path, params);
}

}  // namespace

TEST_CASE("every dashboard route needs a session: pages redirect to /login, JSON gets 401") {
  test::TestApp t;
  test::WebClient anon(t);
  // The addresses of issue 4 are all in the table.
  std::set<std::string> seen;
  for (const auto& kind : {"page", "form", "api", "public"}) {
    for (const auto& [m, p] : table_routes(kind)) seen.insert(m + " " + p);
  }
  for (const char* want :
       {"GET /", "GET /cases", "GET /cases/0123456789abcdef0123456789abcdef", "GET /settings",
        "GET /messages", "GET /events", "GET /jobs", "GET /login", "POST /login", "POST /logout",
        "GET /setup/00000000000000000000000000000000", "GET /cases/export.csv",
        "GET /api/dashboard/kpis?window=30", "GET /api/dashboard/cases?status=open"}) {
    INFO(want);
    CHECK(seen.count(want) == 1);
  }
  for (const auto& kind : {"page", "form"}) {
    for (const auto& [method, path] : routes(kind)) {
      INFO(method << " " << path);
      auto res = send(anon, method, path, {{"csrf_token", "x"}});
      REQUIRE(res);
      CHECK(res->status == 303);
      CHECK(res->get_header_value("Location").rfind("/login", 0) == 0);
    }
  }
  for (const auto& [method, path] : routes("api")) {
    INFO(method << " " << path);
    auto res = send(anon, method, path);
    REQUIRE(res);
    CHECK(res->status == 401);
    CHECK(res->get_header_value("Content-Type") == "application/json");
  }
  // A path no route serves is a plain 404.
  auto unknown = anon.get("/no-such-page");
  REQUIRE(unknown);
  CHECK(unknown->status == 404);
  // Public: sign-in, setup, static assets, health, webhook, click redirect.
  for (const char* p : {"/login", "/static/app.css", "/static/app.js", "/healthz"}) {
    INFO(p);
    auto res = anon.get(p);
    REQUIRE(res);
    CHECK(res->status == 200);
  }
  auto setup = anon.get("/setup/00000000000000000000000000000000");
  REQUIRE(setup);
  CHECK(setup->status == 404);
  auto link = anon.get("/r/00000000000000000000000000000000");
  REQUIRE(link);
  CHECK(link->status == 404);
}

TEST_CASE("every form needs its CSRF token (403), and every page answers once signed in") {
  test::TestApp t;
  test::set_admin(t);
  test::WebClient w(t);
  REQUIRE(w.sign_in());
  REQUIRE(w.csrf().size() == 64);
  for (const auto& [method, path] : routes("form")) {
    INFO(method << " " << path);
    auto none = w.post(path, {});
    REQUIRE(none);
    CHECK(none->status == 403);
    auto wrong = w.post(path, {{"csrf_token", std::string(64, 'a')}});
    REQUIRE(wrong);
    CHECK(wrong->status == 403);
  }
  for (const auto& [method, path] : routes("page")) {
    INFO(method << " " << path);
    auto res = w.get(path);
    REQUIRE(res);
    CHECK((res->status == 200 || res->status == 404));  // example ids do not exist
  }
  for (const auto& [method, path] : routes("api")) {
    INFO(method << " " << path);
    auto res = w.get(path);
    REQUIRE(res);
    CHECK(res->status == 200);
  }
  // The CSRF token is in every form of every page.
  for (const char* p : {"/", "/cases", "/settings", "/messages", "/events", "/jobs"}) {
    auto res = w.get(p);
    REQUIRE(res);
    size_t forms = 0, tokens = 0;
    for (size_t i = res->body.find("<form method=\"post\""); i != std::string::npos;
         i = res->body.find("<form method=\"post\"", i + 1)) {
      ++forms;
    }
    for (size_t i = res->body.find("name=\"csrf_token\" value=\"" + w.csrf() + "\"");
         i != std::string::npos;
         i = res->body.find("name=\"csrf_token\" value=\"" + w.csrf() + "\"", i + 1)) {
      ++tokens;
    }
    INFO(p);
    CHECK(forms >= 1);
    CHECK(tokens == forms);
  }
  // Sign-out revokes the session: the old cookie no longer works.
  std::string old = w.cookie("cs_session");
  auto out = w.post("/logout", {{"csrf_token", w.csrf()}});
  REQUIRE(out);
  CHECK(out->status == 303);
  test::WebClient replay(t);
  replay.set_cookie("cs_session", old);
  auto after = replay.get("/");
  REQUIRE(after);
  CHECK(after->status == 303);
}

TEST_CASE("sign-in: one generic error, throttled after 10 failures, session rotated") {
  test::TestApp t;
  test::set_admin(t);
  test::WebClient w(t);
  w.get("/login");
  // A session id the client chose is never adopted: sign-in issues a new one.
  w.set_cookie("cs_session", std::string(32, 'a'));
  REQUIRE(w.sign_in());
  CHECK(w.cookie("cs_session") != std::string(32, 'a'));
  CHECK(w.cookie("cs_session").size() == 32);

  test::WebClient bad(t);
  bad.get("/login");
  std::string first_error;
  for (int i = 0; i < 10; ++i) {
    auto res = bad.post("/login", {{"csrf_token", bad.cookie("cs_login_csrf")},
                                   {"password", "wrong" + std::to_string(i)}});
    REQUIRE(res);
    CHECK(res->status == 401);
    CHECK(res->body.find("That did not work. Check the password and try again.") !=
          std::string::npos);
  }
  auto blocked = bad.post(
      "/login", {{"csrf_token", bad.cookie("cs_login_csrf")}, {"password", test::kAdminPassword}});
  REQUIRE(blocked);
  CHECK(blocked->status == 429);
  CHECK(std::stoi(blocked->get_header_value("Retry-After")) > 0);
  CHECK(blocked->body.find("try again in") != std::string::npos);
  CHECK(bad.cookie("cs_session").empty());
  // Without the login form's token the sign-in is refused.
  test::WebClient nocsrf(t);
  auto res = nocsrf.post("/login", {{"password", test::kAdminPassword}});
  REQUIRE(res);
  CHECK(res->status == 403);
}

TEST_CASE("sessions expire after 30 idle minutes and after 8 hours at most") {
  ManualClock clock(1'800'000'000'000);
  test::TestApp::Options o;
  o.clock = &clock;
  test::TestApp t(o);
  test::set_admin(t);
  {
    test::WebClient w(t);
    REQUIRE(w.sign_in());
    clock.advance(29 * kMinuteMs);
    CHECK(w.get("/")->status == 200);
    clock.advance(31 * kMinuteMs);
    CHECK(w.get("/")->status == 303);
  }
  {
    test::WebClient w(t);
    REQUIRE(w.sign_in());
    for (int i = 0; i < 23; ++i) {  // active every 20 minutes for 7 h 40 min
      clock.advance(20 * kMinuteMs);
      REQUIRE(w.get("/")->status == 200);
    }
    clock.advance(21 * kMinuteMs);  // 8 h 01 min after sign-in
    CHECK(w.get("/")->status == 303);
  }
}

TEST_CASE("cookies and headers: HttpOnly, SameSite=Strict, __Host- and Secure only over HTTPS") {
  test::TestApp::Options o;
  o.configure = [](app::Config& c) { c.trusted_proxy = "127.0.0.1"; };
  test::TestApp t(o);
  test::set_admin(t);
  test::WebClient w(t);
  REQUIRE(w.sign_in());
  auto page = w.get("/");
  REQUIRE(page);
  CHECK(page->get_header_value("Content-Security-Policy").find("default-src 'self'") !=
        std::string::npos);
  CHECK(page->get_header_value("Content-Security-Policy").find("frame-ancestors 'none'") !=
        std::string::npos);
  CHECK(page->get_header_value("X-Content-Type-Options") == "nosniff");
  CHECK(page->get_header_value("Referrer-Policy") == "same-origin");
  CHECK(page->body.find("<script>") == std::string::npos);

  auto c = t.client();
  auto login = c.Get("/login");
  REQUIRE(login);
  std::string plain = login->get_header_value("Set-Cookie");
  CHECK(plain.rfind("cs_login_csrf=", 0) == 0);
  CHECK(plain.find("HttpOnly") != std::string::npos);
  CHECK(plain.find("SameSite=Strict") != std::string::npos);
  CHECK(plain.find("Path=/") != std::string::npos);
  CHECK(plain.find("Secure") == std::string::npos);

  auto tls = c.Get("/login", {{"X-Forwarded-Proto", "https"}, {"X-Forwarded-For", "203.0.113.9"}});
  REQUIRE(tls);
  std::string sec = tls->get_header_value("Set-Cookie");
  CHECK(sec.rfind("__Host-cs_login_csrf=", 0) == 0);
  CHECK(sec.find("; Secure") != std::string::npos);
  CHECK(sec.find("Domain") == std::string::npos);
}

TEST_CASE("the one-time setup link sets the password once, within 30 minutes") {
  ManualClock clock(1'800'000'000'000);
  test::TestApp::Options o;
  o.clock = &clock;
  test::TestApp t(o);
  auto token = t.app().create_setup_token();
  REQUIRE(token);
  REQUIRE(token->size() == 32);
  test::WebClient w(t);
  auto page = w.get("/setup/" + *token);
  REQUIRE(page);
  CHECK(page->status == 200);
  auto weak = w.post(
      "/setup/" + *token,
      {{"csrf_token", w.cookie("cs_login_csrf")}, {"password", "short"}, {"confirm", "short"}});
  REQUIRE(weak);
  CHECK(weak->status == 400);
  CHECK(weak->body.find("at least 12 characters") != std::string::npos);
  auto ok = w.post("/setup/" + *token, {{"csrf_token", w.cookie("cs_login_csrf")},
                                        {"password", test::kAdminPassword},
                                        {"confirm", test::kAdminPassword}});
  REQUIRE(ok);
  CHECK(ok->status == 303);
  CHECK(w.get("/")->status == 200);  // signed in
  // Used once: the link is dead, and no new link is made while an admin exists.
  test::WebClient other(t);
  CHECK(other.get("/setup/" + *token)->status == 404);
  auto again = t.app().create_setup_token();
  REQUIRE(again);
  CHECK(again->empty());
  test::WebClient pw(t);
  CHECK(pw.sign_in());

  test::TestApp t2(o);
  auto late = t2.app().create_setup_token();
  REQUIRE(late);
  clock.advance(31 * kMinuteMs);
  test::WebClient w2(t2);
  CHECK(w2.get("/setup/" + *late)->status == 404);
}

TEST_CASE("admin set-password reads the password from stdin and signs everybody out") {
  test::TempDir dir;
  std::string db = dir.file("cs.db");
  // run_binary gives no stdin; use a shell pipe through /bin/sh.
  std::string cmd = "printf 'a strong admin passphrase\\n' | CHURN_SAVER_CONFIG=/dev/null " +
                    std::string(CS_BINARY) + " admin set-password --db " + db + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p);
  char buf[512];
  std::string out;
  while (fgets(buf, sizeof buf, p)) out += buf;
  CHECK(pclose(p) == 0);
  CHECK(out.find("Admin password set") != std::string::npos);
  test::TestApp::Options o;
  o.db_path = db;
  test::TestApp t(o);
  test::WebClient w(t);
  CHECK(w.sign_in("a strong admin passphrase"));
  std::string weak = "printf 'short\\n' | CHURN_SAVER_CONFIG=/dev/null " + std::string(CS_BINARY) +
                     " admin set-password --db " + db + " 2>&1";
  FILE* q = popen(weak.c_str(), "r");
  std::string out2;
  while (fgets(buf, sizeof buf, q)) out2 += buf;
  CHECK(pclose(q) != 0);
  CHECK(out2.find("at least 12 characters") != std::string::npos);
}

TEST_CASE("passwords: PBKDF2-SHA256 with 600,000 iterations, parameters stored with the hash") {
  std::string h = password::hash("a strong admin passphrase");
  CHECK(h.rfind("pbkdf2-sha256$600000$", 0) == 0);
  CHECK(password::verify("a strong admin passphrase", h));
  CHECK_FALSE(password::verify("a strong admin passphrasE", h));
  CHECK_FALSE(password::verify("x", "pbkdf2-sha256$1000$AAAA$AAAA"));  // too few iterations
  CHECK_FALSE(password::verify("x", "garbage"));
}

TEST_CASE("the route table: every route it declares is served, and nothing outside it can be") {
  test::TestApp t;
  test::WebClient anon(t);
  for (const auto& r : http::route_table()) {
    INFO(r.method << " " << r.example << " (" << http::access_name(r.access) << ")");
    auto res = send(anon, r.method, r.example);
    REQUIRE(res);
    // A route nobody installed answers the router's own 404 ("no such page").
    CHECK(res->body.find("no such page") == std::string::npos);
    switch (r.access) {
      case http::Access::Page:
      case http::Access::Form:
        CHECK(res->status == 303);
        break;
      case http::Access::Api:
        CHECK(res->status == 401);
        break;
      case http::Access::Webhook:
        CHECK(res->status == 401);  // unsigned
        break;
      case http::Access::MetricsToken:
        CHECK((res->status == 401 || res->status == 403));
        break;
      case http::Access::Public:
        CHECK(res->status != 401);
        break;
    }
    std::string path = std::string(r.example).substr(0, std::string(r.example).find('?'));
    CHECK(http::find_route(r.method, path) == &r);
  }
  httplib::Server svr;
  CHECK_THROWS_AS(http::install(svr, "GET", "/not-in-the-table", [](const auto&, auto&) {}),
                  std::logic_error);
  CHECK(http::body_limit_for("POST", "/webhooks/whop") == 1024 * 1024);
  CHECK(http::body_limit_for("POST", "/settings/recovery") == 64 * 1024);
  CHECK(http::body_limit_for("GET", "/settings") == 0);
  // Near misses of literal and pattern routes match nothing (the matcher tells paths apart by
  // their literal start before it runs a route's regex).
  for (const char* path : {"/webhooks/whop/", "/webhooks/who", "/cases/xyz", "/cases/", "/Cases",
                           "/static/app.css/x", "/experiments/1/results.csvx", "//"}) {
    INFO(path);
    CHECK(http::find_route("GET", path) == nullptr);
    CHECK(http::find_route("POST", path) == nullptr);
    CHECK_FALSE(http::path_needs_session(path));
  }
  CHECK(http::path_needs_session("/cases/abc123"));
  CHECK(http::path_needs_session("/"));
  CHECK_FALSE(http::path_needs_session("/webhooks/whop"));
  CHECK_FALSE(http::path_needs_session("/healthz"));
}

TEST_CASE("sign-in redirects only to a path on this site, from the link and from the form") {
  test::TestApp t;
  test::set_admin(t);
  for (const char* next : {"/%09/evil.example", "//evil.example", "/%5Cevil.example",
                           "https://evil.example/", "/%0d%0a/evil.example", "%2F%2Fevil.example"}) {
    INFO(next);
    // The form carries `next` as typed into the link, and the sign-in goes to "/".
    test::WebClient w(t);
    auto page = w.get(std::string("/login?next=") + next);
    REQUIRE(page);
    CHECK(page->body.find("evil.example") == std::string::npos);
    auto res = w.post("/login?next=" + std::string(next),
                      {{"csrf_token", w.cookie("cs_login_csrf")},
                       {"password", test::kAdminPassword},
                       {"next", httplib::detail::decode_url(next, false)}});
    REQUIRE(res);
    CHECK(res->status == 303);
    CHECK(res->get_header_value("Location") == "/");
    // Signed in, the link redirects at once: also to "/".
    auto again = w.get(std::string("/login?next=") + next);
    REQUIRE(again);
    CHECK(again->status == 303);
    CHECK(again->get_header_value("Location") == "/");
  }
  test::WebClient w(t);
  REQUIRE(w.sign_in());
  auto ok = w.get("/login?next=%2Fcases%3Fstatus%3Dopen");
  REQUIRE(ok);
  CHECK(ok->get_header_value("Location") == "/cases?status=open");
}

TEST_CASE("before any password exists, the login page says how to set one") {
  test::TestApp t;
  test::WebClient w(t);
  auto page = w.get("/login");
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK(page->body.find("No admin password is set yet") != std::string::npos);
  CHECK(page->body.find("churn-saver.db.setup-link") != std::string::npos);
  // The tunnel command names the port the browser reached.
  CHECK(page->body.find("ssh -N -L " + std::to_string(t.port()) +
                        ":127.0.0.1:" + std::to_string(t.port())) != std::string::npos);
  CHECK(page->body.find("admin setup-link") != std::string::npos);
  CHECK(page->body.find("admin set-password") != std::string::npos);
  CHECK(page->body.find("name=\"password\"") == std::string::npos);  // nothing to type in yet
  // Once a password exists, the usual form.
  test::set_admin(t);
  auto after = w.get("/login");
  REQUIRE(after);
  CHECK(after->body.find("No admin password is set yet") == std::string::npos);
  CHECK(after->body.find("name=\"password\"") != std::string::npos);
}
