#pragma once
// The closed state types of a recovery case and their one string mapping each (the strings are
// what the database stores; only src/store/ converts). A `switch` over any of these has no
// `default`, so adding a state fails to compile until every switch handles it.
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace cs::domain {

/// Where a case stands.
enum class CaseStatus { Open, Recovered, Lost, Cancelled };
const char* status_name(CaseStatus s);  // "open", "recovered", "lost", "cancelled"
/// Every case status, in the order the dashboard lists them.
const std::vector<CaseStatus>& all_case_statuses();
std::optional<CaseStatus> status_from_name(std::string_view name);

/// Why a case is no longer open ("" while open).
enum class Resolution {
  None,         // ""             open
  Payment,      // "payment"      recovered: the member paid inside the window
  Activation,   // "activation"   recovered: the membership became valid again inside the window
  Deactivated,  // "deactivated"  lost: Whop deactivated the membership
  Expired,      // "expired"      lost: the window passed without a payment
  Admin,        // "admin"        cancelled by the creator (no more nudges)
  Stale,        // "stale"        lost: closed by retention (an open case past the retention age)
  Erased,       // "erased"       cancelled: the member's data was erased on request
  PeriodEnd,    // "period_end"   cancelled: the membership ends at the end of its period (the
                //                creator's action or the member's choice); no more nudges
  Rejoined,     // "rejoined"     recovered: the member paid for (or activated) a new membership
                //                of the same product inside the window (win-back)
};
const char* resolution_name(Resolution r);
std::optional<Resolution> resolution_from_name(std::string_view name);

/// One nudge send (case, attempt, channel). Sending is the intent recorded before the call.
enum class SendState { Sending, Sent, Failed, Unknown, Skipped };
const char* send_state_name(SendState s);  // "sending", "sent", "failed", "unknown", "skipped"
std::optional<SendState> send_state_from_name(std::string_view name);

/// The free-days incentive of a case. Granting is the intent recorded before the call.
enum class IncentiveState { None, Pending, Queued, Granting, Granted, Failed, Off };
const char* incentive_state_name(IncentiveState s);  // "", "pending", "queued", "granting", ...
std::optional<IncentiveState> incentive_state_from_name(std::string_view name);

/// Net recovered revenue of a case in minor units: what the recovering payment brought in, less
/// refunds and disputes against it (never below zero); 0 unless the case is recovered.
int64_t net_recovered_cents(CaseStatus status, int64_t recovered_cents, int64_t refunded_cents);

/// "Paid after the window": a case lost without a payment (its window passed, or Whop deactivated
/// the membership) whose member paid later (`last_paid_at`: the latest payment of its membership,
/// or of the same member for the same product) than the case was lost. A payment inside the
/// attribution window recovers such a case, so this is a payment after the window the case was
/// folded with. schema/0010_paid_after_window spells the same rule in SQL.
bool paid_after_window(CaseStatus status, Resolution resolution, std::optional<int64_t> resolved_at,
                       std::optional<int64_t> last_paid_at);

/// The creator's actions a case allows.
struct CaseActions {
  bool nudge = false;                 // send a reminder now
  bool cancel = false;                // stop nudges and incentives (membership untouched)
  bool cancel_at_period_end = false;  // ask Whop to cancel when the period ends
  bool terminate = false;             // ask Whop to end the membership now
};
/// Whop's membership is cancelled or ended only where that still means something: not once the
/// member has paid (recovered), not when Whop already ended it (lost: deactivated) or the
/// member's data was erased; a case already ending at period end can still be terminated.
/// A case held out of an experiment (`holdout`) is never nudged, not even on request.
CaseActions allowed_actions(CaseStatus status, Resolution resolution, bool holdout = false);

}  // namespace cs::domain
