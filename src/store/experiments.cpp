#include "store/experiments.h"

#include <nlohmann/json.hpp>

#include "store/statements.h"

namespace cs::store {
namespace {

constexpr const char* kExperimentCols =
    "id, name, status, holdout_percent, created_at, started_at, stopped_at, views, "
    "assignment_key";

std::optional<int64_t> opt_int(const SQLite::Column& c) {
  if (c.isNull()) return std::nullopt;
  return c.getInt64();
}

domain::Experiment read_experiment(SQLite::Statement& q) {
  domain::Experiment e;
  e.id = q.getColumn(0).getInt64();
  e.name = q.getColumn(1).getString();
  e.status = domain::experiment_status_from_name(q.getColumn(2).getString())
                 .value_or(domain::ExperimentStatus::Stopped);
  e.holdout_percent = q.getColumn(3).getInt();
  e.created_at = q.getColumn(4).getInt64();
  e.started_at = opt_int(q.getColumn(5));
  e.stopped_at = opt_int(q.getColumn(6));
  e.views = q.getColumn(7).getInt64();
  e.assignment_key = q.getColumn(8).getString();
  return e;
}

void load_arms(SQLite::Database& db, domain::Experiment& e) {
  auto q = prepare(db,
                   "SELECT key, name, weight, incentive_days, copy FROM experiment_arms "
                   "WHERE experiment_id = ? ORDER BY key");
  q->bind(1, e.id);
  e.arms.clear();
  while (q->executeStep()) {
    domain::Arm a;
    a.key = q->getColumn(0).getString();
    a.name = q->getColumn(1).getString();
    a.weight = q->getColumn(2).getInt();
    if (!q->getColumn(3).isNull()) a.incentive_days = q->getColumn(3).getInt();
    a.copy =
        domain::copy_from_json(nlohmann::json::parse(q->getColumn(4).getString(), nullptr, false));
    e.arms.push_back(std::move(a));
  }
}

void write_arms(SQLite::Database& db, const domain::Experiment& e) {
  auto del = prepare(db, "DELETE FROM experiment_arms WHERE experiment_id = ?");
  del->bind(1, e.id);
  del->exec();
  for (const auto& a : e.arms) {
    auto q = prepare(db,
                     "INSERT INTO experiment_arms (experiment_id, key, name, weight, "
                     "incentive_days, copy) VALUES (?,?,?,?,?,?)");
    q->bind(1, e.id);
    q->bind(2, a.key);
    q->bind(3, a.name);
    q->bind(4, a.weight);
    if (a.incentive_days) {
      q->bind(5, *a.incentive_days);
    } else {
      q->bind(5);
    }
    q->bind(6, domain::copy_to_json(a.copy).dump());
    q->exec();
  }
}

}  // namespace

int64_t insert_experiment(SQLite::Database& db, const domain::Experiment& e) {
  auto q = prepare(db,
                   "INSERT INTO experiments (name, status, holdout_percent, created_at, "
                   "assignment_key) VALUES (?,?,?,?,?)");
  q->bind(1, e.name);
  q->bind(2, domain::experiment_status_name(e.status));
  q->bind(3, e.holdout_percent);
  q->bind(4, e.created_at);
  q->bind(5, e.assignment_key);
  q->exec();
  domain::Experiment stored = e;
  stored.id = db.getLastInsertRowid();
  write_arms(db, stored);
  return stored.id;
}

void update_experiment(SQLite::Database& db, const domain::Experiment& e) {
  auto q = prepare(db, "UPDATE experiments SET name = ?, holdout_percent = ? WHERE id = ?");
  q->bind(1, e.name);
  q->bind(2, e.holdout_percent);
  q->bind(3, e.id);
  q->exec();
  write_arms(db, e);
}

std::optional<domain::Experiment> find_experiment(SQLite::Database& db, int64_t id) {
  auto q = prepare(db, std::string("SELECT ") + kExperimentCols + " FROM experiments WHERE id = ?");
  q->bind(1, id);
  if (!q->executeStep()) return std::nullopt;
  auto e = read_experiment(*q);
  load_arms(db, e);
  return e;
}

std::vector<domain::Experiment> list_experiments(SQLite::Database& db, int limit) {
  std::vector<domain::Experiment> out;
  {
    auto q = prepare(db, std::string("SELECT ") + kExperimentCols +
                             " FROM experiments ORDER BY id DESC LIMIT ?");
    q->bind(1, limit);
    while (q->executeStep()) out.push_back(read_experiment(*q));
  }
  for (auto& e : out) load_arms(db, e);
  return out;
}

std::optional<domain::Experiment> running_experiment(SQLite::Database& db) {
  std::optional<int64_t> id;
  {
    auto q =
        prepare(db, "SELECT id FROM experiments WHERE status = 'running' ORDER BY id DESC LIMIT 1");
    if (q->executeStep()) id = q->getColumn(0).getInt64();
  }
  if (!id) return std::nullopt;
  return find_experiment(db, *id);
}

std::optional<int64_t> active_experiment_id(SQLite::Database& db) {
  auto q = prepare(db,
                   "SELECT id FROM experiments WHERE status IN ('running', 'paused') "
                   "ORDER BY id DESC LIMIT 1");
  if (!q->executeStep()) return std::nullopt;
  return q->getColumn(0).getInt64();
}

void set_experiment_status(SQLite::Database& db, int64_t id, domain::ExperimentStatus s,
                           int64_t now) {
  auto q = prepare(db,
                   "UPDATE experiments SET status = ?, "
                   "started_at = CASE WHEN ? = 'running' THEN coalesce(started_at, ?) "
                   "ELSE started_at END, "
                   "stopped_at = CASE WHEN ? = 'stopped' THEN ? ELSE stopped_at END "
                   "WHERE id = ?");
  const char* name = domain::experiment_status_name(s);
  q->bind(1, name);
  q->bind(2, name);
  q->bind(3, now);
  q->bind(4, name);
  q->bind(5, now);
  q->bind(6, id);
  q->exec();
}

int64_t count_experiment_view(SQLite::Database& db, int64_t id) {
  auto q = prepare(db, "UPDATE experiments SET views = views + 1 WHERE id = ? RETURNING views");
  q->bind(1, id);
  return q->executeStep() ? q->getColumn(0).getInt64() : 0;
}

bool assign_case(SQLite::Database& db, const std::string& case_id, int64_t experiment_id,
                 const std::string& arm, int64_t now) {
  auto q = prepare(db,
                   "INSERT INTO case_arms (case_id, experiment_id, arm, assigned_at) "
                   "VALUES (?,?,?,?) ON CONFLICT (case_id) DO NOTHING");
  q->bind(1, case_id);
  q->bind(2, experiment_id);
  q->bind(3, arm);
  q->bind(4, now);
  return q->exec() > 0;
}

std::optional<CaseArm> case_arm(SQLite::Database& db, const std::string& case_id) {
  auto q = prepare(db,
                   "SELECT ca.experiment_id, e.name, ca.arm, coalesce(a.name, '') "
                   "FROM case_arms ca JOIN experiments e ON e.id = ca.experiment_id "
                   "LEFT JOIN experiment_arms a ON a.experiment_id = ca.experiment_id "
                   "AND a.key = ca.arm WHERE ca.case_id = ?");
  q->bind(1, case_id);
  if (!q->executeStep()) return std::nullopt;
  CaseArm c{q->getColumn(0).getInt64(), q->getColumn(1).getString(), q->getColumn(2).getString(),
            q->getColumn(3).getString()};
  if (domain::is_holdout(c.arm)) c.arm_name = "Holdout";
  return c;
}

std::map<std::string, CaseArm> case_arms(SQLite::Database& db,
                                         const std::vector<std::string>& case_ids) {
  std::map<std::string, CaseArm> out;
  for (const auto& id : case_ids) {
    if (auto a = case_arm(db, id)) out.emplace(id, std::move(*a));
  }
  return out;
}

domain::ContactGroup contact_group(SQLite::Database& db, const std::string& case_id) {
  auto q = prepare(db, "SELECT arm FROM case_arms WHERE case_id = ?");
  q->bind(1, case_id);
  if (q->executeStep() && domain::is_holdout(q->getColumn(0).getString())) {
    return domain::ContactGroup::Holdout;
  }
  return domain::ContactGroup::Nudged;
}

std::vector<ArmMeasures> arm_measures(SQLite::Database& db, int64_t experiment_id, int64_t now,
                                      int64_t window_ms) {
  std::vector<ArmMeasures> out;
  auto find = [&](const std::string& arm) -> ArmMeasures& {
    for (auto& m : out) {
      if (m.arm == arm) return m;
    }
    out.push_back({});
    out.back().arm = arm;
    return out.back();
  };
  {
    auto q = prepare(
        db,
        "SELECT ca.arm, count(*), "
        "sum(c.first_failure_at + ?2 <= ?3), "
        "sum(c.first_failure_at + ?2 <= ?3 AND c.status = 'recovered'), "
        "sum(c.status = 'recovered'), "
        "sum(c.status = 'recovered' AND c.first_click_at IS NOT NULL "
        "AND c.first_click_at <= c.resolved_at), "
        "sum(c.clicks), "
        "sum(CASE WHEN c.incentive_state = 'granted' THEN c.incentive_days ELSE 0 END), "
        "sum(CASE WHEN c.status = 'recovered' THEN max(0, c.resolved_at - c.first_failure_at) "
        "ELSE 0 END) "
        "FROM case_arms ca JOIN cases c ON c.id = ca.case_id "
        "WHERE ca.experiment_id = ?1 GROUP BY ca.arm ORDER BY ca.arm = 'holdout', ca.arm");
    q->bind(1, experiment_id);
    q->bind(2, window_ms);
    q->bind(3, now);
    while (q->executeStep()) {
      auto& m = find(q->getColumn(0).getString());
      m.cases = q->getColumn(1).getInt64();
      m.closed = q->getColumn(2).getInt64();
      m.closed_recovered = q->getColumn(3).getInt64();
      m.recovered = q->getColumn(4).getInt64();
      m.recovered_after_click = q->getColumn(5).getInt64();
      m.clicks = q->getColumn(6).getInt64();
      m.incentive_days = q->getColumn(7).getInt64();
      m.recovery_ms_total = q->getColumn(8).getInt64();
    }
  }
  {
    auto q = prepare(db,
                     "SELECT ca.arm, count(*) FROM case_arms ca "
                     "JOIN nudge_sends s ON s.case_id = ca.case_id "
                     "WHERE ca.experiment_id = ? AND s.state = 'sent' GROUP BY ca.arm");
    q->bind(1, experiment_id);
    while (q->executeStep()) find(q->getColumn(0).getString()).sends = q->getColumn(1).getInt64();
  }
  {
    // Net recovered revenue as domain::net_recovered_cents: recovered cases only, less refunds
    // and disputes of the recovering payment, never below zero.
    auto q = prepare(db,
                     "SELECT ca.arm, c.currency, "
                     "sum(max(0, c.recovered_cents - min(c.refunded_cents, c.recovered_cents))) "
                     "FROM case_arms ca JOIN cases c ON c.id = ca.case_id "
                     "WHERE ca.experiment_id = ? AND c.status = 'recovered' "
                     "GROUP BY ca.arm, c.currency ORDER BY 3 DESC");
    q->bind(1, experiment_id);
    while (q->executeStep()) {
      find(q->getColumn(0).getString())
          .revenue.emplace_back(q->getColumn(1).getString(), q->getColumn(2).getInt64());
    }
  }
  return out;
}

std::vector<ClosedCase> closed_cases(SQLite::Database& db, int64_t experiment_id, int64_t now,
                                     int64_t window_ms) {
  auto q = prepare(db,
                   "SELECT ca.arm, c.first_failure_at + ?2, c.status = 'recovered' "
                   "FROM case_arms ca JOIN cases c ON c.id = ca.case_id "
                   "WHERE ca.experiment_id = ?1 AND c.first_failure_at + ?2 <= ?3 "
                   "ORDER BY c.first_failure_at, c.id");
  q->bind(1, experiment_id);
  q->bind(2, window_ms);
  q->bind(3, now);
  std::vector<ClosedCase> out;
  while (q->executeStep()) {
    out.push_back(
        {q->getColumn(0).getString(), q->getColumn(1).getInt64(), q->getColumn(2).getInt() != 0});
  }
  return out;
}

}  // namespace cs::store
