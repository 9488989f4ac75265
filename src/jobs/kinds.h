#pragma once
// One typed payload per job kind (domain::JobKind), and the only place their JSON is written and
// read. JobRunner::on<P> links a kind to its handler: the handler receives the checked payload,
// and a job whose payload does not parse is dead at once ("malformed <kind> job: ...").
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "domain/job_kind.h"
#include "store/events.h"
#include "store/jobs.h"
#include "util/result.h"

namespace cs::jobs {

struct ProcessEventJob {
  static constexpr domain::JobKind kKind = domain::JobKind::ProcessEvent;
  int64_t event_id = 0;
};

/// One nudge of one case and attempt on each of its channels (one job for all of them: a tick
/// writes one row per due case). Each channel keeps its own send intent in nudge_sends, so a
/// retry sends only the channels not yet settled. Payload {"channels":["push","dm"]}; a job
/// queued before channels were carried together has {"channel":"push"} and still runs.
struct NudgeJob {
  static constexpr domain::JobKind kKind = domain::JobKind::Nudge;
  std::string case_id;
  std::string attempt;                // "0", "1", ... from the schedule; "m1", "m2", ... manual
  std::vector<std::string> channels;  // "push" and/or "dm", each at most once, sent in this order
  std::string actor = "system";
};
/// The unique key of a nudge job: nudge:<case>:<attempt>.
std::string nudge_job_key(const std::string& case_id, const std::string& attempt);

struct IncentiveJob {
  static constexpr domain::JobKind kKind = domain::JobKind::Incentive;
  std::string case_id;
};

struct WhopCancelJob {
  static constexpr domain::JobKind kKind = domain::JobKind::WhopCancel;
  std::string case_id;
  std::string membership_id;
  std::string mode;  // "at_period_end" | "immediate"
};

std::string write_payload(const ProcessEventJob& p);
std::string write_payload(const NudgeJob& p);
std::string write_payload(const IncentiveJob& p);
std::string write_payload(const WhopCancelJob& p);

/// Parses and checks a stored payload; Error says what is missing or wrong.
template <class P>
Result<P> read_payload(const std::string& json);

/// The job to enqueue for payload `p`.
template <class P>
store::NewJob make_job(const P& p, int64_t run_at, std::optional<std::string> unique_key,
                       int max_attempts = 10) {
  store::NewJob j;
  j.kind = domain::job_kind_name(P::kKind);
  j.unique_key = std::move(unique_key);
  j.payload = write_payload(p);
  j.run_at = run_at;
  j.max_attempts = max_attempts;
  return j;
}

/// Inserts the event; a new one is stored pending, and the event processor (the job runner's
/// pending work) takes it from the events table, so no job row is written. Returns its row id,
/// or nullopt for a duplicate (nothing written).
std::optional<int64_t> insert_event_for_processing(SQLite::Database& db, const store::NewEvent& e,
                                                   int64_t now);
/// Queues a stored event's processing again (the admin's replay). False when there is no such
/// event.
bool queue_replay(SQLite::Database& db, int64_t event_id, int64_t now);

}  // namespace cs::jobs
