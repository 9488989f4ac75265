#pragma once
// Experiments: A/B tests of the recovery playbook with an optional no-contact holdout. Pure.
//
// An experiment has two to four arms with weights; an arm is a variant of the playbook (the copy of
// every step and channel, and optionally its own free days). A share of new cases (0-50 %) can be
// held out: nobody contacts them (no nudge, no incentive; Whop's own retries and emails still run),
// so the results can show what nudging adds over doing nothing.
//
// A case is assigned once, when it is created, by a keyed hash of (experiment id, case id): the
// same inputs always give the same arm, nobody can steer a case into an arm without the key, and
// the assignment is stored with the case so a later change of weights never moves it.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "domain/copy.h"
#include "domain/settings.h"

namespace cs::domain {

/// Draft (being set up), Running (new cases are assigned), Paused (new cases are not assigned;
/// assigned cases keep their arm), Stopped (final; its cases keep their arm and history).
enum class ExperimentStatus { Draft, Running, Paused, Stopped };
const char* experiment_status_name(ExperimentStatus s);  // "draft", "running", "paused", "stopped"
std::optional<ExperimentStatus> experiment_status_from_name(std::string_view name);

/// The arm label of a held-out case (never an arm key: arm keys are "a".."d").
inline constexpr const char* kHoldoutArm = "holdout";
bool is_holdout(std::string_view arm);

constexpr int kMinArms = 2;
constexpr int kMaxArms = 4;
constexpr int kMaxHoldoutPercent = 50;
constexpr int kMaxWeight = 100;

struct Arm {
  std::string key;   // "a", "b", ... (the first arm is the control)
  std::string name;  // what the creator calls it ("Control", "Short and friendly")
  int weight = 1;    // 1..100, relative to the other arms
  MessageCopy copy;
  std::optional<int> incentive_days;  // nullopt: the settings' free days; 0 = none
  bool operator==(const Arm&) const = default;
};

struct Experiment {
  int64_t id = 0;
  std::string name;
  ExperimentStatus status = ExperimentStatus::Draft;
  int holdout_percent = 0;  // 0..50
  std::vector<Arm> arms;
  int64_t created_at = 0;
  std::optional<int64_t> started_at, stopped_at;
  int64_t views = 0;           // how often the results were looked at (see kManyLooks)
  std::string assignment_key;  // hex HMAC key of assign_arm (derive_assignment_key)
  const Arm* arm(std::string_view key) const;
};

/// Arm keys in order: "a", "b", "c", "d".
std::string arm_key(size_t index);

/// Every problem, keyed by form field: "name", "holdout_percent", "arms", "<key>.name",
/// "<key>.weight", "<key>.incentive_days", "<key>.<copy_key>" (e.g. "b.first.push_title").
FieldErrors validate_experiment(const Experiment& e);

/// Which actions the experiment allows now.
struct ExperimentActions {
  bool start = false, pause = false, stop = false, promote = false, edit = false;
};
ExperimentActions experiment_actions(ExperimentStatus s);

/// The assignment of one case: a keyed HMAC-SHA256 of "<experiment id>:<case id>" under `key`
/// (derived from the app's key material); its first 8 bytes, as a big-endian integer modulo
/// 1,000,000, are a point in [0, 1,000,000). Points below holdout_percent * 10,000 are the
/// holdout; the rest is split among the arms in proportion to their weights. Deterministic.
std::string assign_arm(std::string_view key, int64_t experiment_id, std::string_view case_id,
                       int holdout_percent, const std::vector<Arm>& arms);
/// The assignment key of a new experiment: HMAC-SHA256(app key, "churn-saver experiment
/// assignment:" + nonce) as hex. The nonce (random) keeps two experiments' keys apart.
std::string derive_assignment_key(std::string_view app_key, std::string_view nonce);
/// assign_arm with the experiment's own key and settings.
std::string assign_arm(const Experiment& e, std::string_view case_id);
/// The same mapping from a point in [0, 1,000,000) (exposed for tests).
std::string arm_for_point(uint32_t point, int holdout_percent, const std::vector<Arm>& arms);

/// The playbook a case follows: what copy its nudges use, whether it may be contacted at all,
/// and its free days. A case outside any experiment follows the settings.
struct Playbook {
  bool holdout = false;
  const MessageCopy* copy = nullptr;  // never null
  int incentive_days = 0;
};
Playbook playbook_for(const RecoverySettings& settings, const Experiment* experiment,
                      std::string_view arm);

/// Storage of the arms: [{"key":"a","name":..,"weight":..,"incentive_days":3|null,"copy":{..}}].
nlohmann::json arms_to_json(const std::vector<Arm>& arms);
std::vector<Arm> arms_from_json(const nlohmann::json& j);

}  // namespace cs::domain
