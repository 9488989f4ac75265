#pragma once
// The kinds of background job. A closed set: a switch over JobKind has no default, so a new kind
// fails to compile until its name (below) and its payload (src/jobs/kinds.h) exist.
#include <optional>
#include <string_view>

namespace cs::domain {

enum class JobKind {
  ProcessEvent,  // fold a stored event into its membership's cases
  Nudge,         // send one reminder (push or DM) for one case attempt
  Incentive,     // grant the case's free days once
  WhopCancel,    // ask Whop to cancel or end a membership (admin action)
};

/// The stored name ("process_event", "nudge", "incentive", "whop_cancel").
const char* job_kind_name(JobKind k);
std::optional<JobKind> job_kind_from_name(std::string_view name);

}  // namespace cs::domain
