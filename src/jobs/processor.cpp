#include "jobs/processor.h"

#include <nlohmann/json.hpp>

#include "domain/event.h"
#include "store/cases.h"
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

/// Applies the episodes to the stored rows; writes a transition action per change.
int apply_episodes(SQLite::Database& db, const std::string& membership_id,
                   const std::vector<domain::Episode>& episodes, const domain::Event* details,
                   int64_t now) {
  auto rows = store::cases_for_membership(db, membership_id);
  std::vector<domain::ExistingCase> existing;
  for (const auto& r : rows) existing.push_back({r.id, r.first_failure_at});
  auto ids = domain::assign_cases(episodes, existing);
  int changed = 0;
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
      ++changed;
    } else if (old_status != row.status) {
      meta["from"] = old_status;
      store::record_action(db, {row.id, now, "case_" + row.status, "", std::nullopt, "system",
                                row.status, meta.dump()});
      ++changed;
    } else if (row.failures > old_failures) {
      meta["failures"] = row.failures;
      store::record_action(
          db, {row.id, now, "case_extended", "", std::nullopt, "system", row.status, meta.dump()});
    }
  }
  return changed;
}

/// Opens and maps the sealed payload of an event; nullopt if it cannot be read.
std::optional<domain::Event> load_details(SQLite::Database& db, const crypto::Keyring& keys,
                                          const store::EventRow& ev) {
  std::string sealed = store::event_payload(db, ev.id);
  if (sealed.empty()) return std::nullopt;
  auto body = crypto::open(keys, sealed, store::event_payload_aad(ev.webhook_id));
  if (!body) return std::nullopt;
  auto json = parse_json_limited(*body);
  if (!json) return std::nullopt;
  auto mapped = domain::map_whop_event(*json);
  if (!mapped) return std::nullopt;
  return *mapped;
}

}  // namespace

ProcessOutcome process_event(SQLite::Database& db, const crypto::Keyring& keys, int64_t event_id,
                             const domain::RecoveryPolicy& policy, int64_t now) {
  auto ev = store::find_event(db, event_id);
  if (!ev) return {"ignored", "event not found"};
  ProcessOutcome out;
  auto kind = domain::kind_from_type(ev->type);
  if (kind == domain::EventKind::Other) {
    out = {"ignored", "event type not used by recovery"};
  } else if (ev->membership_id.empty()) {
    out = {"ignored", "event names no membership"};
  } else {
    auto details = load_details(db, keys, *ev);
    auto episodes =
        domain::fold_membership(store::facts_for_membership(db, ev->membership_id), policy, now);
    int changed =
        apply_episodes(db, ev->membership_id, episodes, details ? &*details : nullptr, now);
    out = {"processed",
           std::to_string(episodes.size()) + " case(s), " + std::to_string(changed) + " changed"};
  }
  store::mark_event(db, event_id, out.state, out.note, now);
  return out;
}

int refold_membership(SQLite::Database& db, const std::string& membership_id,
                      const domain::RecoveryPolicy& policy, int64_t now) {
  auto episodes =
      domain::fold_membership(store::facts_for_membership(db, membership_id), policy, now);
  return apply_episodes(db, membership_id, episodes, nullptr, now);
}

}  // namespace cs::jobs
