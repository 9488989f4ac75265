#include "view/charts.h"

#include <algorithm>
#include <cstdio>

namespace cs::view {
namespace {

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

/// A round axis maximum at or above `v` (1, 2, 5 x 10^k).
int64_t nice_max(int64_t v) {
  if (v <= 2) return 2;  // keeps the middle grid line a whole number
  int64_t p = 1;
  while (p * 10 <= v) p *= 10;
  for (int64_t m : {2, 4, 10}) {
    if (m * p >= v) return m * p;
  }
  return 10 * p;
}

}  // namespace

void xml_escape_to(std::string& out, char c) {
  switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    case '\'':
      out += "&#39;";
      break;
    default:
      out += c;
  }
}

std::string xml_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) xml_escape_to(out, c);
  return out;
}

std::string day_chart(const std::string& id, const std::string& title,
                      const std::vector<std::string>& labels, const std::vector<DaySeries>& series,
                      const std::function<std::string(int64_t)>& fmt, const std::string& y_title,
                      const std::string& x_title) {
  const double W = 720, H = 230, left = 92, right = 16, top = 14, bottom = 56;
  const double pw = W - left - right, ph = H - top - bottom;
  size_t n = labels.size();
  int64_t maxv = 0;
  std::vector<int64_t> totals(series.size(), 0);
  for (size_t s = 0; s < series.size(); ++s) {
    for (int64_t v : series[s].values) {
      maxv = std::max(maxv, v);
      totals[s] += v;
    }
  }
  int64_t top_v = nice_max(maxv);
  std::string desc;
  for (size_t s = 0; s < series.size(); ++s) {
    if (s) desc += "; ";
    desc += series[s].name + ": " + fmt(totals[s]) + " in total";
  }
  desc += n ? " (" + labels.front() + " to " + labels.back() + ")." : ".";
  std::string svg = "<svg class=\"chart\" viewBox=\"0 0 720 230\" role=\"img\" aria-labelledby=\"" +
                    id + "-t " + id + "-d\" xmlns=\"http://www.w3.org/2000/svg\">";
  svg += "<title id=\"" + id + "-t\">" + xml_escape(title) + "</title>";
  svg += "<desc id=\"" + id + "-d\">" + xml_escape(desc) + "</desc>";
  // Grid and y axis labels.
  for (int i = 0; i <= 2; ++i) {
    double y = top + ph - ph * i / 2.0;
    svg += "<line class=\"grid\" x1=\"" + num(left) + "\" x2=\"" + num(W - right) + "\" y1=\"" +
           num(y) + "\" y2=\"" + num(y) + "\"/>";
    svg += "<text class=\"axis\" x=\"" + num(left - 6) + "\" y=\"" + num(y + 4) +
           "\" text-anchor=\"end\">" + xml_escape(fmt(top_v * i / 2)) + "</text>";
  }
  if (n > 0) {
    double group = pw / static_cast<double>(n);
    double gap = std::min(2.0, group * 0.2);
    double bw =
        std::max(0.5, (group - gap) / static_cast<double>(std::max<size_t>(series.size(), 1)));
    for (size_t d = 0; d < n; ++d) {
      for (size_t s = 0; s < series.size(); ++s) {
        int64_t v = d < series[s].values.size() ? series[s].values[d] : 0;
        if (v <= 0) continue;
        double h = ph * static_cast<double>(v) / static_cast<double>(top_v);
        double x = left + group * static_cast<double>(d) + gap / 2 + bw * static_cast<double>(s);
        svg += "<rect class=\"bar " + series[s].css + "\" x=\"" + num(x) + "\" y=\"" +
               num(top + ph - h) + "\" width=\"" + num(bw) + "\" height=\"" + num(h) +
               "\"><title>" + xml_escape(labels[d] + ": " + fmt(v) + " " + series[s].name) +
               "</title></rect>";
      }
    }
    // About seven evenly spaced days under the axis, the last day always among them.
    const size_t step = std::max<size_t>(1, (n + 6) / 7);
    std::vector<size_t> marks;
    for (size_t m = (n - 1) % step; m < n; m += step) marks.push_back(m);
    for (size_t m : marks) {
      double x = left + group * (static_cast<double>(m) + 0.5);
      svg += "<line class=\"tick\" x1=\"" + num(x) + "\" x2=\"" + num(x) + "\" y1=\"" +
             num(top + ph) + "\" y2=\"" + num(top + ph + 5) + "\"/>";
      const char* anchor = "middle";
      if (x < left + 30) anchor = "start";
      if (x > W - right - 30) anchor = "end";
      svg += "<text class=\"axis\" x=\"" + num(x) + "\" y=\"" + num(top + ph + 22) +
             "\" text-anchor=\"" + anchor + "\">" + xml_escape(labels[m]) + "</text>";
    }
  }
  if (!x_title.empty()) {
    svg += "<text class=\"axis-title\" x=\"" + num(left + pw / 2) + "\" y=\"" + num(H - 6) +
           "\" text-anchor=\"middle\">" + xml_escape(x_title) + "</text>";
  }
  if (!y_title.empty()) {
    svg += "<text class=\"axis-title\" transform=\"translate(16 " + num(top + ph / 2) +
           ") rotate(-90)\" text-anchor=\"middle\">" + xml_escape(y_title) + "</text>";
  }
  svg += "<line class=\"baseline\" x1=\"" + num(left) + "\" x2=\"" + num(W - right) + "\" y1=\"" +
         num(top + ph) + "\" y2=\"" + num(top + ph) + "\"/>";
  svg += "</svg>";
  return svg;
}

std::string bar_chart(const std::string& id, const std::string& title,
                      const std::vector<std::pair<std::string, int64_t>>& bars,
                      const std::string& unit) {
  const double W = 300, row = 30, label_w = 84, value_w = 36, top = 6;
  double H = top * 2 + row * static_cast<double>(bars.size());
  int64_t maxv = 1;
  for (const auto& b : bars) maxv = std::max(maxv, b.second);
  std::string desc;
  for (size_t i = 0; i < bars.size(); ++i) {
    if (i) desc += "; ";
    desc += bars[i].first + ": " + std::to_string(bars[i].second);
  }
  std::string svg = "<svg class=\"chart bars\" viewBox=\"0 0 300 " + num(H) +
                    "\" role=\"img\" aria-labelledby=\"" + id + "-t " + id +
                    "-d\" xmlns=\"http://www.w3.org/2000/svg\">";
  svg += "<title id=\"" + id + "-t\">" + xml_escape(title) + "</title>";
  svg += "<desc id=\"" + id + "-d\">" + xml_escape(desc + " " + unit + ".") + "</desc>";
  double pw = W - label_w - value_w;
  for (size_t i = 0; i < bars.size(); ++i) {
    double y = top + row * static_cast<double>(i);
    double w = pw * static_cast<double>(bars[i].second) / static_cast<double>(maxv);
    svg += "<text class=\"label\" x=\"" + num(label_w - 8) + "\" y=\"" + num(y + row / 2 + 4) +
           "\" text-anchor=\"end\">" + xml_escape(bars[i].first) + "</text>";
    svg += "<rect class=\"track\" x=\"" + num(label_w) + "\" y=\"" + num(y + 6) + "\" width=\"" +
           num(pw) + "\" height=\"" + num(row - 12) + "\"/>";
    if (w > 0) {
      svg += "<rect class=\"bar s0\" x=\"" + num(label_w) + "\" y=\"" + num(y + 6) + "\" width=\"" +
             num(std::max(w, 2.0)) + "\" height=\"" + num(row - 12) + "\"/>";
    }
    svg += "<text class=\"value\" x=\"" + num(W - 4) + "\" y=\"" + num(y + row / 2 + 4) +
           "\" text-anchor=\"end\">" + std::to_string(bars[i].second) + "</text>";
  }
  svg += "</svg>";
  return svg;
}

}  // namespace cs::view
