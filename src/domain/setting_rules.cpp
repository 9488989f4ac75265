#include "domain/setting_rules.h"

#include <sstream>

namespace cs::domain {
namespace {

bool has_space(const std::string& s) {
  return s.find_first_of(" \t\r\n") != std::string::npos;
}

std::string days_range() {
  return "from " + std::to_string(kMinRetentionDays) + " to " + std::to_string(kMaxRetentionDays);
}

bool in_range(int days) {
  return days >= kMinRetentionDays && days <= kMaxRetentionDays;
}

}  // namespace

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item = trim(item);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

FieldErrors validate(const Retention& r) {
  FieldErrors errors;
  if (!in_range(r.payload_days)) {
    errors["payload_retention_days"] = "Enter a whole number of days " + days_range() + ".";
  }
  if (!in_range(r.event_days)) {
    errors["event_retention_days"] = "Enter a whole number of days " + days_range() + ".";
  } else if (in_range(r.payload_days) && r.event_days < r.payload_days) {
    errors["event_retention_days"] = "Keep events at least as long as their payloads (" +
                                     std::to_string(r.payload_days) + " days).";
  }
  return errors;
}

std::optional<int> parse_whole_number(const std::string& s) {
  std::string t = trim(s);
  if (t.empty() || t.size() > 6 || t.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::stoi(t);
}

std::optional<std::vector<int>> parse_day_list(const std::string& s) {
  std::vector<int> out;
  std::string cur;
  for (char c : s + ",") {
    if (c == ',' || c == ' ' || c == ';') {
      if (!cur.empty()) {
        auto v = parse_whole_number(cur);
        if (!v) return std::nullopt;
        out.push_back(*v);
        cur.clear();
      }
    } else {
      cur += c;
    }
  }
  return out;
}

std::string format_day_list(const std::vector<int>& days) {
  std::string out;
  for (size_t i = 0; i < days.size(); ++i) out += (i ? ", " : "") + std::to_string(days[i]);
  return out;
}

ConnectionCheck check_connection_input(const ConnectionInput& in) {
  ConnectionCheck out;
  FieldErrors& errors = out.errors;
  CheckedConnection& c = out.values;
  std::string key = trim(in.api_key);
  if (!key.empty()) {
    if (has_space(key) || key.size() > 512) {
      errors["api_key"] = "Paste the API key exactly as Whop shows it (no spaces).";
    } else {
      c.api_key = key;
    }
  }
  std::string secrets = trim(in.webhook_secrets);
  if (!secrets.empty()) {
    std::vector<std::string> list = split_list(secrets);
    bool ok = !list.empty() && list.size() <= 5;
    for (const auto& x : list) ok = ok && !has_space(x) && x.size() <= 512;
    if (!ok) {
      errors["webhook_secrets"] =
          "Paste one secret (ws_… or whsec_…), or up to five separated by commas.";
    } else {
      c.webhook_secrets = list;
    }
  }
  c.company_id = trim(in.company_id);
  if (!c.company_id.empty() && (c.company_id.rfind("biz_", 0) != 0 || has_space(c.company_id))) {
    errors["company_id"] = "A company id starts with biz_ (Whop → Settings).";
  }
  c.experience_id = trim(in.experience_id);
  if (!c.experience_id.empty() &&
      (c.experience_id.rfind("exp_", 0) != 0 || has_space(c.experience_id))) {
    errors["experience_id"] = "An experience id starts with exp_.";
  }
  std::string url = trim(in.public_url);
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (!url.empty() && ((url.rfind("https://", 0) != 0 && url.rfind("http://", 0) != 0) ||
                       has_space(url) || url.size() < 10)) {
    errors["public_url"] =
        "Give the address people reach this server at, e.g. https://cs.example.com.";
  }
  c.public_url = url;
  return out;
}

}  // namespace cs::domain
