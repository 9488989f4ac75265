#include "store/maintenance.h"

#include <chrono>
#include <set>
#include <thread>

#include <SQLiteCpp/Transaction.h>
#include <sqlite3.h>
#include <nlohmann/json.hpp>

#include "store/cases.h"
#include "store/member_search.h"
#include "store/statements.h"

namespace cs::store {

std::unique_ptr<SQLite::Database> open_for_maintenance(const std::string& path) {
  auto db =
      std::make_unique<SQLite::Database>(path, SQLite::OPEN_READWRITE | SQLite::OPEN_FULLMUTEX);
  db->exec("PRAGMA busy_timeout = 5000");
  db->exec("PRAGMA foreign_keys = ON");
  return db;
}

void interrupt_on(SQLite::Database& db, const std::atomic<bool>* stop) {
  // Asked every 1,000 virtual-machine steps (tens of microseconds apart).
  ::sqlite3_progress_handler(
      db.getHandle(), stop ? 1000 : 0,
      [](void* flag) { return static_cast<const std::atomic<bool>*>(flag)->load() ? 1 : 0; },
      const_cast<std::atomic<bool>*>(stop));
}

void vacuum_into(SQLite::Database& db, const std::string& dest) {
  auto q = prepare(db, "VACUUM INTO ?");
  q->bind(1, dest);
  q->exec();
}

CheckReport check_database(SQLite::Database& db, bool quick) {
  CheckReport r;
  {
    auto q = prepare(db, quick ? "PRAGMA quick_check(20)" : "PRAGMA integrity_check(20)");
    while (q->executeStep()) {
      std::string row = q->getColumn(0).getString();
      if (row != "ok") r.problems.push_back(row);
    }
  }
  {
    auto q = prepare(db, "PRAGMA foreign_key_check");
    int n = 0;
    while (q->executeStep()) {
      if (++n <= 20) {
        r.problems.push_back("foreign key violation: " + q->getColumn(0).getString() + " row " +
                             std::to_string(q->getColumn(1).getInt64()) + " -> " +
                             q->getColumn(2).getString());
      }
    }
  }
  r.ok = r.problems.empty();
  return r;
}

bool checkpoint_truncate(SQLite::Database& db, int tries) {
  for (int i = 0; i < tries; ++i) {
    auto q = prepare(db, "PRAGMA wal_checkpoint(TRUNCATE)");
    if (q->executeStep() && q->getColumn(0).getInt() == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

int64_t find_last_event_id_before(SQLite::Database& db, int64_t before) {
  // Ids follow arrival order closely (group commit); the newest 1000 old events bound it.
  auto q = prepare(db,
                   "SELECT max(id) FROM (SELECT id FROM events WHERE received_at < ? "
                   "ORDER BY received_at DESC LIMIT 1000)");
  q->bind(1, before);
  if (q->executeStep() && !q->getColumn(0).isNull()) return q->getColumn(0).getInt64();
  return 0;
}

namespace {

/// Ids of events in (after, upto] received before `before` that also match `condition`, oldest
/// first, at most `limit`.
std::vector<int64_t> event_ids_before(SQLite::Database& db, const char* condition, int64_t before,
                                      int64_t after, int64_t upto, int limit) {
  auto q = prepare(db, std::string("SELECT id FROM events WHERE id > ? AND id <= ? AND "
                                   "received_at < ? AND ") +
                           condition + " ORDER BY id LIMIT ?");
  q->bind(1, after);
  q->bind(2, upto);
  q->bind(3, before);
  q->bind(4, limit);
  std::vector<int64_t> out;
  while (q->executeStep()) out.push_back(q->getColumn(0).getInt64());
  return out;
}

/// Runs `sql` (one `?` = an event id) for each id; the number of rows changed.
int64_t for_each_event(SQLite::Database& db, const char* sql, const std::vector<int64_t>& ids) {
  auto q = prepare(db, sql);
  int64_t n = 0;
  for (int64_t id : ids) {
    q->bind(1, id);
    n += q->exec();
    q->reset();
  }
  return n;
}

}  // namespace

std::vector<int64_t> list_events_with_payload_before(SQLite::Database& db, int64_t before,
                                                     int64_t after, int64_t upto, int limit) {
  return event_ids_before(db, "payload IS NOT NULL", before, after, upto, limit);
}

int64_t strip_payloads(SQLite::Database& db, const std::vector<int64_t>& ids) {
  // The search hashes of the member's details go with the last payload they were made from.
  const auto sets = search_sets_of(db, ids);
  const int64_t n = for_each_event(
      db,
      "UPDATE events SET payload = NULL, search_set = NULL WHERE id = ? AND payload IS NOT NULL",
      ids);
  release_search_sets(db, sets);
  return n;
}

std::vector<int64_t> list_expired_events(SQLite::Database& db, int64_t before, int64_t after,
                                         int64_t upto, int limit) {
  return event_ids_before(db,
                          "process_state != 'pending' AND membership_id NOT IN "
                          "(SELECT membership_id FROM cases WHERE status = 'open')",
                          before, after, upto, limit);
}

int64_t delete_events(SQLite::Database& db, const std::vector<int64_t>& ids) {
  const auto sets = search_sets_of(db, ids);
  const int64_t n = for_each_event(db, "DELETE FROM events WHERE id = ?", ids);
  release_search_sets(db, sets);
  return n;
}

std::vector<std::string> list_stale_open_cases(SQLite::Database& db, int64_t before, int limit) {
  auto q = prepare(db,
                   "SELECT id FROM cases WHERE status = 'open' AND first_failure_at < ? "
                   "ORDER BY first_failure_at LIMIT ?");
  q->bind(1, before);
  q->bind(2, limit);
  std::vector<std::string> out;
  while (q->executeStep()) out.push_back(q->getColumn(0).getString());
  return out;
}

bool close_stale_case(SQLite::Database& db, const std::string& case_id, int64_t now) {
  auto q = prepare(db,
                   "UPDATE cases SET status = ?3, resolution = ?4, resolved_at = ?1, "
                   "next_nudge_at = NULL, updated_at = ?1 WHERE id = ?2 AND status = 'open'");
  q->bind(1, now);
  q->bind(2, case_id);
  q->bind(3, domain::status_name(domain::CaseStatus::Lost));
  q->bind(4, domain::resolution_name(domain::Resolution::Stale));
  if (q->exec() == 0) return false;
  save_action(db, {case_id, now, "case_lost", "", std::nullopt, "system", "stale", "{}"});
  return true;
}

int64_t purge_dead_jobs(SQLite::Database& db, int64_t before) {
  auto q = prepare(db, "DELETE FROM jobs WHERE state = 'dead' AND updated_at < ?");
  q->bind(1, before);
  return q->exec();
}

ErasureReport erase_member(SQLite::Database& db, const std::string& user_id, int64_t now) {
  ErasureReport r;
  if (user_id.empty()) return r;
  SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);

  // Everything that identifies the member: their memberships and their cases.
  std::set<std::string> memberships;
  std::set<std::string> case_ids;
  {
    auto q = prepare(db,
                     "SELECT DISTINCT membership_id FROM events WHERE user_id = ? "
                     "AND membership_id != ''");
    q->bind(1, user_id);
    while (q->executeStep()) memberships.insert(q->getColumn(0).getString());
  }
  {
    auto q = prepare(db, "SELECT id, membership_id FROM cases WHERE user_id = ?");
    q->bind(1, user_id);
    while (q->executeStep()) {
      case_ids.insert(q->getColumn(0).getString());
      if (!q->getColumn(1).getString().empty()) memberships.insert(q->getColumn(1).getString());
    }
  }
  for (const auto& m : memberships) {
    auto q = prepare(db, "SELECT id FROM cases WHERE membership_id = ?");
    q->bind(1, m);
    while (q->executeStep()) case_ids.insert(q->getColumn(0).getString());
  }

  // Events (and their encrypted bodies).
  {
    auto q = prepare(db, "DELETE FROM events WHERE user_id = ?");
    q->bind(1, user_id);
    r.events_deleted += q->exec();
  }
  for (const auto& m : memberships) {
    auto q = prepare(db, "DELETE FROM events WHERE membership_id = ?");
    q->bind(1, m);
    r.events_deleted += q->exec();
    delete_search_sets(db, m);  // the search hashes of their details
  }

  // Jobs that name the member, their memberships or their cases (a running one finishes).
  std::vector<std::string> needles = {user_id};
  needles.insert(needles.end(), memberships.begin(), memberships.end());
  needles.insert(needles.end(), case_ids.begin(), case_ids.end());
  for (const auto& n : needles) {
    auto q = prepare(db,
                     "DELETE FROM jobs WHERE state != 'running' AND "
                     "(instr(payload, ?1) > 0 OR instr(coalesce(unique_key, ''), ?1) > 0)");
    q->bind(1, n);
    r.jobs_deleted += q->exec();
  }

  // Cases: keep amounts, times and states for the creator's figures; blank everything personal.
  for (const auto& id : case_ids) {
    {
      auto q = prepare(db,
                       "UPDATE cases SET status = ?3, resolution = ?4, "
                       "cancelled_at = ?1, resolved_at = coalesce(resolved_at, ?1), "
                       "updated_at = ?1 WHERE id = ?2 AND status = 'open'");
      q->bind(1, now);
      q->bind(2, id);
      q->bind(3, domain::status_name(domain::CaseStatus::Cancelled));
      q->bind(4, domain::resolution_name(domain::Resolution::Erased));
      r.cases_cancelled += q->exec();
    }
    auto q = prepare(db,
                     "UPDATE cases SET membership_id = 'erased:' || id, user_id = '', "
                     "username = '', failure_message = '', recovery_payment_id = '', "
                     "manage_url = '', link_token = NULL, dm_channel_id = '', "
                     "next_nudge_at = NULL, updated_at = ?1 WHERE id = ?2");
    q->bind(1, now);
    q->bind(2, id);
    r.cases_anonymised += q->exec();
    auto a = prepare(db,
                     "UPDATE recovery_actions SET metadata = '{}' WHERE case_id = ? "
                     "AND metadata != '{}'");
    a->bind(1, id);
    r.actions_scrubbed += a->exec();
  }
  save_action(db, {"", now, "member_erased", "", std::nullopt, "admin", "erased",
                   nlohmann::json{{"events", r.events_deleted},
                                  {"cases", r.cases_anonymised},
                                  {"jobs", r.jobs_deleted}}
                       .dump()});
  tx.commit();
  return r;
}

}  // namespace cs::store
