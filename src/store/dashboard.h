#pragma once
// Read queries behind the dashboard: KPIs and chart series for a window, the cases list (filter,
// search, sort, keyset pagination, counts), one case with its timeline, the events and jobs pages,
// and the retention settings. Every query reads through an index (see schema/0003_dashboard).
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <SQLiteCpp/Database.h>

#include "domain/case_state.h"
#include "store/events.h"
#include "store/member_search.h"
#include "util/tz.h"

namespace cs::store {

// --- Overview -----------------------------------------------------------------------------------

/// Money per currency, largest first.
using MoneyByCurrency = std::vector<std::pair<std::string, int64_t>>;

/// Counts over the cases whose first_failure_at is in [since, until).
struct Kpis {
  int64_t open = 0, recovered = 0, lost = 0, cancelled = 0;
  int64_t click_through = 0;           // recovered after a click on a nudge link
  MoneyByCurrency recovered_net;       // recovered_cents - refunded_cents of recovered cases
  MoneyByCurrency at_risk;             // amount_due_cents of open cases
  MoneyByCurrency lost_revenue;        // amount_due_cents of lost cases
  int64_t incentive_days_granted = 0;  // free days granted (incentive_state 'granted')
  int64_t incentive_cases = 0;
  /// Lost cases (expired or deactivated) whose member paid, or bought the product again, after
  /// the case was lost, i.e. after its attribution window (schema/0010_paid_after_window).
  int64_t paid_after_window = 0;
};
/// KPIs of the cases whose first failure is in [since, until).
Kpis find_kpis(SQLite::Database& db, int64_t since, int64_t until = INT64_MAX);

struct DayPoint {
  int64_t day_start = 0;  // unix ms of 00:00 in the display time zone
  int64_t failures = 0;   // cases whose first failure was that day
  int64_t recoveries = 0;
};
/// Net recovered revenue per day in one currency (minor units).
struct RevenueSeries {
  std::string currency;
  int64_t total = 0;
  std::vector<int64_t> per_day;  // parallel to ChartSeries::days
};
/// The channels a recovered member was nudged on before paying.
enum class NudgeChannels { None = 0, Push = 1, Dm = 2, Both = 3 };
/// Upper bounds (in days) of the time-to-recovery buckets; the last bucket is beyond the last one.
constexpr std::array<int64_t, 5> kRecoveryBucketDays = {1, 2, 4, 7, 14};
struct ChartSeries {
  std::vector<DayPoint> days;  // every day from since's day to now's day
  /// One series per currency with recovered cases, the largest total first; none is dropped.
  std::vector<RevenueSeries> revenue;
  /// Recoveries by nudges sent before paying: [0] none, [1]..[4], [5] five or more.
  std::array<int64_t, 6> by_attempt{};
  /// Recoveries by the channels nudged, indexed by NudgeChannels.
  std::array<int64_t, 4> by_channel{};
  /// Recoveries by time from first failure to recovery: [i] is below kRecoveryBucketDays[i] days
  /// (and at or above the previous bound); [5] is 14 days or more.
  std::array<int64_t, kRecoveryBucketDays.size() + 1> time_to_recovery{};
};
/// The series from `since`'s day to `now`'s day, days as `zone` counts them.
ChartSeries list_chart_series(SQLite::Database& db, int64_t since, int64_t now,
                              const tz::Zone& zone = *tz::utc());
/// find_kpis(db, since) and list_chart_series(db, since, now, zone) from one sum of the rollup.
std::pair<Kpis, ChartSeries> find_kpis_and_charts(SQLite::Database& db, int64_t since, int64_t now,
                                                  const tz::Zone& zone = *tz::utc());

/// True when at least one event was ever stored.
bool any_events(SQLite::Database& db);

/// Event type of the settings page's "Send a test webhook" (processed as an unknown type: it
/// never opens a case, and it does not count as the first real webhook).
inline constexpr const char* kTestWebhookType = "churn_saver.test_webhook";

/// What has already worked, for the overview's "getting started" steps.
struct Milestones {
  bool real_webhook = false;  // a webhook from Whop (not a test one) was stored
  bool test_webhook = false;  // a test webhook was stored
  bool nudge_sent = false;    // a push or DM reached Whop
};
Milestones load_milestones(SQLite::Database& db);

// --- Cases
// ----------------------------------------------------------------------------------------

struct CaseListRow {
  std::string id, membership_id, user_id, username, product_title;
  domain::CaseStatus status = domain::CaseStatus::Open;
  domain::Resolution resolution = domain::Resolution::None;
  int64_t first_failure_at = 0, last_failure_at = 0;
  int failures = 0;
  int64_t amount_due_cents = 0;
  std::string currency;
  int64_t recovered_cents = 0, refunded_cents = 0;
  std::optional<int64_t> resolved_at;
  int clicks = 0;
  domain::IncentiveState incentive_state = domain::IncentiveState::None;
  int incentive_days = 0;
};

struct CaseQuery {
  std::optional<domain::CaseStatus> status;  // none = any
  /// Username (exact or prefix), user id or membership id; and, through `tokens`, a fragment (3
  /// characters or more) of the member's name, email or username.
  std::string q;
  SearchTokens tokens;          // search_tokens(keys, q)
  std::string sort = "newest";  // newest | oldest | amount | amount_asc
  std::string cursor;           // from a page's next_cursor: the page after it ("" = first page)
  std::string before;           // from a page's prev_cursor: the page before it (wins over cursor)
  int limit = 50;
  bool want_offset = true;  // count the rows before the page (CasePage::offset, prev_cursor)
};
struct CasePage {
  std::vector<CaseListRow> rows;
  std::string next_cursor;  // "" on the last page
  std::string prev_cursor;  // "" on the first page
  int64_t offset = 0;       // matching cases before the first row (its position is offset + 1)
};
/// One page in the query's order. A malformed cursor is treated as "first page".
CasePage list_case_page(SQLite::Database& db, const CaseQuery& query);
/// Case counts by status matching the query's search (status, sort and cursors ignored); every
/// status is present.
std::map<domain::CaseStatus, int64_t> count_cases(SQLite::Database& db, const CaseQuery& query);
/// True when `sort` is one list_case_page knows.
bool valid_case_sort(const std::string& sort);

struct CaseDetail {
  CaseListRow row;
  std::string company_id, product_id, plan_id, failure_message, recovery_payment_id;
  std::optional<int64_t> cancelled_at, next_nudge_at, first_click_at;
  int next_nudge_attempt = 0;
  int64_t created_at = 0, updated_at = 0;
};
std::optional<CaseDetail> find_case_detail(SQLite::Database& db, const std::string& id);
/// Events of a membership with event_time in [from, to], oldest first, at most `limit`.
std::vector<EventRow> list_events_for_membership(SQLite::Database& db,
                                                 const std::string& membership_id, int64_t from,
                                                 int64_t to, int limit);

// --- Events
// ---------------------------------------------------------------------------------------

/// The events page's filters ("" = any).
struct EventFilter {
  std::string state;   // processing state
  std::string type;    // event type ("payment.failed")
  std::string member;  // a membership id, user id or username
};
/// Newest first; before_id 0 = from the newest.
std::vector<EventRow> list_events(SQLite::Database& db, const EventFilter& f, int64_t before_id,
                                  int limit);
/// The case an event of `membership_id` at `event_time` belongs to: the newest case that started
/// by then, else the first one after it; "" when the membership has none.
std::string case_for_event(SQLite::Database& db, const std::string& membership_id,
                           int64_t event_time);
/// Who a case is about, for labels: the username, else the user id, else the membership id;
/// "" for no such case.
std::string case_member_name(SQLite::Database& db, const std::string& case_id);
/// Number of events per processing state, for the small states (pending, failed, ignored).
std::map<std::string, int64_t> count_unsettled_events(SQLite::Database& db);

// --- Retention --------------------------------------------------------------------------------

struct RetentionSettings {
  int payload_days = 30;  // sealed payloads are stripped after this many days
  int event_days = 60;    // event rows are deleted after this many days
};
/// The retention saved on the settings page (settings key "retention") over `defaults` (the
/// configuration's CHURN_SAVER_RETENTION_* values).
RetentionSettings find_retention(SQLite::Database& db, const RetentionSettings& defaults = {});
void save_retention(SQLite::Database& db, const RetentionSettings& r, int64_t now);

}  // namespace cs::store
