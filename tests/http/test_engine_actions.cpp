// The creator's manual actions on a case (nudge now, cancel case, cancel membership at period end,
// terminate now) and reconciliation of what the webhooks missed, against the fake Whop.
#include <doctest/doctest.h>

#include "test_engine_env.h"

using namespace cs;
using namespace cs::engine_test;

namespace {

size_t count_actor(const std::vector<store::Action>& actions, const std::string& actor) {
  size_t n = 0;
  for (const auto& a : actions) n += a.actor == actor ? 1 : 0;
  return n;
}

/// The `data` of a v1 payment event: what GET /payments returns for that payment.
json payment_object(const std::string& type, const test::FakeWhop::PaymentSpec& spec) {
  return test::FakeWhop::payment_event(type, spec)["data"];
}

}  // namespace

TEST_CASE("manual actions: nudge now, cancel membership, terminate, cancel case; audit as admin") {
  Env env;
  REQUIRE(env.fail(kMembership, env.start) == 200);
  env.drain();
  auto c = env.only_case();
  REQUIRE(env.pushes() == 1);
  REQUIRE(env.dms() == 1);

  // Nudge now: one more push and DM, named m1, actor admin.
  env.clock.advance(3600 * 1000);
  REQUIRE(env.a().engine().nudge_now(c.id).ok());
  env.drain();
  CHECK(env.pushes() == 2);
  CHECK(env.dms() == 2);
  CHECK(env.whop.calls("POST", "/api/v1/dm_channels").size() == 1);  // the channel is reused
  for (const auto& s : env.sends(c.id)) {
    if (s.attempt != "m1") continue;
    CHECK(s.state == domain::SendState::Sent);
    CHECK(s.actor == "admin");
  }
  CHECK(env.send_state(c.id, "m1", "push") == "sent");
  CHECK(env.send_state(c.id, "m1", "dm") == "sent");
  auto requested = env.actions(c.id, "nudge_requested");
  REQUIRE(requested.size() == 1);
  CHECK(requested[0].actor == "admin");
  CHECK(count_actor(env.actions(c.id, "nudge_sent"), "admin") == 2);

  // A second one is a new nudge (m2); with DM switched off it goes to the enabled channel only.
  env.settings([](domain::RecoverySettings& s) { s.dm_enabled = false; });
  REQUIRE(env.a().engine().nudge_now(c.id).ok());
  env.drain();
  CHECK(env.pushes() == 3);
  CHECK(env.dms() == 2);
  CHECK(env.send_state(c.id, "m2", "push") == "sent");
  CHECK(env.send_state(c.id, "m2", "dm") == "");
  env.settings([](domain::RecoverySettings& s) {
    s.dm_enabled = false;
    s.push_enabled = false;
  });
  auto none = env.a().engine().nudge_now(c.id);
  CHECK_FALSE(none.ok());
  env.settings([](domain::RecoverySettings& s) {
    s.dm_enabled = true;
    s.push_enabled = true;
  });

  // Cancel at period end, then terminate now: the fake receives both modes.
  REQUIRE(env.a().engine().cancel_at_period_end(c.id).ok());
  env.drain();
  auto cancels =
      env.whop.calls("POST", "/api/v1/memberships/" + std::string(kMembership) + "/cancel");
  REQUIRE(cancels.size() == 1);
  CHECK(json::parse(cancels[0].body)["cancellation_mode"] == "at_period_end");
  CHECK(cancels[0].status == 200);
  CHECK((*env.whop.membership(kMembership))["cancel_at_period_end"] == true);
  // The same request twice is refused (it is queued or done already).
  auto twice = env.a().engine().cancel_at_period_end(c.id);
  CHECK_FALSE(twice.ok());

  REQUIRE(env.a().engine().terminate_now(c.id).ok());
  env.drain();
  cancels = env.whop.calls("POST", "/api/v1/memberships/" + std::string(kMembership) + "/cancel");
  REQUIRE(cancels.size() == 2);
  CHECK(json::parse(cancels[1].body)["cancellation_mode"] == "immediate");
  CHECK((*env.whop.membership(kMembership))["status"] == "canceled");

  auto cancel_requests = env.actions(c.id, "membership_cancel_requested");
  REQUIRE(cancel_requests.size() == 2);
  auto cancelled = env.actions(c.id, "membership_cancelled");
  REQUIRE(cancelled.size() == 2);
  CHECK(json::parse(cancelled[0].metadata)["mode"] == "at_period_end");
  CHECK(json::parse(cancelled[1].metadata)["mode"] == "immediate");
  CHECK(count_actor(cancel_requests, "admin") == 2);
  CHECK(count_actor(cancelled, "admin") == 2);
  CHECK(env.all_done());

  // Cancel at period end already stopped the case: nudging stops.
  CHECK_FALSE(env.a().engine().cancel_case(c.id).ok());
  auto after = env.only_case();
  CHECK(after.status == domain::CaseStatus::Cancelled);
  CHECK(after.resolution == domain::Resolution::PeriodEnd);
  auto case_cancelled = env.actions(c.id, "case_cancelled");
  REQUIRE(case_cancelled.size() == 1);
  CHECK(case_cancelled[0].actor == "admin");
  const size_t pushes = env.pushes(), dms = env.dms();
  env.clock.advance(6 * kDay);
  env.drain();
  CHECK(env.pushes() == pushes);
  CHECK(env.dms() == dms);

  // Errors: a case that is not open cannot be nudged or cancelled; unknown cases are refused.
  auto nudge = env.a().engine().nudge_now(c.id);
  REQUIRE_FALSE(nudge.ok());
  CHECK(nudge.error().find("cancelled") != std::string::npos);
  CHECK_FALSE(env.a().engine().cancel_case(c.id).ok());
  CHECK_FALSE(env.a().engine().nudge_now("nope").ok());
  for (auto st :
       {env.a().engine().cancel_case("nope"), env.a().engine().cancel_at_period_end("nope"),
        env.a().engine().terminate_now("nope")}) {
    CHECK_FALSE(st.ok());
  }
  CHECK(env.pushes() == pushes);
}

TEST_CASE("manual actions on a recovered case, and a cancel Whop refuses") {
  Env env;
  REQUIRE(env.fail(kMembership, env.start) == 200);
  env.drain();
  auto spec = Env::spec(kMembership, env.start + 3600 * 1000, "pay_Paid");
  env.clock.advance(2 * 3600 * 1000);
  REQUIRE(env.deliver(test::FakeWhop::payment_event("payment.succeeded", spec)) == 200);
  env.drain();
  auto c = env.only_case();
  REQUIRE(c.status == domain::CaseStatus::Recovered);
  auto nudge = env.a().engine().nudge_now(c.id);
  REQUIRE_FALSE(nudge.ok());
  CHECK(nudge.error().find("recovered") != std::string::npos);
  CHECK_FALSE(env.a().engine().cancel_case(c.id).ok());
  CHECK(env.only_case().status == domain::CaseStatus::Recovered);
  env.drain();
  CHECK(env.pushes() == 1);

  // A membership Whop does not know: the cancel is refused (404), not retried, and audited.
  env.clock.advance(3600 * 1000);
  REQUIRE(env.fail("mem_Gone", env.clock.now_ms()) == 200);
  env.drain();
  auto gone = env.only_case("mem_Gone");
  REQUIRE(env.a().engine().terminate_now(gone.id).ok());
  env.drain();
  auto calls = env.whop.calls("POST", "/api/v1/memberships/mem_Gone/cancel");
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].status == 404);
  auto failed = env.actions(gone.id, "membership_cancel_failed");
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].actor == "admin");
  CHECK(json::parse(failed[0].metadata)["status"] == 404);
  auto cancel_jobs = env.jobs("whop_cancel");
  REQUIRE(cancel_jobs.size() == 1);
  CHECK(cancel_jobs[0].state == "dead");
}

TEST_CASE("reconciliation: dropped webhooks still open and recover the case, without doubles") {
  Env env({}, /*put_default_membership=*/false);
  const int64_t t_fail = env.start - 3600 * 1000;

  // Whop knows a failed payment (and the membership is past due); no webhook ever arrived.
  auto failed_spec = Env::spec("mem_Rec1", t_fail, "pay_Rec1");
  failed_spec.user_id = "user_Rec1";
  json past_due = membership_json("mem_Rec1", env.start + 3 * kDay, "past_due", "user_Rec1");
  past_due["updated_at"] = domain::format_iso8601_ms(t_fail);
  env.whop.put_membership(past_due);
  env.whop.put_payment(payment_object("payment.failed", failed_spec));

  auto r1 = env.a().reconciler().run_once();
  CHECK(r1.error == "");
  CHECK(r1.payments_seen == 1);
  CHECK(r1.memberships_seen == 1);
  // One event: the past_due membership is the same failure as the payment just added.
  CHECK(r1.events_added == 1);
  env.drain();
  // Reconciled events arrive late: contact waits for the rest of the backlog (domain::may_contact).
  env.clock.advance(domain::ContactPolicy{}.settle_ms);
  env.drain();
  auto c = env.only_case("mem_Rec1");
  CHECK(c.status == domain::CaseStatus::Open);
  CHECK(c.first_failure_at == t_fail);
  CHECK(c.failures == 1);
  CHECK(env.pushes() == 1);  // the T+0 nudge went out as for a webhook
  CHECK(env.dms() == 1);

  // The member pays; the webhook is dropped again. Reconciliation recovers the case.
  env.clock.advance(3600 * 1000);
  auto paid_spec = Env::spec("mem_Rec1", env.clock.now_ms() - 60 * 1000, "pay_Rec1Paid");
  paid_spec.user_id = "user_Rec1";
  env.whop.put_payment(payment_object("payment.succeeded", paid_spec));
  past_due["status"] = "active";
  past_due["updated_at"] = domain::format_iso8601_ms(env.clock.now_ms() - 60 * 1000);
  env.whop.put_membership(past_due);
  auto r2 = env.a().reconciler().run_once();
  CHECK(r2.error == "");
  CHECK(r2.payments_seen == 1);  // only what changed since the cursor
  CHECK(r2.events_added == 1);
  env.drain();
  c = env.only_case("mem_Rec1");
  CHECK(c.status == domain::CaseStatus::Recovered);
  CHECK(c.recovered_cents == 2999);
  CHECK(c.recovery_payment_id == "pay_Rec1Paid");
  CHECK(c.failures == 1);

  // A past_due membership with no case and no payment we know of opens one.
  json silent = membership_json("mem_Rec2", env.start + 3 * kDay, "past_due", "user_Rec2");
  silent["updated_at"] = domain::format_iso8601_ms(env.start - 2 * 3600 * 1000);
  env.whop.put_membership(silent);
  auto r3 = env.a().reconciler().run_once();
  CHECK(r3.events_added == 1);
  env.drain();
  // Reconciled events arrive late: contact waits for the rest of the backlog (domain::may_contact).
  env.clock.advance(domain::ContactPolicy{}.settle_ms);
  env.drain();
  auto c2 = env.only_case("mem_Rec2");
  CHECK(c2.status == domain::CaseStatus::Open);
  CHECK(c2.failures == 1);
  CHECK(c2.first_failure_at == env.start - 2 * 3600 * 1000);
  CHECK(env.whop.free_day_grants("mem_Rec2") == std::vector<int>{3});

  // A webhook that did arrive is not added again when reconciliation sees the same payment.
  env.clock.advance(60 * 1000);
  auto hooked = Env::spec("mem_Rec3", env.clock.now_ms(), "pay_Rec3");
  hooked.user_id = "user_Rec3";
  env.whop.put_membership(
      membership_json("mem_Rec3", env.start + 3 * kDay, "past_due", "user_Rec3"));
  REQUIRE(env.deliver(test::FakeWhop::payment_event("payment.failed", hooked)) == 200);
  env.drain();
  env.whop.put_payment(payment_object("payment.failed", hooked));
  auto r4 = env.a().reconciler().run_once();
  CHECK(r4.payments_seen == 1);
  CHECK(r4.events_added == 0);
  env.drain();
  CHECK(env.only_case("mem_Rec3").failures == 1);

  // Running reconciliation again adds nothing.
  const int64_t events = env.count_sql("SELECT count(*) FROM events");
  for (int i = 0; i < 2; ++i) {
    auto again = env.a().reconciler().run_once();
    CHECK(again.error == "");
    CHECK(again.events_added == 0);
  }
  env.drain();
  CHECK(env.count_sql("SELECT count(*) FROM events") == events);
  CHECK(env.cases("mem_Rec1").size() == 1);
  CHECK(env.cases("mem_Rec2").size() == 1);
  CHECK(env.only_case("mem_Rec2").failures == 1);
}

// The same payment attempt arrives twice: from reconciliation, then as the late webhook.
TEST_CASE("reconciliation: a late webhook for a reconciled payment is not a second failure") {
  Env env({}, /*put_default_membership=*/false);
  const int64_t t_fail = env.start - 3600 * 1000;
  auto failed_spec = Env::spec("mem_Rec1", t_fail, "pay_Rec1");
  failed_spec.user_id = "user_Rec1";
  env.whop.put_membership(
      membership_json("mem_Rec1", env.start + 3 * kDay, "past_due", "user_Rec1"));
  env.whop.put_payment(payment_object("payment.failed", failed_spec));
  REQUIRE(env.a().reconciler().run_once().events_added == 1);
  env.drain();
  // Reconciled events arrive late: contact waits for the rest of the backlog (domain::may_contact).
  env.clock.advance(domain::ContactPolicy{}.settle_ms);
  env.drain();
  REQUIRE(env.only_case("mem_Rec1").failures == 1);

  // The dropped webhook turns up late: same payment, same time. It is stored (a new webhook id)
  // but must not count as a second failure.
  REQUIRE(env.deliver(test::FakeWhop::payment_event("payment.failed", failed_spec)) == 200);
  env.drain();
  auto c = env.only_case("mem_Rec1");
  CHECK(c.failures == 1);
  CHECK(c.first_failure_at == t_fail);
  CHECK(env.pushes() == 1);
}
