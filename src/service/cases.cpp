#include "service/cases.h"

namespace cs::service {

std::optional<CaseAction> case_action_from_name(const std::string& name) {
  if (name == "nudge") return CaseAction::NudgeNow;
  if (name == "cancel") return CaseAction::Cancel;
  if (name == "cancel-at-period-end") return CaseAction::CancelAtPeriodEnd;
  if (name == "terminate") return CaseAction::TerminateNow;
  return std::nullopt;
}

Result<std::string> run_case_action(jobs::RecoveryEngine* engine, const std::string& case_id,
                                    CaseAction action) {
  if (!engine) return Error{"The recovery engine is not running."};
  Status st = Ok{};
  std::string done;
  switch (action) {
    case CaseAction::NudgeNow:
      st = engine->nudge_now(case_id);
      done = "Nudge queued: it is being sent now.";
      break;
    case CaseAction::Cancel:
      st = engine->cancel_case(case_id);
      done = "Case cancelled: no more nudges will be sent.";
      break;
    case CaseAction::CancelAtPeriodEnd:
      st = engine->cancel_at_period_end(case_id);
      done = "Asked Whop to cancel the membership at the end of the period.";
      break;
    case CaseAction::TerminateNow:
      st = engine->terminate_now(case_id);
      done = "Asked Whop to end the membership now.";
      break;
  }
  if (!st) return Error{st.error()};
  return done;
}

}  // namespace cs::service
