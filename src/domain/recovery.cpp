#include "domain/recovery.h"

#include <algorithm>
#include <tuple>

namespace cs::domain {
namespace {

/// Position of a kind among facts with equal time: failures, then recoveries, then deactivations,
/// then refunds/disputes. Kinds recovery ignores get -1 and are dropped before the fold.
int kind_rank(EventKind kind) {
  switch (kind) {
    case EventKind::PaymentFailed:
      return 0;
    case EventKind::PaymentSucceeded:
    case EventKind::MembershipActivated:
      return 1;
    case EventKind::MembershipDeactivated:
      return 2;
    case EventKind::Refund:
    case EventKind::Dispute:
      return 3;
    default:
      return -1;
  }
}

/// Every field of a fact, for a total order: two facts compare equal only when identical.
auto full_key(const Fact& f) {
  return std::tie(f.id, f.time_ms, f.kind, f.payment_id, f.amount_cents, f.currency,
                  f.failure_message, f.other_membership);
}

/// The order the fold reads facts in: (time, kind rank, id), then the remaining fields so that
/// the order is total even for malformed input (equal ids with different contents).
bool fold_order(const Fact& a, const Fact& b) {
  const int ra = kind_rank(a.kind);
  const int rb = kind_rank(b.kind);
  return std::tie(a.time_ms, ra, a.id, a.payment_id, a.amount_cents, a.currency, a.failure_message,
                  a.kind, a.other_membership) <
         std::tie(b.time_ms, rb, b.id, b.payment_id, b.amount_cents, b.currency, b.failure_message,
                  b.kind, b.other_membership);
}

/// Drops the facts recovery ignores and all but one fact per id, then sorts them into fold order.
/// Among facts sharing an id the smallest by full_key is kept, so the survivor does not depend on
/// the input order. Facts without an id are only de-duplicated when identical.
std::vector<Fact> canonical_facts(std::vector<Fact> facts) {
  std::erase_if(facts, [](const Fact& f) {
    const bool signal =
        f.kind == EventKind::PaymentSucceeded || f.kind == EventKind::MembershipActivated;
    return kind_rank(f.kind) < 0 || (f.other_membership && !signal);
  });
  std::sort(facts.begin(), facts.end(),
            [](const Fact& a, const Fact& b) { return full_key(a) < full_key(b); });
  const auto same = [](const Fact& a, const Fact& b) {
    return a.id.empty() ? full_key(a) == full_key(b) : a.id == b.id;
  };
  facts.erase(std::unique(facts.begin(), facts.end(), same), facts.end());
  // The same payment attempt can arrive under two ids (a webhook, and reconciliation's synthetic
  // event for it): a failed or succeeded payment with the same payment id and time is one fact.
  const auto payment_key = [](const Fact& f) {
    bool keyed = !f.payment_id.empty() &&
                 (f.kind == EventKind::PaymentFailed || f.kind == EventKind::PaymentSucceeded);
    return std::make_tuple(keyed, f.kind, f.payment_id, f.time_ms);
  };
  std::sort(facts.begin(), facts.end(), [&](const Fact& a, const Fact& b) {
    auto ka = payment_key(a), kb = payment_key(b);
    return ka < kb || (ka == kb && full_key(a) < full_key(b));
  });
  facts.erase(std::unique(facts.begin(), facts.end(),
                          [&](const Fact& a, const Fact& b) {
                            return std::get<0>(payment_key(a)) && payment_key(a) == payment_key(b);
                          }),
              facts.end());
  std::sort(facts.begin(), facts.end(), fold_order);
  return facts;
}

/// The fold's state: the episodes so far; only the last one can still change status.
class Folder {
 public:
  explicit Folder(const RecoveryPolicy& policy) : window_(policy.attribution_window_ms) {}

  void apply(const Fact& fact) {
    switch (fact.kind) {
      case EventKind::PaymentFailed:
        on_failure(fact);
        break;
      case EventKind::PaymentSucceeded:
      case EventKind::MembershipActivated:
        if (fact.other_membership) {
          on_rejoin(fact);
        } else {
          on_recovery_signal(fact);
        }
        break;
      case EventKind::MembershipDeactivated:
        on_deactivation(fact);
        break;
      default:
        break;  // refunds are applied after the fold (apply_refunds); the rest never get here
    }
  }

  /// Closes an episode still open whose window ended before `now_ms`.
  void expire_at(int64_t now_ms) {
    for (Episode& e : episodes_) {
      if (e.status == CaseStatus::Open && now_ms > window_end(e)) expire(e);
    }
  }

  std::vector<Episode> take() { return std::move(episodes_); }

 private:
  int64_t window_end(const Episode& e) const { return e.first_failure_at + window_; }
  bool in_window(const Episode& e, int64_t t) const {
    return e.first_failure_at <= t && t <= window_end(e);
  }
  Episode* current() { return episodes_.empty() ? nullptr : &episodes_.back(); }

  void expire(Episode& e) {
    e.status = CaseStatus::Lost;
    e.resolution = Resolution::Expired;
    e.resolved_at = window_end(e);
  }

  /// Opens a new episode at the failure, or extends the open one when inside its window. An open
  /// episode whose window has passed expires first. A failure after a resolved episode (facts are
  /// in time order, so it is after the resolution) always opens a new episode.
  void on_failure(const Fact& f) {
    Episode* e = current();
    // After a win-back of an open episode the old membership's own dunning may still run (Whop
    // retries it until it cancels it): its failures inside the window belong to the rejoined
    // episode, exactly as they would to the open one (a rejoin never moves episode boundaries).
    if (e != nullptr && rejoined_open_ && f.time_ms <= window_end(*e)) {
      record_failure(*e, f);
      return;
    }
    if (e != nullptr && e->status == CaseStatus::Open) {
      if (f.time_ms <= window_end(*e)) {
        record_failure(*e, f);
        return;
      }
      expire(*e);
    }
    rejoined_open_ = false;
    Episode fresh;
    fresh.first_failure_at = f.time_ms;
    record_failure(fresh, f);
    episodes_.push_back(std::move(fresh));
  }

  /// Counts a failure into `e`. Fields the failure lacks (no amount, no currency, no message)
  /// keep the value of the previous failure.
  static void record_failure(Episode& e, const Fact& f) {
    ++e.failures;
    e.last_failure_at = f.time_ms;
    if (f.amount_cents) e.amount_due_cents = *f.amount_cents;
    if (!f.currency.empty()) e.currency = f.currency;
    if (!f.failure_message.empty()) e.failure_message = f.failure_message;
  }

  /// A payment or activation inside the window of the latest episode recovers it when it is open
  /// or lost by deactivation; a payment after an activation-recovery records its amount.
  void on_recovery_signal(const Fact& f) {
    Episode* e = current();
    if (e == nullptr || !in_window(*e, f.time_ms)) return;  // an ordinary renewal
    rejoined_open_ = false;  // the episode would have left Open here without the rejoin
    const bool payment = f.kind == EventKind::PaymentSucceeded;
    const bool recoverable =
        e->status == CaseStatus::Open ||
        (e->status == CaseStatus::Lost && e->resolution == Resolution::Deactivated);
    if (recoverable) {
      e->status = CaseStatus::Recovered;
      e->resolution = payment ? Resolution::Payment : Resolution::Activation;
      e->resolved_at = f.time_ms;
      if (payment) record_payment(*e, f);
    } else if (payment && e->status == CaseStatus::Recovered &&
               e->resolution == Resolution::Activation) {
      e->resolution = Resolution::Payment;
      record_payment(*e, f);
    }
  }

  /// A payment or activation of a new membership of the same user and product inside the window
  /// of the latest episode recovers it (win-back) when it is open or lost by deactivation; a
  /// rejoin payment after a rejoin activation records its amount.
  void on_rejoin(const Fact& f) {
    Episode* e = current();
    if (e == nullptr || !in_window(*e, f.time_ms)) return;
    const bool payment = f.kind == EventKind::PaymentSucceeded;
    const bool recoverable =
        e->status == CaseStatus::Open ||
        (e->status == CaseStatus::Lost && e->resolution == Resolution::Deactivated);
    if (recoverable) {
      rejoined_open_ = e->status == CaseStatus::Open;
      e->status = CaseStatus::Recovered;
      e->resolution = Resolution::Rejoined;
      e->resolved_at = f.time_ms;
      if (payment) record_payment(*e, f);
    } else if (payment && e->resolution == Resolution::Rejoined && e->recovery_payment_id.empty()) {
      record_payment(*e, f);
    }
  }

  static void record_payment(Episode& e, const Fact& f) {
    e.recovered_cents = f.amount_cents.value_or(0);
    e.recovery_payment_id = f.payment_id;
  }

  /// A deactivation inside the window of an open episode loses it.
  void on_deactivation(const Fact& f) {
    Episode* e = current();
    if (e != nullptr && rejoined_open_ && in_window(*e, f.time_ms)) rejoined_open_ = false;
    if (e == nullptr || e->status != CaseStatus::Open || !in_window(*e, f.time_ms)) return;
    e->status = CaseStatus::Lost;
    e->resolution = Resolution::Deactivated;
    e->resolved_at = f.time_ms;
  }

  int64_t window_;
  std::vector<Episode> episodes_;
  /// The latest episode was won back while open and would still be open without the rejoin (no
  /// own payment, activation or deactivation since): its membership's failures still extend it.
  bool rejoined_open_ = false;
};

/// Adds each refund/dispute to the episode its payment recovered (capped at the recovered
/// amount). Matching is by payment id alone, so a reversal counts whatever its time relative to
/// the payment; a reversal without an amount reverses the whole payment.
void apply_refunds(const std::vector<Fact>& facts, std::vector<Episode>& episodes) {
  for (const Fact& f : facts) {
    if (f.kind != EventKind::Refund && f.kind != EventKind::Dispute) continue;
    if (f.payment_id.empty()) continue;
    for (Episode& e : episodes) {
      if (e.recovery_payment_id != f.payment_id) continue;
      const int64_t amount = std::max<int64_t>(0, f.amount_cents.value_or(e.recovered_cents));
      e.refunded_cents = std::min(e.recovered_cents, e.refunded_cents + amount);
    }
  }
}

}  // namespace

std::vector<Episode> fold_membership(std::vector<Fact> facts, const RecoveryPolicy& policy,
                                     int64_t now_ms) {
  const std::vector<Fact> ordered = canonical_facts(std::move(facts));
  Folder folder(policy);
  for (const Fact& f : ordered) folder.apply(f);
  folder.expire_at(now_ms);
  std::vector<Episode> episodes = folder.take();
  apply_refunds(ordered, episodes);
  return episodes;
}

std::vector<std::string> assign_cases(const std::vector<Episode>& episodes,
                                      const std::vector<ExistingCase>& existing) {
  std::vector<std::string> case_ids(episodes.size());
  if (episodes.empty()) return case_ids;
  // Earliest first (ties by id), so the first case met for an episode is the one it keeps.
  std::vector<const ExistingCase*> sorted;
  for (const ExistingCase& c : existing) {
    if (!c.id.empty()) sorted.push_back(&c);
  }
  std::sort(sorted.begin(), sorted.end(), [](const ExistingCase* a, const ExistingCase* b) {
    return std::tie(a->first_failure_at, a->id) < std::tie(b->first_failure_at, b->id);
  });
  for (const ExistingCase* c : sorted) {
    // The episode whose cover holds c: the last one starting at or before c (else the first).
    const auto after =
        std::upper_bound(episodes.begin(), episodes.end(), c->first_failure_at,
                         [](int64_t t, const Episode& e) { return t < e.first_failure_at; });
    const size_t index = after == episodes.begin() ? 0 : after - episodes.begin() - 1;
    if (case_ids[index].empty()) case_ids[index] = c->id;
  }
  return case_ids;
}

ContactPolicy contact_policy(bool requested_by_creator) {
  ContactPolicy p;
  if (requested_by_creator) p.settle_ms = 0;
  return p;
}

ContactDecision may_contact(CaseStatus status, ContactGroup group, int64_t first_failure_at,
                            const std::vector<StoredEvent>& events, int64_t now_ms,
                            const ContactPolicy& policy) {
  if (group == ContactGroup::Holdout) return {ContactVerdict::Stop, 0, "holdout"};
  if (status != CaseStatus::Open)
    return {ContactVerdict::Stop, 0, "case_" + std::string(status_name(status))};
  ContactDecision wait{ContactVerdict::Go, 0, ""};
  const auto wait_until = [&](int64_t t, const char* why) {
    if (wait.verdict == ContactVerdict::Go || t > wait.retry_at) {
      wait = {ContactVerdict::Wait, t, why};
    }
  };
  for (const StoredEvent& e : events) {
    const bool payment =
        e.kind == EventKind::PaymentSucceeded || e.kind == EventKind::MembershipActivated;
    if (payment && e.event_time >= first_failure_at) return {ContactVerdict::Stop, 0, "paid"};
    if (!e.processed) wait_until(now_ms + policy.recheck_ms, "events_pending");
    const bool late = e.received_at - e.event_time > policy.late_after_ms;
    if (late && now_ms < e.received_at + policy.settle_ms) {
      wait_until(e.received_at + policy.settle_ms, "backlog_settling");
    }
  }
  return wait;
}

const char* wait_reason_label(std::string_view reason) {
  if (reason == "events_pending") return "Waiting for this member's webhooks to be processed";
  if (reason == "backlog_settling") return "Waiting for late webhooks to settle";
  return nullptr;
}

}  // namespace cs::domain
