// The recovery fold (src/domain/recovery.h): each rule on its own, assign_cases, and a property
// test that the fold is independent of fact order and duplicates.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "domain/recovery.h"

using cs::domain::assign_cases;
using cs::domain::CaseStatus;
using cs::domain::Episode;
using cs::domain::EventKind;
using cs::domain::ExistingCase;
using cs::domain::Fact;
using cs::domain::fold_membership;
using cs::domain::RecoveryPolicy;
using cs::domain::Resolution;
using cs::domain::resolution_name;
using cs::domain::status_from_name;
using cs::domain::status_name;

namespace {

constexpr int64_t kHour = 3600LL * 1000;
constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kWindow = 14 * kDay;
constexpr int64_t kT0 = 1767225600000;  // 2026-01-01T00:00:00Z

Fact fact(std::string id, EventKind kind, int64_t time_ms) {
  Fact f;
  f.id = std::move(id);
  f.kind = kind;
  f.time_ms = time_ms;
  return f;
}

Fact failed(std::string id, int64_t t, int64_t amount = 2999, std::string message = "declined") {
  Fact f = fact(std::move(id), EventKind::PaymentFailed, t);
  f.payment_id = "pay_fail";
  f.amount_cents = amount;
  f.currency = "usd";
  f.failure_message = std::move(message);
  return f;
}

Fact paid(std::string id, int64_t t, std::string payment_id, std::optional<int64_t> amount) {
  Fact f = fact(std::move(id), EventKind::PaymentSucceeded, t);
  f.payment_id = std::move(payment_id);
  f.amount_cents = amount;
  f.currency = "usd";
  return f;
}

Fact activated(std::string id, int64_t t) {
  return fact(std::move(id), EventKind::MembershipActivated, t);
}

Fact deactivated(std::string id, int64_t t) {
  return fact(std::move(id), EventKind::MembershipDeactivated, t);
}

Fact reversal(std::string id, EventKind kind, int64_t t, std::string payment_id,
              std::optional<int64_t> amount) {
  Fact f = fact(std::move(id), kind, t);
  f.payment_id = std::move(payment_id);
  f.amount_cents = amount;
  return f;
}

std::vector<Episode> fold(std::vector<Fact> facts, int64_t now_ms) {
  return fold_membership(std::move(facts), RecoveryPolicy{}, now_ms);
}

/// Every field of an episode, for failure messages and comparison.
std::string describe(const Episode& e) {
  std::ostringstream out;
  out << "{first=" << e.first_failure_at << " last=" << e.last_failure_at
      << " failures=" << e.failures << " due=" << e.amount_due_cents << " " << e.currency
      << " msg='" << e.failure_message << "' status=" << status_name(e.status)
      << " resolution=" << resolution_name(e.resolution)
      << " resolved_at=" << (e.resolved_at ? std::to_string(*e.resolved_at) : "none")
      << " recovered=" << e.recovered_cents << " by='" << e.recovery_payment_id
      << "' refunded=" << e.refunded_cents << "}";
  return out.str();
}

/// Field-by-field equality of two fold results.
bool same_episodes(const std::vector<Episode>& a, const std::vector<Episode>& b) {
  const auto fields = [](const Episode& e) {
    return std::tie(e.first_failure_at, e.last_failure_at, e.failures, e.amount_due_cents,
                    e.currency, e.failure_message, e.status, e.resolution, e.resolved_at,
                    e.recovered_cents, e.recovery_payment_id, e.refunded_cents);
  };
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [&](const Episode& x, const Episode& y) { return fields(x) == fields(y); });
}

std::string describe(const std::vector<Episode>& episodes) {
  std::string out = "[";
  for (const Episode& e : episodes) out += describe(e) + "\n";
  return out + "]";
}

}  // namespace

// --- names ---------------------------------------------------------------------------------------

TEST_CASE("status and resolution names") {
  for (CaseStatus s :
       {CaseStatus::Open, CaseStatus::Recovered, CaseStatus::Lost, CaseStatus::Cancelled}) {
    CHECK(status_from_name(status_name(s)) == s);
  }
  CHECK(std::string(status_name(CaseStatus::Cancelled)) == "cancelled");
  CHECK_FALSE(status_from_name("Open").has_value());
  CHECK_FALSE(status_from_name("").has_value());
  CHECK(std::string(resolution_name(Resolution::None)).empty());
  CHECK(std::string(resolution_name(Resolution::Payment)) == "payment");
  CHECK(std::string(resolution_name(Resolution::Activation)) == "activation");
  CHECK(std::string(resolution_name(Resolution::Deactivated)) == "deactivated");
  CHECK(std::string(resolution_name(Resolution::Expired)) == "expired");
  CHECK(std::string(resolution_name(Resolution::Admin)) == "admin");
  CHECK(std::string(resolution_name(Resolution::Rejoined)) == "rejoined");
  CHECK(cs::domain::resolution_from_name("rejoined") == Resolution::Rejoined);
}

// --- the rules one by one ------------------------------------------------------------------------

TEST_CASE("a failure opens an episode") {
  const auto eps = fold({failed("f1", kT0)}, kT0 + kDay);
  REQUIRE(eps.size() == 1);
  const Episode& e = eps[0];
  CHECK(e.first_failure_at == kT0);
  CHECK(e.last_failure_at == kT0);
  CHECK(e.failures == 1);
  CHECK(e.amount_due_cents == 2999);
  CHECK(e.currency == "usd");
  CHECK(e.failure_message == "declined");
  CHECK(e.status == CaseStatus::Open);
  CHECK(e.resolution == Resolution::None);
  CHECK_FALSE(e.resolved_at.has_value());
  CHECK(e.recovered_cents == 0);
  CHECK(e.recovery_payment_id.empty());
  CHECK(e.refunded_cents == 0);
}

TEST_CASE("further failures inside the window extend the episode") {
  Fact second = failed("f2", kT0 + 2 * kDay, 3499, "expired card");
  Fact third = failed("f3", kT0 + 3 * kDay, 0, "");
  third.amount_cents.reset();  // lacks amount and message: the previous ones stay
  third.currency.clear();
  const auto eps = fold({failed("f1", kT0), second, third}, kT0 + 4 * kDay);
  REQUIRE(eps.size() == 1);
  CHECK(eps[0].failures == 3);
  CHECK(eps[0].first_failure_at == kT0);
  CHECK(eps[0].last_failure_at == kT0 + 3 * kDay);
  CHECK(eps[0].amount_due_cents == 3499);
  CHECK(eps[0].currency == "usd");
  CHECK(eps[0].failure_message == "expired card");
  CHECK(eps[0].status == CaseStatus::Open);
}

TEST_CASE("a payment inside the window recovers, with its amount") {
  const auto eps =
      fold({failed("f1", kT0), paid("s1", kT0 + 3 * kDay, "pay_2", 2999)}, kT0 + 30 * kDay);
  REQUIRE(eps.size() == 1);
  CHECK(eps[0].status == CaseStatus::Recovered);
  CHECK(eps[0].resolution == Resolution::Payment);
  CHECK(eps[0].resolved_at == kT0 + 3 * kDay);
  CHECK(eps[0].recovered_cents == 2999);
  CHECK(eps[0].recovery_payment_id == "pay_2");
}

TEST_CASE("recovery by activation, then the payment amount is recorded") {
  SUBCASE("activation alone") {
    const auto eps = fold({failed("f1", kT0), activated("a1", kT0 + kDay)}, kT0 + 30 * kDay);
    REQUIRE(eps.size() == 1);
    CHECK(eps[0].status == CaseStatus::Recovered);
    CHECK(eps[0].resolution == Resolution::Activation);
    CHECK(eps[0].resolved_at == kT0 + kDay);
    CHECK(eps[0].recovered_cents == 0);
    CHECK(eps[0].recovery_payment_id.empty());
  }
  SUBCASE("activation then payment in the window") {
    const auto eps = fold({failed("f1", kT0), activated("a1", kT0 + kDay),
                           paid("s1", kT0 + kDay + kHour, "pay_2", 2999)},
                          kT0 + 30 * kDay);
    REQUIRE(eps.size() == 1);
    CHECK(eps[0].status == CaseStatus::Recovered);
    CHECK(eps[0].resolution == Resolution::Payment);
    CHECK(eps[0].resolved_at == kT0 + kDay);  // stays at the activation
    CHECK(eps[0].recovered_cents == 2999);
    CHECK(eps[0].recovery_payment_id == "pay_2");
  }
  SUBCASE("activation then payment after the window: not recorded") {
    const auto eps = fold({failed("f1", kT0), activated("a1", kT0 + kDay),
                           paid("s1", kT0 + 15 * kDay, "pay_2", 2999)},
                          kT0 + 30 * kDay);
    REQUIRE(eps.size() == 1);
    CHECK(eps[0].resolution == Resolution::Activation);
    CHECK(eps[0].recovered_cents == 0);
  }
  SUBCASE("a second payment after a payment recovery changes nothing") {
    const auto eps =
        fold({failed("f1", kT0), paid("s1", kT0 + kDay, "pay_2", 2999),
              paid("s2", kT0 + 2 * kDay, "pay_3", 5000), activated("a1", kT0 + 3 * kDay)},
             kT0 + 30 * kDay);
    REQUIRE(eps.size() == 1);
    CHECK(eps[0].resolved_at == kT0 + kDay);
    CHECK(eps[0].recovered_cents == 2999);
    CHECK(eps[0].recovery_payment_id == "pay_2");
  }
}

TEST_CASE("the attribution window: 13.9 days recovers, 14 days exactly recovers, 14.1 does not") {
  const int64_t now = kT0 + 30 * kDay;
  const auto at = [&](int64_t t) {
    return fold({failed("f1", kT0), paid("s1", kT0 + t, "pay_2", 2999)}, now);
  };
  const auto early = at(kWindow - kDay / 10);  // 13.9 days
  REQUIRE(early.size() == 1);
  CHECK(early[0].status == CaseStatus::Recovered);

  const auto boundary = at(kWindow);
  REQUIRE(boundary.size() == 1);
  CHECK(boundary[0].status == CaseStatus::Recovered);
  CHECK(boundary[0].resolved_at == kT0 + kWindow);

  const auto late = at(kWindow + kDay / 10);  // 14.1 days: an ordinary renewal
  REQUIRE(late.size() == 1);
  CHECK(late[0].status == CaseStatus::Lost);
  CHECK(late[0].resolution == Resolution::Expired);
  CHECK(late[0].resolved_at == kT0 + kWindow);
  CHECK(late[0].recovered_cents == 0);

  const auto one_ms_late = at(kWindow + 1);
  CHECK(one_ms_late[0].status == CaseStatus::Lost);
}

TEST_CASE("the window is measured from the first failure, not the latest") {
  const auto eps = fold({failed("f1", kT0), failed("f2", kT0 + 10 * kDay),
                         paid("s1", kT0 + 15 * kDay, "pay_2", 2999)},
                        kT0 + 30 * kDay);
  REQUIRE(eps.size() == 1);
  CHECK(eps[0].failures == 2);
  CHECK(eps[0].status == CaseStatus::Lost);
  CHECK(eps[0].resolution == Resolution::Expired);
}

TEST_CASE("a custom window from the policy") {
  RecoveryPolicy policy;
  policy.attribution_window_ms = 3 * kDay;
  const auto eps = fold_membership({failed("f1", kT0), paid("s1", kT0 + 4 * kDay, "pay_2", 100)},
                                   policy, kT0 + 5 * kDay);
  REQUIRE(eps.size() == 1);
  CHECK(eps[0].status == CaseStatus::Lost);
  CHECK(eps[0].resolved_at == kT0 + 3 * kDay);
}

TEST_CASE("deactivation inside the window loses the episode") {
  const auto eps = fold({failed("f1", kT0), deactivated("d1", kT0 + 5 * kDay)}, kT0 + 6 * kDay);
  REQUIRE(eps.size() == 1);
  CHECK(eps[0].status == CaseStatus::Lost);
  CHECK(eps[0].resolution == Resolution::Deactivated);
  CHECK(eps[0].resolved_at == kT0 + 5 * kDay);
}

TEST_CASE("deactivation after the window or after recovery changes nothing") {
  SUBCASE("after the window: still expires at the window end") {
    const auto eps = fold({failed("f1", kT0), deactivated("d1", kT0 + 20 * kDay)}, kT0 + 21 * kDay);
    REQUIRE(eps.size() == 1);
    CHECK(eps[0].resolution == Resolution::Expired);
    CHECK(eps[0].resolved_at == kT0 + kWindow);
  }
  SUBCASE("after recovery") {
    const auto eps = fold({failed("f1", kT0), paid("s1", kT0 + kDay, "pay_2", 2999),
                           deactivated("d1", kT0 + 2 * kDay)},
                          kT0 + 21 * kDay);
    REQUIRE(eps.size() == 1);
    CHECK(eps[0].status == CaseStatus::Recovered);
  }
}

TEST_CASE("success after deactivation within the window recovers") {
  SUBCASE("by payment") {
    const auto eps = fold({failed("f1", kT0), deactivated("d1", kT0 + 5 * kDay),
                           paid("s1", kT0 + 8 * kDay, "pay_2", 2999)},
                          kT0 + 30 * kDay);
    REQUIRE(eps.size() == 1);
    CHECK(eps[0].status == CaseStatus::Recovered);
    CHECK(eps[0].resolution == Resolution::Payment);
    CHECK(eps[0].resolved_at == kT0 + 8 * kDay);
    CHECK(eps[0].recovered_cents == 2999);
  }
  SUBCASE("by activation") {
    const auto eps = fold(
        {failed("f1", kT0), deactivated("d1", kT0 + 5 * kDay), activated("a1", kT0 + 6 * kDay)},
        kT0 + 30 * kDay);
    REQUIRE(eps.size() == 1);
    CHECK(eps[0].status == CaseStatus::Recovered);
    CHECK(eps[0].resolution == Resolution::Activation);
  }
  SUBCASE("but not after the window") {
    const auto eps = fold({failed("f1", kT0), deactivated("d1", kT0 + 5 * kDay),
                           paid("s1", kT0 + 15 * kDay, "pay_2", 2999)},
                          kT0 + 30 * kDay);
    REQUIRE(eps.size() == 1);
    CHECK(eps[0].status == CaseStatus::Lost);
    CHECK(eps[0].resolution == Resolution::Deactivated);
  }
}

TEST_CASE("an open episode expires once now passes the window end") {
  SUBCASE("at the window end exactly: still open") {
    const auto eps = fold({failed("f1", kT0)}, kT0 + kWindow);
    CHECK(eps[0].status == CaseStatus::Open);
  }
  SUBCASE("one millisecond later: lost, expired at the window end") {
    const auto eps = fold({failed("f1", kT0)}, kT0 + kWindow + 1);
    CHECK(eps[0].status == CaseStatus::Lost);
    CHECK(eps[0].resolution == Resolution::Expired);
    CHECK(eps[0].resolved_at == kT0 + kWindow);
  }
}

TEST_CASE("a failure after the window opens a new episode") {
  const auto eps = fold({failed("f1", kT0), failed("f2", kT0 + 15 * kDay, 4999, "stolen card")},
                        kT0 + 16 * kDay);
  REQUIRE(eps.size() == 2);
  CHECK(eps[0].status == CaseStatus::Lost);
  CHECK(eps[0].resolution == Resolution::Expired);
  CHECK(eps[0].resolved_at == kT0 + kWindow);
  CHECK(eps[0].failures == 1);
  CHECK(eps[1].status == CaseStatus::Open);
  CHECK(eps[1].first_failure_at == kT0 + 15 * kDay);
  CHECK(eps[1].failures == 1);
  CHECK(eps[1].amount_due_cents == 4999);
  CHECK(eps[1].failure_message == "stolen card");
}

TEST_CASE("a failure after recovery or loss opens a new episode") {
  SUBCASE("after recovery") {
    const auto eps = fold(
        {failed("f1", kT0), paid("s1", kT0 + kDay, "pay_2", 2999), failed("f2", kT0 + 3 * kDay)},
        kT0 + 4 * kDay);
    REQUIRE(eps.size() == 2);
    CHECK(eps[0].status == CaseStatus::Recovered);
    CHECK(eps[0].failures == 1);
    CHECK(eps[1].status == CaseStatus::Open);
    CHECK(eps[1].first_failure_at == kT0 + 3 * kDay);
  }
  SUBCASE("after deactivation; a later payment recovers only the new episode") {
    const auto eps = fold({failed("f1", kT0), deactivated("d1", kT0 + kDay),
                           failed("f2", kT0 + 2 * kDay), paid("s1", kT0 + 3 * kDay, "pay_2", 2999)},
                          kT0 + 4 * kDay);
    REQUIRE(eps.size() == 2);
    CHECK(eps[0].status == CaseStatus::Lost);
    CHECK(eps[0].resolution == Resolution::Deactivated);
    CHECK(eps[1].status == CaseStatus::Recovered);
    CHECK(eps[1].recovery_payment_id == "pay_2");
  }
}

TEST_CASE("ordinary renewals without a failure open nothing") {
  CHECK(fold({}, kT0).empty());
  CHECK(fold({paid("s1", kT0, "pay_1", 2999), activated("a1", kT0 + kDay),
              deactivated("d1", kT0 + 2 * kDay),
              reversal("r1", EventKind::Refund, kT0 + 3 * kDay, "pay_1", std::nullopt)},
             kT0 + 30 * kDay)
            .empty());
  SUBCASE("a payment before the first failure does not recover it") {
    const auto eps = fold({paid("s1", kT0 - kHour, "pay_1", 2999), failed("f1", kT0)}, kT0 + kDay);
    REQUIRE(eps.size() == 1);
    CHECK(eps[0].status == CaseStatus::Open);
  }
}

TEST_CASE("facts recovery ignores change nothing") {
  const std::vector<Fact> base = {failed("f1", kT0)};
  std::vector<Fact> noisy = base;
  noisy.push_back(fact("o1", EventKind::PaymentPending, kT0 + kHour));
  noisy.push_back(fact("o2", EventKind::MembershipCancelAtPeriodEndChanged, kT0 + kHour));
  noisy.push_back(fact("o3", EventKind::Other, kT0 + kHour));
  CHECK(describe(fold(noisy, kT0 + kDay)) == describe(fold(base, kT0 + kDay)));
}

TEST_CASE("same-time ties: failure before recovery before deactivation") {
  SUBCASE("failure and payment at the same instant: recovered") {
    const auto eps = fold({paid("s1", kT0, "pay_2", 2999), failed("f1", kT0)}, kT0 + kDay);
    REQUIRE(eps.size() == 1);
    CHECK(eps[0].status == CaseStatus::Recovered);
    CHECK(eps[0].resolved_at == kT0);
  }
  SUBCASE("payment and deactivation at the same instant: recovered") {
    const auto eps = fold(
        {deactivated("d1", kT0 + kDay), paid("s1", kT0 + kDay, "pay_2", 2999), failed("f1", kT0)},
        kT0 + 2 * kDay);
    REQUIRE(eps.size() == 1);
    CHECK(eps[0].status == CaseStatus::Recovered);
  }
  SUBCASE("failure at the recovery instant joins the recovered episode") {
    const auto eps =
        fold({failed("f1", kT0), paid("s1", kT0 + kDay, "pay_2", 2999), failed("f2", kT0 + kDay)},
             kT0 + 2 * kDay);
    REQUIRE(eps.size() == 1);
    CHECK(eps[0].failures == 2);
    CHECK(eps[0].status == CaseStatus::Recovered);
  }
}

TEST_CASE("refunds and disputes of the recovering payment reduce recovered revenue") {
  const std::vector<Fact> recovered = {failed("f1", kT0), paid("s1", kT0 + kDay, "pay_2", 2999)};
  const auto with = [&](std::vector<Fact> extra) {
    std::vector<Fact> facts = recovered;
    facts.insert(facts.end(), extra.begin(), extra.end());
    const auto eps = fold(facts, kT0 + 30 * kDay);
    REQUIRE(eps.size() == 1);
    CHECK(eps[0].status == CaseStatus::Recovered);  // a refund does not change the status
    CHECK(eps[0].recovered_cents == 2999);
    return eps[0].refunded_cents;
  };
  CHECK(with({}) == 0);
  CHECK(with({reversal("r1", EventKind::Refund, kT0 + 2 * kDay, "pay_2", 1000)}) == 1000);
  CHECK(with({reversal("r1", EventKind::Refund, kT0 + 2 * kDay, "pay_2", std::nullopt)}) == 2999);
  CHECK(with({reversal("r1", EventKind::Dispute, kT0 + 40 * kDay, "pay_2", std::nullopt)}) == 2999);
  CHECK(with({reversal("r1", EventKind::Refund, kT0 + 2 * kDay, "pay_2", 1000),
              reversal("r2", EventKind::Refund, kT0 + 3 * kDay, "pay_2", 1500)}) == 2500);
  CHECK(with({reversal("r1", EventKind::Refund, kT0 + 2 * kDay, "pay_2", 2000),
              reversal("r2", EventKind::Dispute, kT0 + 3 * kDay, "pay_2", 2000)}) == 2999);
  CHECK(with({reversal("r1", EventKind::Refund, kT0 + 2 * kDay, "pay_other", 1000)}) == 0);
  CHECK(with({reversal("r1", EventKind::Refund, kT0 + 2 * kDay, "", 1000)}) == 0);
  // A refund stamped before its payment (clock skew) still counts.
  CHECK(with({reversal("r1", EventKind::Refund, kT0 + kHour, "pay_2", 500)}) == 500);
  // The same refund delivered twice counts once.
  CHECK(with({reversal("r1", EventKind::Refund, kT0 + 2 * kDay, "pay_2", 1000),
              reversal("r1", EventKind::Refund, kT0 + 2 * kDay, "pay_2", 1000)}) == 1000);
}

TEST_CASE("a refund on an activation-recovered episode without a payment matches nothing") {
  const auto eps = fold({failed("f1", kT0), activated("a1", kT0 + kDay),
                         reversal("r1", EventKind::Refund, kT0 + 2 * kDay, "", std::nullopt)},
                        kT0 + 30 * kDay);
  REQUIRE(eps.size() == 1);
  CHECK(eps[0].refunded_cents == 0);
}

TEST_CASE("duplicates are ignored") {
  const Fact f1 = failed("f1", kT0);
  const auto once = fold({f1}, kT0 + kDay);
  const auto thrice = fold({f1, f1, f1}, kT0 + kDay);
  REQUIRE(thrice.size() == 1);
  CHECK(thrice[0].failures == 1);
  CHECK(describe(thrice) == describe(once));
  SUBCASE("same id with different contents: one survivor, whatever the order") {
    const Fact variant = failed("f1", kT0 + kHour, 5000);
    CHECK(describe(fold({f1, variant}, kT0 + kDay)) == describe(fold({variant, f1}, kT0 + kDay)));
    CHECK(fold({f1, variant}, kT0 + kDay)[0].failures == 1);
  }
  SUBCASE("facts without an id are only merged when identical") {
    const auto eps = fold({failed("", kT0), failed("", kT0), failed("", kT0 + kHour)}, kT0 + kDay);
    REQUIRE(eps.size() == 1);
    CHECK(eps[0].failures == 2);
  }
}

TEST_CASE("a late, reordered stream gives the ordered result") {
  const std::vector<Fact> ordered = {
      failed("f1", kT0),
      failed("f2", kT0 + 2 * kDay),
      paid("s1", kT0 + 4 * kDay, "pay_2", 2999),
      reversal("r1", EventKind::Refund, kT0 + 5 * kDay, "pay_2", 999),
      failed("f3", kT0 + 40 * kDay),
  };
  std::vector<Fact> reversed(ordered.rbegin(), ordered.rend());
  const auto a = fold(ordered, kT0 + 60 * kDay);
  const auto b = fold(reversed, kT0 + 60 * kDay);
  CHECK(describe(a) == describe(b));
  REQUIRE(a.size() == 2);
  CHECK(a[0].refunded_cents == 999);
  CHECK(a[1].status == CaseStatus::Lost);
  CHECK(a[1].resolution == Resolution::Expired);
}

// --- assign_cases --------------------------------------------------------------------------------

namespace {

std::vector<Episode> episodes_at(std::vector<int64_t> starts) {
  std::vector<Episode> out;
  for (int64_t t : starts) {
    Episode e;
    e.first_failure_at = t;
    e.last_failure_at = t;
    e.failures = 1;
    out.push_back(e);
  }
  return out;
}

}  // namespace

TEST_CASE("assign_cases") {
  const auto eps = episodes_at({kT0, kT0 + 20 * kDay, kT0 + 40 * kDay});
  using V = std::vector<std::string>;
  SUBCASE("no episodes") {
    CHECK(assign_cases({}, {{"c1", kT0}}).empty());
  }
  SUBCASE("no stored cases: all new") {
    CHECK(assign_cases(eps, {}) == V{"", "", ""});
  }
  SUBCASE("one case per episode, in any input order") {
    CHECK(assign_cases(eps, {{"c3", kT0 + 40 * kDay}, {"c1", kT0}, {"c2", kT0 + 20 * kDay}}) ==
          V{"c1", "c2", "c3"});
  }
  SUBCASE("a case inside an episode's cover, not at its start") {
    CHECK(assign_cases(eps, {{"c2", kT0 + 25 * kDay}}) == V{"", "c2", ""});
  }
  SUBCASE("a case at a cover boundary belongs to the later episode") {
    CHECK(assign_cases(eps, {{"c", kT0 + 20 * kDay}}) == V{"", "c", ""});
    CHECK(assign_cases(eps, {{"c", kT0 + 20 * kDay - 1}}) == V{"c", "", ""});
  }
  SUBCASE("cases before the first episode belong to the first") {
    CHECK(assign_cases(eps, {{"old", kT0 - 5 * kDay}}) == V{"old", "", ""});
  }
  SUBCASE("the last episode's cover is unbounded") {
    CHECK(assign_cases(eps, {{"late", kT0 + 400 * kDay}}) == V{"", "", "late"});
  }
  SUBCASE("several cases in one cover: the earliest wins") {
    CHECK(assign_cases(eps, {{"b", kT0 + 3 * kDay}, {"a", kT0 + kDay}, {"z", kT0 - kDay}}) ==
          V{"z", "", ""});
    CHECK(assign_cases(eps, {{"y", kT0}, {"x", kT0}}) == V{"x", "", ""});  // ties by id
  }
  SUBCASE("works with a real fold") {
    const auto folded = fold(
        {failed("f1", kT0), paid("s1", kT0 + kDay, "pay_2", 2999), failed("f2", kT0 + 3 * kDay)},
        kT0 + 4 * kDay);
    REQUIRE(folded.size() == 2);
    CHECK(assign_cases(folded, {{"case_a", kT0}}) == V{"case_a", ""});
  }
}

// --- property: order independence and duplicate-proofness ----------------------------------------

namespace {

/// A random lifecycle of one membership over up to ~60 days: failures with retries, successes,
/// activations, deactivations, refunds/disputes (mostly of payments that happened), noise, and
/// deliberate ties (same instant, window boundaries). Returned in time order of generation.
std::vector<Fact> random_stream(std::mt19937& rng) {
  std::uniform_int_distribution<int> count_dist(1, 40);
  std::uniform_int_distribution<int> kind_dist(0, 99);
  std::uniform_int_distribution<int64_t> step_dist(0, 3 * kDay);
  std::uniform_int_distribution<int> coin(0, 9);
  std::uniform_int_distribution<int64_t> amount_dist(0, 9999);
  std::vector<Fact> facts;
  std::vector<std::string> payments;
  std::vector<int64_t> failures;
  int64_t t = kT0;
  const int n = count_dist(rng);
  for (int i = 0; i < n && t < kT0 + 60 * kDay; ++i) {
    const int tie = coin(rng);
    if (tie == 0 && !failures.empty()) {
      t = std::max(t, failures.back() + kWindow);  // exactly on a window boundary
    } else if (tie > 2) {
      t += step_dist(rng);  // otherwise (tie 1..2) the same instant as the previous fact
    }
    const std::string id = "evt_" + std::to_string(i);
    const int k = kind_dist(rng);
    const std::optional<int64_t> amount =
        coin(rng) == 0 ? std::nullopt : std::optional<int64_t>(amount_dist(rng));
    if (k < 35) {
      Fact f = failed(id, t, amount.value_or(0), "msg" + std::to_string(coin(rng)));
      if (!amount) f.amount_cents.reset();
      failures.push_back(t);
      facts.push_back(f);
    } else if (k < 55) {
      const std::string pay = "pay_" + std::to_string(i);
      payments.push_back(pay);
      facts.push_back(paid(id, t, pay, amount));
    } else if (k < 65) {
      facts.push_back(activated(id, t));
    } else if (k < 75) {
      facts.push_back(deactivated(id, t));
    } else if (k < 90) {
      const std::string pay =
          payments.empty() || coin(rng) == 0 ? "pay_unknown" : payments[rng() % payments.size()];
      const EventKind kind = coin(rng) < 7 ? EventKind::Refund : EventKind::Dispute;
      facts.push_back(reversal(id, kind, t, pay, amount));
    } else {
      facts.push_back(fact(id, coin(rng) < 5 ? EventKind::PaymentPending : EventKind::Other, t));
    }
  }
  return facts;
}

/// `facts` shuffled, with a few random exact duplicates inserted.
std::vector<Fact> permute_with_duplicates(const std::vector<Fact>& facts, std::mt19937& rng) {
  std::vector<Fact> out = facts;
  const size_t extra = rng() % (facts.size() + 1);
  for (size_t i = 0; i < extra; ++i) out.push_back(facts[rng() % facts.size()]);
  std::shuffle(out.begin(), out.end(), rng);
  return out;
}

/// Structural invariants every fold result must satisfy; "" when they hold, else the first breach.
std::string invariant_breach(const std::vector<Episode>& eps) {
  for (size_t i = 0; i < eps.size(); ++i) {
    const Episode& e = eps[i];
    if (e.failures < 1) return "episode without failures";
    if (e.last_failure_at < e.first_failure_at) return "last failure before first";
    if (e.last_failure_at > e.first_failure_at + kWindow) return "failure outside its window";
    if (e.status == CaseStatus::Cancelled) return "fold produced Cancelled";
    if ((e.status == CaseStatus::Open) != (e.resolution == Resolution::None)) {
      return "status and resolution disagree";
    }
    if (e.status == CaseStatus::Open && e.resolved_at) return "open episode has resolved_at";
    if (e.status != CaseStatus::Open && !e.resolved_at) return "closed episode lacks resolved_at";
    if (e.resolved_at &&
        (*e.resolved_at < e.first_failure_at || *e.resolved_at > e.first_failure_at + kWindow)) {
      return "resolved outside the window";
    }
    if (e.refunded_cents < 0 || e.refunded_cents > std::max<int64_t>(0, e.recovered_cents)) {
      return "refunds exceed recovered revenue";
    }
    if (i > 0 && e.first_failure_at <= eps[i - 1].first_failure_at) return "episodes not ordered";
    if (i + 1 < eps.size() && e.status == CaseStatus::Open) return "open episode is not the last";
  }
  return "";
}

}  // namespace

TEST_CASE("property: the fold is independent of order and duplicates") {
  constexpr uint32_t kBaseSeed = 20261120;
  constexpr int kStreams = 500;
  constexpr int kPermutations = 10;
  int multi_episode_streams = 0;
  for (int s = 0; s < kStreams; ++s) {
    const uint32_t seed = kBaseSeed + static_cast<uint32_t>(s);
    std::mt19937 rng(seed);
    const std::vector<Fact> stream = random_stream(rng);
    const int64_t now = kT0 + static_cast<int64_t>(rng() % (80 * kDay));
    const auto expected = fold(stream, now);
    if (expected.size() > 1) ++multi_episode_streams;
    const std::string breach = invariant_breach(expected);
    CHECK_MESSAGE(breach.empty(), "seed " << seed << ": " << breach << "\n" << describe(expected));
    for (int p = 0; p < kPermutations; ++p) {
      const auto actual = fold(permute_with_duplicates(stream, rng), now);
      if (!same_episodes(expected, actual)) {
        FAIL_CHECK("seed " << seed << " permutation " << p << " differs\nordered:  "
                           << describe(expected) << "\npermuted: " << describe(actual));
        break;
      }
    }
  }
  // The generator must exercise the interesting paths, or the property proves little.
  CHECK(multi_episode_streams > kStreams / 10);
}

TEST_CASE("the same payment attempt under two ids (webhook and reconciliation) is one fact") {
  using namespace cs::domain;
  const int64_t t0 = 1767225600000;
  Fact webhook{"msg_A", EventKind::PaymentFailed, t0, "pay_1", 2999, "usd", "declined"};
  Fact reconciled{"recon_pay_1", EventKind::PaymentFailed, t0, "pay_1", 2999, "usd", "declined"};
  Fact retry{"msg_B", EventKind::PaymentFailed, t0 + 3600000, "pay_1", 2999, "usd", "declined"};
  for (auto facts : {std::vector<Fact>{webhook, reconciled, retry},
                     std::vector<Fact>{retry, reconciled, webhook}}) {
    auto eps = fold_membership(facts, RecoveryPolicy{}, t0 + 86400000);
    REQUIRE(eps.size() == 1);
    CHECK(eps[0].failures == 2);  // two attempts of pay_1, not three deliveries
  }
  Fact paid{"msg_C", EventKind::PaymentSucceeded, t0 + 7200000, "pay_2", 2999, "usd", ""};
  Fact paid_again{
      "recon_pay_2", EventKind::PaymentSucceeded, t0 + 7200000, "pay_2", 2999, "usd", ""};
  auto eps = fold_membership({webhook, paid, paid_again}, RecoveryPolicy{}, t0 + 86400000);
  REQUIRE(eps.size() == 1);
  CHECK(eps[0].status == CaseStatus::Recovered);
  CHECK(eps[0].recovered_cents == 2999);
}

// --- win-back: a new membership of the same product (issue 10 item 3) ---------------------------

namespace {

/// A payment or activation of another membership of the same user and product.
Fact rejoin(Fact f) {
  f.other_membership = true;
  return f;
}

}  // namespace

TEST_CASE("win-back: Whop cancelled, the member bought the same product again inside the window") {
  SUBCASE("a payment of the new membership recovers as rejoined, with its amount") {
    const auto eps = fold({failed("f1", kT0), deactivated("d1", kT0 + 5 * kDay),
                           rejoin(paid("n1", kT0 + 7 * kDay, "pay_new", 4999))},
                          kT0 + 30 * kDay);
    REQUIRE(eps.size() == 1);
    CHECK(eps[0].status == CaseStatus::Recovered);
    CHECK(eps[0].resolution == Resolution::Rejoined);
    CHECK(eps[0].resolved_at == kT0 + 7 * kDay);
    CHECK(eps[0].recovered_cents == 4999);
    CHECK(eps[0].recovery_payment_id == "pay_new");
  }
  SUBCASE("an activation of the new membership recovers; its later payment records the amount") {
    const auto eps = fold({failed("f1", kT0), deactivated("d1", kT0 + 5 * kDay),
                           rejoin(activated("a2", kT0 + 7 * kDay)),
                           rejoin(paid("n1", kT0 + 7 * kDay + kHour, "pay_new", 4999))},
                          kT0 + 30 * kDay);
    REQUIRE(eps.size() == 1);
    CHECK(eps[0].resolution == Resolution::Rejoined);
    CHECK(eps[0].resolved_at == kT0 + 7 * kDay);
    CHECK(eps[0].recovered_cents == 4999);
  }
  SUBCASE("a refund of the rejoin payment reduces recovered revenue") {
    const auto eps = fold({failed("f1", kT0), deactivated("d1", kT0 + 5 * kDay),
                           rejoin(paid("n1", kT0 + 7 * kDay, "pay_new", 4999)),
                           reversal("r1", EventKind::Refund, kT0 + 9 * kDay, "pay_new", 1000)},
                          kT0 + 30 * kDay);
    REQUIRE(eps.size() == 1);
    CHECK(eps[0].refunded_cents == 1000);
  }
  SUBCASE(
      "bought again while the old membership was still past due; Whop then retried and "
      "cancelled it: still rejoined, no new episode") {
    const auto eps = fold({failed("f1", kT0), rejoin(paid("n1", kT0 + 2 * kDay, "pay_new", 4999)),
                           failed("f2", kT0 + 3 * kDay), deactivated("d1", kT0 + 5 * kDay)},
                          kT0 + 30 * kDay);
    REQUIRE(eps.size() == 1);
    CHECK(eps[0].resolution == Resolution::Rejoined);
    CHECK(eps[0].failures == 2);
    CHECK(eps[0].recovered_cents == 4999);
  }
}

TEST_CASE("win-back does not count after the window, and never opens or expires episodes") {
  SUBCASE("after the window: the case stays lost") {
    const auto eps = fold({failed("f1", kT0), deactivated("d1", kT0 + 5 * kDay),
                           rejoin(paid("n1", kT0 + 16 * kDay, "pay_new", 4999))},
                          kT0 + 30 * kDay);
    REQUIRE(eps.size() == 1);
    CHECK(eps[0].status == CaseStatus::Lost);
    CHECK(eps[0].resolution == Resolution::Deactivated);
    CHECK(eps[0].recovered_cents == 0);
  }
  SUBCASE("a new membership's purchase before any failure is an ordinary purchase") {
    const auto eps =
        fold({rejoin(paid("n1", kT0 - kDay, "pay_new", 4999)), failed("f1", kT0)}, kT0 + kDay);
    REQUIRE(eps.size() == 1);
    CHECK(eps[0].status == CaseStatus::Open);
  }
  SUBCASE("rejoin facts alone open nothing; their refunds and failures are ignored") {
    Fact other_failure = rejoin(failed("f9", kT0));
    CHECK(fold({rejoin(paid("n1", kT0, "pay_new", 4999)), other_failure}, kT0 + kDay).empty());
  }
  SUBCASE("a case the own membership's payment recovered is not changed by a rejoin") {
    const auto eps = fold({failed("f1", kT0), paid("s1", kT0 + kDay, "pay_own", 2999),
                           rejoin(paid("n1", kT0 + 2 * kDay, "pay_new", 4999))},
                          kT0 + 30 * kDay);
    REQUIRE(eps.size() == 1);
    CHECK(eps[0].resolution == Resolution::Payment);
    CHECK(eps[0].recovered_cents == 2999);
  }
  SUBCASE("an expired case is not won back") {
    const auto eps = fold({failed("f1", kT0), rejoin(paid("n1", kT0 + 15 * kDay, "pay_new", 1))},
                          kT0 + 30 * kDay);
    REQUIRE(eps.size() == 1);
    CHECK(eps[0].resolution == Resolution::Expired);
  }
}

TEST_CASE(
    "property: win-back is independent of order and duplicates, and only rejoins recover "
    "as rejoined") {
  constexpr uint32_t kBaseSeed = 20261129;
  constexpr int kStreams = 400;
  int rejoined = 0;
  for (int s = 0; s < kStreams; ++s) {
    const uint32_t seed = kBaseSeed + static_cast<uint32_t>(s);
    std::mt19937 rng(seed);
    std::vector<Fact> own = random_stream(rng);
    // Mark a random share of the payments and activations as another membership's.
    std::vector<Fact> stream = own;
    std::vector<int64_t> rejoin_times;
    for (Fact& f : stream) {
      const bool signal =
          f.kind == EventKind::PaymentSucceeded || f.kind == EventKind::MembershipActivated;
      if (signal && rng() % 2 == 0) {
        f.other_membership = true;
        rejoin_times.push_back(f.time_ms);
      }
    }
    const int64_t now = kT0 + static_cast<int64_t>(rng() % (80 * kDay));
    const auto expected = fold(stream, now);
    const std::string breach = invariant_breach(expected);
    CHECK_MESSAGE(breach.empty(), "seed " << seed << ": " << breach << "\n" << describe(expected));
    for (const Episode& e : expected) {
      if (e.resolution != Resolution::Rejoined) continue;
      ++rejoined;
      // Resolved at the time of a rejoin fact inside its window.
      CHECK_MESSAGE(
          std::find(rejoin_times.begin(), rejoin_times.end(), *e.resolved_at) != rejoin_times.end(),
          "seed " << seed);
    }
    // Without the rejoin facts nothing is ever rejoined.
    std::vector<Fact> without;
    for (const Fact& f : stream) {
      if (!f.other_membership) without.push_back(f);
    }
    const auto plain = fold(without, now);
    for (const Episode& e : plain) CHECK(e.resolution != Resolution::Rejoined);
    // Rejoin facts never move episode boundaries (so stored cases never merge or split when a
    // purchase of a new membership arrives late).
    const auto bounds = [](const std::vector<Episode>& eps) {
      std::vector<std::tuple<int64_t, int64_t, int>> out;
      for (const Episode& e : eps)
        out.emplace_back(e.first_failure_at, e.last_failure_at, e.failures);
      return out;
    };
    CHECK_MESSAGE(bounds(plain) == bounds(expected), "seed " << seed << "\n"
                                                             << describe(expected) << "\n"
                                                             << describe(plain));
    for (int p = 0; p < 8; ++p) {
      const auto actual = fold(permute_with_duplicates(stream, rng), now);
      if (!same_episodes(expected, actual)) {
        FAIL_CHECK("seed " << seed << " permutation " << p << " differs\nordered:  "
                           << describe(expected) << "\npermuted: " << describe(actual));
        break;
      }
    }
  }
  CHECK(rejoined > kStreams / 10);  // the generator exercises the win-back path
}
