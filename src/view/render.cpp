#include "view/render.h"

#include <map>
#include <memory>
#include <stdexcept>

#include "util/embedded.h"

namespace cs::view {
namespace {

using Mustache = kainjow::mustache::mustache;

/// Parsed templates, per thread (a parsed kainjow template is not safe to render concurrently).
Mustache& compiled(const std::string& path) {
  thread_local std::map<std::string, std::unique_ptr<Mustache>> cache;
  auto it = cache.find(path);
  if (it != cache.end()) return *it->second;
  auto text = embedded::find("templates/" + path);
  if (!text) throw std::runtime_error("no template " + path);
  auto m = std::make_unique<Mustache>(std::string(*text));
  if (!m->is_valid()) throw std::runtime_error("template " + path + ": " + m->error_message());
  return *cache.emplace(path, std::move(m)).first->second;
}

void add_partials(Data& data) {
  static const std::string prefix = "templates/partials/";
  for (const auto& [name, text] : embedded::files()) {
    if (name.substr(0, prefix.size()) != prefix) continue;
    std::string key(name.substr(prefix.size()));
    key = key.substr(0, key.rfind(".html"));
    std::string body(text);
    data.set(key, kainjow::mustache::partial([body] { return body; }));
  }
}

}  // namespace

void set(Data& d, const std::string& key, const std::string& value) {
  if (value.empty()) {
    d.set(key, Data(false));
  } else {
    d.set(key, Data(value));
  }
}
void set(Data& d, const std::string& key, const char* value) {
  set(d, key, std::string(value));
}
void set(Data& d, const std::string& key, bool value) {
  d.set(key, Data(value));
}
void set(Data& d, const std::string& key, const Data& value) {
  d.set(key, value);
}

std::string render(const templates::Name& name, Data& data) {
  add_partials(data);
  return compiled(std::string(name.path())).render(data);
}

std::string page(const templates::Name& page, const Chrome& chrome, Data& data) {
  if (!chrome.csrf.empty()) set(data, "csrf", chrome.csrf);  // forms inside the page
  std::string body = render(page, data);
  Data layout;
  set(layout, "title", chrome.title);
  set(layout, "body", body);
  set(layout, "signed_in", !chrome.csrf.empty());
  set(layout, "csrf", chrome.csrf);
  if (!chrome.flash_text.empty()) {
    Data flash;
    set(flash, "text", chrome.flash_text);
    set(flash, "error", chrome.flash_kind == "error");
    set(layout, "flash", flash);
  }
  if (!chrome.csrf.empty() && !chrome.alerts.empty()) {
    Data alerts = list();
    for (const auto& [severity, message] : chrome.alerts) {
      Data a;
      set(a, "critical", severity == "critical");
      set(a, "message", message);
      alerts.push_back(a);
    }
    set(layout, "alerts", alerts);
  }
  Data nav = list();
  const std::pair<const char*, const char*> items[] = {{"overview", "Overview"},
                                                       {"cases", "Cases"},
                                                       {"settings", "Settings"},
                                                       {"messages", "Messages"},
                                                       {"experiments", "Experiments"},
                                                       {"events", "Events"},
                                                       {"jobs", "Jobs"}};
  for (const auto& [key, label] : items) {
    Data item;
    set(item, "href", std::string(key) == "overview" ? "/" : "/" + std::string(key));
    set(item, "label", label);
    set(item, "current", chrome.active == key);
    nav.push_back(item);
  }
  set(layout, "nav", nav);
  return render(templates::layout, layout);
}

}  // namespace cs::view
