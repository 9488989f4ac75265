// The recovery engine's full path against the fake Whop as a real server: a failed payment leads
// to a T+0 push and DM carrying a working tracked link, one free-days grant, a T+2 reminder, and
// recovery stops the nudges.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "domain/time.h"
#include "store/cases.h"
#include "store/engine.h"
#include "support/fake_whop.h"
#include "support/test_app.h"

using namespace cs;
using nlohmann::json;

namespace {

constexpr int64_t kDay = 86400000;

json membership(const std::string& id, int64_t renewal_end_ms) {
  return {{"id", id},
          {"status", "past_due"},
          {"manage_url", "https://whop.com/billing/manage/" + id},
          {"renewal_period_end", domain::format_iso8601_ms(renewal_end_ms)},
          {"updated_at", domain::format_iso8601_ms(renewal_end_ms)},
          {"user", {{"id", "user_Qa12Ws34Ed56R"}, {"username", "johndoe42"}}},
          {"company", {{"id", "biz_Qw12Er34Ty56Ui"}}}};
}

struct Env {
  int64_t start = static_cast<int64_t>(std::time(nullptr)) * 1000;
  ManualClock clock{start};
  test::FakeWhop whop{test::kTestSecret, "key_test"};
  std::unique_ptr<test::TestApp> app;
  explicit Env(std::function<void(app::Config&)> extra = {}) {
    test::TestApp::Options o;
    o.clock = &clock;
    o.configure = [&, extra](app::Config& c) {
      c.whop_api_base = whop.api_base();
      c.whop_api_key = "key_test";
      c.whop_company_id = "biz_Qw12Er34Ty56Ui";
      c.whop_experience_id = "exp_Test123";
      c.public_url = "https://recover.example.com";
      if (extra) extra(c);
    };
    app = std::make_unique<test::TestApp>(o);
    whop.set_webhook_target(app->webhook_url());
    whop.put_membership(membership("mem_Zx12Cv34Bn56Ml", start + 3 * kDay));
  }
  /// Delivers a webhook signed at the app's (manual) time.
  int deliver(const json& ev) {
    test::DeliveryOptions o;
    o.timestamp_offset_s = (clock.now_ms() / 1000) - std::time(nullptr);
    return whop.deliver(ev, o).status;
  }
};

}  // namespace

TEST_CASE("full path: fail, T+0 push and DM with a tracked link, free days once, T+2, paid, stop") {
  Env env;
  test::FakeWhop::PaymentSpec spec;
  spec.time_ms = env.start;
  REQUIRE(env.deliver(test::FakeWhop::payment_event("payment.failed", spec)) == 200);
  env.app->drain();

  auto pushes = env.whop.calls("POST", "/api/v1/notifications");
  auto dms = env.whop.calls("POST", "/api/v1/messages");
  REQUIRE(pushes.size() == 1);
  REQUIRE(dms.size() == 1);
  auto push = json::parse(pushes[0].body);
  CHECK(push["experience_id"] == "exp_Test123");
  CHECK(push["user_ids"] == json::array({"user_Qa12Ws34Ed56R"}));
  std::string content = push["content"];
  CHECK(content.find("John") != std::string::npos);
  CHECK(content.find("$29.99") != std::string::npos);
  auto link_at = content.find("https://recover.example.com/r/");
  REQUIRE(link_at != std::string::npos);
  std::string token = content.substr(link_at + 30, 32);
  CHECK(json::parse(dms[0].body)["content"].get<std::string>().find(token) != std::string::npos);
  CHECK(env.whop.free_day_grants("mem_Zx12Cv34Bn56Ml") == std::vector<int>{3});

  // The tracked link records the click and redirects to the member's manage page.
  auto c = env.app->client();
  auto r = c.Get("/r/" + token);
  REQUIRE(r);
  CHECK(r->status == 302);
  CHECK(r->get_header_value("Location") == "https://whop.com/billing/manage/mem_Zx12Cv34Bn56Ml");
  CHECK(c.Get("/r/0123456789abcdef0123456789abcdef")->status == 404);

  // Day 1: nothing new. Day 2: the second reminder on both channels.
  env.clock.advance(1 * kDay);
  env.app->drain();
  CHECK(env.whop.calls("POST", "/api/v1/notifications").size() == 1);
  env.clock.advance(1 * kDay);
  env.app->drain();
  CHECK(env.whop.calls("POST", "/api/v1/notifications").size() == 2);
  CHECK(env.whop.calls("POST", "/api/v1/messages").size() == 2);
  CHECK(env.whop.calls("POST", "/api/v1/dm_channels").size() == 1);  // the channel is reused

  // Day 3: the member pays; the case is recovered and day 4's reminder never goes out.
  env.clock.advance(1 * kDay);
  spec.payment_id = "pay_PAID";
  spec.time_ms = env.clock.now_ms();
  REQUIRE(env.deliver(test::FakeWhop::payment_event("payment.succeeded", spec)) == 200);
  env.app->drain();
  env.clock.advance(5 * kDay);
  env.app->drain();
  CHECK(env.whop.calls("POST", "/api/v1/notifications").size() == 2);
  CHECK(env.whop.calls("POST", "/api/v1/messages").size() == 2);
  CHECK(env.whop.free_day_grants("mem_Zx12Cv34Bn56Ml").size() == 1);

  auto db = env.app->app().reads().lease();
  auto cases = store::list_cases_for_membership(*db, "mem_Zx12Cv34Bn56Ml");
  REQUIRE(cases.size() == 1);
  CHECK(cases[0].status == domain::CaseStatus::Recovered);
  auto sends = store::list_sends_for_case(*db, cases[0].id);
  CHECK(sends.size() == 4);
  for (const auto& s : sends) CHECK(s.state == domain::SendState::Sent);
}
