#include "store/engine.h"

#include <SQLiteCpp/Statement.h>

#include "store/cases.h"
#include "store/settings.h"
#include "store/statements.h"

namespace cs::store {

// The scheduler's queries name their partial index: without planner statistics (the app never
// runs ANALYZE) SQLite prefers any index with an equality on `status` (e.g. the dashboard's
// cases_status_amount_id) and reads every open case on each tick (bench/scheduler_bench).
std::vector<DueNudge> find_due_nudges(SQLite::Database& db, int64_t now, int limit) {
  auto q = prepare(db,
                   "SELECT id, first_failure_at, next_nudge_attempt FROM cases "
                   "INDEXED BY cases_nudge_due "
                   "WHERE status = 'open' AND next_nudge_at IS NOT NULL AND next_nudge_at <= ? "
                   "ORDER BY next_nudge_at LIMIT ?");
  q->bind(1, now);
  q->bind(2, limit);
  std::vector<DueNudge> out;
  while (q->executeStep()) {
    out.push_back(
        {q->getColumn(0).getString(), q->getColumn(1).getInt64(), q->getColumn(2).getInt()});
  }
  return out;
}

void save_nudge_schedule(SQLite::Database& db, const std::string& case_id, int next_attempt,
                         std::optional<int64_t> next_at) {
  auto q = prepare(db, "UPDATE cases SET next_nudge_attempt = ?, next_nudge_at = ? WHERE id = ?");
  q->bind(1, next_attempt);
  if (next_at) {
    q->bind(2, *next_at);
  } else {
    q->bind(2);
  }
  q->bind(3, case_id);
  q->exec();
}

std::vector<std::string> find_pending_incentives(SQLite::Database& db, int limit) {
  auto q = prepare(db,
                   "SELECT id FROM cases INDEXED BY cases_incentive_pending "
                   "WHERE incentive_state = 'pending' AND status = 'open' LIMIT ?");
  q->bind(1, limit);
  std::vector<std::string> out;
  while (q->executeStep()) out.push_back(q->getColumn(0).getString());
  return out;
}

std::optional<IncentiveState> find_incentive(SQLite::Database& db, const std::string& case_id) {
  auto q = prepare(db,
                   "SELECT incentive_state, incentive_days, incentive_baseline FROM cases "
                   "WHERE id = ?");
  q->bind(1, case_id);
  if (!q->executeStep()) return std::nullopt;
  IncentiveState s;
  s.state = read_incentive_state(q->getColumn(0));
  s.days = q->getColumn(1).getInt();
  if (!q->getColumn(2).isNull()) s.baseline = q->getColumn(2).getInt64();
  return s;
}

void save_incentive(SQLite::Database& db, const std::string& case_id, const IncentiveState& s) {
  auto q = prepare(db,
                   "UPDATE cases SET incentive_state = ?, incentive_days = ?, "
                   "incentive_baseline = ? WHERE id = ?");
  q->bind(1, domain::incentive_state_name(s.state));
  q->bind(2, s.days);
  if (s.baseline) {
    q->bind(3, *s.baseline);
  } else {
    q->bind(3);
  }
  q->bind(4, case_id);
  q->exec();
}

namespace {

domain::SendState read_send_state(const SQLite::Column& c) {
  // The column's CHECK constraint admits only the names send_state_name() writes.
  return domain::send_state_from_name(c.getString()).value_or(domain::SendState::Unknown);
}

}  // namespace

std::optional<domain::SendState> begin_send(SQLite::Database& db, const std::string& case_id,
                                            const std::string& attempt, const std::string& channel,
                                            const std::string& actor, int64_t now) {
  auto ins = prepare(db,
                     "INSERT INTO nudge_sends (case_id, attempt, channel, state, actor, "
                     "created_at, updated_at) VALUES (?,?,?,'sending',?,?,?) "
                     "ON CONFLICT (case_id, attempt, channel) DO NOTHING");
  ins->bind(1, case_id);
  ins->bind(2, attempt);
  ins->bind(3, channel);
  ins->bind(4, actor);
  ins->bind(5, now);
  ins->bind(6, now);
  if (ins->exec() > 0) return std::nullopt;
  auto q = prepare(db,
                   "SELECT state FROM nudge_sends WHERE case_id = ? AND attempt = ? AND "
                   "channel = ?");
  q->bind(1, case_id);
  q->bind(2, attempt);
  q->bind(3, channel);
  q->executeStep();
  return read_send_state(q->getColumn(0));
}

void finish_send(SQLite::Database& db, const std::string& case_id, const std::string& attempt,
                 const std::string& channel, domain::SendState state, int64_t now) {
  auto q = prepare(db,
                   "UPDATE nudge_sends SET state = ?, updated_at = ? "
                   "WHERE case_id = ? AND attempt = ? AND channel = ?");
  q->bind(1, domain::send_state_name(state));
  q->bind(2, now);
  q->bind(3, case_id);
  q->bind(4, attempt);
  q->bind(5, channel);
  q->exec();
}

std::vector<SendRow> list_sends_for_case(SQLite::Database& db, const std::string& case_id) {
  auto q = prepare(db,
                   "SELECT attempt, channel, state, actor, created_at FROM nudge_sends "
                   "WHERE case_id = ? ORDER BY created_at, id");
  q->bind(1, case_id);
  std::vector<SendRow> out;
  while (q->executeStep()) {
    out.push_back({q->getColumn(0).getString(), q->getColumn(1).getString(),
                   read_send_state(q->getColumn(2)), q->getColumn(3).getString(),
                   q->getColumn(4).getInt64()});
  }
  return out;
}

int count_manual_sends(SQLite::Database& db, const std::string& case_id) {
  auto q = prepare(db,
                   "SELECT count(DISTINCT attempt) FROM nudge_sends "
                   "WHERE case_id = ? AND attempt LIKE 'm%'");
  q->bind(1, case_id);
  q->executeStep();
  return q->getColumn(0).getInt();
}

std::string ensure_link(SQLite::Database& db, const std::string& case_id,
                        const std::string& manage_url, const std::string& new_token) {
  auto q = prepare(db,
                   "UPDATE cases SET manage_url = ?, link_token = coalesce(link_token, ?) "
                   "WHERE id = ? RETURNING link_token");
  q->bind(1, manage_url);
  q->bind(2, new_token);
  q->bind(3, case_id);
  if (!q->executeStep()) return "";
  return q->getColumn(0).getString();
}

std::optional<LinkTarget> find_link(SQLite::Database& db, const std::string& token) {
  auto q = prepare(db, "SELECT id, manage_url FROM cases WHERE link_token = ?");
  q->bind(1, token);
  if (!q->executeStep()) return std::nullopt;
  return LinkTarget{q->getColumn(0).getString(), q->getColumn(1).getString()};
}

void save_click(SQLite::Database& db, const std::string& case_id, int64_t now) {
  auto q = prepare(db,
                   "UPDATE cases SET clicks = clicks + 1, "
                   "first_click_at = coalesce(first_click_at, ?) WHERE id = ?");
  q->bind(1, now);
  q->bind(2, case_id);
  q->exec();
}

void save_dm_channel(SQLite::Database& db, const std::string& case_id, const std::string& channel) {
  auto q = prepare(db, "UPDATE cases SET dm_channel_id = ? WHERE id = ?");
  q->bind(1, channel);
  q->bind(2, case_id);
  q->exec();
}

std::string find_dm_channel(SQLite::Database& db, const std::string& case_id) {
  auto q = prepare(db, "SELECT dm_channel_id FROM cases WHERE id = ?");
  q->bind(1, case_id);
  return q->executeStep() ? q->getColumn(0).getString() : "";
}

std::string find_manage_url(SQLite::Database& db, const std::string& case_id) {
  auto q = prepare(db, "SELECT manage_url FROM cases WHERE id = ?");
  q->bind(1, case_id);
  return q->executeStep() ? q->getColumn(0).getString() : "";
}

bool cancel_case(SQLite::Database& db, const std::string& case_id, int64_t now,
                 domain::Resolution why) {
  auto q = prepare(db,
                   "UPDATE cases SET status = ?, resolution = ?, "
                   "cancelled_at = ?, next_nudge_at = NULL, updated_at = ? "
                   "WHERE id = ? AND status = 'open'");
  q->bind(1, domain::status_name(domain::CaseStatus::Cancelled));
  q->bind(2, domain::resolution_name(why));
  q->bind(3, now);
  q->bind(4, now);
  q->bind(5, case_id);
  return q->exec() > 0;
}

std::optional<std::string> find_engine_state(SQLite::Database& db, const std::string& key) {
  return find_kv(db, "engine_state", key);
}

void save_engine_state(SQLite::Database& db, const std::string& key, const std::string& value,
                       int64_t now) {
  save_kv(db, "engine_state", key, value, now);
}

bool payment_event_exists(SQLite::Database& db, const std::string& payment_id,
                          const std::string& type, int64_t event_time) {
  auto q = prepare(db,
                   "SELECT 1 FROM events WHERE payment_id = ? AND type = ? AND event_time = ? "
                   "AND payment_id != '' LIMIT 1");
  q->bind(1, payment_id);
  q->bind(2, type);
  q->bind(3, event_time);
  return q->executeStep();
}

std::vector<domain::StoredEvent> list_contact_events(SQLite::Database& db,
                                                     const std::string& membership_id) {
  auto q = prepare(db,
                   "SELECT type, event_time, received_at, process_state FROM events "
                   "WHERE membership_id = ? AND membership_id != ''");
  q->bind(1, membership_id);
  std::vector<domain::StoredEvent> out;
  while (q->executeStep()) {
    out.push_back({domain::kind_from_type(q->getColumn(0).getString()), q->getColumn(1).getInt64(),
                   q->getColumn(2).getInt64(), q->getColumn(3).getString() != "pending"});
  }
  return out;
}

bool has_open_case(SQLite::Database& db, const std::string& membership_id) {
  // `+status`: without it SQLite reads every open case through cases_status_amount_id.
  auto q = prepare(db, "SELECT 1 FROM cases WHERE membership_id = ? AND +status = 'open' LIMIT 1");
  q->bind(1, membership_id);
  return q->executeStep();
}

bool has_pending_failure(SQLite::Database& db, const std::string& membership_id) {
  auto q = prepare(db,
                   "SELECT 1 FROM events WHERE membership_id = ? AND type = 'payment.failed' "
                   "AND +process_state = 'pending' LIMIT 1");  // events_membership, not all pending
  q->bind(1, membership_id);
  return q->executeStep();
}

}  // namespace cs::store
