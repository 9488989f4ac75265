#include "store/cases.h"

#include <SQLiteCpp/Statement.h>

#include <variant>

#include "store/statements.h"

namespace cs::store {
namespace {

constexpr const char* kCaseCols =
    "id, membership_id, user_id, username, company_id, product_id, product_title, plan_id, "
    "status, resolution, first_failure_at, last_failure_at, failures, amount_due_cents, currency, "
    "failure_message, resolved_at, recovered_cents, recovery_payment_id, refunded_cents, "
    "cancelled_at, created_at, updated_at";

std::optional<int64_t> opt_int(const SQLite::Column& c) {
  if (c.isNull()) return std::nullopt;
  return c.getInt64();
}

}  // namespace

domain::CaseStatus read_status(const SQLite::Column& c) {
  // The column's CHECK constraint admits only the names status_name() writes.
  return domain::status_from_name(c.getString()).value_or(domain::CaseStatus::Open);
}

domain::Resolution read_resolution(const SQLite::Column& c) {
  return domain::resolution_from_name(c.getString()).value_or(domain::Resolution::None);
}

domain::IncentiveState read_incentive_state(const SQLite::Column& c) {
  return domain::incentive_state_from_name(c.getString()).value_or(domain::IncentiveState::None);
}

namespace {

CaseRow read_case(SQLite::Statement& q) {
  CaseRow c;
  int i = 0;
  c.id = q.getColumn(i++).getString();
  c.membership_id = q.getColumn(i++).getString();
  c.user_id = q.getColumn(i++).getString();
  c.username = q.getColumn(i++).getString();
  c.company_id = q.getColumn(i++).getString();
  c.product_id = q.getColumn(i++).getString();
  c.product_title = q.getColumn(i++).getString();
  c.plan_id = q.getColumn(i++).getString();
  c.status = read_status(q.getColumn(i++));
  c.resolution = read_resolution(q.getColumn(i++));
  c.first_failure_at = q.getColumn(i++).getInt64();
  c.last_failure_at = q.getColumn(i++).getInt64();
  c.failures = q.getColumn(i++).getInt();
  c.amount_due_cents = q.getColumn(i++).getInt64();
  c.currency = q.getColumn(i++).getString();
  c.failure_message = q.getColumn(i++).getString();
  c.resolved_at = opt_int(q.getColumn(i++));
  c.recovered_cents = q.getColumn(i++).getInt64();
  c.recovery_payment_id = q.getColumn(i++).getString();
  c.refunded_cents = q.getColumn(i++).getInt64();
  c.cancelled_at = opt_int(q.getColumn(i++));
  c.created_at = q.getColumn(i++).getInt64();
  c.updated_at = q.getColumn(i++).getInt64();
  return c;
}

void bind_opt(SQLite::Statement& q, int idx, const std::optional<int64_t>& v) {
  if (v) {
    q.bind(idx, *v);
  } else {
    q.bind(idx);
  }
}

}  // namespace

std::vector<CaseRow> list_cases_for_membership(SQLite::Database& db,
                                               const std::string& membership_id) {
  auto q = prepare(db, std::string("SELECT ") + kCaseCols +
                           " FROM cases WHERE membership_id = ? ORDER BY first_failure_at, id");
  q->bind(1, membership_id);
  std::vector<CaseRow> out;
  while (q->executeStep()) out.push_back(read_case(*q));
  return out;
}

std::optional<CaseRow> find_case(SQLite::Database& db, const std::string& id) {
  auto q = prepare(db, std::string("SELECT ") + kCaseCols + " FROM cases WHERE id = ?");
  q->bind(1, id);
  if (!q->executeStep()) return std::nullopt;
  return read_case(*q);
}

void save_case(SQLite::Database& db, const CaseRow& c) {
  auto q = prepare(
      db,
      std::string("INSERT INTO cases (") + kCaseCols +
          ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET "
          "membership_id=excluded.membership_id, user_id=excluded.user_id, "
          "username=excluded.username, company_id=excluded.company_id, "
          "product_id=excluded.product_id, product_title=excluded.product_title, "
          "plan_id=excluded.plan_id, status=excluded.status, resolution=excluded.resolution, "
          "first_failure_at=excluded.first_failure_at, "
          "last_failure_at=excluded.last_failure_at, failures=excluded.failures, "
          "amount_due_cents=excluded.amount_due_cents, currency=excluded.currency, "
          "failure_message=excluded.failure_message, resolved_at=excluded.resolved_at, "
          "recovered_cents=excluded.recovered_cents, "
          "recovery_payment_id=excluded.recovery_payment_id, "
          "refunded_cents=excluded.refunded_cents, cancelled_at=excluded.cancelled_at, "
          "updated_at=excluded.updated_at");
  int i = 1;
  q->bind(i++, c.id);
  q->bind(i++, c.membership_id);
  q->bind(i++, c.user_id);
  q->bind(i++, c.username);
  q->bind(i++, c.company_id);
  q->bind(i++, c.product_id);
  q->bind(i++, c.product_title);
  q->bind(i++, c.plan_id);
  q->bind(i++, domain::status_name(c.status));
  q->bind(i++, domain::resolution_name(c.resolution));
  q->bind(i++, c.first_failure_at);
  q->bind(i++, c.last_failure_at);
  q->bind(i++, c.failures);
  q->bind(i++, c.amount_due_cents);
  q->bind(i++, c.currency);
  q->bind(i++, c.failure_message);
  bind_opt(*q, i++, c.resolved_at);
  q->bind(i++, c.recovered_cents);
  q->bind(i++, c.recovery_payment_id);
  q->bind(i++, c.refunded_cents);
  bind_opt(*q, i++, c.cancelled_at);
  q->bind(i++, c.created_at);
  q->bind(i++, c.updated_at);
  q->exec();
}

void update_case(SQLite::Database& db, const CaseRow& before, const CaseRow& c) {
  using Value = std::variant<std::string, int64_t, std::optional<int64_t>>;
  struct As {  // a field as its column stores it
    Value operator()(const std::string& v) const { return v; }
    Value operator()(int64_t v) const { return v; }
    Value operator()(int v) const { return static_cast<int64_t>(v); }
    Value operator()(const std::optional<int64_t>& v) const { return v; }
    Value operator()(domain::CaseStatus v) const { return std::string(domain::status_name(v)); }
    Value operator()(domain::Resolution v) const { return std::string(domain::resolution_name(v)); }
  };
  std::string sql = "UPDATE cases SET ";
  std::vector<Value> values;
  auto col = [&](const char* name, const auto& old_value, const auto& new_value) {
    if (old_value == new_value) return;
    sql += name;
    sql += " = ?, ";
    values.push_back(As{}(new_value));
  };
  col("membership_id", before.membership_id, c.membership_id);
  col("user_id", before.user_id, c.user_id);
  col("username", before.username, c.username);
  col("company_id", before.company_id, c.company_id);
  col("product_id", before.product_id, c.product_id);
  col("product_title", before.product_title, c.product_title);
  col("plan_id", before.plan_id, c.plan_id);
  col("status", before.status, c.status);
  col("resolution", before.resolution, c.resolution);
  col("first_failure_at", before.first_failure_at, c.first_failure_at);
  col("last_failure_at", before.last_failure_at, c.last_failure_at);
  col("failures", before.failures, c.failures);
  col("amount_due_cents", before.amount_due_cents, c.amount_due_cents);
  col("currency", before.currency, c.currency);
  col("failure_message", before.failure_message, c.failure_message);
  col("resolved_at", before.resolved_at, c.resolved_at);
  col("recovered_cents", before.recovered_cents, c.recovered_cents);
  col("recovery_payment_id", before.recovery_payment_id, c.recovery_payment_id);
  col("refunded_cents", before.refunded_cents, c.refunded_cents);
  col("cancelled_at", before.cancelled_at, c.cancelled_at);
  col("created_at", before.created_at, c.created_at);
  sql += "updated_at = ? WHERE id = ?";
  auto q = prepare(db, sql);
  int i = 1;
  for (const auto& v : values) {
    if (const auto* s = std::get_if<std::string>(&v)) {
      q->bind(i++, *s);
    } else if (const auto* n = std::get_if<int64_t>(&v)) {
      q->bind(i++, *n);
    } else {
      bind_opt(*q, i++, std::get<std::optional<int64_t>>(v));
    }
  }
  q->bind(i++, c.updated_at);
  q->bind(i, c.id);
  q->exec();
}

std::vector<CaseRow> list_cases(SQLite::Database& db, const CaseFilter& f) {
  std::string sql = std::string("SELECT ") + kCaseCols + " FROM cases";
  if (f.status) sql += " WHERE status = ?";
  sql += " ORDER BY first_failure_at DESC, id DESC LIMIT ?";
  auto q = prepare(db, sql);
  int i = 1;
  if (f.status) q->bind(i++, domain::status_name(*f.status));
  q->bind(i, f.limit);
  std::vector<CaseRow> out;
  while (q->executeStep()) out.push_back(read_case(*q));
  return out;
}

std::vector<std::string> list_memberships_with_expired_cases(SQLite::Database& db, int64_t now,
                                                             int64_t window_ms, int limit) {
  auto q = prepare(db,
                   "SELECT DISTINCT membership_id FROM cases INDEXED BY cases_status_first_id "
                   "WHERE status = 'open' AND first_failure_at < ? LIMIT ?");
  q->bind(1, now - window_ms);
  q->bind(2, limit);
  std::vector<std::string> out;
  while (q->executeStep()) out.push_back(q->getColumn(0).getString());
  return out;
}

std::vector<std::string> list_memberships_recovered_by(SQLite::Database& db,
                                                       const std::string& payment_id,
                                                       const std::string& exclude_membership) {
  std::vector<std::string> out;
  if (payment_id.empty()) return out;
  auto q = prepare(db,
                   "SELECT DISTINCT membership_id FROM cases INDEXED BY cases_recovery_payment "
                   "WHERE recovery_payment_id = ? AND recovery_payment_id != '' AND "
                   "membership_id != ? ORDER BY membership_id");
  q->bind(1, payment_id);
  q->bind(2, exclude_membership);
  while (q->executeStep()) out.push_back(q->getColumn(0).getString());
  return out;
}

void save_action(SQLite::Database& db, const Action& a) {
  auto q = prepare(db,
                   "INSERT INTO recovery_actions (case_id, at, type, channel, attempt, actor, "
                   "outcome, metadata) VALUES (?,?,?,?,?,?,?,?)");
  if (a.case_id.empty()) {
    q->bind(1);
  } else {
    q->bind(1, a.case_id);
  }
  q->bind(2, a.at);
  q->bind(3, a.type);
  q->bind(4, a.channel);
  if (a.attempt) {
    q->bind(5, *a.attempt);
  } else {
    q->bind(5);
  }
  q->bind(6, a.actor);
  q->bind(7, a.outcome);
  q->bind(8, a.metadata);
  q->exec();
}

std::vector<Action> list_actions_for_case(SQLite::Database& db, const std::string& case_id) {
  auto q = prepare(db,
                   "SELECT case_id, at, type, channel, attempt, actor, outcome, metadata "
                   "FROM recovery_actions WHERE case_id = ? ORDER BY at, id");
  q->bind(1, case_id);
  std::vector<Action> out;
  while (q->executeStep()) {
    Action a;
    a.case_id = q->getColumn(0).getString();
    a.at = q->getColumn(1).getInt64();
    a.type = q->getColumn(2).getString();
    a.channel = q->getColumn(3).getString();
    if (!q->getColumn(4).isNull()) a.attempt = q->getColumn(4).getInt();
    a.actor = q->getColumn(5).getString();
    a.outcome = q->getColumn(6).getString();
    a.metadata = q->getColumn(7).getString();
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace cs::store
