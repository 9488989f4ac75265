// The settings page (Whop connection, recovery rules, kill switches, retention) and the messages
// page (templates with a preview).
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
  return page(templates::page_settings, c, d);
}

const std::map<std::string, std::string>& preview_values() {
  static const std::map<std::string, std::string> v = {{"name", "Alex"},
                                                       {"amount", "$29.99"},
                                                       {"product", "Pro Trading Community"},
                                                       {"manage_url", "https://whop.com/…/manage"}};
  return v;
}

std::string messages_page(const Chrome& c, const MessagesModel& m) {
  Data d;
  std::map<std::string, std::string> values = {
      {"push_title", m.push_title}, {"push_content", m.push_content}, {"dm_content", m.dm_content}};
  set_fields(d, values, m.errors);
  set(d, "preview_push_title", domain::render_template(m.push_title, preview_values()));
  set(d, "preview_push_content", domain::render_template(m.push_content, preview_values()));
  set(d, "preview_dm_content", domain::render_template(m.dm_content, preview_values()));
  set(d, "push_off", !m.push_enabled);
  set(d, "dm_off", !m.dm_enabled);
  Data samples = list();
  for (const auto& [k, v] : preview_values()) {
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
