// Recovery against Whop's real lifecycle (issue 10): nothing is sent to a member who already paid,
// whatever order and speed the events arrive in. The real app (store, engine, scheduler and job
// workers running in the background) on a manual clock, the fake Whop as the API.
#include <chrono>
#include <thread>

#include "test_engine_env.h"

using namespace cs;
using namespace cs::engine_test;

namespace {

/// Waits (real time, bounded) until `done` holds: the app's background workers run meanwhile.
bool eventually(const std::function<bool()>& done, int max_ms = 15000) {
  for (int waited = 0; waited < max_ms; waited += 20) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

/// Calls at the fake Whop that message a member, grant free days or read a membership.
size_t member_calls(Env& env) {
  size_t n = env.pushes() + env.dms() + env.whop.calls("POST", "/api/v1/dm_channels").size();
  for (const auto& c : env.whop.calls()) {
    if (c.path.rfind("/api/v1/memberships/", 0) == 0) ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("a member who already paid gets nothing: bursts of an old failure and its payment") {
  Env env;
  env.open([](app::Config& c) { c.scheduler_interval_s = 0.02; }, true);
  const int64_t now = env.clock.now_ms();
  constexpr int kMembers = 25;
  std::vector<std::string> members;
  for (int i = 0; i < kMembers; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "mem_Burst%07d", i);
    members.push_back(id);
    env.whop.put_membership(
        membership_json(id, now + 20 * kDay, "active", "user_" + members.back().substr(4)));
  }
  // Each member: payment.failed from 10 days ago, then (within the same second) the payment that
  // settled it 8 days ago, as a webhook backlog after an outage delivers them.
  for (const auto& m : members) {
    auto failed = Env::spec(m, now - 10 * kDay, "pay_F" + m.substr(4));
    failed.user_id = "user_" + m.substr(4);
    REQUIRE(env.deliver(test::FakeWhop::payment_event("payment.failed", failed)) == 200);
    auto paid = Env::spec(m, now - 8 * kDay, "pay_S" + m.substr(4));
    paid.user_id = failed.user_id;
    REQUIRE(env.deliver(test::FakeWhop::payment_event("payment.succeeded", paid)) == 200);
  }
  auto all_recovered = [&] {
    for (const auto& m : members) {
      auto cs = env.cases(m);
      if (cs.size() != 1 || cs[0].status != domain::CaseStatus::Recovered) return false;
    }
    return env.count_sql("SELECT count(*) FROM events WHERE process_state = 'pending'") == 0;
  };
  CHECK(eventually(all_recovered));
  CHECK(member_calls(env) == 0);
  // Later, well past any settling period: the scheduler and workers still send nothing.
  env.clock.advance(5 * 60 * 1000);
  env.a().scheduler().wake();
  CHECK(eventually([&] { return env.all_done("nudge") && env.all_done("incentive"); }));
  CHECK(member_calls(env) == 0);
  CHECK(env.pushes() == 0);
  CHECK(env.dms() == 0);
  for (const auto& m : members) CHECK(env.free_day_calls(m) == 0);
}

TEST_CASE("cancel at period end, by the member's event or the creator's action, stops recovery") {
  Env env;
  const int64_t now = env.clock.now_ms();
  // The member's choice arrives right after the failure: nothing is sent, no free days.
  REQUIRE(env.fail(kMembership, now) == 200);
  REQUIRE(env.deliver(test::FakeWhop::membership_event("membership.cancel_at_period_end_changed",
                                                       kMembership, kUser, now + 1000)) == 200);
  env.drain();
  auto c = env.only_case();
  CHECK(c.status == domain::CaseStatus::Cancelled);
  CHECK(c.resolution == domain::Resolution::PeriodEnd);
  env.clock.advance(5 * kDay);
  env.drain();
  CHECK(env.pushes() == 0);
  CHECK(env.dms() == 0);
  CHECK(env.free_day_calls() == 0);

  // The creator's action on another member's open case: the next reminders never go out.
  const std::string other = "mem_Other1234567";
  env.whop.put_membership(
      membership_json(other, env.clock.now_ms() + 3 * kDay, "past_due", "user_Other1234567"));
  REQUIRE(env.fail(other, env.clock.now_ms()) == 200);
  env.drain();
  auto o = env.only_case(other);
  REQUIRE(o.status == domain::CaseStatus::Open);
  const size_t pushes = env.pushes(), dms = env.dms();
  REQUIRE(env.a().engine().cancel_at_period_end(o.id).ok());
  env.drain();
  o = env.only_case(other);
  CHECK(o.status == domain::CaseStatus::Cancelled);
  CHECK(o.resolution == domain::Resolution::PeriodEnd);
  env.clock.advance(6 * kDay);
  env.drain();
  CHECK(env.pushes() == pushes);
  CHECK(env.dms() == dms);
}
