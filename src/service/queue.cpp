#include "service/queue.h"

#include <nlohmann/json.hpp>

#include "jobs/kinds.h"
#include "store/events.h"
#include "store/jobs.h"
#include "store/maintenance.h"

namespace cs::service {

Result<bool> retry_job(Context& ctx, int64_t job_id) {
  int64_t now = ctx.clock.now_ms();
  bool ok = false;
  auto st = ctx.writer.run([&](SQLite::Database& db) {
    ok = store::retry_job(db, job_id, now);
    if (ok) audit(db, now, "job_retried", "queued", nlohmann::json{{"job_id", job_id}}.dump());
  });
  if (!st) return Error{st.error()};
  if (ok && ctx.wake_jobs) ctx.wake_jobs();
  return ok;
}

Result<bool> replay_event(Context& ctx, int64_t event_id) {
  int64_t now = ctx.clock.now_ms();
  bool found = false;
  auto st = ctx.writer.run([&](SQLite::Database& db) {
    found = jobs::queue_replay(db, event_id, now);
    if (found) {
      audit(db, now, "event_replayed", "queued", nlohmann::json{{"event_id", event_id}}.dump());
    }
  });
  if (!st) return Error{st.error()};
  if (found && ctx.wake_jobs) ctx.wake_jobs();
  return found;
}

Result<Purged> purge_jobs(Context& ctx, int64_t before, bool dead) {
  int64_t now = ctx.clock.now_ms();
  Purged out;
  auto st = ctx.writer.run([&](SQLite::Database& db) {
    out.done = store::purge_done_jobs(db, before);
    out.dead = dead ? store::purge_dead_jobs(db, before) : 0;
    audit(db, now, "jobs_purged", "deleted",
          nlohmann::json{{"done", out.done}, {"dead", out.dead}, {"before", before}}.dump());
  });
  if (!st) return Error{st.error()};
  return out;
}

}  // namespace cs::service
