#pragma once
// Store functions of the recovery engine: the nudge schedule and send intents, incentive intent,
// tracked manage links and clicks, admin cancellation, and small engine state (cursors).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <SQLiteCpp/Database.h>

#include "domain/case_state.h"
#include "domain/recovery.h"

namespace cs::store {

/// An open case whose next nudge is due.
struct DueNudge {
  std::string case_id;
  int64_t first_failure_at = 0;
  int next_attempt = 0;
};
/// Open cases with next_nudge_at <= now, earliest first (through the partial index).
std::vector<DueNudge> find_due_nudges(SQLite::Database& db, int64_t now, int limit);
/// Records schedule progress: the next attempt to handle and when it is due (nullopt = done).
void save_nudge_schedule(SQLite::Database& db, const std::string& case_id, int next_attempt,
                         std::optional<int64_t> next_at);

/// Open cases whose incentive has not been queued yet.
std::vector<std::string> find_pending_incentives(SQLite::Database& db, int limit);
struct IncentiveState {
  domain::IncentiveState state = domain::IncentiveState::None;
  int days = 0;
  std::optional<int64_t> baseline;
};
std::optional<IncentiveState> find_incentive(SQLite::Database& db, const std::string& case_id);
void save_incentive(SQLite::Database& db, const std::string& case_id, const IncentiveState& s);

/// Send intents: begin_send inserts (case, attempt, channel) as Sending and returns nullopt when
/// it is new, or the existing row's state when this send was already attempted (never send again).
std::optional<domain::SendState> begin_send(SQLite::Database& db, const std::string& case_id,
                                            const std::string& attempt, const std::string& channel,
                                            const std::string& actor, int64_t now);
void finish_send(SQLite::Database& db, const std::string& case_id, const std::string& attempt,
                 const std::string& channel, domain::SendState state, int64_t now);
struct SendRow {
  std::string attempt, channel;
  domain::SendState state = domain::SendState::Sending;
  std::string actor;
  int64_t created_at = 0;
};
std::vector<SendRow> list_sends_for_case(SQLite::Database& db, const std::string& case_id);
/// Number of manual nudges recorded for a case (for naming the next one "m<N+1>").
int count_manual_sends(SQLite::Database& db, const std::string& case_id);

/// The tracked link of a case: sets the manage URL and, if the case has none, a token.
/// Returns the case's token.
std::string ensure_link(SQLite::Database& db, const std::string& case_id,
                        const std::string& manage_url, const std::string& new_token);
struct LinkTarget {
  std::string case_id;
  std::string manage_url;
};
std::optional<LinkTarget> find_link(SQLite::Database& db, const std::string& token);
/// Counts a click and keeps the first click's time.
void save_click(SQLite::Database& db, const std::string& case_id, int64_t now);
void save_dm_channel(SQLite::Database& db, const std::string& case_id, const std::string& channel);
std::string find_dm_channel(SQLite::Database& db, const std::string& case_id);
std::string find_manage_url(SQLite::Database& db, const std::string& case_id);

/// Marks an open case cancelled (nudges and incentives stop) with `why` (Admin: the creator
/// cancelled the case; PeriodEnd: the membership ends at period end). False when not open.
bool cancel_case(SQLite::Database& db, const std::string& case_id, int64_t now,
                 domain::Resolution why = domain::Resolution::Admin);

std::optional<std::string> find_engine_state(SQLite::Database& db, const std::string& key);
void save_engine_state(SQLite::Database& db, const std::string& key, const std::string& value,
                       int64_t now);

/// True when an event of `type` for `payment_id` at `event_time` is already stored.
bool payment_event_exists(SQLite::Database& db, const std::string& payment_id,
                          const std::string& type, int64_t event_time);
/// Every stored event of the membership, as the engine checks them before it calls Whop.
std::vector<domain::StoredEvent> list_contact_events(SQLite::Database& db,
                                                     const std::string& membership_id);
/// True when the membership has an open case.
bool has_open_case(SQLite::Database& db, const std::string& membership_id);
/// True when a payment.failed event of the membership is stored but not processed yet (it will
/// open or extend a case once processed).
bool has_pending_failure(SQLite::Database& db, const std::string& membership_id);

}  // namespace cs::store
