// Connecting Whop from the settings page (issue 12 item 2): the exact webhook URL, the events and
// API key permissions, the public URL's HTTPS check, the secret's format, removing a secret, the
// last characters of stored secrets, "Check connection" and "Send a test webhook" answered next
// to their buttons, and the overview's getting-started steps ticking themselves off.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "http/dashboard_support.h"
#include "store/dashboard.h"
#include "support/fake_whop.h"

using namespace cs;

namespace {

constexpr const char* kSecret =
    "ws_5f0c2a7d9e1b3c4a5f6e7d8c9b0a1f2e3d4c5b6a7f8e9d0c1b2a3f4e5d6c7b8a";

httplib::Params connection(const std::string& csrf, std::map<std::string, std::string> f) {
  httplib::Params p{{"csrf_token", csrf}};
  for (const auto& [k, v] : f) p.emplace(k, v);
  return p;
}

std::string step_state(const std::string& page, const std::string& key) {
  auto at = page.find("data-step=\"" + key + "\"");
  if (at == std::string::npos) return "absent";
  auto d = page.find("data-done=\"", at);
  return page.substr(d + 11, page.find('"', d + 11) - d - 11);
}

int64_t count(test::TestApp& t, const std::string& sql) {
  auto db = t.app().reads().lease();
  SQLite::Statement q(*db, sql);
  q.executeStep();
  return q.getColumn(0).getInt64();
}

}  // namespace

TEST_CASE("settings: webhook URL, events, permissions; HTTPS and secret format checked") {
  test::TestApp::Options o;
  o.secrets = {};
  test::TestApp t(o);
  test::set_admin(t);
  test::WebClient w(t);
  REQUIRE(w.sign_in());

  auto empty = w.get("/settings");
  REQUIRE(empty);
  CHECK(empty->body.find("id=\"webhook-url-missing\"") != std::string::npos);
  CHECK(empty->body.find("<code>payment.failed</code>") != std::string::npos);
  CHECK(empty->body.find("<code>membership.deactivated</code>") != std::string::npos);
  CHECK(empty->body.find("send push notifications") != std::string::npos);
  CHECK(empty->body.find("Send a test webhook") != std::string::npos);

  // Plain http:// to a real host is refused (Whop sends only to HTTPS), localhost is fine.
  auto http = w.post("/settings/connection",
                     connection(w.csrf(), {{"public_url", "http://cs.example.com"}}));
  REQUIRE(http);
  CHECK(http->status == 400);
  CHECK(http->body.find("Whop sends webhooks only to https://") != std::string::npos);
  CHECK(t.app().connection().public_url.empty());
  for (const char* local : {"http://localhost:8080", "http://127.0.0.1:9000", "http://[::1]:80"}) {
    INFO(local);
    auto r = w.post("/settings/connection", connection(w.csrf(), {{"public_url", local}}));
    REQUIRE(r);
    CHECK(r->status == 303);
  }
  // A secret that is not one Whop gives: refused with the reason, nothing saved.
  for (auto [secret, says] : std::vector<std::pair<std::string, std::string>>{
           {"hello", "starts with ws_"},
           {"ws_abc def", "Paste one secret"},
           {"ws_abc-!x", "letters and digits only"},
           {"whsec_***", "continues with base64"},
           {"apik_0123456789", "looks like an API key"},
           {std::string(kSecret) + ",nope", "Secret 2 of 2"}}) {
    INFO(secret);
    auto r = w.post("/settings/connection", connection(w.csrf(), {{"webhook_secrets", secret}}));
    REQUIRE(r);
    CHECK(r->status == 400);
    CHECK(r->body.find("id=\"webhook_secrets-error\"") != std::string::npos);
    CHECK(r->body.find(says) != std::string::npos);
  }
  CHECK(t.app().connection().webhook_secrets.empty());

  auto ok = w.post("/settings/connection",
                   connection(w.csrf(), {{"webhook_secrets", kSecret},
                                         {"api_key", "apik_abcdefghijklmnop9xyz"},
                                         {"public_url", "https://cs.example.com/"}}));
  REQUIRE(ok);
  CHECK(ok->status == 303);
  auto page = w.get("/settings");
  REQUIRE(page);
  CHECK(page->body.find(">https://cs.example.com/webhooks/whop</code>") != std::string::npos);
  CHECK(page->body.find("id=\"public-url-problem\"") == std::string::npos);
  // The last characters of each stored secret, never the rest.
  CHECK(page->body.find("Currently set, ending in 9xyz.") != std::string::npos);
  CHECK(page->body.find("Currently 1 secret set, ending in 7b8a.") != std::string::npos);
  CHECK(page->body.find("apik_abcdefghijklmnop") == std::string::npos);
  CHECK(page->body.find(std::string(kSecret).substr(0, 20)) == std::string::npos);

  // Removing the stored secret: webhooks are refused again.
  auto removed = w.post("/settings/connection",
                        connection(w.csrf(), {{"remove_webhook_secrets", "1"},
                                              {"public_url", "https://cs.example.com"}}));
  REQUIRE(removed);
  CHECK(removed->status == 303);
  CHECK(t.app().connection().webhook_secrets.empty());
  CHECK(t.app().connection().api_key == "apik_abcdefghijklmnop9xyz");  // the key stays
  auto after = w.get("/settings");
  CHECK(after->body.find("Not set: webhooks are refused until one is.") != std::string::npos);
  CHECK(after->body.find("id=\"remove_webhook_secrets\"") == std::string::npos);
}

TEST_CASE("a public URL set in the configuration over plain http is flagged on the page") {
  test::TestApp::Options o;
  o.configure = [](app::Config& c) { c.public_url = "http://cs.example.com"; };
  test::TestApp t(o);
  test::set_admin(t);
  test::WebClient w(t);
  REQUIRE(w.sign_in());
  auto page = w.get("/settings");
  REQUIRE(page);
  CHECK(page->body.find(">http://cs.example.com/webhooks/whop</code>") != std::string::npos);
  CHECK(page->body.find("id=\"public-url-problem\"") != std::string::npos);
}

TEST_CASE("Check connection and Send a test webhook answer next to their buttons") {
  test::FakeWhop fake(kSecret, "apik_connectTestKey42");
  test::TestApp::Options o;
  o.secrets = {};
  o.configure = [&](app::Config& c) { c.whop_api_base = fake.api_base(); };
  test::TestApp t(o);
  test::set_admin(t);
  test::WebClient w(t);
  REQUIRE(w.sign_in());

  auto fresh = w.get("/");
  REQUIRE(fresh);
  for (const char* step : {"secret", "api-key", "webhook", "nudge"}) {
    INFO(step);
    CHECK(step_state(fresh->body, step) == "no");
  }

  // Without a secret there is nothing to sign with: said next to the button.
  REQUIRE(w.post("/settings/test-webhook", {{"csrf_token", w.csrf()}})->status == 303);
  auto no_secret = w.get("/settings");
  auto at = no_secret->body.find("id=\"test-result\"");
  REQUIRE(at != std::string::npos);
  CHECK(no_secret->body.find("Paste the webhook secret", at) != std::string::npos);
  CHECK(no_secret->body.find("class=\"flash") == std::string::npos);  // not in the top banner
  CHECK(count(t, "SELECT count(*) FROM events") == 0);

  REQUIRE(w.post("/settings/connection",
                 connection(w.csrf(), {{"webhook_secrets", kSecret},
                                       {"api_key", "apik_connectTestKey42"},
                                       {"company_id", "biz_Connect01"},
                                       {"public_url", "https://cs.example.com"}}))
              ->status == 303);
  auto connected = w.get("/");
  CHECK(step_state(connected->body, "secret") == "yes");
  CHECK(step_state(connected->body, "api-key") == "yes");
  CHECK(step_state(connected->body, "webhook") == "no");

  // Check connection: the answer sits right after the button.
  REQUIRE(w.post("/settings/check", {{"csrf_token", w.csrf()}})->status == 303);
  auto checked = w.get("/settings");
  auto button = checked->body.find(">Check connection</button>");
  auto result = checked->body.find("id=\"check-result\"");
  REQUIRE(button != std::string::npos);
  REQUIRE(result != std::string::npos);
  CHECK(result > button);
  CHECK(checked->body.find("Whop answered", result) != std::string::npos);
  CHECK(checked->body.find("class=\"flash") == std::string::npos);

  // The test webhook: signed with the secret, verified and stored by the ingest path.
  REQUIRE(w.post("/settings/test-webhook", {{"csrf_token", w.csrf()}})->status == 303);
  auto tested = w.get("/settings");
  auto tr = tested->body.find("id=\"test-result\"");
  REQUIRE(tr != std::string::npos);
  CHECK(tested->body.find("Test webhook received", tr) != std::string::npos);
  CHECK(count(t, std::string("SELECT count(*) FROM events WHERE type = '") +
                     store::kTestWebhookType + "' AND sig_scheme = 'v1'") == 1);
  t.drain();
  CHECK(count(t, "SELECT count(*) FROM cases") == 0);  // never a case
  auto after_test = w.get("/");
  CHECK(step_state(after_test->body, "webhook") == "no");  // a test is not Whop's first webhook
  CHECK(after_test->body.find("the test webhook went through") != std::string::npos);
  // Nor does it count as Whop reaching us in the health figures (the silence alert).
  auto health = nlohmann::json::parse(t.client().Get("/api/health/webhooks")->body);
  CHECK(health["last_received_at"].is_null());

  // Whop's first real webhook ticks the third step.
  fake.set_webhook_target(t.webhook_url());
  test::DeliveryOptions once;
  once.retry = false;
  REQUIRE(fake.deliver(test::FakeWhop::payment_event("payment.failed", {}), once).status == 200);
  CHECK(step_state(w.get("/")->body, "webhook") == "yes");
  t.drain();  // the case opens
  REQUIRE(count(t, "SELECT count(*) FROM cases") == 1);
  // The first nudge that reaches Whop ticks the last one; then the block is gone.
  REQUIRE(t.app().writer().run([](SQLite::Database& db) {
    db.exec(
        "INSERT OR IGNORE INTO nudge_sends(case_id, attempt, channel, state, created_at, "
        "updated_at) "
        "SELECT id, 'x0', 'push', 'sent', 1, 1 FROM cases LIMIT 1");
  }));
  auto done = w.get("/");
  CHECK(done->body.find("id=\"getting-started\"") == std::string::npos);
}
