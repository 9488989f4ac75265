#pragma once
// The process_event job: folds one stored event into its membership's recovery cases (the rules
// are domain::fold_cases; jobs::process_event writes the result) in one transaction, honouring
// the processing kill switch.
#include <functional>

#include "domain/settings.h"
#include "jobs/runner.h"
#include "service/context.h"

namespace cs::service {

struct ProcessingHooks {
  /// The settings in force (environment kill switches applied).
  std::function<domain::RecoverySettings()> settings;
  /// Called when a case was opened (a first reminder may be due right now).
  std::function<void()> case_opened;
};

/// Processes stored event `event_id`. Deferred (not counted as an attempt) while processing is
/// switched off; a failed write is retried by the job runner.
jobs::JobOutcome process_event(Context& ctx, const ProcessingHooks& hooks, int64_t event_id);

}  // namespace cs::service
