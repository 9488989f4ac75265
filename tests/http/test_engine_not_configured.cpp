// Not configured is not dead (issue 10 item 8): with no Whop API key the nudge and incentive jobs
// of a new case wait (visible on the jobs page and in /api/health), and run once the creator
// configures the key through the settings service, while the case is still inside its window.
#include <doctest/doctest.h>

#include "domain/setting_rules.h"
#include "service/settings.h"
#include "test_engine_env.h"

using namespace cs;
using namespace cs::engine_test;

namespace {

void no_api_key(app::Config& c) {
  c.whop_api_key = "";
}

/// The creator enters the API key on the settings page (the same service the form calls).
void configure_key(Env& env) {
  domain::ConnectionInput in;
  in.api_key = "key_test";
  in.company_id = kCompany;
  in.experience_id = kExperience;
  in.public_url = kPublicUrl;
  auto change = service::save_connection(env.a().services(), in);
  REQUIRE(change.errors.empty());
  REQUIRE(change.failure.empty());
}

}  // namespace

TEST_CASE("no API key: nudge and incentive jobs wait (never dead), then run once the key is set") {
  Env env(no_api_key);
  REQUIRE(env.fail(kMembership, env.clock.now_ms()) == 200);
  env.drain();
  env.clock.advance(2 * 60 * 1000);
  env.drain();

  // Nothing reached Whop, nothing is dead: the jobs wait for the key and say so.
  CHECK(env.pushes() == 0);
  CHECK(env.dms() == 0);
  CHECK(env.free_day_calls() == 0);
  CHECK(env.count_sql("SELECT count(*) FROM jobs WHERE state = 'dead'") == 0);
  const int64_t waiting = env.count_sql(
      "SELECT count(*) FROM jobs WHERE state = 'queued' AND last_error = "
      "'waiting for Whop API key'");
  CHECK(waiting >= 2);  // the nudge(s) and the incentive

  auto health = env.app->client().Get("/api/health");
  REQUIRE(health);
  auto h = json::parse(health->body);
  CHECK(h["whop"]["jobs_waiting_for_api_key"] == waiting);
  CHECK(h["whop"]["waiting"] == "waiting for Whop API key");

  const auto c = env.only_case();
  CHECK(c.status == domain::CaseStatus::Open);

  // The creator connects Whop: the waiting jobs run at once.
  configure_key(env);
  env.drain();
  CHECK(env.pushes() == 1);
  CHECK(env.dms() == 1);
  CHECK(env.free_day_calls() == 1);
  CHECK(env.count_sql("SELECT count(*) FROM jobs WHERE state = 'dead'") == 0);
  CHECK(env.count_sql("SELECT count(*) FROM jobs WHERE last_error = 'waiting for Whop API key' "
                      "AND state = 'queued'") == 0);
}

TEST_CASE("no API key until after the window: the waiting nudge is skipped, nothing is sent") {
  Env env(no_api_key);
  REQUIRE(env.fail(kMembership, env.clock.now_ms()) == 200);
  env.drain();
  CHECK(env.count_sql("SELECT count(*) FROM jobs WHERE state = 'dead'") == 0);
  // The window passes; the scheduler closes the case as expired.
  env.clock.advance(15 * kDay);
  env.a().scheduler().run_once();
  env.drain();
  CHECK(env.only_case().status == domain::CaseStatus::Lost);
  configure_key(env);
  env.drain();
  env.clock.advance(kDay);
  env.a().scheduler().run_once();
  env.drain();
  CHECK(env.pushes() == 0);
  CHECK(env.dms() == 0);
  CHECK(env.free_day_calls() == 0);
  CHECK(env.count_sql("SELECT count(*) FROM jobs WHERE state IN ('queued', 'dead')") == 0);
}
