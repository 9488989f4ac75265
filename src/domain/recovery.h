#pragma once
// The recovery rules (shared/DESIGN.md §5) as a pure fold over one membership's events.
//
// Order independence by construction: the fold sorts the facts by (time, kind rank, id) and
// de-duplicates by id before it looks at them, so any permutation of the same set of facts, with
// or without duplicates, yields the same episodes.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/case_state.h"
#include "domain/event.h"

namespace cs::domain {

struct RecoveryPolicy {
  int64_t attribution_window_ms = 14LL * 24 * 3600 * 1000;
};

/// One stored event as recovery sees it.
struct Fact {
  std::string id;  // unique per event (the webhook-id); duplicates are dropped
  EventKind kind = EventKind::Other;
  int64_t time_ms = 0;
  std::string payment_id;
  std::optional<int64_t> amount_cents;
  std::string currency;
  std::string failure_message;
  /// A payment or activation of ANOTHER membership of the same user for the same product (the
  /// member bought again after Whop cancelled: a new membership id). Only a win-back signal.
  bool other_membership = false;
};

/// One failure episode of a membership, derived from facts.
struct Episode {
  int64_t first_failure_at = 0;
  int64_t last_failure_at = 0;
  int failures = 0;
  int64_t amount_due_cents = 0;  // amount of the latest failed payment in the episode
  std::string currency;
  std::string failure_message;           // of the latest failure
  CaseStatus status = CaseStatus::Open;  // Open, Recovered or Lost (never Cancelled)
  Resolution resolution = Resolution::None;
  std::optional<int64_t> resolved_at;
  int64_t recovered_cents = 0;      // amount of the recovering payment.succeeded (0 for activation)
  std::string recovery_payment_id;  // that payment's id
  int64_t refunded_cents = 0;       // refunds/disputes against the recovering payment
};

/// Folds one membership's facts into its episodes, oldest first. Rules, on facts sorted by time
/// (ties: failures before recoveries before deactivations before refunds, then by id):
/// - PaymentFailed with no open episode opens one (first_failure_at = its time). While an episode
///   is open and the failure is within the window of first_failure_at, it extends the episode
///   (failures++, last_failure_at, amount_due_cents/currency/failure_message from it). A failure
///   after the window of an open episode first closes that episode as Lost/Expired at
///   first_failure_at + window, then opens a new one.
/// - PaymentSucceeded or MembershipActivated with time t, first_failure_at <= t <= first_failure_at
///   + window, on an episode that is Open or Lost/Deactivated: Recovered at t. Resolution Payment
///   (recovered_cents = its amount, recovery_payment_id) or Activation (recovered_cents 0). If an
///   Activation recovered the episode and a PaymentSucceeded follows within the window, the
///   payment's amount and id are recorded (resolution becomes Payment, resolved_at stays).
///   Outside those bounds such facts are ordinary renewals and change nothing.
/// - Win-back: the same, for a PaymentSucceeded or MembershipActivated of another membership of
///   the same user and product (`other_membership`), inside the window of an episode that is Open
///   or Lost/Deactivated: Recovered at its time with resolution Rejoined (recovered_cents = the
///   payment's amount; an activation records 0 and a later rejoin payment inside the window
///   records its amount). Rejoin facts never move episode boundaries: an episode won back while
///   Open is still extended by the old membership's failures inside its window (Whop retrying
///   it) until a fact that would have closed the open episode (own payment, activation,
///   deactivation).
/// - MembershipDeactivated within the window of an Open episode: Lost/Deactivated at its time.
/// - Refund/Dispute whose payment_id is the recovery_payment_id of an episode adds its amount
///   (or the whole recovered amount when it has none) to refunded_cents, capped at recovered_cents.
/// - At the end, an episode still Open with now_ms > first_failure_at + window becomes
///   Lost/Expired at first_failure_at + window.
/// A failure whose time is after a Recovered/Lost episode's resolution opens a new episode.
std::vector<Episode> fold_membership(std::vector<Fact> facts, const RecoveryPolicy& policy,
                                     int64_t now_ms);

/// A case row as stored, for matching episodes to rows.
struct ExistingCase {
  std::string id;
  int64_t first_failure_at = 0;
};

/// Which stored case each episode belongs to. Episode i covers the times
/// [episodes[i].first_failure_at, episodes[i+1].first_failure_at) (the last is unbounded above).
/// A stored case belongs to the episode whose cover contains its first_failure_at; stored cases
/// before the first episode belong to the first. Each episode gets the earliest such case;
/// `case_ids[i]` is "" when none (a new case must be created). Pure and deterministic.
std::vector<std::string> assign_cases(const std::vector<Episode>& episodes,
                                      const std::vector<ExistingCase>& existing);

/// One stored event of a membership as the engine sees it right before it calls Whop.
struct StoredEvent {
  EventKind kind = EventKind::Other;
  int64_t event_time = 0;
  int64_t received_at = 0;
  bool processed = false;  // false while it waits to be folded into the membership's cases
};

struct ContactPolicy {
  /// An event received this long after its own time is part of a backlog (an outage, or
  /// reconciliation): more of the membership's history may still be on its way.
  int64_t late_after_ms = 10LL * 60 * 1000;
  /// After such an event arrives, nothing is sent to the member for this long.
  int64_t settle_ms = 60LL * 1000;
  /// How soon to look again while events wait to be processed.
  int64_t recheck_ms = 1000;
};

/// The policy for one nudge: a nudge the creator asked for ("Nudge now") does not wait out
/// settle_ms (the creator is looking at the case and chose to act); every other check applies.
ContactPolicy contact_policy(bool requested_by_creator);

/// Whether a case may be contacted at all: a case held out of an experiment (domain/experiment.h)
/// is contacted by nobody, whatever asks (scheduler, a retried job after a crash, "Nudge now").
enum class ContactGroup { Nudged, Holdout };

enum class ContactVerdict { Go, Wait, Stop };
struct ContactDecision {
  ContactVerdict verdict = ContactVerdict::Go;
  int64_t retry_at = 0;  // Wait: when to look again
  std::string reason;    // Wait/Stop: why ("paid", "events_pending", "backlog_settling", ...)
};

/// Whether the engine may nudge or grant free days for a case right now. Stop when the case is
/// held out ("holdout"), when it is not open, or when a payment or activation of the membership at
/// or after the first failure is stored (the member already paid; the fold will recover the case).
/// Wait while any event of the membership is not processed yet, and until `settle_ms` after the
/// latest late-arriving event.
ContactDecision may_contact(CaseStatus status, ContactGroup group, int64_t first_failure_at,
                            const std::vector<StoredEvent>& events, int64_t now_ms,
                            const ContactPolicy& policy = {});

/// What a job deferred with a Wait reason of may_contact is waiting for, in words for the jobs
/// page ("events_pending" -> "Waiting for this member's webhooks to be processed"); nullptr for
/// any other text (a real error).
const char* wait_reason_label(std::string_view reason);

}  // namespace cs::domain
