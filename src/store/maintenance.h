#pragma once
// Database maintenance (issue 5): consistent copies, integrity checks, retention and the erasure
// of one member. The SQL lives here; app/backup, app/retention and the CLI decide when to run it.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <SQLiteCpp/Database.h>

#include "util/result.h"

namespace cs::store {

/// Opens `path` read-write without creating it and without the statement cache (for one-off
/// maintenance: backup, check, erase). busy_timeout as everywhere else; foreign keys on.
/// Throws SQLite::Exception.
std::unique_ptr<SQLite::Database> open_for_maintenance(const std::string& path);

/// Makes every statement on `db` give up (SQLITE_INTERRUPT, thrown as SQLite::Exception) soon
/// after `*stop` turns true: a backup's VACUUM INTO or integrity check of a large database takes
/// minutes, and a service that is asked to stop should not wait for them. Null: never.
void interrupt_on(SQLite::Database& db, const std::atomic<bool>* stop);

/// Writes a transactionally consistent copy of the whole database into `dest` in ONE step
/// (`VACUUM INTO`, never step-wise: SECURITY.md). `dest` must not exist. Safe while another
/// process writes. Throws SQLite::Exception.
void vacuum_into(SQLite::Database& db, const std::string& dest);

struct CheckReport {
  bool ok = true;
  std::vector<std::string> problems;  // at most a few lines, for people
};
/// `PRAGMA integrity_check` (or quick_check when `quick`) plus `PRAGMA foreign_key_check`.
CheckReport check_database(SQLite::Database& db, bool quick = false);

/// `PRAGMA wal_checkpoint(TRUNCATE)`, retried while readers hold it back (up to `tries`).
/// Returns true when the WAL was checkpointed completely and truncated.
bool checkpoint_truncate(SQLite::Database& db, int tries = 20);

// --- Retention (each step reads ids on a read connection, then changes them in small batches on
// the writer, so ingestion never waits long).

/// The highest event id among the newest events received before `before` (0 when none): the
/// retention scans below stop there instead of reading the whole table.
int64_t find_last_event_id_before(SQLite::Database& db, int64_t before);
/// Ids of events received before `before` that still carry an encrypted payload, with
/// `after` < id <= `upto`, ascending.
std::vector<int64_t> list_events_with_payload_before(SQLite::Database& db, int64_t before,
                                                     int64_t after, int64_t upto, int limit);
/// Drops the payload of these events. Returns how many changed.
int64_t strip_payloads(SQLite::Database& db, const std::vector<int64_t>& ids);
/// Ids of events received before `before`, `after` < id <= `upto`, that are no longer needed:
/// processed (not pending) and not part of a membership that still has an open case.
std::vector<int64_t> list_expired_events(SQLite::Database& db, int64_t before, int64_t after,
                                         int64_t upto, int limit);
int64_t delete_events(SQLite::Database& db, const std::vector<int64_t>& ids);
/// Open cases whose first failure is older than `before`.
std::vector<std::string> list_stale_open_cases(SQLite::Database& db, int64_t before, int limit);
/// Closes an open case as lost (resolution "stale"), stops its nudges, records the action.
/// False when the case is no longer open.
bool close_stale_case(SQLite::Database& db, const std::string& case_id, int64_t now);

/// Deletes dead jobs last updated before `before`. Returns how many.
int64_t purge_dead_jobs(SQLite::Database& db, int64_t before);

// --- Erasure of one member (GDPR art. 17).

struct ErasureReport {
  int64_t events_deleted = 0;
  int64_t cases_anonymised = 0;
  int64_t cases_cancelled = 0;
  int64_t jobs_deleted = 0;
  int64_t actions_scrubbed = 0;
};
/// Removes or anonymises everything stored about Whop user `user_id` in one transaction on `db`
/// (which must have `PRAGMA secure_delete = ON` for the bytes to be overwritten): their events
/// (with encrypted payloads) are deleted; their cases keep only amounts, times and states
/// (ids, names, links and Whop ids are blanked; open ones are cancelled); their queued jobs are
/// deleted; the metadata of their cases' actions is cleared. Records a "member_erased" action
/// without the id.
ErasureReport erase_member(SQLite::Database& db, const std::string& user_id, int64_t now);

}  // namespace cs::store
