#include "jobs/processor.h"

#include <tuple>

#include <sqlite3.h>

#include <nlohmann/json.hpp>

#include "domain/event.h"
#include "domain/member.h"
#include "jobs/scheduler.h"
#include "store/cases.h"
#include "store/engine.h"
#include "store/events.h"
#include "store/experiments.h"
#include "store/member_search.h"

namespace cs::jobs {
namespace {

/// Fills the descriptive columns of a case from a mapped event, keeping what is already known.
void fill_details(store::CaseRow& row, const domain::Event& ev) {
  auto keep = [](std::string& dst, const std::string& src) {
    if (!src.empty()) dst = src;
  };
  keep(row.user_id, ev.user_id);
  keep(row.username, ev.username);
  keep(row.company_id, ev.company_id);
  keep(row.product_id, ev.product_id);
  keep(row.product_title, ev.product_title);
  keep(row.plan_id, ev.plan_id);
}

/// The episode's status and resolution, except that a case the creator cancelled stays cancelled
/// (with the resolution it was cancelled with) while the episode is open.
std::pair<domain::CaseStatus, domain::Resolution> state_of(const domain::Episode& ep,
                                                           const store::CaseRow& row) {
  if (row.cancelled_at && ep.status == domain::CaseStatus::Open) {
    const bool kept =
        row.status == domain::CaseStatus::Cancelled && row.resolution != domain::Resolution::None;
    return {domain::CaseStatus::Cancelled, kept ? row.resolution : domain::Resolution::Admin};
  }
  return {ep.status, ep.resolution};
}

/// A new case joins the running experiment, if any: its arm is stored once, with an audit row.
/// Returns the experiment and arm ("" when none runs).
std::pair<std::optional<domain::Experiment>, std::string> assign_new_case(
    SQLite::Database& db, const std::string& case_id, int64_t now) {
  auto e = store::running_experiment(db);
  if (!e || e->arms.empty()) return {std::nullopt, ""};
  std::string arm = domain::assign_arm(*e, case_id);
  if (store::assign_case(db, case_id, e->id, arm, now)) {
    store::save_action(db, {case_id, now, "experiment_assigned", "", std::nullopt, "system", arm,
                            nlohmann::json{{"experiment_id", e->id}, {"arm", arm}}.dump()});
  }
  return {std::move(e), arm};
}

/// Starts the engine's work on a newly opened case: nudge schedule and incentive intent, as its
/// playbook says (the settings, or its experiment arm's; a held-out case gets neither).
/// A first reminder already due (T+0) and the free days are enqueued here, in the transaction that
/// opens the case, nudge first: the job runner whose pass processed the event claims both in the
/// same commit (jobs::PendingPass), with no scheduler pass in between. Returns whether a nudge job
/// was enqueued.
bool start_engine(SQLite::Database& db, const std::string& case_id, int64_t first_failure_at,
                  const domain::RecoverySettings& settings, const domain::Playbook& playbook,
                  int64_t now) {
  store::IncentiveState inc;
  if (playbook.holdout) {
    inc.state = domain::IncentiveState::Off;
    store::save_incentive(db, case_id, inc);
    return false;
  }
  bool nudged = false;
  const auto& offsets = settings.reminder_offsets_days;
  if (!offsets.empty()) {
    const int64_t first_at = first_failure_at + offsets[0] * 86400000LL;
    store::save_nudge_schedule(db, case_id, 0, first_at);
    if (first_at <= now) {
      TickResult r;
      nudged = enqueue_due_nudge(db, settings, {case_id, first_failure_at, 0}, now, r);
    }
  }
  inc.state =
      playbook.incentive_days > 0 ? domain::IncentiveState::Pending : domain::IncentiveState::Off;
  inc.days = playbook.incentive_days;
  store::save_incentive(db, case_id, inc);
  if (inc.state == domain::IncentiveState::Pending && settings.scheduler_enabled) {
    enqueue_incentive(db, case_id, now);
  }
  return nudged;
}

struct Applied {
  int changed = 0;
  int opened = 0;
  int nudges = 0;  // T+0 nudge jobs enqueued
};

/// Applies the episodes to the stored rows; writes a transition action per change.
Applied apply_episodes(SQLite::Database& db, const std::string& membership_id,
                       const std::vector<domain::Episode>& episodes, const domain::Event* details,
                       const domain::RecoverySettings& settings, int64_t now) {
  auto rows = store::list_cases_for_membership(db, membership_id);
  std::vector<domain::ExistingCase> existing;
  for (const auto& r : rows) existing.push_back({r.id, r.first_failure_at});
  auto ids = domain::assign_cases(episodes, existing);
  Applied applied;
  for (size_t i = 0; i < episodes.size(); ++i) {
    const auto& ep = episodes[i];
    store::CaseRow row;
    const store::CaseRow* stored = nullptr;  // the row as it is in the database
    bool is_new = ids[i].empty();
    if (is_new) {
      row.id = crypto::random_hex(16);
      row.membership_id = membership_id;
      row.created_at = now;
    } else {
      for (const auto& r : rows) {
        if (r.id == ids[i]) stored = &r;
      }
      if (stored) row = *stored;
    }
    const domain::CaseStatus old_status = row.status;  // of the stored row (unused when new)
    int old_failures = row.failures;
    if (details) fill_details(row, *details);
    row.first_failure_at = ep.first_failure_at;
    row.last_failure_at = ep.last_failure_at;
    row.failures = ep.failures;
    row.amount_due_cents = ep.amount_due_cents;
    row.currency = ep.currency;
    row.failure_message = ep.failure_message;
    std::tie(row.status, row.resolution) = state_of(ep, row);
    row.resolved_at = ep.resolved_at;
    row.recovered_cents = ep.recovered_cents;
    row.recovery_payment_id = ep.recovery_payment_id;
    row.refunded_cents = ep.refunded_cents;
    row.updated_at = now;
    if (stored) {
      store::update_case(db, *stored, row);
    } else {
      store::save_case(db, row);
    }

    const std::string status = domain::status_name(row.status);
    nlohmann::json meta = {{"status", status}};
    if (row.resolution != domain::Resolution::None) {
      meta["resolution"] = domain::resolution_name(row.resolution);
    }
    if (is_new) {
      store::save_action(
          db, {row.id, now, "case_opened", "", std::nullopt, "system", status, meta.dump()});
      ++applied.changed;
      // Every new case joins the running experiment, whatever its status: leaving out the
      // cases that were already closed when first seen would depend on the outcome.
      const auto [experiment, arm] = assign_new_case(db, row.id, now);
      if (row.status == domain::CaseStatus::Open) {
        if (start_engine(db, row.id, row.first_failure_at, settings,
                         domain::playbook_for(settings, experiment ? &*experiment : nullptr, arm),
                         now)) {
          ++applied.nudges;
        }
        ++applied.opened;
      }
    } else if (old_status != row.status) {
      meta["from"] = domain::status_name(old_status);
      store::save_action(
          db, {row.id, now, "case_" + status, "", std::nullopt, "system", status, meta.dump()});
      ++applied.changed;
      // Nudges stop the moment a case is no longer open.
      if (row.status != domain::CaseStatus::Open) {
        store::save_nudge_schedule(db, row.id, 0, std::nullopt);
      }
    } else if (row.failures > old_failures) {
      meta["failures"] = row.failures;
      store::save_action(
          db, {row.id, now, "case_extended", "", std::nullopt, "system", status, meta.dump()});
    }
  }
  return applied;
}

/// The member chose to cancel at the end of the period: the membership's open cases stop (no
/// nudge, no incentive); a payment inside the window still recovers them.
void stop_for_period_end(SQLite::Database& db, const std::string& membership_id, int64_t now) {
  for (const auto& c : store::list_cases_for_membership(db, membership_id)) {
    if (c.status != domain::CaseStatus::Open) continue;
    if (store::cancel_case(db, c.id, now, domain::Resolution::PeriodEnd)) {
      store::save_action(db, {c.id, now, "case_cancelled", "", std::nullopt, "system", "cancelled",
                              nlohmann::json{{"reason", "cancel_at_period_end"}}.dump()});
    }
  }
}

/// Win-back: a payment or activation of one membership may recover the case of another
/// membership of the same user and product (the member bought again after Whop cancelled); a
/// refund or dispute of such a payment changes that case's revenue. Re-folds those memberships
/// (the rule is in domain::fold_membership). Returns how many memberships were re-folded.
int win_back(SQLite::Database& db, const store::EventRow& ev, domain::EventKind kind,
             const domain::Event* details, const domain::RecoverySettings& settings, int64_t now) {
  std::vector<std::string> others;
  if (kind == domain::EventKind::PaymentSucceeded ||
      kind == domain::EventKind::MembershipActivated) {
    std::string product = ev.product_id;
    if (product.empty() && details) product = details->product_id;
    const int64_t window = policy_of(settings).attribution_window_ms;
    others = store::list_memberships_to_win_back(db, ev.user_id, product, ev.membership_id,
                                                 ev.event_time - window, ev.event_time);
  } else if (kind == domain::EventKind::Refund || kind == domain::EventKind::Dispute) {
    others = store::list_memberships_recovered_by(db, ev.payment_id, ev.membership_id);
  }
  for (const auto& m : others) refold_membership(db, m, settings, now);
  return static_cast<int>(others.size());
}

/// Opens and maps the sealed payload of an event; nullopt if it cannot be read. `member` gets the
/// member's personal details (for the keyed search index only).
std::optional<domain::Event> load_details(SQLite::Database& db, const crypto::Keyring& keys,
                                          const store::EventRow& ev,
                                          domain::MemberDetails& member) {
  std::string sealed = store::event_payload(db, ev.id);
  if (sealed.empty()) return std::nullopt;
  auto body = store::open_event_payload(keys, sealed, ev.webhook_id);
  if (!body) return std::nullopt;
  // One pass, no document: the event and the member's details together.
  auto parsed = domain::parse_whop_event(*body);
  member = std::move(parsed.member);
  return std::move(parsed.event);
}

/// Every fact the fold of one membership reads: its own events and the win-back facts of other
/// memberships of the same user and product.
std::vector<domain::Fact> membership_facts(SQLite::Database& db, const std::string& membership_id) {
  auto facts = store::list_facts_for_membership(db, membership_id);
  auto rejoin = store::list_rejoin_facts_for_membership(db, membership_id);
  facts.insert(facts.end(), std::make_move_iterator(rejoin.begin()),
               std::make_move_iterator(rejoin.end()));
  return facts;
}

}  // namespace

domain::RecoveryPolicy policy_of(const domain::RecoverySettings& s) {
  domain::RecoveryPolicy p;
  p.attribution_window_ms = static_cast<int64_t>(s.attribution_window_days) * 86400000LL;
  return p;
}

ProcessOutcome process_event(SQLite::Database& db, const crypto::Keyring& keys, int64_t event_id,
                             const domain::RecoverySettings& settings, int64_t now) {
  auto ev = store::find_event(db, event_id);
  if (!ev) return {"ignored", "event not found", 0};
  ProcessOutcome out;
  auto kind = domain::kind_from_type(ev->type);
  if (kind == domain::EventKind::Other) {
    out = {"ignored", "event type not used by recovery", 0};
  } else if (ev->membership_id.empty()) {
    out = {"ignored", "event names no membership", 0};
  } else {
    domain::MemberDetails member;
    auto details = load_details(db, keys, *ev, member);
    if (!member.empty()) store::index_member(db, keys, event_id, ev->membership_id, member);
    auto episodes =
        domain::fold_membership(membership_facts(db, ev->membership_id), policy_of(settings), now);
    auto applied = apply_episodes(db, ev->membership_id, episodes, details ? &*details : nullptr,
                                  settings, now);
    if (kind == domain::EventKind::MembershipCancelAtPeriodEndChanged && details &&
        details->cancel_at_period_end.value_or(false)) {
      stop_for_period_end(db, ev->membership_id, now);
    }
    const int won_back = win_back(db, *ev, kind, details ? &*details : nullptr, settings, now);
    out.state = "processed";
    out.note = std::to_string(episodes.size()) + " case(s), " + std::to_string(applied.changed) +
               " changed";
    if (won_back > 0) out.note += ", " + std::to_string(won_back) + " other membership(s)";
    out.opened = applied.opened;
    out.nudges = applied.nudges;
  }
  store::mark_event(db, event_id, out.state, out.note, now);
  return out;
}

PendingOutcome process_pending_events(SQLite::Database& db, const crypto::Keyring& keys,
                                      const domain::RecoverySettings& settings, int64_t now,
                                      int limit, const std::function<bool()>& yield) {
  PendingOutcome out;
  for (int64_t id : store::list_pending_events(db, limit)) {
    if (out.events > 0 && yield && yield()) {
      out.yielded = true;
      break;
    }
    ++out.events;
    try {
      store::in_savepoint(db, [&] {
        const auto one = process_event(db, keys, id, settings, now);
        out.opened += one.opened;
        out.nudges += one.nudges;
      });
    } catch (const SQLite::Exception& e) {
      const int code = e.getErrorCode() & 0xff;
      if (code == SQLITE_READONLY || code == SQLITE_IOERR || code == SQLITE_FULL ||
          code == SQLITE_CANTOPEN || code == SQLITE_NOMEM || code == SQLITE_BUSY) {
        throw;
      }
      store::mark_event(db, id, "failed", std::string("processing error: ") + e.what(), now);
    } catch (const std::exception& e) {
      store::mark_event(db, id, "failed", std::string("processing error: ") + e.what(), now);
    }
  }
  return out;
}

int refold_membership(SQLite::Database& db, const std::string& membership_id,
                      const domain::RecoverySettings& settings, int64_t now) {
  auto episodes =
      domain::fold_membership(membership_facts(db, membership_id), policy_of(settings), now);
  return apply_episodes(db, membership_id, episodes, nullptr, settings, now).changed;
}

}  // namespace cs::jobs
