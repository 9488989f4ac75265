#pragma once
// Read-only figures for health, metrics and alerts (issue 5). Every query goes through an index;
// none holds a read transaction longer than one statement.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include <SQLiteCpp/Database.h>

namespace cs::store {

struct WebhookFacts {
  std::optional<int64_t> last_received_at;  // newest event that came as a webhook (unix ms)
  std::optional<int64_t> last_event_time;   // that event's own time
  std::string last_type;                    // that event's type
  int64_t received_since = 0;               // events stored since `since` (webhook + reconcile)
  int64_t pending = 0;                      // events waiting to be processed (backlog)
  int64_t failed = 0;                       // events whose processing failed
  int64_t process_jobs_waiting = 0;  // process_event jobs (replays) queued, failed or running
};
/// Webhook facts; `since` bounds received_since.
WebhookFacts find_webhook_facts(SQLite::Database& db, int64_t since);

/// Stored events by process_state (every state present, zero when none).
std::map<std::string, int64_t> count_events_by_state(SQLite::Database& db);
/// Cases by status (every status present, zero when none).
std::map<std::string, int64_t> count_cases_by_status(SQLite::Database& db);
/// Nudge send intents by (channel, state).
std::map<std::pair<std::string, std::string>, int64_t> count_nudges(SQLite::Database& db);
int64_t count_open_cases(SQLite::Database& db);
int64_t count_dead_jobs(SQLite::Database& db);

}  // namespace cs::store
