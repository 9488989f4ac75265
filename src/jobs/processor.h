#pragma once
// Event processing: turns a stored event into case transitions, audit rows and (later) jobs, in
// the caller's write transaction. Re-folding the membership's whole event history each time makes
// the outcome independent of arrival order and of duplicates.
#include <cstdint>
#include <string>

#include <SQLiteCpp/Database.h>

#include "domain/recovery.h"
#include "util/crypto.h"

namespace cs::jobs {

struct ProcessOutcome {
  std::string state;  // "processed" | "ignored"
  std::string note;   // why ignored, or a short summary
};

/// Processes event `event_id`: re-folds its membership and writes case rows and transition
/// actions. Must run inside a write transaction. Throws on database errors.
ProcessOutcome process_event(SQLite::Database& db, const crypto::Keyring& keys, int64_t event_id,
                             const domain::RecoveryPolicy& policy, int64_t now);

/// Re-folds one membership's cases at time `now` (used when attribution windows pass).
/// Returns how many cases changed status.
int refold_membership(SQLite::Database& db, const std::string& membership_id,
                      const domain::RecoveryPolicy& policy, int64_t now);

}  // namespace cs::jobs
