#include "domain/job_kind.h"

namespace cs::domain {

const char* job_kind_name(JobKind k) {
  switch (k) {
    case JobKind::ProcessEvent:
      return "process_event";
    case JobKind::Nudge:
      return "nudge";
    case JobKind::Incentive:
      return "incentive";
    case JobKind::WhopCancel:
      return "whop_cancel";
  }
  return "";
}

std::optional<JobKind> job_kind_from_name(std::string_view name) {
  for (auto k : {JobKind::ProcessEvent, JobKind::Nudge, JobKind::Incentive, JobKind::WhopCancel}) {
    if (name == job_kind_name(k)) return k;
  }
  return std::nullopt;
}

}  // namespace cs::domain
