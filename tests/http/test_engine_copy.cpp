// Copy per step and failure kind (issue 10 item 7) through the real engine and the fake Whop: each
// nudge carries its step's words, the final notice names the deadline, and a failure kind's own
// copy wins over the step's.
#include <doctest/doctest.h>

#include "domain/copy.h"
#include "test_engine_env.h"

using namespace cs;
using namespace cs::engine_test;

namespace {

std::vector<json> bodies(Env& env, const char* path) {
  std::vector<json> out;
  for (const auto& c : env.whop.calls("POST", path)) out.push_back(json::parse(c.body));
  return out;
}

}  // namespace

TEST_CASE(
    "copy per step: first notice, reminder, then the final notice with the deadline and "
    "free days") {
  Env env;
  env.settings([](domain::RecoverySettings& s) {
    s.reminder_offsets_days = {0, 2, 4};
    s.incentive_days = 3;
    // The creator's own final DM for an expired card; the push keeps the step's default.
    s.copy.by_category[{domain::FailureCategory::ExpiredCard, domain::NudgeStep::Final}] = {
        "", "",
        "{{name}}, your card expired. {{#incentive_days}}Your {{incentive_days}} free days end "
        "soon; {{/incentive_days}}Whop cancels on {{deadline}}: {{manage_url}}"};
  });
  auto spec = Env::spec(kMembership, env.start);
  spec.failure_message = "Your card has expired.";
  REQUIRE(env.deliver(test::FakeWhop::payment_event("payment.failed", spec)) == 200);
  env.drain();
  const std::string deadline = domain::format_deadline(env.start);
  auto c = env.only_case();

  auto pushes = bodies(env, "/api/v1/notifications");
  auto dms = bodies(env, "/api/v1/messages");
  REQUIRE(pushes.size() == 1);
  REQUIRE(dms.size() == 1);
  CHECK(pushes[0]["title"] == "Your Pickaxe Analytics payment didn't go through");
  std::string first_dm = dms[0]["content"];
  CHECK(first_dm.find("**3 free days**") != std::string::npos);
  CHECK(first_dm.find("**" + deadline + "**") != std::string::npos);
  CHECK(first_dm.find(std::string(kPublicUrl) + "/r/") != std::string::npos);

  env.clock.advance(2 * kDay);
  env.drain();
  pushes = bodies(env, "/api/v1/notifications");
  dms = bodies(env, "/api/v1/messages");
  REQUIRE(pushes.size() == 2);
  CHECK(pushes[1]["title"] == "Reminder: update your card for Pickaxe Analytics");
  CHECK(dms[1]["content"].get<std::string>().find("a quick reminder") != std::string::npos);

  env.clock.advance(2 * kDay);
  env.drain();
  pushes = bodies(env, "/api/v1/notifications");
  dms = bodies(env, "/api/v1/messages");
  REQUIRE(pushes.size() == 3);
  REQUIRE(dms.size() == 3);
  CHECK(pushes[2]["title"] == "Last reminder: Pickaxe Analytics ends on " + deadline);
  CHECK(pushes[2]["content"].get<std::string>().find("cancels your membership on " + deadline) !=
        std::string::npos);
  std::string final_dm = dms[2]["content"];
  CHECK(final_dm.rfind("John, your card expired. Your 3 free days end soon; Whop cancels on " +
                           deadline + ": " + kPublicUrl + "/r/",
                       0) == 0);
  CHECK(env.send_state(c.id, "2", "dm") == "sent");
}

TEST_CASE("copy per step: with free days off, the incentive sentences drop out") {
  Env env;
  env.settings([](domain::RecoverySettings& s) { s.incentive_days = 0; });
  REQUIRE(env.fail(kMembership, env.start) == 200);
  env.drain();
  auto dms = bodies(env, "/api/v1/messages");
  REQUIRE(dms.size() == 1);
  std::string dm = dms[0]["content"];
  CHECK(dm.find("free days") == std::string::npos);
  CHECK(dm.find("{{") == std::string::npos);
  CHECK(dm.find(domain::format_deadline(env.start)) != std::string::npos);
}
