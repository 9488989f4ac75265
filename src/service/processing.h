#pragma once
// Event processing: the event processor folds each stored event (pending in the events table) into
// its membership's recovery cases; the process_event job (an admin's replay) folds one again. It
// folds one stored event into its membership's recovery cases (the rules
// are domain::fold_cases; jobs::process_event writes the result) in one transaction, honouring
// the processing kill switch.
#include <functional>
#include <optional>

#include "domain/settings.h"
#include "jobs/processor.h"
#include "jobs/runner.h"
#include "service/context.h"

namespace cs::service {

struct ProcessingHooks {
  /// The settings in force (environment kill switches applied).
  std::function<domain::RecoverySettings()> settings;
  /// Called when a case was opened without its first nudge enqueued with it (the scheduler plans
  /// what is left).
  std::function<void()> case_opened;
};

/// Processes stored event `event_id`. Deferred (not counted as an attempt) while processing is
/// switched off; a failed write is retried by the job runner.
jobs::JobOutcome process_event(Context& ctx, const ProcessingHooks& hooks, int64_t event_id);

/// Processes up to `limit` stored events that are still pending (jobs::process_pending_events) in
/// one write transaction: the event processor's pass. It ends early, having taken at least one,
/// when a webhook's insert waits for the writer (the insert then commits with it). Returns what it
/// took; nullopt while processing is switched off (the events wait, stored) or when the
/// transaction failed (they stay pending and a later pass takes them).
std::optional<jobs::PendingOutcome> process_pending(Context& ctx, const ProcessingHooks& hooks,
                                                    int limit);

/// The same pass as the job runner's pending work (jobs::PendingPass): it runs in the runner's
/// claim transaction, and after that commits, the hooks run and `committed` gets what it took.
/// An empty pass while processing is switched off.
jobs::PendingPass pending_pass(Context& ctx, const ProcessingHooks& hooks, int limit,
                               std::function<void(const jobs::PendingOutcome&)> committed);

}  // namespace cs::service
