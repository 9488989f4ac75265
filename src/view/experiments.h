#pragma once
// The experiments pages: the list with the create form (/experiments) and one experiment's
// results (/experiments/{id}), plus the results as CSV rows.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "domain/experiment.h"
#include "domain/stats.h"
#include "store/experiments.h"
#include "view/render.h"

namespace cs::view {

struct ExperimentsModel {
  std::vector<domain::Experiment> experiments;
  std::map<int64_t, int64_t> case_counts;  // experiment id -> assigned cases
  domain::Experiment draft;                // the create form as typed (or the defaults)
  domain::FieldErrors errors;
  int incentive_days = 0;  // the settings' free days (an arm's blank free days)
  int64_t now = 0;
  bool active_exists = false;  // one is running or paused
};
std::string experiments_page(const Chrome& c, const ExperimentsModel& m);

/// One row of the results: an arm (or the holdout) and its measures.
struct ResultsModel {
  domain::Experiment experiment;
  std::vector<store::ArmMeasures> measures;
  std::vector<store::ClosedCase> closed;
  int64_t now = 0;
  int window_days = 14;
};
std::string experiment_page(const Chrome& c, const ResultsModel& m);

/// One comparison the page and the CSV show: `name` against `reference`.
struct Comparison {
  std::string key, name, reference_key, reference;
  domain::Verdict verdict;
};
/// Each other arm against the control (the first arm), each arm against the holdout, and all
/// nudged arms together against the holdout (the lift of nudging).
std::vector<Comparison> comparisons(const domain::Experiment& e,
                                    const std::vector<store::ArmMeasures>& measures);
/// The name of a group ("Holdout" for the holdout).
std::string arm_label(const domain::Experiment& e, const std::string& key);

}  // namespace cs::view
