#include "domain/copy.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <nlohmann/json.hpp>

namespace cs::domain {
namespace {

// The copy before per-step copy existed: a stored template equal to one of these is a default
// the creator never changed.
const MessageTemplates kLegacyDefaults = {
    "Your {{product}} payment didn't go through",
    "Hi {{name}}, we couldn't renew your {{product}} membership ({{amount}}). Update your card "
    "to keep your access: {{manage_url}}",
    "Hi {{name}}! Your last payment of {{amount}} for **{{product}}** didn't go through, so "
    "your membership is at risk. It only takes a minute to update your card here: "
    "{{manage_url}}\n\nIf you have any questions, just reply to this message."};

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t");
  auto e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

bool truthy(const std::map<std::string, std::string>& vars, const std::string& name) {
  auto it = vars.find(name);
  return it != vars.end() && !it->second.empty() && it->second != "0";
}

}  // namespace

const char* step_name(NudgeStep s) {
  switch (s) {
    case NudgeStep::First:
      return "first";
    case NudgeStep::Reminder:
      return "reminder";
    case NudgeStep::Final:
      return "final";
  }
  return "reminder";
}

const char* step_label(NudgeStep s) {
  switch (s) {
    case NudgeStep::First:
      return "First notice";
    case NudgeStep::Reminder:
      return "Reminders";
    case NudgeStep::Final:
      return "Final notice";
  }
  return "Reminders";
}

NudgeStep step_for_attempt(std::string_view attempt, size_t scheduled_attempts) {
  if (attempt.empty() || attempt.find_first_not_of("0123456789") != std::string_view::npos ||
      attempt.size() > 4) {
    return NudgeStep::Reminder;  // a manual nudge ("m1") or a name we do not know
  }
  size_t k = static_cast<size_t>(std::stoi(std::string(attempt)));
  if (k == 0) return NudgeStep::First;
  if (scheduled_attempts >= 2 && k + 1 >= scheduled_attempts) return NudgeStep::Final;
  return NudgeStep::Reminder;
}

const char* category_name(FailureCategory c) {
  switch (c) {
    case FailureCategory::InsufficientFunds:
      return "insufficient_funds";
    case FailureCategory::ExpiredCard:
      return "expired_card";
    case FailureCategory::Declined:
      return "declined";
    case FailureCategory::AuthenticationRequired:
      return "authentication_required";
    case FailureCategory::Other:
      return "other";
  }
  return "other";
}

const char* category_label(FailureCategory c) {
  switch (c) {
    case FailureCategory::InsufficientFunds:
      return "Insufficient funds";
    case FailureCategory::ExpiredCard:
      return "Expired card";
    case FailureCategory::Declined:
      return "Declined by the bank";
    case FailureCategory::AuthenticationRequired:
      return "Authentication required (3D Secure)";
    case FailureCategory::Other:
      return "Other or unknown";
  }
  return "Other or unknown";
}

std::optional<FailureCategory> category_from_name(std::string_view name) {
  for (auto c : kSpecificCategories) {
    if (name == category_name(c)) return c;
  }
  if (name == "other") return FailureCategory::Other;
  return std::nullopt;
}

FailureCategory classify_failure(std::string_view failure_message) {
  struct Rule {
    FailureCategory category;
    std::vector<const char*> phrases;
  };
  // Phrases of Stripe-like decline messages and codes, lower case; the first matching rule wins.
  static const std::vector<Rule> kRules = {
      {FailureCategory::AuthenticationRequired,
       {"authentication", "authenticate", "3d secure", "3-d secure", "3ds", "requires_action",
        "requires action", "strong customer"}},
      {FailureCategory::ExpiredCard, {"expired", "expiration date", "expiry"}},
      {FailureCategory::InsufficientFunds,
       {"insufficient", "not enough funds", "nsf", "exceeds balance", "exceeds the balance"}},
      {FailureCategory::Declined,
       {"declined", "decline", "do_not_honor", "do not honor", "lost_card", "stolen_card",
        "pickup_card", "restricted_card", "transaction_not_allowed", "not permitted", "fraud",
        "security_violation", "card_velocity_exceeded", "withdrawal_count_limit_exceeded",
        "blocked", "refused", "rejected"}},
  };
  const std::string m = lower(failure_message);
  if (m.empty()) return FailureCategory::Other;
  for (const auto& r : kRules) {
    for (const char* p : r.phrases) {
      if (m.find(p) != std::string::npos) return r.category;
    }
  }
  return FailureCategory::Other;
}

std::string& copy_field(MessageTemplates& t, std::string_view field) {
  if (field == "push_title") return t.push_title;
  if (field == "push_content") return t.push_content;
  return t.dm_content;
}

const std::string& copy_field(const MessageTemplates& t, std::string_view field) {
  if (field == "push_title") return t.push_title;
  if (field == "push_content") return t.push_content;
  return t.dm_content;
}

MessageCopy::MessageCopy() {
  step(NudgeStep::First) = {
      "Your {{product}} payment didn't go through",
      "Hi {{name}}, we couldn't renew {{product}} ({{amount}}). Update your card before "
      "{{deadline}} to keep your access: {{manage_url}}",
      "Hi {{name}}! Your payment of {{amount}} for **{{product}}** didn't go through, so your "
      "membership is at risk.\n\nIt only takes a minute to update your card: "
      "{{manage_url}}\n\n{{#incentive_days}}To give you time to sort it out, we're adding "
      "**{{incentive_days}} free days** to your membership.\n\n{{/incentive_days}}Please update "
      "it before **{{deadline}}**: that's when Whop cancels the membership if the payment still "
      "fails. If you have any questions, just reply to this message."};
  step(NudgeStep::Reminder) = {
      "Reminder: update your card for {{product}}",
      "Hi {{name}}, your {{product}} payment ({{amount}}) still hasn't gone through. Update your "
      "card before {{deadline}}: {{manage_url}}",
      "Hi {{name}}, a quick reminder: your payment of {{amount}} for **{{product}}** still "
      "hasn't gone through.\n\nYou can update your card here: {{manage_url}}\n\n"
      "{{#incentive_days}}Your {{incentive_days}} free days are there to give you time. "
      "{{/incentive_days}}Whop cancels the membership on **{{deadline}}** if the payment still "
      "fails. Reply here if anything is unclear."};
  step(NudgeStep::Final) = {
      "Last reminder: {{product}} ends on {{deadline}}",
      "Hi {{name}}, your {{product}} payment ({{amount}}) still failed, so Whop cancels your "
      "membership on {{deadline}}. Update your card now to keep it: {{manage_url}}",
      "Hi {{name}}, this is the last reminder: your payment of {{amount}} for **{{product}}** "
      "still hasn't gone through, and Whop cancels your membership on **{{deadline}}**.\n\n"
      "Update your card now to keep your access: {{manage_url}}\n\nIf you've decided to leave, "
      "there's nothing to do, and thank you for being part of {{product}}. Questions? Just reply "
      "here."};
}

std::string copy_key(NudgeStep s, std::string_view field) {
  return std::string(step_name(s)) + "." + std::string(field);
}

std::string copy_key(FailureCategory c, NudgeStep s, std::string_view field) {
  return std::string(category_name(c)) + "." + copy_key(s, field);
}

MessageTemplates select_copy(const MessageCopy& copy, NudgeStep step, FailureCategory category) {
  MessageTemplates out = copy.step(step);
  auto it = copy.by_category.find({category, step});
  if (it == copy.by_category.end()) return out;
  for (const char* f : kCopyFields) {
    if (!copy_field(it->second, f).empty()) copy_field(out, f) = copy_field(it->second, f);
  }
  return out;
}

const std::vector<std::string>& template_placeholders() {
  static const std::vector<std::string> p = {"name",       "amount",         "product",
                                             "manage_url", "incentive_days", "deadline"};
  return p;
}

std::string render_template(const std::string& tmpl,
                            const std::map<std::string, std::string>& vars) {
  std::string out;
  out.reserve(tmpl.size() + 64);
  // The sections being rendered: name and whether their text is kept.
  std::vector<std::pair<std::string, bool>> open;
  auto keeping = [&] {
    return std::all_of(open.begin(), open.end(), [](const auto& o) { return o.second; });
  };
  size_t i = 0;
  while (i < tmpl.size()) {
    size_t at = tmpl.find("{{", i);
    size_t close = at == std::string::npos ? at : tmpl.find("}}", at + 2);
    if (close == std::string::npos) {
      if (keeping()) out.append(tmpl, i, std::string::npos);
      break;
    }
    if (keeping()) out.append(tmpl, i, at - i);
    std::string tag = trim(tmpl.substr(at + 2, close - at - 2));
    i = close + 2;
    if (!tag.empty() && (tag[0] == '#' || tag[0] == '^')) {
      std::string name = trim(tag.substr(1));
      bool on = truthy(vars, name);
      open.emplace_back(name, tag[0] == '#' ? on : !on);
      continue;
    }
    if (!tag.empty() && tag[0] == '/') {
      std::string name = trim(tag.substr(1));
      if (!open.empty() && open.back().first == name) {
        open.pop_back();
        continue;
      }
      if (keeping()) out.append(tmpl, at, i - at);  // a stray close stays as written
      continue;
    }
    if (!keeping()) continue;
    auto it = vars.find(tag);
    if (it != vars.end()) {
      out += it->second;
    } else {
      out.append(tmpl, at, i - at);
    }
  }
  return out;
}

std::string check_copy(const std::string& text, bool may_be_empty) {
  if (text.empty()) return may_be_empty ? "" : "The message cannot be empty.";
  if (text.size() > 2000) return "Keep the message under 2000 characters.";
  const auto& known = template_placeholders();
  auto is_known = [&](const std::string& n) {
    return std::find(known.begin(), known.end(), n) != known.end();
  };
  std::vector<std::string> open;
  size_t i = 0;
  while (true) {
    size_t at = text.find("{{", i);
    if (at == std::string::npos) break;
    size_t close = text.find("}}", at + 2);
    if (close == std::string::npos) {
      return "A placeholder is not closed: write {{name}} with two closing braces.";
    }
    std::string tag = trim(text.substr(at + 2, close - at - 2));
    i = close + 2;
    char kind = tag.empty() ? ' ' : tag[0];
    std::string name = (kind == '#' || kind == '^' || kind == '/') ? trim(tag.substr(1)) : tag;
    if (!is_known(name)) {
      return "Unknown placeholder {{" + tag +
             "}}. Use {{name}}, {{amount}}, {{product}}, {{manage_url}}, {{incentive_days}} or "
             "{{deadline}}.";
    }
    if (kind == '#' || kind == '^') {
      open.push_back(name);
    } else if (kind == '/') {
      if (open.empty() || open.back() != name) {
        return "{{/" + name + "}} closes a section that was not opened with {{#" + name +
               "}} or {{^" + name + "}}.";
      }
      open.pop_back();
    }
  }
  if (!open.empty()) {
    return "The section {{#" + open.back() + "}} is not closed: end it with {{/" + open.back() +
           "}}.";
  }
  return "";
}

std::map<std::string, std::string> validate_copy(const MessageCopy& copy) {
  std::map<std::string, std::string> errors;
  for (auto s : kNudgeSteps) {
    for (const char* f : kCopyFields) {
      auto e = check_copy(copy_field(copy.step(s), f), false);
      if (!e.empty()) errors[copy_key(s, f)] = e;
    }
  }
  for (const auto& [key, t] : copy.by_category) {
    for (const char* f : kCopyFields) {
      auto e = check_copy(copy_field(t, f), true);
      if (!e.empty()) errors[copy_key(key.first, key.second, f)] = e;
    }
  }
  return errors;
}

std::string format_deadline(int64_t first_failure_at) {
  static const char* kDays[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                "Thursday", "Friday", "Saturday"};
  static const char* kMonths[] = {"January",   "February", "March",    "April",
                                  "May",       "June",     "July",     "August",
                                  "September", "October",  "November", "December"};
  std::time_t t = static_cast<std::time_t>((first_failure_at + kWhopRetryMs) / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return std::string(kDays[tm.tm_wday]) + ", " + kMonths[tm.tm_mon] + " " +
         std::to_string(tm.tm_mday);
}

int offered_incentive_days(IncentiveState state, int days) {
  switch (state) {
    case IncentiveState::Pending:
    case IncentiveState::Queued:
    case IncentiveState::Granting:
    case IncentiveState::Granted:
      return std::max(days, 0);
    case IncentiveState::None:
    case IncentiveState::Failed:
    case IncentiveState::Off:
      return 0;
  }
  return 0;
}

RenderedNudge render_nudge(const MessageCopy& copy, NudgeStep step, FailureCategory category,
                           const std::map<std::string, std::string>& vars) {
  auto t = select_copy(copy, step, category);
  return {render_template(t.push_title, vars), render_template(t.push_content, vars),
          render_template(t.dm_content, vars)};
}

nlohmann::json copy_to_json(const MessageCopy& c) {
  auto fields = [](const MessageTemplates& t, bool skip_empty) {
    nlohmann::json o = nlohmann::json::object();
    for (const char* f : kCopyFields) {
      if (!skip_empty || !copy_field(t, f).empty()) o[f] = copy_field(t, f);
    }
    return o;
  };
  nlohmann::json j = nlohmann::json::object();
  for (auto s : kNudgeSteps) j[step_name(s)] = fields(c.step(s), false);
  nlohmann::json cats = nlohmann::json::object();
  for (const auto& [key, t] : c.by_category) {
    auto o = fields(t, true);
    if (!o.empty()) cats[category_name(key.first)][step_name(key.second)] = o;
  }
  j["by_category"] = cats;
  return j;
}

MessageCopy copy_from_json(const nlohmann::json& j) {
  MessageCopy c;
  if (!j.is_object()) return c;
  auto read = [](const nlohmann::json& o, MessageTemplates& t) {
    if (!o.is_object()) return;
    for (const char* f : kCopyFields) {
      if (o.contains(f) && o[f].is_string()) copy_field(t, f) = o[f].get<std::string>();
    }
  };
  for (auto s : kNudgeSteps) {
    if (j.contains(step_name(s))) read(j[step_name(s)], c.step(s));
  }
  if (j.contains("by_category") && j["by_category"].is_object()) {
    for (auto it = j["by_category"].begin(); it != j["by_category"].end(); ++it) {
      auto cat = category_from_name(it.key());
      if (!cat || !it.value().is_object()) continue;
      for (auto s : kNudgeSteps) {
        if (!it.value().contains(step_name(s))) continue;
        MessageTemplates t;
        read(it.value()[step_name(s)], t);
        if (!t.push_title.empty() || !t.push_content.empty() || !t.dm_content.empty()) {
          c.by_category[{*cat, s}] = t;
        }
      }
    }
  }
  return c;
}

void upgrade_legacy_copy(nlohmann::json& stored) {
  if (!stored.is_object() || stored.contains("copy")) return;
  bool legacy = false;
  MessageCopy c;
  for (const char* f : kCopyFields) {
    if (!stored.contains(f)) continue;
    legacy = true;
    if (!stored[f].is_string()) continue;
    std::string text = stored[f].get<std::string>();
    if (text.empty() || text == copy_field(kLegacyDefaults, f)) continue;
    for (auto s : kNudgeSteps) copy_field(c.step(s), f) = text;
  }
  for (const char* f : kCopyFields) stored.erase(f);
  if (legacy) stored["copy"] = copy_to_json(c);
}

}  // namespace cs::domain
