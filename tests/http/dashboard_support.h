#pragma once
// Helpers for the dashboard's HTTP tests: a signed-in client that keeps its cookies and CSRF
// token, and seeding of cases straight into the store.
#include <doctest/doctest.h>

#include <regex>
#include <string>

#include <httplib.h>

#include "http/auth.h"
#include "store/auth.h"
#include "store/cases.h"
#include "support/test_app.h"
#include "util/password.h"

namespace cs::test {

constexpr const char* kAdminPassword = "correct horse battery staple";

/// Sets the admin password directly in the store.
inline void set_admin(TestApp& t, const std::string& pw = kAdminPassword) {
  static const std::string encoded = password::hash(kAdminPassword);
  std::string h = pw == kAdminPassword ? encoded : password::hash(pw);
  REQUIRE(
      t.app().writer().run([&](SQLite::Database& db) { store::save_admin_password(db, h, 1); }));
}

/// A browser-like client: remembers cookies set by the server and the page's CSRF token.
class WebClient {
 public:
  explicit WebClient(TestApp& t) : t_(t) {}

  httplib::Result get(const std::string& path, httplib::Headers extra = {}) {
    auto c = t_.client();
    auto res = c.Get(path.c_str(), with_cookies(extra));
    absorb(res);
    return res;
  }
  httplib::Result post(const std::string& path, httplib::Params params,
                       httplib::Headers extra = {}) {
    auto c = t_.client();
    auto res = c.Post(path.c_str(), with_cookies(extra), params);
    absorb(res);
    return res;
  }
  /// Signs in with the password; true on the 303 that follows a good password.
  bool sign_in(const std::string& pw = kAdminPassword) {
    auto page = get("/login");
    REQUIRE(page);
    auto res = post("/login", {{"csrf_token", cookie("cs_login_csrf")}, {"password", pw}});
    REQUIRE(res);
    if (res->status != 303) return false;
    auto home = get("/");
    REQUIRE(home);
    return home->status == 200;
  }
  std::string cookie(const std::string& name) const {
    auto v = http::cookie_value(cookies_, name);
    return v ? *v : "";
  }
  void set_cookie(const std::string& name, const std::string& value) {
    std::string rest;
    std::string c = cookies_;
    cookies_.clear();
    size_t pos = 0;
    while (pos < c.size()) {
      size_t end = c.find("; ", pos);
      if (end == std::string::npos) end = c.size();
      std::string part = c.substr(pos, end - pos);
      if (part.rfind(name + "=", 0) != 0 && !part.empty()) {
        cookies_ += (cookies_.empty() ? "" : "; ") + part;
      }
      pos = end + 2;
    }
    if (!value.empty()) cookies_ += (cookies_.empty() ? "" : "; ") + name + "=" + value;
  }
  const std::string& csrf() const { return csrf_; }

 private:
  httplib::Headers with_cookies(httplib::Headers h) const {
    if (!cookies_.empty()) h.emplace("Cookie", cookies_);
    return h;
  }
  void absorb(const httplib::Result& res) {
    if (!res) return;
    auto range = res->headers.equal_range("Set-Cookie");
    for (auto it = range.first; it != range.second; ++it) {
      std::string v = it->second.substr(0, it->second.find(';'));
      auto eq = v.find('=');
      std::string name = v.substr(0, eq), value = v.substr(eq + 1);
      bool expired = it->second.find("Max-Age=0") != std::string::npos;
      set_cookie(name, expired ? "" : value);
    }
    static const std::regex re(R"re(name="csrf_token" value="([0-9a-f]{64})")re");
    std::smatch m;
    if (std::regex_search(res->body, m, re)) csrf_ = m[1].str();
  }

  TestApp& t_;
  std::string cookies_;
  std::string csrf_;
};

/// A case row with sensible defaults.
inline store::CaseRow make_case(const std::string& id, const std::string& status,
                                int64_t first_failure_at) {
  store::CaseRow c;
  c.id = id;
  c.membership_id = "mem_" + id.substr(id.size() - 12);
  c.user_id = "user_" + id.substr(id.size() - 10);
  c.username = "member" + id.substr(id.size() - 6);
  c.status = domain::status_from_name(status).value();
  c.first_failure_at = first_failure_at;
  c.last_failure_at = first_failure_at;
  c.amount_due_cents = 2999;
  c.currency = "usd";
  c.created_at = first_failure_at;
  c.updated_at = first_failure_at;
  if (status == "recovered") {
    c.resolution = domain::Resolution::Payment;
    c.resolved_at = first_failure_at + 2 * 86400000LL;
    c.recovered_cents = 2999;
  } else if (status == "lost") {
    c.resolution = domain::Resolution::Deactivated;
    c.resolved_at = first_failure_at + 86400000LL;
  }
  return c;
}

inline void seed_cases(TestApp& t, const std::vector<store::CaseRow>& rows) {
  REQUIRE(t.app().writer().run([&](SQLite::Database& db) {
    for (const auto& r : rows) store::save_case(db, r);
  }));
}

/// A 32-hex id from a number.
inline std::string hex_id(int n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%032x", n);
  return buf;
}

}  // namespace cs::test
