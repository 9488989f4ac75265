// The closed state types of a case: one string mapping each (what the store writes and reads),
// net recovered revenue and the actions a case allows.
#include <doctest/doctest.h>

#include "domain/case_state.h"
#include "domain/recovery.h"

using namespace cs::domain;

TEST_CASE("case state names map both ways, and the names retention and erasure write are known") {
  for (auto s :
       {CaseStatus::Open, CaseStatus::Recovered, CaseStatus::Lost, CaseStatus::Cancelled}) {
    CHECK(status_from_name(status_name(s)) == s);
  }
  for (auto r : {Resolution::None, Resolution::Payment, Resolution::Activation,
                 Resolution::Deactivated, Resolution::Expired, Resolution::Admin, Resolution::Stale,
                 Resolution::Erased, Resolution::PeriodEnd}) {
    CHECK(resolution_from_name(resolution_name(r)) == r);
  }
  CHECK(resolution_from_name("stale") == Resolution::Stale);
  CHECK(resolution_from_name("erased") == Resolution::Erased);
  for (auto s : {SendState::Sending, SendState::Sent, SendState::Failed, SendState::Unknown,
                 SendState::Skipped}) {
    CHECK(send_state_from_name(send_state_name(s)) == s);
  }
  for (auto s : {IncentiveState::None, IncentiveState::Pending, IncentiveState::Queued,
                 IncentiveState::Granting, IncentiveState::Granted, IncentiveState::Failed,
                 IncentiveState::Off}) {
    CHECK(incentive_state_from_name(incentive_state_name(s)) == s);
  }
  CHECK_FALSE(status_from_name("Open"));
  CHECK_FALSE(send_state_from_name(""));
}

TEST_CASE("net recovered revenue counts recovered cases only, less refunds, never below zero") {
  CHECK(net_recovered_cents(CaseStatus::Recovered, 2999, 0) == 2999);
  CHECK(net_recovered_cents(CaseStatus::Recovered, 2999, 1000) == 1999);
  CHECK(net_recovered_cents(CaseStatus::Recovered, 2999, 5000) == 0);
  CHECK(net_recovered_cents(CaseStatus::Open, 2999, 0) == 0);
  CHECK(net_recovered_cents(CaseStatus::Lost, 2999, 0) == 0);
  CHECK(net_recovered_cents(CaseStatus::Cancelled, 2999, 0) == 0);
}

TEST_CASE("only an open case can be nudged or cancelled") {
  CHECK(allowed_actions(CaseStatus::Open, Resolution::None).nudge);
  CHECK(allowed_actions(CaseStatus::Open, Resolution::None).cancel);
  for (auto s : {CaseStatus::Recovered, CaseStatus::Lost, CaseStatus::Cancelled}) {
    CHECK_FALSE(allowed_actions(s, Resolution::Expired).nudge);
    CHECK_FALSE(allowed_actions(s, Resolution::Expired).cancel);
  }
}

TEST_CASE("Whop's membership is cancelled or ended only where that still means something") {
  auto can = [](CaseStatus s, Resolution r) {
    auto a = allowed_actions(s, r);
    return std::pair{a.cancel_at_period_end, a.terminate};
  };
  using P = std::pair<bool, bool>;
  CHECK(can(CaseStatus::Open, Resolution::None) == P{true, true});
  // The member paid: neither is offered.
  CHECK(can(CaseStatus::Recovered, Resolution::Payment) == P{false, false});
  CHECK(can(CaseStatus::Recovered, Resolution::Activation) == P{false, false});
  // Whop already ended it, or the member's data is gone.
  CHECK(can(CaseStatus::Lost, Resolution::Deactivated) == P{false, false});
  CHECK(can(CaseStatus::Cancelled, Resolution::Erased) == P{false, false});
  // No payment in the window, or only the nudges were stopped: the membership may run on.
  CHECK(can(CaseStatus::Lost, Resolution::Expired) == P{true, true});
  CHECK(can(CaseStatus::Lost, Resolution::Stale) == P{true, true});
  CHECK(can(CaseStatus::Cancelled, Resolution::Admin) == P{true, true});
  // Already ending at period end: only ending it now is left.
  CHECK(can(CaseStatus::Cancelled, Resolution::PeriodEnd) == P{false, true});
}

TEST_CASE("may_contact: stop when paid or not open, wait for pending events and backlogs") {
  const int64_t day = 86400000, now = 100 * day, first = now - 10 * day;
  using V = ContactVerdict;
  // Nothing stored but the failure, processed on time: go.
  std::vector<StoredEvent> ev = {{EventKind::PaymentFailed, first, first + 1000, true}};
  CHECK(may_contact(CaseStatus::Open, ContactGroup::Nudged, first, ev, now).verdict == V::Go);
  CHECK(may_contact(CaseStatus::Recovered, ContactGroup::Nudged, first, ev, now).verdict ==
        V::Stop);
  CHECK(may_contact(CaseStatus::Cancelled, ContactGroup::Nudged, first, ev, now).reason ==
        "case_cancelled");
  // A payment at or after the first failure, processed or not: the member paid.
  auto paid = ev;
  paid.push_back({EventKind::PaymentSucceeded, first + 2 * day, now, false});
  CHECK(may_contact(CaseStatus::Open, ContactGroup::Nudged, first, paid, now).verdict == V::Stop);
  CHECK(may_contact(CaseStatus::Open, ContactGroup::Nudged, first, paid, now).reason == "paid");
  // A payment before the failure is an earlier renewal.
  auto before = ev;
  before.push_back({EventKind::PaymentSucceeded, first - day, first - day, true});
  CHECK(may_contact(CaseStatus::Open, ContactGroup::Nudged, first, before, now).verdict == V::Go);
  // An event not processed yet: wait.
  auto pending = ev;
  pending.push_back({EventKind::Other, now, now, false});
  CHECK(may_contact(CaseStatus::Open, ContactGroup::Nudged, first, pending, now).verdict ==
        V::Wait);
  // A late arrival (10 days old, received now): wait until it settles, then go.
  std::vector<StoredEvent> backlog = {{EventKind::PaymentFailed, first, now, true}};
  auto d = may_contact(CaseStatus::Open, ContactGroup::Nudged, first, backlog, now);
  CHECK(d.verdict == V::Wait);
  CHECK(d.reason == "backlog_settling");
  CHECK(d.retry_at == now + ContactPolicy{}.settle_ms);
  CHECK(may_contact(CaseStatus::Open, ContactGroup::Nudged, first, backlog, d.retry_at).verdict ==
        V::Go);
  // The creator's own "Nudge now" does not wait out the backlog, but every other check holds.
  CHECK(
      may_contact(CaseStatus::Open, ContactGroup::Nudged, first, backlog, now, contact_policy(true))
          .verdict == V::Go);
  CHECK(may_contact(CaseStatus::Open, ContactGroup::Nudged, first, backlog, now,
                    contact_policy(false))
            .verdict == V::Wait);
  CHECK(may_contact(CaseStatus::Open, ContactGroup::Nudged, first, paid, now, contact_policy(true))
            .verdict == V::Stop);
  CHECK(
      may_contact(CaseStatus::Open, ContactGroup::Nudged, first, pending, now, contact_policy(true))
          .verdict == V::Wait);
}

TEST_CASE("may_contact and allowed_actions: a holdout case is never contacted, whoever asks") {
  const int64_t day = 86400000, now = 100 * day, first = now - day;
  std::vector<StoredEvent> ev = {{EventKind::PaymentFailed, first, first + 1000, true}};
  for (bool creator : {false, true}) {
    auto d = may_contact(CaseStatus::Open, ContactGroup::Holdout, first, ev, now,
                         contact_policy(creator));
    CHECK(d.verdict == ContactVerdict::Stop);
    CHECK(d.reason == "holdout");
  }
  CHECK(allowed_actions(CaseStatus::Open, Resolution::None, false).nudge);
  CHECK_FALSE(allowed_actions(CaseStatus::Open, Resolution::None, true).nudge);
  // Stopping nudges or ending the membership is still the creator's choice.
  CHECK(allowed_actions(CaseStatus::Open, Resolution::None, true).cancel);
  CHECK(allowed_actions(CaseStatus::Open, Resolution::None, true).terminate);
}
