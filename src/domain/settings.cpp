#include "domain/settings.h"

#include <nlohmann/json.hpp>
#include <optional>

namespace cs::domain {
namespace {

constexpr int64_t kDayMs = 86400000;

}  // namespace

FieldErrors validate(const RecoverySettings& s) {
  FieldErrors e;
  if (s.attribution_window_days < 1 || s.attribution_window_days > 90) {
    e["attribution_window_days"] = "The attribution window must be between 1 and 90 days.";
  }
  const auto& o = s.reminder_offsets_days;
  if (o.empty() || o.size() > 10) {
    e["reminder_offsets_days"] = "Give between 1 and 10 reminder days.";
  } else {
    for (size_t i = 0; i < o.size(); ++i) {
      if (o[i] < 0) {
        e["reminder_offsets_days"] = "Reminder days cannot be negative.";
        break;
      }
      if (i > 0 && o[i] <= o[i - 1]) {
        e["reminder_offsets_days"] = "Reminder days must increase, e.g. 0, 2, 4.";
        break;
      }
      if (o[i] >= s.attribution_window_days) {
        e["reminder_offsets_days"] = "Every reminder must fall inside the " +
                                     std::to_string(s.attribution_window_days) +
                                     "-day attribution window.";
        break;
      }
    }
  }
  if (s.incentive_days < 0 || s.incentive_days > 30) {
    e["incentive_days"] = "Free days must be between 0 (off) and 30.";
  }
  for (auto& [k, v] : validate_copy(s.copy)) e.emplace(k, v);
  return e;
}

nlohmann::json to_json(const RecoverySettings& s) {
  return {{"push_enabled", s.push_enabled},
          {"dm_enabled", s.dm_enabled},
          {"reminder_offsets_days", s.reminder_offsets_days},
          {"incentive_days", s.incentive_days},
          {"attribution_window_days", s.attribution_window_days},
          {"copy", copy_to_json(s.copy)},
          {"processing_enabled", s.processing_enabled},
          {"scheduler_enabled", s.scheduler_enabled},
          {"notifications_enabled", s.notifications_enabled}};
}

RecoverySettings settings_from_json(const nlohmann::json& j) {
  RecoverySettings s;
  if (!j.is_object()) return s;
  auto get_bool = [&](const char* k, bool& dst) {
    if (j.contains(k) && j[k].is_boolean()) dst = j[k].get<bool>();
  };
  auto get_int = [&](const char* k, int& dst) {
    if (j.contains(k) && j[k].is_number_integer()) dst = j[k].get<int>();
  };
  get_bool("push_enabled", s.push_enabled);
  get_bool("dm_enabled", s.dm_enabled);
  if (j.contains("reminder_offsets_days") && j["reminder_offsets_days"].is_array()) {
    std::vector<int> o;
    for (const auto& v : j["reminder_offsets_days"]) {
      if (v.is_number_integer()) o.push_back(v.get<int>());
    }
    s.reminder_offsets_days = o;
  }
  get_int("incentive_days", s.incentive_days);
  get_int("attribution_window_days", s.attribution_window_days);
  if (j.contains("copy")) s.copy = copy_from_json(j["copy"]);
  get_bool("processing_enabled", s.processing_enabled);
  get_bool("scheduler_enabled", s.scheduler_enabled);
  get_bool("notifications_enabled", s.notifications_enabled);
  return s;
}

NudgePlan plan_nudges(int64_t first_failure_at, const std::vector<int>& offsets_days,
                      int from_attempt, int64_t now) {
  NudgePlan plan;
  int n = static_cast<int>(offsets_days.size());
  int latest_due = -1;
  for (int k = std::max(from_attempt, 0); k < n; ++k) {
    if (first_failure_at + offsets_days[static_cast<size_t>(k)] * kDayMs <= now) latest_due = k;
  }
  if (latest_due >= 0) {
    plan.send_attempt = latest_due;
    for (int k = std::max(from_attempt, 0); k < latest_due; ++k) plan.skipped.push_back(k);
    plan.next_attempt = latest_due + 1;
  } else {
    plan.next_attempt = std::max(from_attempt, 0);
  }
  if (plan.next_attempt < n) {
    plan.next_at = first_failure_at + offsets_days[static_cast<size_t>(plan.next_attempt)] * kDayMs;
  }
  return plan;
}

}  // namespace cs::domain
