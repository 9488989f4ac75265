#include "store/dashboard.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

#include "domain/rollup.h"
#include "store/cases.h"
#include "store/rollup.h"
#include "store/settings.h"
#include "store/statements.h"

namespace cs::store {
namespace {

constexpr int64_t kDay = 86400000;

constexpr const char* kListCols =
    "id, membership_id, user_id, username, product_title, status, resolution, first_failure_at, "
    "last_failure_at, failures, amount_due_cents, currency, recovered_cents, refunded_cents, "
    "resolved_at, clicks, incentive_state, incentive_days";

std::optional<int64_t> opt_int(const SQLite::Column& c) {
  if (c.isNull()) return std::nullopt;
  return c.getInt64();
}

// Reads kListCols starting at column `i` and leaves `i` after them.
CaseListRow read_list_row(SQLite::Statement& q, int& i) {
  CaseListRow r;
  r.id = q.getColumn(i++).getString();
  r.membership_id = q.getColumn(i++).getString();
  r.user_id = q.getColumn(i++).getString();
  r.username = q.getColumn(i++).getString();
  r.product_title = q.getColumn(i++).getString();
  r.status = read_status(q.getColumn(i++));
  r.resolution = read_resolution(q.getColumn(i++));
  r.first_failure_at = q.getColumn(i++).getInt64();
  r.last_failure_at = q.getColumn(i++).getInt64();
  r.failures = q.getColumn(i++).getInt();
  r.amount_due_cents = q.getColumn(i++).getInt64();
  r.currency = q.getColumn(i++).getString();
  r.recovered_cents = q.getColumn(i++).getInt64();
  r.refunded_cents = q.getColumn(i++).getInt64();
  r.resolved_at = opt_int(q.getColumn(i++));
  r.clicks = q.getColumn(i++).getInt();
  r.incentive_state = read_incentive_state(q.getColumn(i++));
  r.incentive_days = q.getColumn(i++).getInt();
  return r;
}

void add_money(MoneyByCurrency& m, const std::string& currency, int64_t cents) {
  for (auto& [c, v] : m) {
    if (c == currency) {
      v += cents;
      return;
    }
  }
  m.emplace_back(currency, cents);
}

void sort_money(MoneyByCurrency& m) {
  std::sort(m.begin(), m.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
}

/// The search condition on cases for a query with a search (binds ?1 = q, ?2 = q's prefix upper
/// bound): ids and usernames in plaintext, and the keyed index of names, emails and usernames.
std::string search_condition(const CaseQuery& query) {
  std::string c =
      "(username = ?1 OR user_id = ?1 OR membership_id = ?1 OR (username >= ?1 AND username < ?2)";
  if (!query.tokens.empty()) c += " OR " + member_search_condition(query.tokens);
  return c + ")";
}

std::string prefix_bound(const std::string& q) {
  return q + "\xf4\x8f\xbf\xbf";  // U+10FFFF: after every username starting with q
}

struct SortSpec {
  const char* column;
  bool desc;
};

std::optional<SortSpec> sort_spec(const std::string& sort) {
  if (sort == "newest" || sort.empty()) return SortSpec{"first_failure_at", true};
  if (sort == "oldest") return SortSpec{"first_failure_at", false};
  if (sort == "amount") return SortSpec{"amount_due_cents", true};
  if (sort == "amount_asc") return SortSpec{"amount_due_cents", false};
  return std::nullopt;
}

/// Parses "<integer>.<hex id>".
std::optional<std::pair<int64_t, std::string>> parse_cursor(const std::string& c) {
  auto dot = c.find('.');
  if (dot == std::string::npos || dot == 0 || dot > 20 || c.size() - dot - 1 > 64) {
    return std::nullopt;
  }
  std::string num = c.substr(0, dot), id = c.substr(dot + 1);
  size_t start = num[0] == '-' ? 1 : 0;
  if (start == num.size() || num.find_first_not_of("0123456789", start) != std::string::npos) {
    return std::nullopt;
  }
  if (id.empty() || id.find_first_not_of("0123456789abcdefABCDEF_-") != std::string::npos) {
    return std::nullopt;
  }
  return std::make_pair(std::stoll(num), id);
}

/// The KPIs of the rollup's sums (whole buckets from the rollup, the ends of the window from the
/// cases: sum_failures).
Kpis kpis_of(const FailureSums& sums) {
  Kpis k;
  for (const auto& [currency, f] : sums) {
    k.open += f[kOpenCases];
    k.recovered += f[kRecovered];
    k.lost += f[kLost];
    k.cancelled += f[kCancelled];
    k.click_through += f[kClickThrough];
    k.incentive_days_granted += f[kIncentiveDays];
    k.incentive_cases += f[kIncentiveCases];
    k.paid_after_window += f[kPaidLate];
    if (f[kOpenCases] != 0) add_money(k.at_risk, currency, f[kAtRiskCents]);
    if (f[kLost] != 0) add_money(k.lost_revenue, currency, f[kLostCents]);
    if (f[kRecovered] != 0) add_money(k.recovered_net, currency, f[kRecoveredNetCents]);
  }
  sort_money(k.recovered_net);
  sort_money(k.at_risk);
  sort_money(k.lost_revenue);
  return k;
}

ChartSeries chart_series(SQLite::Database& db, int64_t since, int64_t now, const tz::Zone& zone,
                         const FailureSums& sums);

}  // namespace

Kpis find_kpis(SQLite::Database& db, int64_t since, int64_t until) {
  return kpis_of(sum_failures(db, since, until));
}

ChartSeries list_chart_series(SQLite::Database& db, int64_t since, int64_t now,
                              const tz::Zone& zone) {
  return chart_series(db, since, now, zone, sum_failures(db, since, INT64_MAX));
}

std::pair<Kpis, ChartSeries> find_kpis_and_charts(SQLite::Database& db, int64_t since, int64_t now,
                                                  const tz::Zone& zone) {
  const auto sums = sum_failures(db, since, INT64_MAX);
  return {kpis_of(sums), chart_series(db, since, now, zone, sums)};
}

namespace {

ChartSeries chart_series(SQLite::Database& db, int64_t since, int64_t now, const tz::Zone& zone,
                         const FailureSums& sums) {
  ChartSeries s;
  // Local days: 23 to 25 hours long; 36 hours after a day's start is always inside the next one.
  for (int64_t d = zone.day_start(since); d <= now; d = zone.day_start(d + kDay + kDay / 2)) {
    s.days.push_back({d, 0, 0});
  }
  auto slot = [&](int64_t t) -> DayPoint* {
    auto it = std::upper_bound(s.days.begin(), s.days.end(), t,
                               [](int64_t v, const DayPoint& p) { return v < p.day_start; });
    if (it == s.days.begin()) return nullptr;
    return &*(it - 1);
  };
  // Buckets are quarter hours in UTC (domain/rollup.h): each falls in one local day.
  for (const auto& [bucket, n] : list_failures_by_bucket(db, since)) {
    if (auto* p = slot(domain::rollup_bucket_start(bucket))) p->failures += n;
  }
  // Recoveries and net revenue per day, one revenue series per currency (each currency with a
  // recovered case, its total the cases' net revenue, as the KPI).
  std::map<std::string, RevenueSeries> by_currency;
  for (const auto& [currency, f] : sums) {
    if (f[kRecovered] == 0) continue;
    RevenueSeries& r = by_currency[currency];
    r.currency = currency;
    r.total = f[kRecoveredNetCents];
    r.per_day.assign(s.days.size(), 0);
  }
  if (!s.days.empty()) {
    for (const auto& row : list_recoveries_by_bucket(db, since, s.days.front().day_start)) {
      auto* p = slot(domain::rollup_bucket_start(row.bucket));
      auto it = by_currency.find(row.currency);
      if (!p || it == by_currency.end()) continue;
      p->recoveries += row.recoveries;
      it->second.per_day[static_cast<size_t>(p - s.days.data())] += row.net_cents;
    }
  }
  for (auto& [cur, r] : by_currency) s.revenue.push_back(std::move(r));
  std::stable_sort(s.revenue.begin(), s.revenue.end(),
                   [](const auto& a, const auto& b) { return a.total > b.total; });
  // Recoveries by nudges sent before paying, by channel, by time to recovery.
  for (const auto& [currency, f] : sums) {
    for (size_t i = 0; i < s.by_attempt.size(); ++i) s.by_attempt[i] += f[kAttempts0 + i];
    for (size_t i = 0; i < s.by_channel.size(); ++i) s.by_channel[i] += f[kChannels0 + i];
    for (size_t i = 0; i < s.time_to_recovery.size(); ++i) {
      s.time_to_recovery[i] += f[kTimeToRecovery0 + i];
    }
  }
  return s;
}

}  // namespace

bool any_events(SQLite::Database& db) {
  auto q = prepare(db, "SELECT EXISTS (SELECT 1 FROM events)");
  return q->executeStep() && q->getColumn(0).getInt() != 0;
}

Milestones load_milestones(SQLite::Database& db) {
  // The test webhook is looked up through the partial index events_test_webhook (the type is
  // spelled out so it applies): without it every overview read all the events.
  auto q = prepare(
      db, std::string("SELECT EXISTS (SELECT 1 FROM events WHERE source = 'webhook' AND "
                      "type <> ?1), EXISTS (SELECT 1 FROM events INDEXED BY "
                      "events_test_webhook WHERE type = '") +
              kTestWebhookType + "'), EXISTS (SELECT 1 FROM nudge_sends WHERE state = 'sent')");
  q->bind(1, kTestWebhookType);
  Milestones m;
  if (q->executeStep()) {
    m.real_webhook = q->getColumn(0).getInt() != 0;
    m.test_webhook = q->getColumn(1).getInt() != 0;
    m.nudge_sent = q->getColumn(2).getInt() != 0;
  }
  return m;
}

bool valid_case_sort(const std::string& sort) {
  return sort_spec(sort).has_value();
}

CasePage list_case_page(SQLite::Database& db, const CaseQuery& query) {
  SortSpec spec = sort_spec(query.sort).value_or(SortSpec{"first_failure_at", true});
  const std::string col = spec.column;
  const bool amount = col == "amount_due_cents";
  auto key_of = [&](const CaseListRow& r) {
    return std::to_string(amount ? r.amount_due_cents : r.first_failure_at) + "." + r.id;
  };
  std::string where = " WHERE 1";
  if (!query.q.empty()) where += " AND " + search_condition(query);
  if (query.status) where += " AND status = ?3";
  auto bind_filter = [&](SQLite::Statement& q) {
    if (!query.q.empty()) {
      q.bind(1, query.q);
      q.bind(2, prefix_bound(query.q));
    }
    if (query.status) q.bind(3, domain::status_name(*query.status));
  };
  // Going back reads the rows before `before` in the reverse order, then turns them around.
  auto before = query.before.empty() ? std::nullopt : parse_cursor(query.before);
  auto after = before || query.cursor.empty() ? std::nullopt : parse_cursor(query.cursor);
  const bool back = before.has_value();
  const bool desc = spec.desc != back;
  const std::string dir = desc ? " DESC" : " ASC";
  std::string sql = std::string("SELECT ") + kListCols + " FROM cases" + where;
  if (before || after) sql += " AND (" + col + ", id) " + (desc ? "<" : ">") + " (?4, ?5)";
  sql += " ORDER BY " + col + dir + ", id" + dir + " LIMIT ?6";
  auto q = prepare(db, sql);
  bind_filter(*q);
  if (const auto& c = before ? before : after) {
    q->bind(4, c->first);
    q->bind(5, c->second);
  }
  int limit = std::clamp(query.limit, 1, 1000);
  q->bind(6, limit + 1);
  CasePage page;
  while (q->executeStep()) {
    int i = 0;
    page.rows.push_back(read_list_row(*q, i));
  }
  const bool more = page.rows.size() > static_cast<size_t>(limit);
  if (more) page.rows.pop_back();
  if (back) {
    // Back past the first page (more rows were deleted than a page): start from the first page.
    if (page.rows.empty()) {
      CaseQuery first = query;
      first.before.clear();
      first.cursor.clear();
      return list_case_page(db, first);
    }
    std::reverse(page.rows.begin(), page.rows.end());
  }
  if (page.rows.empty()) return page;
  // Where the page starts: the matching rows before its first row, in the query's order.
  if (query.want_offset) {
    const auto& first = page.rows.front();
    auto c = prepare(db, "SELECT count(*) FROM cases" + where + " AND (" + col + ", id) " +
                             (spec.desc ? ">" : "<") + " (?4, ?5)");
    bind_filter(*c);
    c->bind(4, amount ? first.amount_due_cents : first.first_failure_at);
    c->bind(5, first.id);
    if (c->executeStep()) page.offset = c->getColumn(0).getInt64();
  }
  if (page.offset > 0 || (!query.want_offset && (back || after)))
    page.prev_cursor = key_of(page.rows.front());
  if (back || more) page.next_cursor = key_of(page.rows.back());
  return page;
}

std::map<domain::CaseStatus, int64_t> count_cases(SQLite::Database& db, const CaseQuery& query) {
  std::map<domain::CaseStatus, int64_t> out;
  for (auto s : domain::all_case_statuses()) out[s] = 0;
  if (query.q.empty()) {
    // One index range count per status (cases_status_first_id) instead of a full GROUP BY scan.
    auto st = prepare(db, "SELECT count(*) FROM cases WHERE status = ?");
    for (auto& [status, n] : out) {
      st->reset();
      st->bind(1, domain::status_name(status));
      if (st->executeStep()) n = st->getColumn(0).getInt64();
    }
    return out;
  }
  auto st = prepare(db, "SELECT status, count(*) FROM cases WHERE " + search_condition(query) +
                            " GROUP BY status");
  st->bind(1, query.q);
  st->bind(2, prefix_bound(query.q));
  while (st->executeStep()) out[read_status(st->getColumn(0))] = st->getColumn(1).getInt64();
  return out;
}

std::optional<CaseDetail> find_case_detail(SQLite::Database& db, const std::string& id) {
  auto q = prepare(db, std::string("SELECT ") + kListCols +
                           ", company_id, product_id, plan_id, failure_message, "
                           "recovery_payment_id, cancelled_at, next_nudge_at, first_click_at, "
                           "next_nudge_attempt, created_at, updated_at FROM cases WHERE id = ?");
  q->bind(1, id);
  if (!q->executeStep()) return std::nullopt;
  CaseDetail d;
  int i = 0;
  d.row = read_list_row(*q, i);
  d.company_id = q->getColumn(i++).getString();
  d.product_id = q->getColumn(i++).getString();
  d.plan_id = q->getColumn(i++).getString();
  d.failure_message = q->getColumn(i++).getString();
  d.recovery_payment_id = q->getColumn(i++).getString();
  d.cancelled_at = opt_int(q->getColumn(i++));
  d.next_nudge_at = opt_int(q->getColumn(i++));
  d.first_click_at = opt_int(q->getColumn(i++));
  d.next_nudge_attempt = q->getColumn(i++).getInt();
  d.created_at = q->getColumn(i++).getInt64();
  d.updated_at = q->getColumn(i++).getInt64();
  return d;
}

std::vector<EventRow> list_events_for_membership(SQLite::Database& db,
                                                 const std::string& membership_id, int64_t from,
                                                 int64_t to, int limit) {
  auto q = prepare(db, std::string("SELECT ") + kEventCols +
                           " FROM events WHERE membership_id = ? AND event_time >= ? AND "
                           "event_time <= ? ORDER BY event_time, id LIMIT ?");
  q->bind(1, membership_id);
  q->bind(2, from);
  q->bind(3, to);
  q->bind(4, limit);
  std::vector<EventRow> out;
  while (q->executeStep()) out.push_back(read_event(*q));
  return out;
}

std::vector<EventRow> list_events(SQLite::Database& db, const EventFilter& f, int64_t before_id,
                                  int limit) {
  // A member filter becomes the member's membership ids (through the cases), so the events are
  // read through events_membership.
  std::vector<std::string> memberships;
  if (!f.member.empty()) {
    std::set<std::string> ids = {f.member};
    auto m = prepare(db,
                     "SELECT DISTINCT membership_id FROM cases WHERE username = ?1 OR "
                     "user_id = ?1 OR membership_id = ?1 LIMIT 100");
    m->bind(1, f.member);
    while (m->executeStep()) ids.insert(m->getColumn(0).getString());
    memberships.assign(ids.begin(), ids.end());
  }
  std::string sql = std::string("SELECT ") + kEventCols + " FROM events WHERE id < ?";
  if (!f.state.empty()) sql += " AND process_state = ?";
  if (!f.type.empty()) sql += " AND type = ?";
  if (!memberships.empty()) {
    sql += " AND membership_id IN (";
    for (size_t i = 0; i < memberships.size(); ++i) sql += i ? ",?" : "?";
    sql += ")";
  }
  sql += " ORDER BY id DESC LIMIT ?";
  auto q = prepare(db, sql);
  int i = 1;
  q->bind(i++, before_id > 0 ? before_id : INT64_MAX);
  if (!f.state.empty()) q->bind(i++, f.state);
  if (!f.type.empty()) q->bind(i++, f.type);
  for (const auto& m : memberships) q->bind(i++, m);
  q->bind(i, limit);
  std::vector<EventRow> out;
  while (q->executeStep()) out.push_back(read_event(*q));
  return out;
}

std::string case_for_event(SQLite::Database& db, const std::string& membership_id,
                           int64_t event_time) {
  if (membership_id.empty()) return "";
  auto q = prepare(db,
                   "SELECT id FROM cases WHERE membership_id = ?1 ORDER BY "
                   "(first_failure_at <= ?2) DESC, "
                   "CASE WHEN first_failure_at <= ?2 THEN -first_failure_at "
                   "ELSE first_failure_at END LIMIT 1");
  q->bind(1, membership_id);
  q->bind(2, event_time);
  return q->executeStep() ? q->getColumn(0).getString() : "";
}

std::string case_member_name(SQLite::Database& db, const std::string& case_id) {
  auto q = prepare(db, "SELECT username, user_id, membership_id FROM cases WHERE id = ?");
  q->bind(1, case_id);
  if (!q->executeStep()) return "";
  for (int i = 0; i < 3; ++i) {
    if (!q->getColumn(i).getString().empty()) return q->getColumn(i).getString();
  }
  return "";
}

std::map<std::string, int64_t> count_unsettled_events(SQLite::Database& db) {
  std::map<std::string, int64_t> out = {{"pending", 0}, {"failed", 0}, {"ignored", 0}};
  auto q = prepare(db, "SELECT count(*) FROM events WHERE process_state = ?");
  for (auto& [state, n] : out) {
    q->reset();
    q->bind(1, state);
    if (q->executeStep()) n = q->getColumn(0).getInt64();
  }
  return out;
}

RetentionSettings find_retention(SQLite::Database& db, const RetentionSettings& defaults) {
  RetentionSettings r = defaults;
  auto v = find_setting(db, "retention");
  if (!v) return r;
  auto j = nlohmann::json::parse(*v, nullptr, false);
  if (!j.is_object()) return r;
  if (j.contains("payload_days") && j["payload_days"].is_number_integer()) {
    r.payload_days = j["payload_days"].get<int>();
  }
  if (j.contains("event_days") && j["event_days"].is_number_integer()) {
    r.event_days = j["event_days"].get<int>();
  }
  return r;
}

void save_retention(SQLite::Database& db, const RetentionSettings& r, int64_t now) {
  save_setting(
      db, "retention",
      nlohmann::json{{"payload_days", r.payload_days}, {"event_days", r.event_days}}.dump(), now);
}

}  // namespace cs::store
