// Errors a person reads (issue 12 item 7): a browser that asks for a missing case or an unknown
// page gets an HTML page with a way back (API clients still get JSON), an unknown tracked link
// explains and links to Whop, and the alert banner's health link opens a readable page.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "http/dashboard_support.h"

using namespace cs;

namespace {
const httplib::Headers kBrowser = {
    {"Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}};
}

TEST_CASE("a browser gets an HTML page with a way back for a missing page or case") {
  test::TestApp t;
  test::set_admin(t);
  test::WebClient w(t);
  REQUIRE(w.sign_in());
  for (const char* path : {"/nope", "/cases/not-a-case-id", "/settings/whatever/deeper"}) {
    INFO(path);
    auto r = w.get(path, kBrowser);
    REQUIRE(r);
    CHECK(r->status == 404);
    CHECK(r->get_header_value("Content-Type").find("text/html") == 0);
    CHECK(r->body.find("Page not found") != std::string::npos);
    CHECK(r->body.find("href=\"/\"") != std::string::npos);
  }
  auto missing_case = w.get("/cases/0123456789abcdef0123456789abcdef", kBrowser);
  REQUIRE(missing_case);
  CHECK(missing_case->status == 404);
  CHECK(missing_case->body.find("Case not found") != std::string::npos);
  CHECK(missing_case->body.find("href=\"/cases\"") != std::string::npos);
  // Signed out, too (nothing about the dashboard is shown).
  test::WebClient anon(t);
  auto a = anon.get("/no-such-page", kBrowser);
  REQUIRE(a);
  CHECK(a->status == 404);
  CHECK(a->body.find("Page not found") != std::string::npos);
  // API clients and scripts keep JSON.
  auto c = t.client();
  for (const char* path : {"/nope", "/api/nope", "/webhooks/nope"}) {
    INFO(path);
    auto j = c.Get(path, {{"Accept", "application/json"}});
    REQUIRE(j);
    CHECK(j->status == 404);
    CHECK(nlohmann::json::parse(j->body)["error"]["code"] == "not_found");
  }
  auto api_from_browser = c.Get("/api/nope", kBrowser);
  CHECK(nlohmann::json::parse(api_from_browser->body)["error"]["code"] == "not_found");
}

TEST_CASE("an unknown tracked link explains and links to Whop") {
  test::TestApp t;
  auto r = t.client().Get("/r/0123456789abcdef0123456789abcdef", kBrowser);
  REQUIRE(r);
  CHECK(r->status == 404);
  CHECK(r->body.find("This link has expired") != std::string::npos);
  CHECK(r->body.find("update your payment method") != std::string::npos);
  CHECK(r->body.find("href=\"https://whop.com/\"") != std::string::npos);
  CHECK(r->body.find("<nav") == std::string::npos);  // no dashboard navigation for members
}

TEST_CASE("the health link opens a readable page in a browser; JSON for scripts") {
  test::TestApp t;
  auto c = t.client();
  auto page = c.Get("/api/health", kBrowser);
  REQUIRE(page);
  CHECK(page->get_header_value("Content-Type").find("text/html") == 0);
  CHECK(page->body.find("<h1 id=\"health-title\">Health: ") != std::string::npos);
  CHECK(page->body.find("<th scope=\"row\">schema_version</th>") != std::string::npos);
  auto json = c.Get("/api/health");
  REQUIRE(json);
  CHECK(nlohmann::json::parse(json->body).contains("status"));
}
