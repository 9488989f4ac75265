#pragma once
// The experiments, experiment_arms and case_arms tables (schema 6): A/B tests of the playbook,
// their arms, and the arm each case was assigned to.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <SQLiteCpp/Database.h>

#include "domain/experiment.h"
#include "domain/recovery.h"

namespace cs::store {

/// Inserts the experiment and its arms; returns the new id.
int64_t insert_experiment(SQLite::Database& db, const domain::Experiment& e);
/// Replaces the name, holdout share and arms of an experiment (a draft).
void update_experiment(SQLite::Database& db, const domain::Experiment& e);
std::optional<domain::Experiment> find_experiment(SQLite::Database& db, int64_t id);
/// Newest first.
std::vector<domain::Experiment> list_experiments(SQLite::Database& db, int limit = 200);
/// The experiment new cases are assigned in: the one whose status is running, if any.
std::optional<domain::Experiment> running_experiment(SQLite::Database& db);
/// The experiment that is running or paused, if any (at most one at a time).
std::optional<int64_t> active_experiment_id(SQLite::Database& db);
/// Sets the status; started_at is set the first time it runs, stopped_at when it stops.
void set_experiment_status(SQLite::Database& db, int64_t id, domain::ExperimentStatus s,
                           int64_t now);
/// Counts one look at the results; returns the new count.
int64_t count_experiment_view(SQLite::Database& db, int64_t id);

/// Stores the arm of a case unless it already has one; true when it was stored now.
bool assign_case(SQLite::Database& db, const std::string& case_id, int64_t experiment_id,
                 const std::string& arm, int64_t now);
struct CaseArm {
  int64_t experiment_id = 0;
  std::string experiment_name;
  std::string arm;       // "a".."d" or "holdout"
  std::string arm_name;  // the arm's name ("Holdout" for the holdout)
};
std::optional<CaseArm> case_arm(SQLite::Database& db, const std::string& case_id);
/// The arm labels of many cases (for the cases CSV): case id -> "<experiment name>" and the arm's
/// name ("Holdout" for the holdout); cases in no experiment are absent.
std::map<std::string, CaseArm> case_arms(SQLite::Database& db,
                                         const std::vector<std::string>& case_ids);
/// Whether the case may be contacted at all (Holdout when it was held out of an experiment).
domain::ContactGroup contact_group(SQLite::Database& db, const std::string& case_id);

// --- Measures per arm (the results page) -------------------------------------------------------

/// What one arm (or the holdout) of an experiment did. A case's attribution window is closed when
/// first_failure_at + window <= now; only those cases count toward the recovery rate.
struct ArmMeasures {
  std::string arm;
  int64_t cases = 0;                  // every case assigned to the arm
  int64_t closed = 0;                 // of which the window has closed
  int64_t closed_recovered = 0;       // closed and recovered: the rate's numerator
  int64_t recovered = 0;              // recovered, window closed or not
  int64_t recovered_after_click = 0;  // recovered after a click on the tracked link
  int64_t sends = 0;                  // nudges sent (push and DM each count)
  int64_t clicks = 0;                 // clicks on the tracked link
  int64_t incentive_days = 0;         // free days granted
  int64_t recovery_ms_total = 0;      // sum of (resolved_at - first_failure_at) of recovered cases
  std::vector<std::pair<std::string, int64_t>> revenue;  // net recovered, per currency
  int64_t open() const { return cases - closed; }
};
/// One entry per arm that has cases (holdout included), in arm order, holdout last.
std::vector<ArmMeasures> arm_measures(SQLite::Database& db, int64_t experiment_id, int64_t now,
                                      int64_t window_ms);

/// One closed case for the cumulative recovery-rate chart, in order of window close.
struct ClosedCase {
  std::string arm;
  int64_t closed_at = 0;  // first_failure_at + window
  bool recovered = false;
};
std::vector<ClosedCase> closed_cases(SQLite::Database& db, int64_t experiment_id, int64_t now,
                                     int64_t window_ms);

}  // namespace cs::store
