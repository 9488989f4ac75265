// Order independence through the real store and processor: random lifecycle streams of Whop
// events are stored and processed in random orders with duplicates; the cases must end exactly as
// when the same events arrive in order.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>

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

struct Ev {
  store::NewEvent row;
};

/// A random lifecycle for one or two memberships: failures, retries, recoveries, deactivations,
/// refunds, spread over ~50 days.
std::vector<store::NewEvent> random_stream(std::mt19937& rng, int n) {
  static const char* kTypes[] = {
      "payment.failed",       "payment.failed",         "payment.failed", "payment.succeeded",
      "membership.activated", "membership.deactivated", "refund.created", "payment.pending"};
  std::vector<store::NewEvent> out;
  std::uniform_int_distribution<int> type_d(0, 7), mem_d(0, 1), amt_d(500, 9999);
  std::uniform_int_distribution<int64_t> t_d(0, 50 * kDay);
  std::vector<std::string> succeeded_payments;
  for (int i = 0; i < n; ++i) {
    store::NewEvent e;
    e.webhook_id = "msg_" + std::to_string(i);
    e.type = kTypes[type_d(rng)];
    e.event_time = kT0 + t_d(rng);
    e.received_at = e.event_time;
    e.membership_id = mem_d(rng) ? "mem_A" : "mem_B";
    e.payment_id = "pay_" + std::to_string(i);
    e.amount_cents = amt_d(rng);
    e.currency = "usd";
    if (e.type == "payment.failed") e.failure_message = "declined " + std::to_string(i);
    if (e.type == "payment.succeeded") succeeded_payments.push_back(e.payment_id);
    if (e.type == "refund.created") {
      e.payment_id = succeeded_payments.empty() ? "pay_none" : succeeded_payments.back();
    }
    out.push_back(e);
  }
  return out;
}

/// Stores and processes `events` one by one (each processed right after it arrives, as the queue
/// would), then returns the final cases without their random ids and bookkeeping times.
std::vector<std::string> run(const std::vector<store::NewEvent>& events, int64_t now) {
  test::TempDir dir;
  auto db = store::open_connection(dir.file("p.db"), store::ConnectionRole::Writer);
  REQUIRE(store::migrate_up(*db));
  crypto::Keyring keys({crypto::Key{1, std::string(32, 'k')}});
  domain::RecoverySettings policy;
  for (const auto& e : events) {
    auto id = store::save_event(*db, e);
    if (id) jobs::process_event(*db, keys, *id, policy, now);
  }
  std::vector<std::string> out;
  for (const char* m : {"mem_A", "mem_B"}) {
    for (const auto& c : store::list_cases_for_membership(*db, m)) {
      out.push_back(c.membership_id + " " + domain::status_name(c.status) + " " +
                    domain::resolution_name(c.resolution) + " " +
                    std::to_string(c.first_failure_at) + " " + std::to_string(c.last_failure_at) +
                    " " + std::to_string(c.failures) + " " + std::to_string(c.amount_due_cents) +
                    " " + c.failure_message + " " + std::to_string(c.resolved_at.value_or(-1)) +
                    " " + std::to_string(c.recovered_cents) + " " + c.recovery_payment_id + " " +
                    std::to_string(c.refunded_cents));
    }
  }
  return out;
}

}  // namespace

TEST_CASE("cases end the same whatever the arrival order, with duplicates") {
  const uint32_t base_seed = 20261120;
  int nontrivial = 0;
  for (uint32_t s = 0; s < 40; ++s) {
    uint32_t seed = base_seed + s;
    std::mt19937 rng(seed);
    auto events = random_stream(rng, 4 + static_cast<int>(rng() % 10));
    auto ordered = events;
    std::stable_sort(ordered.begin(), ordered.end(),
                     [](const auto& a, const auto& b) { return a.event_time < b.event_time; });
    int64_t now = kT0 + 80 * kDay;
    auto expected = run(ordered, now);
    if (!expected.empty()) ++nontrivial;
    for (int p = 0; p < 3; ++p) {
      auto shuffled = events;
      // Whop delivers at least once: repeat some events.
      for (int d = 0; d < 3; ++d) shuffled.push_back(events[rng() % events.size()]);
      std::shuffle(shuffled.begin(), shuffled.end(), rng);
      INFO("seed " << seed << " permutation " << p);
      CHECK(run(shuffled, now) == expected);
    }
  }
  CHECK(nontrivial > 20);
}

TEST_CASE(
    "an open case is lost once its window passes, and a late in-window payment still recovers it") {
  test::TempDir dir;
  auto db = store::open_connection(dir.file("p.db"), store::ConnectionRole::Writer);
  REQUIRE(store::migrate_up(*db));
  crypto::Keyring keys({crypto::Key{1, std::string(32, 'k')}});
  domain::RecoverySettings policy;
  store::NewEvent f;
  f.webhook_id = "msg_f";
  f.type = "payment.failed";
  f.event_time = kT0;
  f.received_at = kT0;
  f.membership_id = "mem_A";
  f.amount_cents = 2999;
  f.currency = "usd";
  jobs::process_event(*db, keys, *store::save_event(*db, f), policy, kT0);
  CHECK(store::list_cases_for_membership(*db, "mem_A")[0].status == domain::CaseStatus::Open);

  CHECK(jobs::refold_membership(*db, "mem_A", policy, kT0 + 15 * kDay) == 1);
  auto lost = store::list_cases_for_membership(*db, "mem_A")[0];
  CHECK(lost.status == domain::CaseStatus::Lost);
  CHECK(lost.resolution == domain::Resolution::Expired);

  // A payment made on day 13 but delivered late still counts: decisions use event time.
  store::NewEvent s = f;
  s.webhook_id = "msg_s";
  s.type = "payment.succeeded";
  s.event_time = kT0 + 13 * kDay;
  s.payment_id = "pay_s";
  jobs::process_event(*db, keys, *store::save_event(*db, s), policy, kT0 + 16 * kDay);
  auto rec = store::list_cases_for_membership(*db, "mem_A");
  REQUIRE(rec.size() == 1);
  CHECK(rec[0].id == lost.id);
  CHECK(rec[0].status == domain::CaseStatus::Recovered);
  CHECK(rec[0].recovered_cents == 2999);
  auto actions = store::list_actions_for_case(*db, rec[0].id);
  REQUIRE(actions.size() == 3);
  CHECK(actions[0].type == "case_opened");
  CHECK(actions[1].type == "case_lost");
  CHECK(actions[2].type == "case_recovered");
}
