#pragma once
// Server-rendered inline SVG charts (no script, no inline style: the CSP allows neither). Colours
// come from classes in web/app.css. Each chart has a <title> and a <desc> that states its numbers
// in words, for screen readers.
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace cs::view {

struct DaySeries {
  std::string name;             // "Failures"
  std::vector<int64_t> values;  // one per day
  std::string css;              // "s0", "s1", ...
};

/// Vertical bars per day (series side by side). `labels[i]` names day i ("Nov 20"); `fmt`
/// writes a value for axis and tooltips (e.g. money).
/// `y_title` and `x_title` name the axes ("Cases", "Day (Europe/Paris)"). About seven day labels
/// are written under the axis, evenly spaced.
std::string day_chart(const std::string& id, const std::string& title,
                      const std::vector<std::string>& labels, const std::vector<DaySeries>& series,
                      const std::function<std::string(int64_t)>& fmt,
                      const std::string& y_title = "", const std::string& x_title = "");

/// Horizontal bars, one per category, value written at the end of each bar.
std::string bar_chart(const std::string& id, const std::string& title,
                      const std::vector<std::pair<std::string, int64_t>>& bars,
                      const std::string& unit);

/// Escapes text for XML/HTML content and attributes.
std::string xml_escape(const std::string& s);
/// Appends `c`, escaped as xml_escape does.
void xml_escape_to(std::string& out, char c);

}  // namespace cs::view
