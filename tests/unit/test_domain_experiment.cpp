// Experiments: deterministic assignment spread as weighted, validation, the playbook of a case.
#include <doctest/doctest.h>

#include <map>
#include <random>

#include <nlohmann/json.hpp>

#include "domain/experiment.h"
#include "util/crypto.h"

using namespace cs::domain;

namespace {

std::vector<Arm> arms(std::vector<int> weights) {
  std::vector<Arm> out;
  for (size_t i = 0; i < weights.size(); ++i) {
    Arm a;
    a.key = arm_key(i);
    a.name = "Arm " + a.key;
    a.weight = weights[i];
    out.push_back(a);
  }
  return out;
}

/// Pearson's chi-square of observed counts against expected shares.
double chi_square(const std::map<std::string, int>& seen, const std::map<std::string, double>& p,
                  int n) {
  double chi = 0;
  for (const auto& [k, share] : p) {
    double expected = share * n;
    double o = seen.count(k) ? seen.at(k) : 0;
    chi += (o - expected) * (o - expected) / expected;
  }
  return chi;
}

std::map<std::string, int> spread(const std::string& key, int64_t experiment, int holdout,
                                  const std::vector<Arm>& a, int n) {
  std::mt19937_64 rng(20261130);  // fixed seed: the same 100,000 ids every run
  std::map<std::string, int> seen;
  for (int i = 0; i < n; ++i) {
    char id[33];
    std::snprintf(id, sizeof id, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                  static_cast<unsigned long long>(rng()));
    ++seen[assign_arm(key, experiment, id, holdout, a)];
  }
  return seen;
}

}  // namespace

TEST_CASE("assignment is deterministic, keyed, and per experiment") {
  const auto a = arms({1, 1});
  const std::string key(32, 'k');
  const std::string id = "0123456789abcdef0123456789abcdef";
  const auto first = assign_arm(key, 7, id, 10, a);
  for (int i = 0; i < 5; ++i) CHECK(assign_arm(key, 7, id, 10, a) == first);
  // Another key or another experiment reshuffles: over 200 ids, some land elsewhere.
  int moved_key = 0, moved_exp = 0;
  for (int i = 0; i < 200; ++i) {
    std::string c = "case" + std::to_string(i);
    auto base = assign_arm(key, 7, c, 0, a);
    moved_key += assign_arm(std::string(32, 'j'), 7, c, 0, a) != base;
    moved_exp += assign_arm(key, 8, c, 0, a) != base;
  }
  CHECK(moved_key > 50);
  CHECK(moved_exp > 50);
}

TEST_CASE("the point maps to holdout first, then to the arms by weight") {
  const auto a = arms({1, 3});
  // 10 % holdout: points [0, 100000) are held out; the remaining 900000 split 1:3 at 325000.
  CHECK(arm_for_point(0, 10, a) == kHoldoutArm);
  CHECK(arm_for_point(99999, 10, a) == kHoldoutArm);
  CHECK(arm_for_point(100000, 10, a) == "a");
  CHECK(arm_for_point(324999, 10, a) == "a");
  CHECK(arm_for_point(325000, 10, a) == "b");
  CHECK(arm_for_point(999999, 10, a) == "b");
  // No holdout: nobody is held out.
  CHECK(arm_for_point(0, 0, a) == "a");
}

TEST_CASE("assignment spreads as weighted: chi-square over 100,000 ids with a fixed seed") {
  const std::string key = cs::crypto::sha256("churn-saver test key");
  const int n = 100000;
  SUBCASE("two equal arms and a 10 % holdout (2 degrees of freedom)") {
    auto seen = spread(key, 1, 10, arms({1, 1}), n);
    CHECK(seen.size() == 3);
    // Critical value of chi-square with 2 df at the 0.1 % level: 13.82.
    double chi = chi_square(seen, {{"holdout", 0.10}, {"a", 0.45}, {"b", 0.45}}, n);
    INFO("chi-square " << chi << " holdout " << seen["holdout"] << " a " << seen["a"] << " b "
                       << seen["b"]);
    CHECK(chi < 13.82);
  }
  SUBCASE("weights 1:3:6, no holdout (2 degrees of freedom)") {
    auto seen = spread(key, 2, 0, arms({1, 3, 6}), n);
    CHECK(seen.count("holdout") == 0);
    double chi = chi_square(seen, {{"a", 0.1}, {"b", 0.3}, {"c", 0.6}}, n);
    INFO("chi-square " << chi);
    CHECK(chi < 13.82);
  }
  SUBCASE("a 50 % holdout and two arms 2:1 (2 degrees of freedom)") {
    auto seen = spread(key, 3, 50, arms({2, 1}), n);
    double chi = chi_square(seen, {{"holdout", 0.5}, {"a", 1.0 / 3}, {"b", 1.0 / 6}}, n);
    INFO("chi-square " << chi);
    CHECK(chi < 13.82);
  }
}

TEST_CASE("validation of an experiment") {
  Experiment e;
  e.name = "Short copy";
  e.arms = arms({1, 1});
  CHECK(validate_experiment(e).empty());
  e.holdout_percent = 51;
  e.arms[1].weight = 0;
  e.arms[0].copy.step(NudgeStep::First).push_title = "{{nme}}";
  e.arms.push_back(e.arms[0]);  // key "a" again at the third place
  auto errors = validate_experiment(e);
  CHECK(errors.count("holdout_percent"));
  CHECK(errors.count("b.weight"));
  CHECK(errors.count("a.first.push_title"));
  CHECK(errors.count("arms"));
  e = Experiment{};
  e.name = "x";
  e.arms = arms({1});
  CHECK(validate_experiment(e).count("arms"));
}

TEST_CASE("playbook of a case: the arm's copy and free days; holdout gets nothing") {
  RecoverySettings s;
  s.incentive_days = 3;
  Experiment e;
  e.id = 1;
  e.arms = arms({1, 1});
  e.arms[1].copy.step(NudgeStep::First).push_title = "Arm B words";
  e.arms[1].incentive_days = 0;
  auto a = playbook_for(s, &e, "a");
  CHECK_FALSE(a.holdout);
  CHECK(a.incentive_days == 3);
  CHECK(a.copy == &e.arms[0].copy);
  auto b = playbook_for(s, &e, "b");
  CHECK(b.copy->step(NudgeStep::First).push_title == "Arm B words");
  CHECK(b.incentive_days == 0);
  auto h = playbook_for(s, &e, kHoldoutArm);
  CHECK(h.holdout);
  CHECK(h.incentive_days == 0);
  // A holdout stays a holdout even when its experiment is not found.
  CHECK(playbook_for(s, nullptr, kHoldoutArm).holdout);
  auto none = playbook_for(s, nullptr, "");
  CHECK_FALSE(none.holdout);
  CHECK(none.copy == &s.copy);
}

TEST_CASE("arms round-trip through JSON; actions by status") {
  auto a = arms({2, 5});
  a[1].incentive_days = 7;
  a[0].copy.step(NudgeStep::Final).dm_content = "Bye {{name}}";
  CHECK(arms_from_json(arms_to_json(a)) == a);
  CHECK(experiment_actions(ExperimentStatus::Draft).start);
  CHECK_FALSE(experiment_actions(ExperimentStatus::Running).start);
  CHECK(experiment_actions(ExperimentStatus::Running).pause);
  CHECK(experiment_actions(ExperimentStatus::Paused).start);
  CHECK_FALSE(experiment_actions(ExperimentStatus::Stopped).stop);
  CHECK(experiment_actions(ExperimentStatus::Stopped).promote);
  for (auto s : {ExperimentStatus::Draft, ExperimentStatus::Running, ExperimentStatus::Paused,
                 ExperimentStatus::Stopped}) {
    CHECK(experiment_status_from_name(experiment_status_name(s)) == s);
  }
}
