#pragma once
// Mustache rendering of the embedded templates (templates/layout.html, templates/pages/*.html,
// templates/partials/*.html; kainjow mustache). {{x}} escapes HTML; {{{x}}} is used only for our
// own pre-rendered HTML (the SVG charts and the page body inside the layout).
#include <string>
#include <utility>
#include <vector>

#include <kainjow/mustache.hpp>

#include "embedded_templates.h"  // generated: cs::templates::page_cases, ...

namespace cs::view {

using Data = kainjow::mustache::data;

/// Sets d[key]. An empty string is stored as false: kainjow treats "" as true in {{#key}}
/// sections, and the templates use sections to leave out what has no value.
void set(Data& d, const std::string& key, const std::string& value);
void set(Data& d, const std::string& key, const char* value);
void set(Data& d, const std::string& key, bool value);
void set(Data& d, const std::string& key, const Data& value);

/// An empty Mustache list.
inline Data list() {
  return Data(Data::type::list);
}

/// What every page's frame shows: title, navigation, the sign-out form, a one-shot message.
struct Chrome {
  std::string title;
  std::string active;      // "overview" | "cases" | "settings" | "messages" | "events" | "jobs"
  std::string csrf;        // "" when signed out (no navigation)
  std::string flash_kind;  // "ok" | "error" | ""
  std::string flash_text;
  /// Active operational alerts for the banner: (severity "warning" | "critical", message).
  std::vector<std::pair<std::string, std::string>> alerts;
};

/// Renders a template (templates::page_cases, ...: names generated from the files, so a wrong one
/// fails the build) with `data`; partials are available as {{>name}} for
/// templates/partials/name.html. Throws std::runtime_error for an invalid template (a programming
/// error, caught by the server's exception handler).
std::string render(const templates::Name& name, Data& data);
/// Renders a page template (templates::page_...) inside templates::layout.
std::string page(const templates::Name& page, const Chrome& chrome, Data& data);

}  // namespace cs::view
