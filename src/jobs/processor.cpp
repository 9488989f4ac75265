#include "jobs/processor.h"

#include <nlohmann/json.hpp>

#include "domain/event.h"
#include "store/cases.h"
#include "store/engine.h"
#include "store/events.h"
#include "util/json_limits.h"

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

std::string status_of(const domain::Episode& ep, const store::CaseRow& row) {
  if (row.cancelled_at && ep.status == domain::CaseStatus::Open) return "cancelled";
  return domain::status_name(ep.status);
}

/// Starts the engine's work on a newly opened case: nudge schedule and incentive intent.
void start_engine(SQLite::Database& db, const std::string& case_id, int64_t first_failure_at,
                  const domain::RecoverySettings& settings) {
  const auto& offsets = settings.reminder_offsets_days;
  if (!offsets.empty()) {
    store::set_nudge_schedule(db, case_id, 0, first_failure_at + offsets[0] * 86400000LL);
  }
  store::IncentiveState inc;
  inc.state = settings.incentive_days > 0 ? "pending" : "off";
  inc.days = settings.incentive_days;
  store::set_incentive(db, case_id, inc);
}

struct Applied {
  int changed = 0;
  int opened = 0;
};

/// Applies the episodes to the stored rows; writes a transition action per change.
Applied apply_episodes(SQLite::Database& db, const std::string& membership_id,
                       const std::vector<domain::Episode>& episodes, const domain::Event* details,
                       const domain::RecoverySettings& settings, int64_t now) {
  auto rows = store::cases_for_membership(db, membership_id);
  std::vector<domain::ExistingCase> existing;
  for (const auto& r : rows) existing.push_back({r.id, r.first_failure_at});
  auto ids = domain::assign_cases(episodes, existing);
  Applied applied;
  for (size_t i = 0; i < episodes.size(); ++i) {
    const auto& ep = episodes[i];
    store::CaseRow row;
    bool is_new = ids[i].empty();
    if (is_new) {
      row.id = crypto::random_hex(16);
      row.membership_id = membership_id;
      row.created_at = now;
    } else {
      for (const auto& r : rows) {
        if (r.id == ids[i]) row = r;
      }
    }
    std::string old_status = is_new ? "" : row.status;
    int old_failures = row.failures;
    if (details) fill_details(row, *details);
    row.first_failure_at = ep.first_failure_at;
    row.last_failure_at = ep.last_failure_at;
    row.failures = ep.failures;
    row.amount_due_cents = ep.amount_due_cents;
    row.currency = ep.currency;
    row.failure_message = ep.failure_message;
    row.status = status_of(ep, row);
    row.resolution = row.status == "cancelled" ? "admin" : domain::resolution_name(ep.resolution);
    row.resolved_at = ep.resolved_at;
    row.recovered_cents = ep.recovered_cents;
    row.recovery_payment_id = ep.recovery_payment_id;
    row.refunded_cents = ep.refunded_cents;
    row.updated_at = now;
    store::upsert_case(db, row);

    nlohmann::json meta = {{"status", row.status}};
    if (!row.resolution.empty()) meta["resolution"] = row.resolution;
    if (is_new) {
      store::record_action(
          db, {row.id, now, "case_opened", "", std::nullopt, "system", row.status, meta.dump()});
      ++applied.changed;
      if (row.status == "open") {
        start_engine(db, row.id, row.first_failure_at, settings);
        ++applied.opened;
      }
    } else if (old_status != row.status) {
      meta["from"] = old_status;
      store::record_action(db, {row.id, now, "case_" + row.status, "", std::nullopt, "system",
                                row.status, meta.dump()});
      ++applied.changed;
      // Nudges stop the moment a case is no longer open.
      if (row.status != "open") store::set_nudge_schedule(db, row.id, 0, std::nullopt);
    } else if (row.failures > old_failures) {
      meta["failures"] = row.failures;
      store::record_action(
          db, {row.id, now, "case_extended", "", std::nullopt, "system", row.status, meta.dump()});
    }
  }
  return applied;
}

/// Opens and maps the sealed payload of an event; nullopt if it cannot be read.
std::optional<domain::Event> load_details(SQLite::Database& db, const crypto::Keyring& keys,
                                          const store::EventRow& ev) {
  std::string sealed = store::event_payload(db, ev.id);
  if (sealed.empty()) return std::nullopt;
  auto body = store::open_event_payload(keys, sealed, ev.webhook_id);
  if (!body) return std::nullopt;
  auto json = parse_json_limited(*body);
  if (!json) return std::nullopt;
  auto mapped = domain::map_whop_event(*json, *body);
  if (!mapped) return std::nullopt;
  return *mapped;
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
    auto details = load_details(db, keys, *ev);
    auto episodes = domain::fold_membership(store::facts_for_membership(db, ev->membership_id),
                                            policy_of(settings), now);
    auto applied = apply_episodes(db, ev->membership_id, episodes, details ? &*details : nullptr,
                                  settings, now);
    out.state = "processed";
    out.note = std::to_string(episodes.size()) + " case(s), " + std::to_string(applied.changed) +
               " changed";
    out.opened = applied.opened;
  }
  store::mark_event(db, event_id, out.state, out.note, now);
  return out;
}

int refold_membership(SQLite::Database& db, const std::string& membership_id,
                      const domain::RecoverySettings& settings, int64_t now) {
  auto episodes = domain::fold_membership(store::facts_for_membership(db, membership_id),
                                          policy_of(settings), now);
  return apply_episodes(db, membership_id, episodes, nullptr, settings, now).changed;
}

}  // namespace cs::jobs
