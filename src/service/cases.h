#pragma once
// The admin's case actions (nudge now, cancel the case, ask Whop to cancel or end the
// membership). The recovery engine (src/jobs/engine.h) checks what the case allows, queues the
// work and audits it in one transaction; this is the one entry point the dashboard calls.
#include <string>

#include "jobs/engine.h"
#include "util/result.h"

namespace cs::service {

enum class CaseAction { NudgeNow, Cancel, CancelAtPeriodEnd, TerminateNow };

/// "nudge" | "cancel" | "cancel-at-period-end" | "terminate" (the URL's names).
std::optional<CaseAction> case_action_from_name(const std::string& name);

/// Runs the action; Ok carries what a person reads after it, Error why it did not apply.
Result<std::string> run_case_action(jobs::RecoveryEngine* engine, const std::string& case_id,
                                    CaseAction action);

}  // namespace cs::service
