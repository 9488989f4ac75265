// The settings page (Whop connection, recovery rules, kill switches, retention) and the messages
// page (templates with a preview).
#include <algorithm>
#include <cctype>

#include "view/format.h"
#include "view/pages.h"

namespace cs::view {
namespace {

void set_fields(Data& d, const std::map<std::string, std::string>& values,
                const domain::FieldErrors& errors) {
  for (const auto& [k, v] : values) set(d, "val_" + k, v);
  for (const auto& [k, v] : errors) set(d, "err_" + k, v);
  set(d, "has_errors", !errors.empty());
}

}  // namespace

std::string settings_page(const Chrome& c, const SettingsModel& m) {
  Data d;
  set(d, "api_key_masked", m.api_key_masked);
  set(d, "secrets_masked", m.secrets_masked);
  set(d, "api_base", m.api_base);
  set_fields(d, m.values, m.errors);
  for (const auto& [k, v] : m.checks) set(d, "chk_" + k, v);
  set(d, "env_processing_off", m.env_processing_off);
  set(d, "env_scheduler_off", m.env_scheduler_off);
  set(d, "env_notifications_off", m.env_notifications_off);
  set(d, "check_result", m.check_result);
  set(d, "webhook_url", m.webhook_url);
  set(d, "public_url_problem", m.public_url_problem);
  set(d, "has_api_key", m.has_api_key);
  set(d, "has_secret", m.has_secret);
  set(d, "check_text", m.check_text);
  set(d, "check_ok", m.check_kind == "ok");
  set(d, "test_text", m.test_text);
  set(d, "test_ok", m.test_kind == "ok");
  return page(templates::page_settings, c, d);
}

std::map<std::string, std::string> preview_values(int incentive_days, int64_t now) {
  return {{"name", "Alex"},
          {"amount", "$29.99"},
          {"product", "Pro Trading Community"},
          {"manage_url", "https://whop.com/…/manage"},
          {"incentive_days", std::to_string(std::max(incentive_days, 0))},
          {"deadline", domain::format_deadline(now)}};
}

namespace {

std::string days_list(const std::vector<int>& days) {
  std::string out;
  for (size_t i = 0; i < days.size(); ++i) {
    if (i > 0) out += i + 1 == days.size() ? " and " : ", ";
    out += std::to_string(days[i]);
  }
  return out;
}

/// When a step is sent, in the creator's schedule.
std::string step_when(domain::NudgeStep s, const std::vector<int>& o) {
  const size_t n = o.size();
  switch (s) {
    case domain::NudgeStep::First:
      return n == 0 ? "" : "Sent on day " + std::to_string(o[0]) + " after the failed payment.";
    case domain::NudgeStep::Reminder: {
      std::vector<int> mid;
      for (size_t k = 1; k + 1 < n; ++k) mid.push_back(o[k]);
      std::string when = mid.empty() ? "No scheduled reminder between the first and the final "
                                       "notice uses it; "
                                     : "Sent on day" + std::string(mid.size() > 1 ? "s " : " ") +
                                           days_list(mid) + ", and ";
      return when + "when you press Nudge now on a case.";
    }
    case domain::NudgeStep::Final:
      return n < 2 ? "Not used: your schedule has a single reminder (the first notice)."
                   : "Sent on day " + std::to_string(o[n - 1]) +
                         ", the last scheduled reminder. Whop cancels the membership about 5 "
                         "days after the first failed payment.";
  }
  return "";
}

std::string lower_first(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

const char* field_label(std::string_view f) {
  if (f == "push_title") return "Push title";
  if (f == "push_content") return "Push text";
  return "Message";
}

}  // namespace

std::string messages_page(const Chrome& c, const MessagesModel& m) {
  Data d;
  const auto samples_map = preview_values(m.incentive_days, m.now);
  const auto cat = m.preview_category;
  auto field = [&](const std::string& key, std::string_view f, const std::string& value,
                   const std::string& preview_id, const std::string& placeholder) {
    Data x;
    set(x, "name", key);
    std::string id = key;
    std::replace(id.begin(), id.end(), '.', '-');
    set(x, "id", id);
    set(x, "label", field_label(f));
    set(x, "rows", f == "push_title" ? "2" : f == "push_content" ? "3" : "7");
    set(x, "value", value);
    set(x, "placeholder", placeholder);
    set(x, "preview", preview_id);
    set(x, "format", f == "dm_content" ? "markdown" : "text");
    auto e = m.errors.find(key);
    if (e != m.errors.end()) set(x, "error", e->second);
    return x;
  };
  Data steps = list();
  for (auto s : domain::kNudgeSteps) {
    const std::string sk = domain::step_name(s);
    auto over = m.copy.by_category.find({cat, s});
    Data st;
    set(st, "key", sk);
    set(st, "label", domain::step_label(s));
    set(st, "when", step_when(s, m.offsets_days));
    Data push = list(), dm = list();
    for (const char* f : domain::kCopyFields) {
      bool overridden =
          over != m.copy.by_category.end() && !domain::copy_field(over->second, f).empty();
      std::string pid = overridden ? "" : "preview-" + sk + "-" + f;
      auto x = field(domain::copy_key(s, f), f, domain::copy_field(m.copy.step(s), f), pid, "");
      (std::string_view(f) == "dm_content" ? dm : push).push_back(x);
    }
    set(st, "push_fields", push);
    set(st, "dm_fields", dm);
    auto words = domain::render_nudge(m.copy, s, cat, samples_map);
    set(st, "preview_push_title", words.push_title);
    set(st, "preview_push_content", text_html(words.push_content));
    set(st, "preview_dm_content", markdown_html(words.dm_content));
    steps.push_back(st);
  }
  set(d, "steps", steps);
  static const std::map<domain::FailureCategory, const char*> kExample = {
      {domain::FailureCategory::InsufficientFunds, "Your card has insufficient funds."},
      {domain::FailureCategory::ExpiredCard, "Your card has expired."},
      {domain::FailureCategory::Declined, "Your card was declined."},
      {domain::FailureCategory::AuthenticationRequired, "This payment requires authentication."}};
  Data cats = list();
  Data options = list();
  {
    Data o;
    set(o, "value", "other");
    set(o, "label", "No specific kind (the step's copy)");
    set(o, "selected", cat == domain::FailureCategory::Other);
    options.push_back(o);
  }
  for (auto k : domain::kSpecificCategories) {
    Data ct;
    const std::string ck = domain::category_name(k);
    set(ct, "key", ck);
    set(ct, "label", domain::category_label(k));
    set(ct, "example", kExample.at(k));
    int count = 0;
    bool has_error = false;
    Data csteps = list();
    for (auto s : domain::kNudgeSteps) {
      Data cs;
      set(cs, "label", domain::step_label(s));
      auto over = m.copy.by_category.find({k, s});
      Data fields = list();
      for (const char* f : domain::kCopyFields) {
        std::string v = over == m.copy.by_category.end() ? "" : domain::copy_field(over->second, f);
        if (!v.empty()) ++count;
        std::string key = domain::copy_key(k, s, f);
        if (m.errors.count(key)) has_error = true;
        std::string pid = (k == cat && !v.empty())
                              ? "preview-" + std::string(domain::step_name(s)) + "-" + f
                              : "";
        fields.push_back(field(key, f, v, pid,
                               "Empty: the " + lower_first(domain::step_label(s)) + " copy above"));
      }
      set(cs, "fields", fields);
      csteps.push_back(cs);
    }
    set(ct, "steps", csteps);
    set(ct, "count", count > 0 ? std::to_string(count) : "");
    set(ct, "open", count > 0 || has_error || k == cat);
    cats.push_back(ct);
    Data o;
    set(o, "value", ck);
    set(o, "label", domain::category_label(k));
    set(o, "selected", k == cat);
    options.push_back(o);
  }
  set(d, "categories", cats);
  set(d, "preview_options", options);
  set(d, "preview_category_label",
      cat == domain::FailureCategory::Other ? std::string("")
                                            : std::string(domain::category_label(cat)));
  set(d, "push_off", !m.push_enabled);
  set(d, "dm_off", !m.dm_enabled);
  set(d, "has_errors", !m.errors.empty());
  Data samples = list();
  for (const auto& [k, v] : samples_map) {
    Data s;
    set(s, "name", "{{" + k + "}}");
    set(s, "key", k);
    set(s, "value", v);
    samples.push_back(s);
  }
  set(d, "samples", samples);
  return page(templates::page_messages, c, d);
}

}  // namespace cs::view
