#pragma once
// The admin's case actions (nudge now, cancel the case, ask Whop to cancel or end the
// membership). The recovery engine (src/jobs/engine.h) checks what the case allows, queues the
// work and audits it in one transaction; this is the one entry point the dashboard calls.
#include <string>

#include "jobs/engine.h"
#include "service/context.h"
#include "util/result.h"

namespace cs::service {

enum class CaseAction { NudgeNow, Cancel, CancelAtPeriodEnd, TerminateNow };

/// "nudge" | "cancel" | "cancel-at-period-end" | "terminate" (the URL's names).
std::optional<CaseAction> case_action_from_name(const std::string& name);

/// Runs the action; Ok carries what a person reads after it, Error why it did not apply. Nudge
/// now waits (up to 10 s) for its sends to settle and answers with their real outcome: Ok when
/// every channel was sent, Error naming each channel skipped or failed and why.
Result<std::string> run_case_action(Context& ctx, jobs::RecoveryEngine* engine,
                                    const std::string& case_id, CaseAction action);

}  // namespace cs::service
