#pragma once
// The table-backed job queue (DESIGN.md §6): queued -> running -> done | failed (waiting to retry)
// -> ... -> dead. A running job's run_at is its lease expiry, so one index (state, run_at) finds
// both due jobs and jobs whose worker died.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <SQLiteCpp/Database.h>

namespace cs::store {

struct NewJob {
  std::string kind;
  std::optional<std::string> unique_key;  // a second enqueue with the same key is a no-op
  std::string payload = "{}";             // JSON
  int64_t run_at = 0;
  int max_attempts = 10;
};

struct Job {
  int64_t id = 0;
  std::string kind;
  std::optional<std::string> unique_key;
  std::string payload;
  std::string state;
  int attempts = 0;
  int max_attempts = 0;
  int64_t run_at = 0;
  std::optional<int64_t> lease_until;
  std::string last_error;
  int64_t created_at = 0, updated_at = 0;
};

/// Returns the new job's id, or nullopt when a job with the same unique key exists.
std::optional<int64_t> enqueue_job(SQLite::Database& db, const NewJob& j, int64_t now);
/// Takes up to `limit` due jobs (queued or failed with run_at <= now, or running with an expired
/// lease): marks them running with a lease until now + lease_ms and counts the attempt.
std::vector<Job> claim_jobs(SQLite::Database& db, int64_t now, int64_t lease_ms, int limit);
/// Extends the lease of a job this worker still holds (running, claimed as attempt `attempt`) to
/// `until`. False when the job is no longer held (finished, or its lease ran out and another
/// worker took it).
bool renew_lease(SQLite::Database& db, int64_t id, int attempt, int64_t until);
void complete_job(SQLite::Database& db, int64_t id, int64_t now);
/// Records the error; the job becomes failed (to run again at retry_at) or, when it has used
/// max_attempts or retry_at is nullopt, dead. Returns the new state.
std::string fail_job(SQLite::Database& db, int64_t id, const std::string& error, int64_t now,
                     std::optional<int64_t> retry_at);
/// Puts a claimed job back in the queue to run at `run_at` without counting the attempt; `why`
/// (what it waits for) is kept as its last_error so the jobs page shows it.
void defer_job(SQLite::Database& db, int64_t id, int64_t run_at, int64_t now,
               const std::string& why = "");

/// The reason a job waits while no Whop API key is configured (its last_error while queued).
inline constexpr const char* kWaitingForApiKey = "waiting for Whop API key";
/// Queued jobs waiting for a Whop API key.
int64_t count_jobs_waiting_for_api_key(SQLite::Database& db);
/// Makes the jobs waiting for a Whop API key due now (the key was just configured).
int wake_jobs_waiting_for_api_key(SQLite::Database& db, int64_t now);
/// Puts a dead or failed job back in the queue with a fresh attempt budget. False if no such job.
bool retry_job(SQLite::Database& db, int64_t id, int64_t now);
std::optional<Job> find_job(SQLite::Database& db, int64_t id);
std::optional<Job> find_job_by_key(SQLite::Database& db, const std::string& unique_key);
/// Newest first; state "" = any.
/// Newest first; state "" = any; `before_id` > 0: only jobs with a smaller id (the next page).
std::vector<Job> list_jobs(SQLite::Database& db, const std::string& state, int limit,
                           int64_t before_id = 0);
std::map<std::string, int64_t> count_jobs_by_state(SQLite::Database& db);
/// Deletes done jobs last updated before `before`. Returns how many.
int64_t purge_done_jobs(SQLite::Database& db, int64_t before);

}  // namespace cs::store
