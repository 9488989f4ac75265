#include "domain/setting_rules.h"

#include <algorithm>
#include <sstream>

#include "util/crypto.h"

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

std::string public_url_problem(const std::string& url) {
  const char* example = " e.g. https://cs.example.com.";
  std::string rest;
  bool https = url.rfind("https://", 0) == 0;
  if (https) {
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else {
    return std::string("Start with https:// and give the address people reach this server at,") +
           example;
  }
  if (has_space(url) || url.size() > 300) return "Remove the spaces from the address.";
  std::string host = rest.substr(0, rest.find_first_of("/?#"));
  if (auto at = host.rfind('@'); at != std::string::npos) host = host.substr(at + 1);
  if (!host.empty() && host[0] == '[') {
    host = host.substr(0, host.find(']') + 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  if (host.empty() ||
      (host.find('.') == std::string::npos && host != "localhost" && host[0] != '[')) {
    return std::string("Give the full host name,") + example;
  }
  bool local = host == "localhost" || host.rfind("127.", 0) == 0 || host == "[::1]";
  if (!https && !local) {
    return "Whop sends webhooks only to https:// addresses: put HTTPS in front of this server "
           "(the README's Caddy steps) and enter the https:// address.";
  }
  return "";
}

std::string webhook_secret_problem(const std::string& s) {
  const char* how = " Copy the secret exactly as Whop shows it on the webhook's page.";
  auto alnum = [](const std::string& t) {
    return !t.empty() && std::all_of(t.begin(), t.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    });
  };
  if (s.rfind("ws_", 0) == 0) {
    if (alnum(s.substr(3))) return "";
    return std::string("A secret that starts with ws_ continues with letters and digits only.") +
           how;
  }
  if (s.rfind("whsec_", 0) == 0) {
    auto decoded = crypto::base64_decode(std::string_view(s).substr(6));
    if (decoded && !decoded->empty()) return "";
    return std::string("A secret that starts with whsec_ continues with base64.") + how;
  }
  if (s.rfind("apik_", 0) == 0 || s.rfind("key_", 0) == 0) {
    return std::string("This looks like an API key, not a webhook secret (ws_… or whsec_…).") + how;
  }
  return std::string("A Whop webhook secret starts with ws_ (or whsec_).") + how;
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
      for (size_t i = 0; i < list.size() && !errors.count("webhook_secrets"); ++i) {
        if (auto p = webhook_secret_problem(list[i]); !p.empty()) {
          errors["webhook_secrets"] = list.size() == 1
                                          ? p
                                          : "Secret " + std::to_string(i + 1) + " of " +
                                                std::to_string(list.size()) + ": " + p;
        }
      }
      if (!errors.count("webhook_secrets")) c.webhook_secrets = list;
    }
  }
  c.remove_api_key = in.remove_api_key && !c.api_key;
  c.remove_webhook_secrets = in.remove_webhook_secrets && !c.webhook_secrets;
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
  if (!url.empty()) {
    if (auto p = public_url_problem(url); !p.empty()) errors["public_url"] = p;
  }
  c.public_url = url;
  return out;
}

}  // namespace cs::domain
