#pragma once
// Event processing: turns a stored event into case transitions, audit rows and (later) jobs, in
// the caller's write transaction. Re-folding the membership's whole event history each time makes
// the outcome independent of arrival order and of duplicates.
#include <cstdint>
#include <functional>
#include <string>

#include <SQLiteCpp/Database.h>

#include "domain/recovery.h"
#include "domain/settings.h"
#include "util/crypto.h"

namespace cs::jobs {

struct ProcessOutcome {
  std::string state;  // "processed" | "ignored"
  std::string note;   // why ignored, or a short summary
  int opened = 0;     // cases opened (the scheduler is woken for what was left to it)
  int nudges = 0;     // T+0 nudge jobs enqueued with them (the job runner should look)
};

/// The fold's policy from the creator's settings.
domain::RecoveryPolicy policy_of(const domain::RecoverySettings& s);

/// Processes event `event_id`: re-folds its membership and writes case rows and transition
/// actions. A newly opened case gets its nudge schedule (first reminder at first_failure_at +
/// first offset; a reminder already due is enqueued as a nudge job at once, see
/// jobs::enqueue_due_nudge) and, when free days are on, an incentive, queued at once
/// (jobs::enqueue_incentive) unless the scheduler is switched off. Must run inside a write
/// transaction. Throws on database errors.
ProcessOutcome process_event(SQLite::Database& db, const crypto::Keyring& keys, int64_t event_id,
                             const domain::RecoverySettings& settings, int64_t now);

struct PendingOutcome {
  int events = 0;        // events taken (processed, ignored or failed)
  int opened = 0;        // cases opened
  int nudges = 0;        // T+0 nudge jobs enqueued
  bool yielded = false;  // stopped before `limit` because `yield` asked (more may be pending)
};

/// Processes up to `limit` stored events that are still pending, oldest first, each in its own
/// savepoint of the caller's write transaction; an event is marked (processed | ignored) in the
/// same transaction as its effects, so it is processed exactly once even across a crash. An event
/// whose processing throws is rolled back alone and marked failed with the error (an admin can
/// replay it); a disk error passes on and fails the whole transaction, leaving every event
/// pending for the next pass. `yield`, when set, is asked after each event: true ends the pass
/// early (at least one event is taken per pass), so that others waiting for the writer (a
/// webhook's insert) do not wait for the whole batch.
PendingOutcome process_pending_events(SQLite::Database& db, const crypto::Keyring& keys,
                                      const domain::RecoverySettings& settings, int64_t now,
                                      int limit, const std::function<bool()>& yield = {});

/// Re-folds one membership's cases at time `now` (used when attribution windows pass).
/// Returns how many cases changed status.
int refold_membership(SQLite::Database& db, const std::string& membership_id,
                      const domain::RecoverySettings& settings, int64_t now);

}  // namespace cs::jobs
