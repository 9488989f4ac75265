// Kill switches (issue: webhook processing, scheduler, outbound notifications), each switched off
// by the environment (Config disable_*, i.e. CHURN_SAVER_DISABLE_*) and by the creator's settings,
// each on its own while the other parts keep working.
#include <doctest/doctest.h>

#include "test_engine_env.h"

using namespace cs;
using namespace cs::engine_test;

namespace {

int64_t events(Env& env) {
  return env.count_sql("SELECT count(*) FROM events");
}

/// Calls that would reach a member.
size_t outbound(Env& env) {
  return env.pushes() + env.dms() + env.whop.calls("POST", "/api/v1/dm_channels").size();
}

}  // namespace

TEST_CASE("processing switched off by the environment: events stored, cases after switching on") {
  Env env([](app::Config& c) { c.disable_processing = true; });
  CHECK_FALSE(env.a().settings().processing_enabled);
  REQUIRE(env.fail(kMembership, env.start) == 200);
  env.drain();
  CHECK(events(env) == 1);
  CHECK(env.cases().empty());
  CHECK(env.whop.calls().empty());
  // The event waits in the events table, pending (no job row, nothing spent).
  CHECK(env.count_sql("SELECT count(*) FROM events WHERE process_state = 'pending'") == 1);
  CHECK(env.jobs("process_event").empty());

  // Restart without the switch: the stored event is processed and the engine starts.
  env.open();
  env.clock.advance(61 * 1000);
  env.drain();
  auto c = env.only_case();
  CHECK(c.status == domain::CaseStatus::Open);
  CHECK(env.pushes() == 1);
  CHECK(env.dms() == 1);
  CHECK(env.whop.free_day_grants(kMembership) == std::vector<int>{3});
}

TEST_CASE("processing switched off in settings: no restart, and nudges keep going out") {
  Env env;
  REQUIRE(env.fail(kMembership, env.start) == 200);
  env.drain();
  auto c = env.only_case();
  REQUIRE(env.pushes() == 1);

  env.settings([](domain::RecoverySettings& s) { s.processing_enabled = false; });
  env.whop.put_membership(membership_json("mem_Late", env.start + 3 * kDay));
  REQUIRE(env.fail("mem_Late", env.start) == 200);
  env.drain();
  CHECK(events(env) == 2);
  CHECK(env.cases("mem_Late").empty());

  // The scheduler and notifications keep working for the case already open (day 2).
  env.clock.advance(2 * kDay);
  env.drain();
  CHECK(env.send_state(c.id, "1", "push") == "sent");
  CHECK(env.pushes() == 2);
  CHECK(env.cases("mem_Late").empty());

  env.settings([](domain::RecoverySettings& s) { s.processing_enabled = true; });
  env.clock.advance(61 * 1000);
  env.drain();
  auto late = env.only_case("mem_Late");
  CHECK(late.status == domain::CaseStatus::Open);
  // Two days late: day 0 skipped, the day-2 reminder sent.
  CHECK(env.send_state(late.id, "0", "push") == "skipped");
  CHECK(env.send_state(late.id, "1", "push") == "sent");
}

TEST_CASE("scheduler switched off by the environment: no nudges or incentives enqueued") {
  Env env([](app::Config& c) { c.disable_scheduler = true; });
  REQUIRE(env.fail(kMembership, env.start) == 200);
  env.drain();
  auto c = env.only_case();  // processing keeps working
  CHECK(c.status == domain::CaseStatus::Open);
  CHECK(env.a().scheduler().disabled());
  CHECK(env.jobs("nudge").empty());
  CHECK(env.jobs("incentive").empty());
  CHECK(env.whop.calls().empty());
  env.clock.advance(3 * kDay);
  env.drain();
  CHECK(env.whop.calls().empty());

  // Manual actions and notifications keep working.
  REQUIRE(env.a().engine().nudge_now(c.id).ok());
  env.drain();
  CHECK(env.pushes() == 1);
  CHECK(env.dms() == 1);

  // Switched on again (restart without it): day 3 sends the day-2 reminder, day 0 is skipped.
  env.open();
  env.drain();
  CHECK_FALSE(env.a().scheduler().disabled());
  CHECK(env.send_state(c.id, "0", "push") == "skipped");
  CHECK(env.send_state(c.id, "1", "push") == "sent");
  CHECK(env.pushes() == 2);
  CHECK(env.whop.free_day_grants(kMembership) == std::vector<int>{3});
}

TEST_CASE("scheduler switched off in settings, then on again") {
  Env env;
  env.settings([](domain::RecoverySettings& s) { s.scheduler_enabled = false; });
  REQUIRE(env.fail(kMembership, env.start) == 200);
  env.drain();
  auto c = env.only_case();
  CHECK(env.a().scheduler().run_once().disabled);
  CHECK(env.jobs("nudge").empty());
  CHECK(env.whop.calls().empty());

  env.settings([](domain::RecoverySettings& s) { s.scheduler_enabled = true; });
  env.drain();
  CHECK_FALSE(env.a().scheduler().disabled());
  CHECK(env.pushes() == 1);
  CHECK(env.dms() == 1);
  CHECK(env.send_state(c.id, "0", "push") == "sent");
  CHECK(env.whop.free_day_grants(kMembership) == std::vector<int>{3});
}

TEST_CASE("notifications switched off by the environment: nothing to members, free days still") {
  Env env([](app::Config& c) { c.disable_notifications = true; });
  REQUIRE(env.fail(kMembership, env.start) == 200);
  env.drain();
  auto c = env.only_case();
  CHECK(outbound(env) == 0);
  // The incentive is not a notification: it is granted.
  CHECK(env.whop.free_day_grants(kMembership) == std::vector<int>{3});
  CHECK(env.incentive_state(c.id) == "granted");
  env.clock.advance(kDay);
  env.drain();
  CHECK(outbound(env) == 0);

  // Switched on (restart): the reminder that was held back goes out.
  env.open();
  env.drain();
  CHECK(env.pushes() == 1);
  CHECK(env.dms() == 1);
  CHECK(env.send_state(c.id, "0", "push") == "sent");
  CHECK(env.whop.free_day_grants(kMembership) == std::vector<int>{3});
}

TEST_CASE("notifications switched off in settings: queued nudges are skipped, not sent") {
  Env env;
  REQUIRE(env.fail(kMembership, env.start) == 200);
  REQUIRE(env.process() == 1);             // processed: the T+0 nudge is queued
  REQUIRE(env.jobs("nudge").size() == 1);  // one job: push and DM
  auto c = env.only_case();

  env.settings([](domain::RecoverySettings& s) { s.notifications_enabled = false; });
  env.drain();
  CHECK(outbound(env) == 0);
  CHECK(env.send_state(c.id, "0", "push") == "skipped");
  CHECK(env.send_state(c.id, "0", "dm") == "skipped");
  auto skipped = env.actions(c.id, "nudge_skipped");
  REQUIRE(skipped.size() == 2);
  for (const auto& a : skipped) {
    CHECK(json::parse(a.metadata)["reason"] == "notifications_disabled");
  }
  CHECK(env.whop.free_day_grants(kMembership) == std::vector<int>{3});

  // Still off at day 3: nothing. Switched on: only the latest overdue reminder (day 2) goes out.
  env.clock.advance(3 * kDay);
  env.drain();
  CHECK(outbound(env) == 0);
  env.settings([](domain::RecoverySettings& s) { s.notifications_enabled = true; });
  env.drain();
  CHECK(env.pushes() == 1);
  CHECK(env.dms() == 1);
  CHECK(env.send_state(c.id, "1", "push") == "sent");
  CHECK(env.send_state(c.id, "0", "push") == "skipped");  // never sent late
}
