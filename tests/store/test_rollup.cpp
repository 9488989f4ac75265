// The overview's rollup (schema/0009_overview_rollup, store/rollup): after every step of random
// histories written through the real processor, engine and maintenance code (failures,
// recoveries, win-backs, refunds, disputes, late and out-of-order events, nudges, clicks, free
// days, cancellations, retention, erasure, deletions, cases learning their member), the rollup
// equals a recount of the cases and nudges made here with the domain's rules; every case's
// last_paid_at equals the latest payment this test stored for it (kept through retention and
// erasure); and the overview's figures read from it equal the figures counted case by case, for
// windows that do not start on a bucket and a zone with a +05:45 offset.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "domain/case_state.h"
#include "domain/rollup.h"
#include "jobs/processor.h"
#include "store/cases.h"
#include "store/dashboard.h"
#include "store/db.h"
#include "store/engine.h"
#include "store/events.h"
#include "store/maintenance.h"
#include "store/migrations.h"
#include "store/rollup.h"
#include "support/test_app.h"
#include "util/crypto.h"
#include "util/tz.h"

using namespace cs;

namespace {

constexpr int64_t kDay = 86400000;
constexpr int64_t kT0 = 1767225600000 + 7 * 60000;  // 2026-01-01 00:07 UTC: not on a bucket

struct CaseFacts {
  std::string id, currency;
  domain::CaseStatus status = domain::CaseStatus::Open;
  domain::Resolution resolution = domain::Resolution::None;
  std::string membership, user, product;
  std::optional<int64_t> last_paid;  // the test's own record (Payments), not the column
  int64_t first = 0, amount = 0, recovered = 0, refunded = 0;
  std::optional<int64_t> resolved, first_click;
  std::string incentive_state;
  int64_t incentive_days = 0;
  std::set<std::string> attempts;
  int channels = 0;
};

/// Every payment.succeeded this test stored, and the latest one credited to each case: a case is
/// credited, at every step, with the stored (not yet deleted) payments of its membership or of
/// its member and product, and keeps what it was credited with once they are deleted.
struct Payments {
  struct Paid {
    std::string webhook_id;  // (row ids of deleted events are used again)
    int64_t time = 0;
    std::string membership, user, product;
  };
  std::vector<Paid> stored;
  std::map<std::string, int64_t> credited;  // case id -> latest payment time

  void credit(SQLite::Database& db) {
    std::set<std::string> alive;
    SQLite::Statement e(db, "SELECT webhook_id FROM events");
    while (e.executeStep()) alive.insert(e.getColumn(0).getString());
    SQLite::Statement q(db, "SELECT id, membership_id, user_id, product_id FROM cases");
    while (q.executeStep()) {
      const std::string id = q.getColumn(0).getString(), m = q.getColumn(1).getString(),
                        u = q.getColumn(2).getString(), pr = q.getColumn(3).getString();
      for (const auto& p : stored) {
        if (!alive.count(p.webhook_id)) continue;
        const bool same_member = !u.empty() && !pr.empty() && p.user == u && p.product == pr;
        if (p.membership != m && !same_member) continue;
        auto [it, fresh] = credited.try_emplace(id, p.time);
        if (!fresh) it->second = std::max(it->second, p.time);
      }
    }
  }
};

std::vector<CaseFacts> read_cases(SQLite::Database& db, const Payments& paid) {
  std::map<std::string, CaseFacts> by_id;
  SQLite::Statement q(db,
                      "SELECT id, status, first_failure_at, currency, amount_due_cents, "
                      "recovered_cents, refunded_cents, resolved_at, first_click_at, "
                      "incentive_state, incentive_days, resolution, membership_id, user_id, "
                      "product_id FROM cases");
  while (q.executeStep()) {
    CaseFacts c;
    c.id = q.getColumn(0).getString();
    c.status = store::read_status(q.getColumn(1));
    c.first = q.getColumn(2).getInt64();
    c.currency = q.getColumn(3).getString();
    c.amount = q.getColumn(4).getInt64();
    c.recovered = q.getColumn(5).getInt64();
    c.refunded = q.getColumn(6).getInt64();
    if (!q.getColumn(7).isNull()) c.resolved = q.getColumn(7).getInt64();
    if (!q.getColumn(8).isNull()) c.first_click = q.getColumn(8).getInt64();
    c.incentive_state = q.getColumn(9).getString();
    c.incentive_days = q.getColumn(10).getInt64();
    c.resolution = store::read_resolution(q.getColumn(11));
    c.membership = q.getColumn(12).getString();
    c.user = q.getColumn(13).getString();
    c.product = q.getColumn(14).getString();
    if (auto it = paid.credited.find(c.id); it != paid.credited.end()) c.last_paid = it->second;
    by_id[c.id] = c;
  }
  SQLite::Statement n(db, "SELECT case_id, attempt, channel, state, created_at FROM nudge_sends");
  while (n.executeStep()) {
    auto it = by_id.find(n.getColumn(0).getString());
    if (it == by_id.end() || n.getColumn(3).getString() != "sent") continue;
    auto& c = it->second;
    if (!c.resolved || n.getColumn(4).getInt64() > *c.resolved) continue;
    c.attempts.insert(n.getColumn(1).getString());
    c.channels |= n.getColumn(2).getString() == "push" ? 1 : 2;
  }
  std::vector<CaseFacts> out;
  for (auto& [id, c] : by_id) out.push_back(c);
  return out;
}

/// What one case adds to its rollup_failures row, by the domain's rules.
store::FailureFigures figures_of(const CaseFacts& c) {
  using S = domain::CaseStatus;
  store::FailureFigures f{};
  const bool rec = c.status == S::Recovered;
  f[store::kCases] = 1;
  f[store::kOpenCases] = c.status == S::Open;
  f[store::kAtRiskCents] = c.status == S::Open ? c.amount : 0;
  f[store::kRecovered] = rec;
  f[store::kRecoveredNetCents] = domain::net_recovered_cents(c.status, c.recovered, c.refunded);
  f[store::kLost] = c.status == S::Lost;
  f[store::kLostCents] = c.status == S::Lost ? c.amount : 0;
  f[store::kCancelled] = c.status == S::Cancelled;
  f[store::kClickThrough] = rec && c.first_click && c.resolved && *c.first_click <= *c.resolved;
  f[store::kIncentiveDays] = c.incentive_state == "granted" ? c.incentive_days : 0;
  f[store::kIncentiveCases] = c.incentive_state == "granted";
  if (rec) {
    f[store::kAttempts0 + std::min<size_t>(c.attempts.size(), 5)] = 1;
    f[store::kChannels0 + static_cast<size_t>(c.channels)] = 1;
    const int64_t lag = c.resolved ? *c.resolved - c.first : 0;
    size_t b = 0;
    while (b < store::kRecoveryBucketDays.size() && lag >= store::kRecoveryBucketDays[b] * kDay)
      ++b;
    f[store::kTimeToRecovery0 + b] = 1;
  }
  f[store::kPaidLate] = domain::paid_after_window(c.status, c.resolution, c.resolved, c.last_paid);
  return f;
}

/// The rollup recounted from the cases.
struct Recount {
  std::map<std::pair<int64_t, std::string>, store::FailureFigures> failures;
  std::map<std::pair<int64_t, std::string>, std::pair<int64_t, int64_t>> recoveries;
  int64_t max_lag = 0;
};

Recount recount(const std::vector<CaseFacts>& cases) {
  Recount r;
  for (const auto& c : cases) {
    auto& row = r.failures[{domain::rollup_bucket(c.first), c.currency}];
    auto f = figures_of(c);
    for (size_t i = 0; i < f.size(); ++i) row[i] += f[i];
    if (c.status == domain::CaseStatus::Recovered && c.resolved) {
      auto& rr = r.recoveries[{domain::rollup_bucket(*c.resolved), c.currency}];
      rr.first += 1;
      rr.second += domain::net_recovered_cents(c.status, c.recovered, c.refunded);
      r.max_lag = std::max(r.max_lag, *c.resolved - c.first);
    }
  }
  // Rows that sum to nothing are not compared.
  std::erase_if(r.failures, [](const auto& kv) {
    return std::all_of(kv.second.begin(), kv.second.end(), [](int64_t v) { return v == 0; });
  });
  std::erase_if(r.recoveries,
                [](const auto& kv) { return kv.second.first == 0 && kv.second.second == 0; });
  return r;
}

void check_rollup(SQLite::Database& db, const Payments& paid, const std::string& step) {
  INFO("after " << step);
  {
    // Each case's last_paid_at is the latest payment credited to it.
    SQLite::Statement q(db, "SELECT id, last_paid_at FROM cases");
    while (q.executeStep()) {
      const std::string id = q.getColumn(0).getString();
      auto it = paid.credited.find(id);
      INFO("case " << id);
      CHECK(q.getColumn(1).isNull() == (it == paid.credited.end()));
      if (it != paid.credited.end() && !q.getColumn(1).isNull()) {
        CHECK(q.getColumn(1).getInt64() == it->second);
      }
    }
  }
  auto want = recount(read_cases(db, paid));
  auto got_f = store::list_rollup_failures(db);
  REQUIRE(got_f.size() == want.failures.size());
  for (const auto& row : got_f) {
    auto it = want.failures.find({row.bucket, row.currency});
    REQUIRE(it != want.failures.end());
    for (size_t i = 0; i < row.figures.size(); ++i) {
      INFO("bucket " << row.bucket << " " << row.currency << " figure "
                     << store::failure_figure_columns()[i]);
      CHECK(row.figures[i] == it->second[i]);
    }
  }
  // The day level holds each UTC day's buckets summed (schema/0011_rollup_days).
  std::map<std::pair<int64_t, std::string>, store::FailureFigures> want_days;
  for (const auto& [key, figures] : want.failures) {
    auto [it, fresh] =
        want_days.try_emplace({key.first / domain::kRollupBucketsPerDay, key.second});
    if (fresh) it->second.fill(0);
    for (size_t i = 0; i < figures.size(); ++i) it->second[i] += figures[i];
  }
  std::erase_if(want_days, [](const auto& kv) {
    return std::all_of(kv.second.begin(), kv.second.end(), [](int64_t v) { return v == 0; });
  });
  auto got_d = store::list_rollup_failure_days(db);
  REQUIRE(got_d.size() == want_days.size());
  for (const auto& row : got_d) {
    auto it = want_days.find({row.bucket, row.currency});
    REQUIRE(it != want_days.end());
    for (size_t i = 0; i < row.figures.size(); ++i) {
      INFO("day " << row.bucket << " " << row.currency << " figure "
                  << store::failure_figure_columns()[i]);
      CHECK(row.figures[i] == it->second[i]);
    }
  }
  auto got_r = store::list_rollup_recoveries(db);
  REQUIRE(got_r.size() == want.recoveries.size());
  for (const auto& row : got_r) {
    auto it = want.recoveries.find({row.bucket, row.currency});
    REQUIRE(it != want.recoveries.end());
    CHECK(row.recoveries == it->second.first);
    CHECK(row.net_cents == it->second.second);
  }
  CHECK(store::find_max_recovery_lag(db) >= want.max_lag);
}

/// The overview's figures read through the rollup equal the figures counted case by case.
void check_overview(SQLite::Database& db, const Payments& paid, int64_t since, int64_t until,
                    int64_t now, const tz::Zone& zone) {
  INFO("window " << since << " to " << until << " in " << zone.name());
  const auto cases = read_cases(db, paid);
  store::Kpis k = store::find_kpis(db, since, until);
  int64_t open = 0, recovered = 0, lost = 0, cancelled = 0, clicks = 0, days = 0, incentives = 0;
  int64_t paid_late = 0;
  std::map<std::string, int64_t> at_risk, lost_rev, net;
  for (const auto& c : cases) {
    if (c.first < since || c.first >= until) continue;
    auto f = figures_of(c);
    open += f[store::kOpenCases];
    recovered += f[store::kRecovered];
    lost += f[store::kLost];
    cancelled += f[store::kCancelled];
    clicks += f[store::kClickThrough];
    days += f[store::kIncentiveDays];
    incentives += f[store::kIncentiveCases];
    paid_late += f[store::kPaidLate];
    if (f[store::kOpenCases]) at_risk[c.currency] += c.amount;
    if (f[store::kLost]) lost_rev[c.currency] += c.amount;
    if (f[store::kRecovered]) net[c.currency] += f[store::kRecoveredNetCents];
  }
  CHECK(k.open == open);
  CHECK(k.recovered == recovered);
  CHECK(k.lost == lost);
  CHECK(k.cancelled == cancelled);
  CHECK(k.click_through == clicks);
  CHECK(k.incentive_days_granted == days);
  CHECK(k.incentive_cases == incentives);
  CHECK(k.paid_after_window == paid_late);
  auto as_map = [](const store::MoneyByCurrency& m) {
    return std::map<std::string, int64_t>(m.begin(), m.end());
  };
  CHECK(as_map(k.at_risk) == at_risk);
  CHECK(as_map(k.lost_revenue) == lost_rev);
  CHECK(as_map(k.recovered_net) == net);
  if (until != INT64_MAX) return;

  // The charts: days as the zone counts them, each case in the day its quarter hour starts in. The
  // overview reads KPIs and charts from one sum: the same figures.
  auto s = store::list_chart_series(db, since, now, zone);
  {
    const auto [k2, s2] = store::find_kpis_and_charts(db, since, now, zone);
    CHECK(k2.paid_after_window == k.paid_after_window);
    CHECK(k2.open == k.open);
    CHECK(k2.recovered_net == k.recovered_net);
    CHECK(s2.by_attempt == s.by_attempt);
    CHECK(s2.time_to_recovery == s.time_to_recovery);
    REQUIRE(s2.days.size() == s.days.size());
    for (size_t i = 0; i < s.days.size(); ++i) CHECK(s2.days[i].recoveries == s.days[i].recoveries);
  }
  REQUIRE(!s.days.empty());
  auto day_of = [&](int64_t t) -> int {
    int d = -1;
    for (size_t i = 0; i < s.days.size(); ++i) {
      if (s.days[i].day_start <= t) d = static_cast<int>(i);
    }
    return d;
  };
  std::vector<int64_t> failures(s.days.size()), recoveries(s.days.size());
  std::map<std::string, std::vector<int64_t>> revenue;
  std::array<int64_t, 6> by_attempt{}, ttr{};
  std::array<int64_t, 4> by_channel{};
  for (const auto& c : cases) {
    if (c.first < since) continue;
    const int64_t q = domain::rollup_bucket_start(domain::rollup_bucket(c.first));
    if (int d = day_of(q); d >= 0) failures[static_cast<size_t>(d)] += 1;
    if (c.status != domain::CaseStatus::Recovered || !c.resolved) continue;
    auto f = figures_of(c);
    for (size_t i = 0; i < 6; ++i) by_attempt[i] += f[store::kAttempts0 + i];
    for (size_t i = 0; i < 4; ++i) by_channel[i] += f[store::kChannels0 + i];
    for (size_t i = 0; i < 6; ++i) ttr[i] += f[store::kTimeToRecovery0 + i];
    auto& rev = revenue[c.currency];
    rev.resize(s.days.size());
    const int64_t rq = domain::rollup_bucket_start(domain::rollup_bucket(*c.resolved));
    if (int d = day_of(rq); d >= 0) {
      recoveries[static_cast<size_t>(d)] += 1;
      rev[static_cast<size_t>(d)] += f[store::kRecoveredNetCents];
    }
  }
  for (size_t i = 0; i < s.days.size(); ++i) {
    INFO("day " << i);
    CHECK(s.days[i].failures == failures[i]);
    CHECK(s.days[i].recoveries == recoveries[i]);
  }
  REQUIRE(s.revenue.size() == revenue.size());
  for (const auto& r : s.revenue) {
    REQUIRE(revenue.count(r.currency) == 1);
    CHECK(r.per_day == revenue[r.currency]);
    CHECK(r.total == net[r.currency]);
  }
  CHECK(s.by_attempt == by_attempt);
  CHECK(s.by_channel == by_channel);
  CHECK(s.time_to_recovery == ttr);
}

}  // namespace

TEST_CASE("rollup: after every step of random histories it equals a recount of the cases") {
  auto kathmandu = tz::find("Asia/Kathmandu");
  REQUIRE(kathmandu);
  int64_t paid_late_seen = 0;  // the histories do reach the figure
  for (unsigned seed = 1; seed <= 6; ++seed) {
    INFO("seed " << seed);
    std::mt19937 rng(seed);
    test::TempDir dir;
    auto db = store::open_connection(dir.file("r.db"), store::ConnectionRole::Writer);
    REQUIRE(store::migrate_up(*db));
    crypto::Keyring keys({crypto::Key{1, std::string(32, 'k')}});
    domain::RecoverySettings settings;
    const std::vector<std::string> memberships = {"mem_A", "mem_B", "mem_C", "mem_D"};
    const std::vector<std::string> currencies = {"usd", "eur"};
    std::vector<std::string> payments;
    std::vector<int64_t> event_ids;
    Payments paid;
    int64_t now = kT0;
    int n = 0;
    auto rnd = [&](int64_t lo, int64_t hi) {
      return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
    };
    auto any_case = [&]() -> std::string {
      SQLite::Statement q(*db, "SELECT id FROM cases ORDER BY random() LIMIT 1");
      return q.executeStep() ? q.getColumn(0).getString() : "";
    };
    for (int step = 0; step < 160; ++step) {
      now += rnd(0, kDay / 3);
      const int what = static_cast<int>(rnd(0, 99));
      std::string label;
      if (what < 52) {
        // An event, often late (its own time up to 20 days back) and so out of order.
        static const char* kTypes[] = {
            "payment.failed",         "payment.failed",    "payment.failed",
            "payment.succeeded",      "payment.succeeded", "membership.activated",
            "membership.deactivated", "refund.created",    "dispute.created"};
        store::NewEvent e;
        e.webhook_id = "msg_" + std::to_string(++n);
        e.type = kTypes[rnd(0, 8)];
        e.event_time = now - (rnd(0, 3) == 0 ? rnd(0, 20 * kDay) : rnd(0, kDay / 4));
        e.received_at = now;
        const auto m = static_cast<size_t>(rnd(0, 3));
        e.membership_id = memberships[m];
        // Two members; mem_C is a second membership of mem_A's member (a win-back).
        e.user_id = m == 0 || m == 2 ? "user_1" : "user_2";
        e.product_id = "prod_1";
        e.payment_id = "pay_" + std::to_string(n);
        e.amount_cents = rnd(100, 9999);
        e.currency = currencies[m % 2];
        if (e.type == "payment.succeeded") payments.push_back(e.payment_id);
        if ((e.type == "refund.created" || e.type == "dispute.created") && !payments.empty()) {
          e.payment_id = payments[static_cast<size_t>(rnd(0, payments.size() - 1))];
          e.amount_cents = rnd(0, 3) == 0 ? std::nullopt : std::optional<int64_t>(rnd(1, 5000));
        }
        label = e.type;
        auto id = store::save_event(*db, e);
        if (id) {
          event_ids.push_back(*id);
          if (e.type == "payment.succeeded") {
            paid.stored.push_back(
                {e.webhook_id, e.event_time, e.membership_id, e.user_id, e.product_id});
          }
          jobs::process_event(*db, keys, *id, settings, now);
        }
      } else if (what < 55) {
        // The events here carry no payload, so cases learn their member and product as a later
        // event's details would tell them (or an operator): then the member's payments under
        // another membership count for them too.
        auto c = any_case();
        if (c.empty()) continue;
        label = "case learns its member";
        SQLite::Statement u(*db,
                            "UPDATE cases SET user_id = CASE WHEN membership_id IN ('mem_A', "
                            "'mem_C') THEN 'user_1' WHEN membership_id IN ('mem_B', 'mem_D') "
                            "THEN 'user_2' ELSE user_id END, product_id = 'prod_1' WHERE id = ?");
        u.bind(1, c);
        u.exec();
      } else if (what < 63) {
        label = "windows pass";
        for (const auto& m : memberships) jobs::refold_membership(*db, m, settings, now);
      } else if (what < 75) {
        auto c = any_case();
        if (c.empty()) continue;
        label = "nudge";
        std::string attempt = std::to_string(rnd(0, 6));
        std::string channel = rnd(0, 1) ? "push" : "dm";
        store::begin_send(*db, c, attempt, channel, "system", now - rnd(0, 3 * kDay));
        static const domain::SendState kEnds[] = {domain::SendState::Sent, domain::SendState::Sent,
                                                  domain::SendState::Failed,
                                                  domain::SendState::Unknown};
        store::finish_send(*db, c, attempt, channel, kEnds[rnd(0, 3)], now);
      } else if (what < 80) {
        auto c = any_case();
        if (c.empty()) continue;
        label = "click";
        store::save_click(*db, c, now - rnd(0, 5 * kDay));
      } else if (what < 85) {
        auto c = any_case();
        if (c.empty()) continue;
        label = "free days";
        store::save_incentive(
            *db, c,
            {rnd(0, 1) ? domain::IncentiveState::Granted : domain::IncentiveState::Failed,
             static_cast<int>(rnd(1, 7)), std::nullopt});
      } else if (what < 89) {
        auto c = any_case();
        if (c.empty()) continue;
        label = "cancel";
        store::cancel_case(*db, c, now, domain::Resolution::Admin);
      } else if (what < 92) {
        label = "stale cases closed";
        for (const auto& c : store::list_stale_open_cases(*db, now - 5 * kDay, 10)) {
          store::close_stale_case(*db, c, now);
        }
      } else if (what < 95) {
        label = "retention deletes events";
        std::vector<int64_t> old(event_ids.begin(),
                                 event_ids.begin() + static_cast<long>(event_ids.size() / 3));
        store::delete_events(*db, old);
      } else if (what < 97) {
        label = "member erased";
        store::erase_member(*db, rnd(0, 1) ? "user_1" : "user_2", now);
      } else if (what < 98) {
        auto c = any_case();
        if (c.empty()) continue;
        label = "nudges deleted";
        SQLite::Statement d(*db, "DELETE FROM nudge_sends WHERE case_id = ?");
        d.bind(1, c);
        d.exec();
      } else {
        auto c = any_case();
        if (c.empty()) continue;
        label = "case deleted";
        SQLite::Statement d(*db, "DELETE FROM cases WHERE id = ?");
        d.bind(1, c);
        d.exec();
      }
      paid.credit(*db);
      check_rollup(*db, paid, "step " + std::to_string(step) + " (" + label + ")");
      paid_late_seen += db->execAndGet("SELECT sum(paid_late) FROM rollup_failures").getInt64();
      if (step % 20 == 19) {
        const int64_t since = now - rnd(1, 30) * kDay - rnd(0, kDay);
        check_overview(*db, paid, since, INT64_MAX, now, *tz::utc());
        check_overview(*db, paid, since, INT64_MAX, now, **kathmandu);
        check_overview(*db, paid, since - 7 * kDay - rnd(0, kDay), since, now, *tz::utc());
        check_overview(*db, paid, since + 5 * 60000, since + 9 * 60000, now, *tz::utc());
      }
    }
    // A rebuild gives the same rollup, and brings back one that was damaged.
    db->exec("UPDATE rollup_failures SET cases = cases + 1, paid_late = paid_late + 1");
    db->exec("DELETE FROM rollup_recoveries");
    store::rebuild_rollup(*db);
    check_rollup(*db, paid, "rebuild");
  }
  CHECK(paid_late_seen > 0);
}
