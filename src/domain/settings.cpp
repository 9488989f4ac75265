#include "domain/settings.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <regex>

namespace cs::domain {
namespace {

constexpr int64_t kDayMs = 86400000;

void check_template(FieldErrors& errors, const std::string& field, const std::string& text) {
  if (text.empty()) {
    errors[field] = "The message cannot be empty.";
    return;
  }
  if (text.size() > 2000) {
    errors[field] = "Keep the message under 2000 characters.";
    return;
  }
  static const std::regex ph(R"(\{\{\s*([^}]*?)\s*\}\})");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), ph); it != std::sregex_iterator();
       ++it) {
    std::string name = (*it)[1].str();
    const auto& known = template_placeholders();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      errors[field] = "Unknown placeholder {{" + name +
                      "}}. Use {{name}}, {{amount}}, {{product}} or {{manage_url}}.";
      return;
    }
  }
}

}  // namespace

const std::vector<std::string>& template_placeholders() {
  static const std::vector<std::string> p = {"name", "amount", "product", "manage_url"};
  return p;
}

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
  check_template(e, "push_title", s.templates.push_title);
  check_template(e, "push_content", s.templates.push_content);
  check_template(e, "dm_content", s.templates.dm_content);
  return e;
}

std::string render_template(const std::string& tmpl,
                            const std::map<std::string, std::string>& vars) {
  std::string out;
  out.reserve(tmpl.size() + 64);
  size_t i = 0;
  while (i < tmpl.size()) {
    size_t open = tmpl.find("{{", i);
    if (open == std::string::npos) {
      out.append(tmpl, i, std::string::npos);
      break;
    }
    size_t close = tmpl.find("}}", open + 2);
    if (close == std::string::npos) {
      out.append(tmpl, i, std::string::npos);
      break;
    }
    out.append(tmpl, i, open - i);
    std::string name = tmpl.substr(open + 2, close - open - 2);
    auto b = name.find_first_not_of(' ');
    auto en = name.find_last_not_of(' ');
    name = b == std::string::npos ? "" : name.substr(b, en - b + 1);
    auto it = vars.find(name);
    if (it != vars.end()) {
      out += it->second;
    } else {
      out.append(tmpl, open, close + 2 - open);
    }
    i = close + 2;
  }
  return out;
}

nlohmann::json to_json(const RecoverySettings& s) {
  return {{"push_enabled", s.push_enabled},
          {"dm_enabled", s.dm_enabled},
          {"reminder_offsets_days", s.reminder_offsets_days},
          {"incentive_days", s.incentive_days},
          {"attribution_window_days", s.attribution_window_days},
          {"push_title", s.templates.push_title},
          {"push_content", s.templates.push_content},
          {"dm_content", s.templates.dm_content},
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
  auto get_str = [&](const char* k, std::string& dst) {
    if (j.contains(k) && j[k].is_string()) dst = j[k].get<std::string>();
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
  get_str("push_title", s.templates.push_title);
  get_str("push_content", s.templates.push_content);
  get_str("dm_content", s.templates.dm_content);
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
