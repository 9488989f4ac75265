// Win-back across memberships (issue 10 item 3) through the real store and processor: Whop
// cancels a membership after failed renewals; the member buys the same product again and gets a
// new membership id. The old membership's case is recovered "rejoined" with the new payment's
// amount when the purchase is inside the window, in any arrival order; not for another product,
// another user, or after the window.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>

#include "domain/case_state.h"
#include "jobs/processor.h"
#include "store/cases.h"
#include "store/db.h"
#include "store/events.h"
#include "store/migrations.h"
#include "support/test_app.h"
#include "util/crypto.h"

using namespace cs;

namespace {

constexpr int64_t kDay = 86400000;
constexpr int64_t kT0 = 1767225600000;  // 2026-01-01

store::NewEvent event(std::string id, std::string type, int64_t t, std::string membership,
                      std::string user = "user_1", std::string product = "prod_1") {
  store::NewEvent e;
  e.webhook_id = std::move(id);
  e.type = std::move(type);
  e.event_time = t;
  e.received_at = t;
  e.membership_id = std::move(membership);
  e.user_id = std::move(user);
  e.product_id = std::move(product);
  e.payment_id = "pay_" + e.webhook_id;
  e.amount_cents = 4999;
  e.currency = "usd";
  return e;
}

struct Store {
  test::TempDir dir;
  std::unique_ptr<SQLite::Database> db;
  crypto::Keyring keys{{crypto::Key{1, std::string(32, 'k')}}};
  domain::RecoverySettings settings;
  Store() {
    db = store::open_connection(dir.file("w.db"), store::ConnectionRole::Writer);
    REQUIRE(store::migrate_up(*db));
  }
  void deliver(const store::NewEvent& e, int64_t now) {
    if (auto id = store::save_event(*db, e)) jobs::process_event(*db, keys, *id, settings, now);
  }
  store::CaseRow only_case(const std::string& membership) {
    auto rows = store::list_cases_for_membership(*db, membership);
    REQUIRE(rows.size() == 1);
    return rows[0];
  }
};

/// The old membership fails and is cancelled by Whop; `rejoin` is the new membership's event.
std::vector<store::NewEvent> lifecycle(const store::NewEvent& rejoin) {
  auto failed = event("f1", "payment.failed", kT0, "mem_old");
  failed.amount_cents = 2999;
  return {failed, event("f2", "payment.failed", kT0 + 3 * kDay, "mem_old"),
          event("d1", "membership.deactivated", kT0 + 5 * kDay, "mem_old"), rejoin};
}

}  // namespace

TEST_CASE(
    "win-back: a payment of a new membership of the same product recovers the old case as "
    "rejoined, in any arrival order") {
  const auto events = lifecycle(event("n1", "payment.succeeded", kT0 + 7 * kDay, "mem_new"));
  std::vector<int> order(events.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  int permutations = 0;
  do {
    Store s;
    for (int i : order) s.deliver(events[static_cast<size_t>(i)], kT0 + 8 * kDay);
    s.deliver(events[static_cast<size_t>(order[0])], kT0 + 8 * kDay);  // a duplicate delivery
    const auto c = s.only_case("mem_old");
    CHECK(c.status == domain::CaseStatus::Recovered);
    CHECK(c.resolution == domain::Resolution::Rejoined);
    CHECK(c.recovered_cents == 4999);
    CHECK(c.recovery_payment_id == "pay_n1");
    CHECK(c.resolved_at == kT0 + 7 * kDay);
    CHECK(domain::net_recovered_cents(c.status, c.recovered_cents, c.refunded_cents) == 4999);
    CHECK(store::list_cases_for_membership(*s.db, "mem_new").empty());  // no case for the new one
    // The scheduler's later re-fold (window passed) keeps it.
    jobs::refold_membership(*s.db, "mem_old", s.settings, kT0 + 40 * kDay);
    CHECK(s.only_case("mem_old").resolution == domain::Resolution::Rejoined);
    ++permutations;
  } while (std::next_permutation(order.begin(), order.end()));
  CHECK(permutations == 24);
}

TEST_CASE(
    "win-back: an activation of the new membership recovers; a refund of the new payment "
    "reduces recovered revenue") {
  Store s;
  for (const auto& e : lifecycle(event("a2", "membership.activated", kT0 + 6 * kDay, "mem_new"))) {
    s.deliver(e, kT0 + 6 * kDay);
  }
  CHECK(s.only_case("mem_old").resolution == domain::Resolution::Rejoined);
  CHECK(s.only_case("mem_old").recovered_cents == 0);
  s.deliver(event("n1", "payment.succeeded", kT0 + 6 * kDay + 60000, "mem_new"), kT0 + 7 * kDay);
  CHECK(s.only_case("mem_old").recovered_cents == 4999);
  auto refund = event("r1", "refund.created", kT0 + 9 * kDay, "mem_new", "", "");
  refund.payment_id = "pay_n1";
  refund.amount_cents = 1000;
  s.deliver(refund, kT0 + 9 * kDay);
  const auto c = s.only_case("mem_old");
  CHECK(c.refunded_cents == 1000);
  CHECK(domain::net_recovered_cents(c.status, c.recovered_cents, c.refunded_cents) == 3999);
}

TEST_CASE("no win-back for another product, another user, or after the window") {
  struct Variant {
    const char* name;
    store::NewEvent rejoin;
  };
  const Variant variants[] = {
      {"another product",
       event("n1", "payment.succeeded", kT0 + 7 * kDay, "mem_new", "user_1", "prod_other")},
      {"another user",
       event("n1", "payment.succeeded", kT0 + 7 * kDay, "mem_new", "user_other", "prod_1")},
      {"after the window", event("n1", "payment.succeeded", kT0 + 15 * kDay, "mem_new")},
      {"no product named",
       event("n1", "payment.succeeded", kT0 + 7 * kDay, "mem_new", "user_1", "")},
  };
  for (const auto& v : variants) {
    CAPTURE(v.name);
    Store s;
    for (const auto& e : lifecycle(v.rejoin)) s.deliver(e, kT0 + 16 * kDay);
    const auto c = s.only_case("mem_old");
    CHECK(c.status == domain::CaseStatus::Lost);
    CHECK(c.resolution == domain::Resolution::Deactivated);
    CHECK(c.recovered_cents == 0);
  }
}

TEST_CASE("property: win-back through the store is independent of arrival order and duplicates") {
  // Two memberships of one user and product (old and new), one of another product, one of
  // another user; random failures, payments, activations, deactivations and refunds.
  static const char* kTypes[] = {"payment.failed",         "payment.failed",
                                 "payment.succeeded",      "membership.activated",
                                 "membership.deactivated", "refund.created"};
  struct Member {
    const char* membership;
    const char* user;
    const char* product;
  };
  static const Member kMembers[] = {{"mem_old", "user_1", "prod_1"},
                                    {"mem_new", "user_1", "prod_1"},
                                    {"mem_prod", "user_1", "prod_2"},
                                    {"mem_user", "user_2", "prod_1"}};
  int rejoined = 0;
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    std::mt19937 rng(seed);
    std::vector<store::NewEvent> events;
    std::vector<std::string> paid;
    const int n = 6 + static_cast<int>(rng() % 10);
    for (int i = 0; i < n; ++i) {
      const Member& m = kMembers[rng() % 4];
      auto e =
          event("e" + std::to_string(i), kTypes[rng() % 6],
                kT0 + static_cast<int64_t>(rng() % (30 * kDay)), m.membership, m.user, m.product);
      e.amount_cents = 100 + static_cast<int64_t>(rng() % 9000);
      if (e.type == "payment.succeeded") paid.push_back(e.payment_id);
      if (e.type == "refund.created" && !paid.empty()) e.payment_id = paid[rng() % paid.size()];
      events.push_back(e);
    }
    const int64_t now = kT0 + 40 * kDay;
    auto snapshot = [&](const std::vector<store::NewEvent>& order) {
      Store s;
      for (const auto& e : order) s.deliver(e, now);
      std::vector<std::string> out;
      for (const Member& m : kMembers) {
        for (const auto& c : store::list_cases_for_membership(*s.db, m.membership)) {
          out.push_back(c.membership_id + " " + domain::status_name(c.status) + " " +
                        domain::resolution_name(c.resolution) + " " +
                        std::to_string(c.first_failure_at) + " " + std::to_string(c.failures) +
                        " " + std::to_string(c.recovered_cents) + " " + c.recovery_payment_id +
                        " " + std::to_string(c.refunded_cents));
          if (c.resolution == domain::Resolution::Rejoined) {
            ++rejoined;
            CHECK(c.membership_id != "mem_prod");  // nothing of its product was bought again
          }
        }
      }
      return out;
    };
    auto ordered = events;
    std::sort(ordered.begin(), ordered.end(),
              [](const auto& a, const auto& b) { return a.event_time < b.event_time; });
    const auto expected = snapshot(ordered);
    for (int p = 0; p < 3; ++p) {
      auto shuffled = events;
      shuffled.push_back(events[rng() % events.size()]);
      std::shuffle(shuffled.begin(), shuffled.end(), rng);
      const auto got = snapshot(shuffled);
      std::string diff;
      for (const auto& l : expected) diff += "  want " + l + "\n";
      for (const auto& l : got) diff += "  got  " + l + "\n";
      for (const auto& e : shuffled) {
        diff += "  ev " + e.webhook_id + " " + e.type + " " + e.membership_id + " " +
                std::to_string((e.event_time - kT0) / 3600000) + "h " + e.payment_id + "\n";
      }
      CHECK_MESSAGE(got == expected, "seed " << seed << "\n" << diff);
    }
  }
  CHECK(rejoined > 0);
}
