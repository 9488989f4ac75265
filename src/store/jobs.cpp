#include "store/jobs.h"

#include <SQLiteCpp/Statement.h>

#include "store/statements.h"

namespace cs::store {
namespace {

constexpr const char* kJobCols =
    "id, kind, unique_key, payload, state, attempts, max_attempts, run_at, lease_until, "
    "last_error, created_at, updated_at";

Job read_job(SQLite::Statement& q) {
  Job j;
  j.id = q.getColumn("id").getInt64();
  j.kind = q.getColumn("kind").getString();
  if (auto c = q.getColumn("unique_key"); !c.isNull()) j.unique_key = c.getString();
  j.payload = q.getColumn("payload").getString();
  j.state = q.getColumn("state").getString();
  j.attempts = q.getColumn("attempts").getInt();
  j.max_attempts = q.getColumn("max_attempts").getInt();
  j.run_at = q.getColumn("run_at").getInt64();
  if (auto c = q.getColumn("lease_until"); !c.isNull()) j.lease_until = c.getInt64();
  j.last_error = q.getColumn("last_error").getString();
  j.created_at = q.getColumn("created_at").getInt64();
  j.updated_at = q.getColumn("updated_at").getInt64();
  return j;
}

}  // namespace

std::optional<int64_t> enqueue_job(SQLite::Database& db, const NewJob& j, int64_t now) {
  auto q = prepare(db,
                   "INSERT INTO jobs (kind, unique_key, payload, state, attempts, max_attempts, "
                   "run_at, created_at, updated_at) VALUES (?,?,?,'queued',0,?,?,?,?) "
                   "ON CONFLICT (unique_key) DO NOTHING");
  q->bind(1, j.kind);
  if (j.unique_key) {
    q->bind(2, *j.unique_key);
  } else {
    q->bind(2);
  }
  q->bind(3, j.payload);
  q->bind(4, j.max_attempts);
  q->bind(5, j.run_at);
  q->bind(6, now);
  q->bind(7, now);
  if (q->exec() == 0) return std::nullopt;
  return db.getLastInsertRowid();
}

std::vector<Job> claim_jobs(SQLite::Database& db, int64_t now, int64_t lease_ms, int limit) {
  auto q = prepare(
      db, std::string("UPDATE jobs SET state = 'running', attempts = attempts + 1, run_at = ?1, "
                      "lease_until = ?1, updated_at = ?2 WHERE id IN (SELECT id FROM jobs "
                      "WHERE state IN ('queued', 'failed', 'running') AND run_at <= ?2 "
                      "ORDER BY run_at, id LIMIT ?3) RETURNING ") +
              kJobCols);
  q->bind(1, now + lease_ms);
  q->bind(2, now);
  q->bind(3, limit);
  std::vector<Job> out;
  while (q->executeStep()) out.push_back(read_job(*q));
  return out;
}

bool renew_lease(SQLite::Database& db, int64_t id, int attempt, int64_t until) {
  auto q = prepare(db,
                   "UPDATE jobs SET run_at = ?1, lease_until = ?1 "
                   "WHERE id = ?2 AND state = 'running' AND attempts = ?3");
  q->bind(1, until);
  q->bind(2, id);
  q->bind(3, attempt);
  return q->exec() > 0;
}

void complete_job(SQLite::Database& db, int64_t id, int64_t now) {
  auto q = prepare(db,
                   "UPDATE jobs SET state = 'done', lease_until = NULL, run_at = ?, "
                   "updated_at = ? WHERE id = ?");
  q->bind(1, now);
  q->bind(2, now);
  q->bind(3, id);
  q->exec();
}

std::string fail_job(SQLite::Database& db, int64_t id, const std::string& error, int64_t now,
                     std::optional<int64_t> retry_at) {
  auto job = find_job(db, id);
  if (!job) return "";
  bool dead = !retry_at || job->attempts >= job->max_attempts;
  std::string state = dead ? "dead" : "failed";
  auto q = prepare(db,
                   "UPDATE jobs SET state = ?, last_error = ?, lease_until = NULL, run_at = ?, "
                   "updated_at = ? WHERE id = ?");
  q->bind(1, state);
  q->bind(2, error.substr(0, 1000));
  q->bind(3, dead ? now : *retry_at);
  q->bind(4, now);
  q->bind(5, id);
  q->exec();
  return state;
}

void defer_job(SQLite::Database& db, int64_t id, int64_t run_at, int64_t now,
               const std::string& why) {
  auto q = prepare(db,
                   "UPDATE jobs SET state = 'queued', attempts = max(attempts - 1, 0), "
                   "run_at = ?, lease_until = NULL, updated_at = ?, last_error = ? WHERE id = ?");
  q->bind(1, run_at);
  q->bind(2, now);
  q->bind(3, why);
  q->bind(4, id);
  q->exec();
}

int64_t count_jobs_waiting_for_api_key(SQLite::Database& db) {
  auto q = prepare(db, "SELECT count(*) FROM jobs WHERE state = 'queued' AND last_error = ?");
  q->bind(1, kWaitingForApiKey);
  return q->executeStep() ? q->getColumn(0).getInt64() : 0;
}

int wake_jobs_waiting_for_api_key(SQLite::Database& db, int64_t now) {
  auto q = prepare(db,
                   "UPDATE jobs SET run_at = ?, updated_at = ? WHERE state = 'queued' AND "
                   "last_error = ? AND run_at > ?");
  q->bind(1, now);
  q->bind(2, now);
  q->bind(3, kWaitingForApiKey);
  q->bind(4, now);
  return q->exec();
}

bool retry_job(SQLite::Database& db, int64_t id, int64_t now) {
  auto q = prepare(db,
                   "UPDATE jobs SET state = 'queued', attempts = 0, run_at = ?, "
                   "lease_until = NULL, updated_at = ? "
                   "WHERE id = ? AND state IN ('dead', 'failed')");
  q->bind(1, now);
  q->bind(2, now);
  q->bind(3, id);
  return q->exec() > 0;
}

std::optional<Job> find_job(SQLite::Database& db, int64_t id) {
  auto q = prepare(db, std::string("SELECT ") + kJobCols + " FROM jobs WHERE id = ?");
  q->bind(1, id);
  if (!q->executeStep()) return std::nullopt;
  return read_job(*q);
}

std::optional<Job> find_job_by_key(SQLite::Database& db, const std::string& unique_key) {
  auto q = prepare(db, std::string("SELECT ") + kJobCols + " FROM jobs WHERE unique_key = ?");
  q->bind(1, unique_key);
  if (!q->executeStep()) return std::nullopt;
  return read_job(*q);
}

std::vector<Job> list_jobs(SQLite::Database& db, const std::string& state, int limit,
                           int64_t before_id) {
  std::string sql = std::string("SELECT ") + kJobCols + " FROM jobs WHERE id < ?";
  if (!state.empty()) sql += " AND state = ?";
  sql += " ORDER BY id DESC LIMIT ?";
  auto q = prepare(db, sql);
  int i = 1;
  q->bind(i++, before_id > 0 ? before_id : INT64_MAX);
  if (!state.empty()) q->bind(i++, state);
  q->bind(i, limit);
  std::vector<Job> out;
  while (q->executeStep()) out.push_back(read_job(*q));
  return out;
}

std::map<std::string, int64_t> count_jobs_by_state(SQLite::Database& db) {
  std::map<std::string, int64_t> out = {
      {"queued", 0}, {"running", 0}, {"done", 0}, {"failed", 0}, {"dead", 0}};
  auto q = prepare(db, "SELECT state, count(*) FROM jobs GROUP BY state");
  while (q->executeStep()) out[q->getColumn(0).getString()] = q->getColumn(1).getInt64();
  return out;
}

int64_t purge_done_jobs(SQLite::Database& db, int64_t before) {
  auto q = prepare(db, "DELETE FROM jobs WHERE state = 'done' AND updated_at < ?");
  q->bind(1, before);
  return q->exec();
}

}  // namespace cs::store
