#include "store/ops_stats.h"

#include "store/dashboard.h"
#include "store/statements.h"

namespace cs::store {

WebhookFacts find_webhook_facts(SQLite::Database& db, int64_t since) {
  WebhookFacts f;
  {
    // Newest first through events_received; stops at the first webhook (reconciled events and
    // the settings page's test webhooks skipped: they say nothing about Whop reaching us).
    auto q = prepare(db,
                     "SELECT received_at, event_time, type FROM events WHERE source = 'webhook' "
                     "AND type <> ? ORDER BY received_at DESC LIMIT 1");
    q->bind(1, kTestWebhookType);
    if (q->executeStep()) {
      f.last_received_at = q->getColumn(0).getInt64();
      f.last_event_time = q->getColumn(1).getInt64();
      f.last_type = q->getColumn(2).getString();
    }
  }
  {
    auto q = prepare(db, "SELECT count(*) FROM events WHERE received_at >= ?");
    q->bind(1, since);
    if (q->executeStep()) f.received_since = q->getColumn(0).getInt64();
  }
  {
    auto q = prepare(db, "SELECT count(*) FROM events WHERE process_state = 'pending'");
    if (q->executeStep()) f.pending = q->getColumn(0).getInt64();
  }
  {
    auto q = prepare(db, "SELECT count(*) FROM events WHERE process_state = 'failed'");
    if (q->executeStep()) f.failed = q->getColumn(0).getInt64();
  }
  {
    auto q = prepare(db,
                     "SELECT count(*) FROM jobs WHERE state IN ('queued', 'failed', 'running') "
                     "AND kind = 'process_event'");
    if (q->executeStep()) f.process_jobs_waiting = q->getColumn(0).getInt64();
  }
  return f;
}

std::map<std::string, int64_t> count_events_by_state(SQLite::Database& db) {
  std::map<std::string, int64_t> out = {
      {"pending", 0}, {"processed", 0}, {"ignored", 0}, {"failed", 0}};
  auto q = prepare(db, "SELECT process_state, count(*) FROM events GROUP BY process_state");
  while (q->executeStep()) out[q->getColumn(0).getString()] = q->getColumn(1).getInt64();
  return out;
}

std::map<std::string, int64_t> count_cases_by_status(SQLite::Database& db) {
  std::map<std::string, int64_t> out = {
      {"open", 0}, {"recovered", 0}, {"lost", 0}, {"cancelled", 0}};
  auto q = prepare(db, "SELECT status, count(*) FROM cases GROUP BY status");
  while (q->executeStep()) out[q->getColumn(0).getString()] = q->getColumn(1).getInt64();
  return out;
}

std::map<std::pair<std::string, std::string>, int64_t> count_nudges(SQLite::Database& db) {
  std::map<std::pair<std::string, std::string>, int64_t> out;
  for (const char* channel : {"push", "dm"}) {
    for (const char* state : {"sending", "sent", "failed", "unknown", "skipped"}) {
      out[{channel, state}] = 0;
    }
  }
  auto q = prepare(db, "SELECT channel, state, count(*) FROM nudge_sends GROUP BY channel, state");
  while (q->executeStep()) {
    out[{q->getColumn(0).getString(), q->getColumn(1).getString()}] = q->getColumn(2).getInt64();
  }
  return out;
}

int64_t count_open_cases(SQLite::Database& db) {
  auto q = prepare(db, "SELECT count(*) FROM cases WHERE status = 'open'");
  return q->executeStep() ? q->getColumn(0).getInt64() : 0;
}

int64_t count_dead_jobs(SQLite::Database& db) {
  auto q = prepare(db, "SELECT count(*) FROM jobs WHERE state = 'dead'");
  return q->executeStep() ? q->getColumn(0).getInt64() : 0;
}

}  // namespace cs::store
