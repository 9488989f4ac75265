#pragma once
// The admin's queue actions (dashboard and CLI alike): retry a failed or dead job, replay a
// stored event. Each is one transaction with its audit row; the job workers are woken after.
#include <cstdint>

#include "service/context.h"
#include "util/result.h"

namespace cs::service {

/// Puts a failed or dead job back in the queue with a fresh attempt budget and audits it
/// ("job_retried"). False (nothing written) when there is no such job or it is not failed or
/// dead; Error when the database cannot be written.
Result<bool> retry_job(Context& ctx, int64_t job_id);

/// Queues a stored event's processing again, audited ("event_replayed"). False when there is no
/// such event.
Result<bool> replay_event(Context& ctx, int64_t event_id);

struct Purged {
  int64_t done = 0, dead = 0;
};
/// Deletes done jobs (and, when `dead`, dead ones) last updated before `before`, audited
/// ("jobs_purged") with the counts.
Result<Purged> purge_jobs(Context& ctx, int64_t before, bool dead);

}  // namespace cs::service
