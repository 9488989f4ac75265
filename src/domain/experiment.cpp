#include "domain/experiment.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "util/crypto.h"

namespace cs::domain {

const char* experiment_status_name(ExperimentStatus s) {
  switch (s) {
    case ExperimentStatus::Draft:
      return "draft";
    case ExperimentStatus::Running:
      return "running";
    case ExperimentStatus::Paused:
      return "paused";
    case ExperimentStatus::Stopped:
      return "stopped";
  }
  return "draft";
}

std::optional<ExperimentStatus> experiment_status_from_name(std::string_view name) {
  for (auto s : {ExperimentStatus::Draft, ExperimentStatus::Running, ExperimentStatus::Paused,
                 ExperimentStatus::Stopped}) {
    if (name == experiment_status_name(s)) return s;
  }
  return std::nullopt;
}

bool is_holdout(std::string_view arm) {
  return arm == kHoldoutArm;
}

const Arm* Experiment::arm(std::string_view key) const {
  for (const auto& a : arms) {
    if (a.key == key) return &a;
  }
  return nullptr;
}

std::string arm_key(size_t index) {
  return std::string(1, static_cast<char>('a' + index));
}

FieldErrors validate_experiment(const Experiment& e) {
  FieldErrors errors;
  if (e.name.empty() || e.name.size() > 100) {
    errors["name"] = "Give the experiment a name (up to 100 characters).";
  }
  if (e.holdout_percent < 0 || e.holdout_percent > kMaxHoldoutPercent) {
    errors["holdout_percent"] = "The holdout must be between 0 and 50 % of new cases.";
  }
  if (e.arms.size() < static_cast<size_t>(kMinArms) ||
      e.arms.size() > static_cast<size_t>(kMaxArms)) {
    errors["arms"] = "An experiment has between 2 and 4 arms.";
  }
  for (size_t i = 0; i < e.arms.size(); ++i) {
    const Arm& a = e.arms[i];
    const std::string k = a.key;
    if (k != arm_key(i)) errors["arms"] = "The arms are named a, b, c, d in order.";
    if (a.name.empty() || a.name.size() > 60) {
      errors[k + ".name"] = "Give the arm a name (up to 60 characters).";
    }
    if (a.weight < 1 || a.weight > kMaxWeight) {
      errors[k + ".weight"] = "The weight must be a whole number from 1 to 100.";
    }
    if (a.incentive_days && (*a.incentive_days < 0 || *a.incentive_days > 30)) {
      errors[k + ".incentive_days"] = "Free days must be between 0 (none) and 30.";
    }
    for (auto& [ck, msg] : validate_copy(a.copy)) errors[k + "." + ck] = msg;
  }
  return errors;
}

ExperimentActions experiment_actions(ExperimentStatus s) {
  ExperimentActions a;
  switch (s) {
    case ExperimentStatus::Draft:
      a.start = a.stop = a.edit = true;
      break;
    case ExperimentStatus::Running:
      a.pause = a.stop = a.promote = true;
      break;
    case ExperimentStatus::Paused:
      a.start = a.stop = a.promote = true;
      break;
    case ExperimentStatus::Stopped:
      a.promote = true;  // the results may show the winner only after stopping
      break;
  }
  return a;
}

std::string arm_for_point(uint32_t point, int holdout_percent, const std::vector<Arm>& arms) {
  constexpr uint64_t kSpan = 1000000;
  const uint64_t holdout = static_cast<uint64_t>(std::clamp(holdout_percent, 0, 100)) * 10000;
  if (point < holdout || arms.empty()) return kHoldoutArm;
  uint64_t total = 0;
  for (const auto& a : arms) total += static_cast<uint64_t>(std::max(a.weight, 0));
  if (total == 0) return arms.front().key;
  // The point's place in the rest of the span, compared with the cumulative weights:
  // (point - holdout) / (span - holdout) < cumulative / total, in integers.
  const uint64_t offset = point - holdout, rest = kSpan - holdout;
  uint64_t cumulative = 0;
  for (const auto& a : arms) {
    cumulative += static_cast<uint64_t>(std::max(a.weight, 0));
    if (offset * total < cumulative * rest) return a.key;
  }
  return arms.back().key;
}

std::string assign_arm(std::string_view key, int64_t experiment_id, std::string_view case_id,
                       int holdout_percent, const std::vector<Arm>& arms) {
  const std::string mac =
      crypto::hmac_sha256(key, std::to_string(experiment_id) + ":" + std::string(case_id));
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(mac[i]);
  // 2^64 is not a multiple of 10^6: the bias is below 10^6 / 2^64, about 5e-14.
  return arm_for_point(static_cast<uint32_t>(v % 1000000), holdout_percent, arms);
}

std::string derive_assignment_key(std::string_view app_key, std::string_view nonce) {
  return crypto::hex_encode(
      crypto::hmac_sha256(app_key, "churn-saver experiment assignment:" + std::string(nonce)));
}

std::string assign_arm(const Experiment& e, std::string_view case_id) {
  return assign_arm(e.assignment_key, e.id, case_id, e.holdout_percent, e.arms);
}

Playbook playbook_for(const RecoverySettings& settings, const Experiment* experiment,
                      std::string_view arm) {
  Playbook p{false, &settings.copy, settings.incentive_days};
  if (is_holdout(arm)) {
    p.holdout = true;  // even when the experiment is gone: a holdout case is never contacted
    p.incentive_days = 0;
    return p;
  }
  if (!experiment) return p;
  if (const Arm* a = experiment->arm(arm)) {
    p.copy = &a->copy;
    if (a->incentive_days) p.incentive_days = *a->incentive_days;
  }
  return p;
}

nlohmann::json arms_to_json(const std::vector<Arm>& arms) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& a : arms) {
    nlohmann::json j = {
        {"key", a.key}, {"name", a.name}, {"weight", a.weight}, {"copy", copy_to_json(a.copy)}};
    j["incentive_days"] = a.incentive_days ? nlohmann::json(*a.incentive_days) : nlohmann::json();
    out.push_back(j);
  }
  return out;
}

std::vector<Arm> arms_from_json(const nlohmann::json& j) {
  std::vector<Arm> arms;
  if (!j.is_array()) return arms;
  for (const auto& o : j) {
    if (!o.is_object()) continue;
    Arm a;
    if (o.contains("key") && o["key"].is_string()) a.key = o["key"].get<std::string>();
    if (o.contains("name") && o["name"].is_string()) a.name = o["name"].get<std::string>();
    if (o.contains("weight") && o["weight"].is_number_integer()) a.weight = o["weight"].get<int>();
    if (o.contains("incentive_days") && o["incentive_days"].is_number_integer()) {
      a.incentive_days = o["incentive_days"].get<int>();
    }
    if (o.contains("copy")) a.copy = copy_from_json(o["copy"]);
    arms.push_back(std::move(a));
  }
  return arms;
}

}  // namespace cs::domain
