#pragma once
// The creator's recovery settings, their defaults and their validation. Pure.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "domain/copy.h"
#include "util/result.h"

namespace cs::domain {

struct RecoverySettings {
  bool push_enabled = true;
  bool dm_enabled = true;
  std::vector<int> reminder_offsets_days = {0, 2, 4};
  int incentive_days = 3;  // 0 = off
  int attribution_window_days = 14;
  MessageCopy copy;  // the words of each nudge (domain/copy.h)
  // Kill switches (each stops its part without a restart).
  bool processing_enabled = true;
  bool scheduler_enabled = true;
  bool notifications_enabled = true;
};

/// Per-field validation errors: field name -> message a person understands. Empty = valid.
using FieldErrors = std::map<std::string, std::string>;

/// Checks: offsets 1 to 10 strictly increasing whole days, each < the window; incentive 0..30;
/// window 1..90; the copy as validate_copy() (keys like "first.push_title").
FieldErrors validate(const RecoverySettings& s);

/// JSON (de)serialisation for storage; unknown keys ignored, missing keys keep defaults.
nlohmann::json to_json(const RecoverySettings& s);
RecoverySettings settings_from_json(const nlohmann::json& j);

/// The nudge schedule of one case at `now`: which attempt to send now and which to skip.
struct NudgePlan {
  int send_attempt = -1;           // -1 = nothing due
  std::vector<int> skipped;        // overdue attempts superseded by send_attempt
  std::optional<int64_t> next_at;  // when the attempt after send_attempt is due (none = done)
  int next_attempt = 0;            // the first attempt not yet handled after this plan
};

/// Given the first attempt not yet handled (`from_attempt`), the offsets, and first_failure_at:
/// when several attempts are overdue only the latest is sent and the others are skipped.
NudgePlan plan_nudges(int64_t first_failure_at, const std::vector<int>& offsets_days,
                      int from_attempt, int64_t now);

}  // namespace cs::domain
