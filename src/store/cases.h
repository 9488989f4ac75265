#pragma once
// The cases table (one failure episode of one membership) and the recovery_actions audit trail.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Database.h>

#include "domain/recovery.h"

namespace cs::store {

struct CaseRow {
  std::string id;
  std::string membership_id, user_id, username, company_id, product_id, product_title, plan_id;
  domain::CaseStatus status = domain::CaseStatus::Open;
  domain::Resolution resolution = domain::Resolution::None;
  int64_t first_failure_at = 0, last_failure_at = 0;
  int failures = 1;
  int64_t amount_due_cents = 0;
  std::string currency, failure_message;
  std::optional<int64_t> resolved_at;
  int64_t recovered_cents = 0;
  std::string recovery_payment_id;
  int64_t refunded_cents = 0;
  std::optional<int64_t> cancelled_at;
  int64_t created_at = 0, updated_at = 0;
};

/// The one conversion of the cases.status and cases.resolution columns (names as in domain/).
domain::CaseStatus read_status(const SQLite::Column& c);
domain::Resolution read_resolution(const SQLite::Column& c);
domain::IncentiveState read_incentive_state(const SQLite::Column& c);

std::vector<CaseRow> list_cases_for_membership(SQLite::Database& db,
                                               const std::string& membership_id);
std::optional<CaseRow> find_case(SQLite::Database& db, const std::string& id);
/// Inserts or updates by id (every column).
void save_case(SQLite::Database& db, const CaseRow& c);
/// Writes the columns of `c` that differ from `before` (the stored row of the same case), and
/// updated_at. SQLite rewrites the entries of every index on cases that has a column the UPDATE
/// names, and runs the rollup triggers for them, changed or not: naming only the changed ones
/// keeps a case that gains one more failure from rewriting a dozen index entries.
void update_case(SQLite::Database& db, const CaseRow& before, const CaseRow& c);

struct CaseFilter {
  std::optional<domain::CaseStatus> status;  // nullopt = any
  int limit = 1000;
};
/// Newest first (by first_failure_at, then id).
std::vector<CaseRow> list_cases(SQLite::Database& db, const CaseFilter& f);

/// Memberships with an open case whose attribution window ended before `now`.
std::vector<std::string> list_memberships_with_expired_cases(SQLite::Database& db, int64_t now,
                                                             int64_t window_ms, int limit);

/// Memberships other than `exclude_membership` with a case recovered by payment `payment_id`
/// (a refund or dispute of a win-back payment changes their net revenue).
std::vector<std::string> list_memberships_recovered_by(SQLite::Database& db,
                                                       const std::string& payment_id,
                                                       const std::string& exclude_membership);

struct Action {
  std::string case_id;  // "" for actions not tied to a case
  int64_t at = 0;
  std::string type;
  std::string channel;
  std::optional<int> attempt;
  std::string actor = "system";
  std::string outcome;
  std::string metadata = "{}";  // JSON; never message text or personal data
};
void save_action(SQLite::Database& db, const Action& a);
std::vector<Action> list_actions_for_case(SQLite::Database& db, const std::string& case_id);

}  // namespace cs::store
