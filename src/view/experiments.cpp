// The experiments pages (issue 13): list and create form, results with the statistics, the
// cumulative recovery-rate chart, and the results as CSV.
#include "view/experiments.h"

#include <algorithm>
#include <cstdio>

#include "domain/money.h"
#include "domain/time.h"
#include "view/charts.h"
#include "view/format.h"
#include "view/pages.h"

namespace cs::view {
namespace {

std::string pct(double p) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.1f %%", p * 100);
  return buf;
}

std::string num1(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

const char* status_badge(domain::ExperimentStatus s) {
  switch (s) {
    case domain::ExperimentStatus::Draft:
      return "badge-off";
    case domain::ExperimentStatus::Running:
      return "badge-open";
    case domain::ExperimentStatus::Paused:
      return "badge-cancelled";
    case domain::ExperimentStatus::Stopped:
      return "badge-lost";
  }
  return "";
}

std::string money_list(const std::vector<std::pair<std::string, int64_t>>& revenue,
                       int64_t divisor) {
  if (revenue.empty()) return "—";
  std::string out;
  for (const auto& [cur, cents] : revenue) {
    if (!out.empty()) out += " + ";
    out += money(divisor > 1 ? cents / divisor : cents, cur);
  }
  return out;
}

/// The cumulative recovery rate of each group over its closed cases, in order of window close:
/// after the k-th closed case of a group, the share of its first k cases that were recovered.
std::string cumulative_chart(const domain::Experiment& e,
                             const std::vector<store::ClosedCase>& closed, Data& legend) {
  const double W = 720, H = 220, left = 48, right = 12, top = 12, bottom = 30;
  const double pw = W - left - right, ph = H - top - bottom;
  std::vector<std::string> groups;
  for (const auto& a : e.arms) groups.push_back(a.key);
  groups.push_back(domain::kHoldoutArm);
  int64_t t0 = closed.empty() ? 0 : closed.front().closed_at;
  int64_t t1 = closed.empty() ? 1 : std::max(closed.back().closed_at, t0 + 1);
  auto x_of = [&](int64_t t) {
    return left + pw * static_cast<double>(t - t0) / static_cast<double>(t1 - t0);
  };
  auto y_of = [&](double rate) { return top + ph - ph * rate; };
  std::string desc, lines;
  size_t series = 0;
  for (const auto& g : groups) {
    int64_t n = 0, x = 0;
    std::string points;
    for (const auto& c : closed) {
      if (c.arm != g) continue;
      ++n;
      x += c.recovered ? 1 : 0;
      if (!points.empty()) points += ' ';
      points += num1(x_of(c.closed_at)) + "," +
                num1(y_of(static_cast<double>(x) / static_cast<double>(n)));
    }
    if (n == 0) continue;
    const std::string css = domain::is_holdout(g) ? "eh" : "e" + std::to_string(series++ % 4);
    const std::string label = arm_label(e, g);
    if (!desc.empty()) desc += "; ";
    desc += label + ": " + pct(static_cast<double>(x) / static_cast<double>(n)) + " of " +
            std::to_string(n) + " closed cases";
    if (n == 1) points += ' ' + points;  // a single case still draws a dot
    Data key;
    set(key, "css", css);
    set(key, "label", label);
    legend.push_back(key);
    lines += "<polyline class=\"line " + css + "\" points=\"" + points + "\"><title>" +
             xml_escape(label) + "</title></polyline>";
  }
  if (desc.empty()) desc = "No closed cases yet.";
  std::string svg =
      "<svg class=\"chart lines\" viewBox=\"0 0 720 220\" role=\"img\" "
      "aria-labelledby=\"cum-t cum-d\" xmlns=\"http://www.w3.org/2000/svg\">";
  svg += "<title id=\"cum-t\">Cumulative recovery rate per group over closed cases</title>";
  svg += "<desc id=\"cum-d\">" + xml_escape(desc) + "</desc>";
  for (int i = 0; i <= 4; ++i) {
    double y = y_of(i / 4.0);
    svg += "<line class=\"grid\" x1=\"" + num1(left) + "\" x2=\"" + num1(W - right) + "\" y1=\"" +
           num1(y) + "\" y2=\"" + num1(y) + "\"/>";
    svg += "<text class=\"axis\" x=\"" + num1(left - 6) + "\" y=\"" + num1(y + 4) +
           "\" text-anchor=\"end\">" + std::to_string(i * 25) + " %</text>";
  }
  if (!closed.empty()) {
    svg += "<text class=\"axis\" x=\"" + num1(left) + "\" y=\"" + num1(H - 10) +
           "\" text-anchor=\"start\">" + xml_escape(short_date(t0)) + "</text>";
    svg += "<text class=\"axis\" x=\"" + num1(W - right) + "\" y=\"" + num1(H - 10) +
           "\" text-anchor=\"end\">" + xml_escape(short_date(t1)) + "</text>";
  }
  svg += lines;
  svg += "</svg>";
  return svg;
}

Data copy_fields(const std::string& arm, const domain::MessageCopy& copy,
                 const domain::FieldErrors& errors) {
  Data steps = list();
  for (auto s : domain::kNudgeSteps) {
    Data st;
    set(st, "label", domain::step_label(s));
    set(st, "arm", arm);
    set(st, "step", domain::step_name(s));
    Data fields = list();
    for (const char* f : domain::kCopyFields) {
      const std::string key = arm + "." + domain::copy_key(s, f);
      std::string id = key;
      std::replace(id.begin(), id.end(), '.', '-');
      Data x;
      set(x, "name", key);
      set(x, "id", id);
      const std::string_view fv(f);
      set(x, "label",
          fv == "push_title"     ? "Push title"
          : fv == "push_content" ? "Push text"
                                 : "Message");
      set(x, "rows", fv == "push_title" ? "2" : fv == "push_content" ? "3" : "6");
      set(x, "value", domain::copy_field(copy.step(s), f));
      set(x, "preview", "preview-" + arm + "-" + domain::step_name(s) + "-" + f);
      set(x, "format", fv == "dm_content" ? "markdown" : "text");
      auto e = errors.find(key);
      if (e != errors.end()) set(x, "error", e->second);
      fields.push_back(x);
    }
    set(st, "fields", fields);
    steps.push_back(st);
  }
  return steps;
}

}  // namespace

std::string arm_label(const domain::Experiment& e, const std::string& key) {
  if (domain::is_holdout(key)) return "Holdout";
  if (const auto* a = e.arm(key)) return a->name;
  return key;
}

std::string experiments_page(const Chrome& c, const ExperimentsModel& m) {
  Data d;
  Data rows = list();
  for (const auto& e : m.experiments) {
    Data r;
    set(r, "id", std::to_string(e.id));
    set(r, "name", e.name);
    set(r, "status", domain::experiment_status_name(e.status));
    set(r, "badge", status_badge(e.status));
    std::string arms;
    for (const auto& a : e.arms) {
      if (!arms.empty()) arms += " · ";
      arms += a.name + " (" + std::to_string(a.weight) + ")";
    }
    set(r, "arms", arms);
    set(r, "holdout", std::to_string(e.holdout_percent) + " %");
    auto it = m.case_counts.find(e.id);
    set(r, "cases", count(it == m.case_counts.end() ? 0 : it->second));
    set(r, "started", e.started_at ? short_date(*e.started_at) : std::string("—"));
    rows.push_back(r);
  }
  set(d, "experiments", rows);
  set(d, "has_experiments", !m.experiments.empty());
  set(d, "active_exists", m.active_exists);
  set(d, "name", m.draft.name);
  set(d, "holdout_percent", std::to_string(m.draft.holdout_percent));
  auto err = [&](const std::string& k) {
    auto it = m.errors.find(k);
    return it == m.errors.end() ? std::string() : it->second;
  };
  set(d, "name_error", err("name"));
  set(d, "holdout_error", err("holdout_percent"));
  set(d, "arms_error", err("arms"));
  set(d, "arm_count", std::to_string(m.draft.arms.size()));
  set(d, "can_add_arm", m.draft.arms.size() < static_cast<size_t>(domain::kMaxArms));
  set(d, "settings_incentive", std::to_string(m.incentive_days));
  const auto samples_map = preview_values(m.incentive_days, m.now);
  Data arms = list();
  for (size_t i = 0; i < m.draft.arms.size(); ++i) {
    const auto& a = m.draft.arms[i];
    const std::string k = domain::arm_key(i);
    Data x;
    set(x, "key", k);
    set(x, "upper", std::string(1, static_cast<char>('A' + i)));
    set(x, "control", i == 0);
    set(x, "name", a.name);
    set(x, "weight", std::to_string(a.weight));
    set(x, "incentive_days", a.incentive_days ? std::to_string(*a.incentive_days) : "");
    set(x, "name_error", err(k + ".name"));
    set(x, "weight_error", err(k + ".weight"));
    set(x, "incentive_error", err(k + ".incentive_days"));
    set(x, "steps", copy_fields(k, a.copy, m.errors));
    auto vars = samples_map;
    vars["incentive_days"] = std::to_string(a.incentive_days.value_or(m.incentive_days));
    Data previews = list();
    for (auto s : domain::kNudgeSteps) {
      auto words = domain::render_nudge(a.copy, s, domain::FailureCategory::Other, vars);
      Data p;
      set(p, "label", domain::step_label(s));
      set(p, "id", "preview-" + k + "-" + domain::step_name(s));
      set(p, "push_title", words.push_title);
      set(p, "push_content", text_html(words.push_content));
      set(p, "dm_content", markdown_html(words.dm_content));
      previews.push_back(p);
    }
    set(x, "previews", previews);
    arms.push_back(x);
  }
  set(d, "arms", arms);
  Data samples = list();
  for (const auto& [k, v] : samples_map) {
    Data s;
    set(s, "name", "{{" + k + "}}");
    set(s, "key", k);
    set(s, "value", v);
    samples.push_back(s);
  }
  set(d, "samples", samples);
  set(d, "has_errors", !m.errors.empty());
  return page(templates::page_experiments, c, d);
}

std::vector<Comparison> comparisons(const domain::Experiment& e,
                                    const std::vector<store::ArmMeasures>& measures) {
  auto find = [&](const std::string& k) -> store::ArmMeasures {
    for (const auto& m : measures) {
      if (m.arm == k) return m;
    }
    store::ArmMeasures none;
    none.arm = k;
    return none;
  };
  std::vector<Comparison> out;
  if (e.arms.empty()) return out;
  const auto control = find(e.arms.front().key);
  for (size_t i = 1; i < e.arms.size(); ++i) {
    const auto m = find(e.arms[i].key);
    out.push_back({m.arm, e.arms[i].name, control.arm, e.arms.front().name,
                   domain::compare(e.arms[i].name, m.closed_recovered, m.closed,
                                   e.arms.front().name, control.closed_recovered, control.closed)});
  }
  if (e.holdout_percent > 0) {
    const auto h = find(domain::kHoldoutArm);
    int64_t x = 0, n = 0;
    for (const auto& a : e.arms) {
      const auto m = find(a.key);
      x += m.closed_recovered;
      n += m.closed;
      out.push_back({a.key, a.name, h.arm, "Holdout",
                     domain::compare(a.name, m.closed_recovered, m.closed, "the holdout",
                                     h.closed_recovered, h.closed)});
    }
    out.push_back(
        {"nudged", "All nudged arms", h.arm, "Holdout",
         domain::compare("Nudging (all arms)", x, n, "the holdout", h.closed_recovered, h.closed)});
  }
  return out;
}

std::string experiment_page(const Chrome& c, const ResultsModel& m) {
  const auto& e = m.experiment;
  Data d;
  set(d, "id", std::to_string(e.id));
  set(d, "name", e.name);
  set(d, "status", domain::experiment_status_name(e.status));
  set(d, "badge", status_badge(e.status));
  set(d, "holdout", std::to_string(e.holdout_percent) + " %");
  set(d, "started", e.started_at ? datetime(*e.started_at) : std::string("not started"));
  set(d, "stopped", e.stopped_at ? datetime(*e.stopped_at) : std::string());
  set(d, "window_days", std::to_string(m.window_days));
  const auto actions = domain::experiment_actions(e.status);
  set(d, "can_start", actions.start);
  set(d, "can_pause", actions.pause);
  set(d, "can_stop", actions.stop);
  set(d, "can_promote", actions.promote);
  set(d, "start_label", e.status == domain::ExperimentStatus::Paused ? "Resume" : "Start");
  int64_t open = 0;
  Data rows = list();
  for (const auto& r : m.measures) {
    Data x;
    open += r.open();
    set(x, "arm", arm_label(e, r.arm));
    set(x, "holdout", domain::is_holdout(r.arm));
    set(x, "cases", count(r.cases));
    set(x, "open", count(r.open()));
    set(x, "closed", count(r.closed));
    set(x, "closed_recovered", count(r.closed_recovered));
    set(x, "rate",
        r.closed ? pct(static_cast<double>(r.closed_recovered) / static_cast<double>(r.closed))
                 : std::string("—"));
    set(x, "recovered", count(r.recovered));
    set(x, "after_click", count(r.recovered_after_click));
    set(x, "without_click", count(r.recovered - r.recovered_after_click));
    set(x, "sends", count(r.sends));
    set(x, "clicks", count(r.clicks));
    set(x, "revenue", money_list(r.revenue, 1));
    set(x, "revenue_per_case", r.cases ? money_list(r.revenue, r.cases) : std::string("—"));
    set(x, "time_to_recovery",
        r.recovered ? duration(r.recovery_ms_total / r.recovered) : std::string("—"));
    set(x, "incentive_days", count(r.incentive_days));
    rows.push_back(x);
  }
  set(d, "rows", rows);
  set(d, "has_rows", !m.measures.empty());
  set(d, "open_cases", count(open));
  Data cmp = list();
  int64_t most_needed = 0;
  for (const auto& k : comparisons(e, m.measures)) {
    Data x;
    set(x, "name", k.name);
    set(x, "reference", k.reference);
    const auto& t = k.verdict.test;
    set(x, "diff", t.valid ? domain::format_points(t.diff) : std::string("—"));
    set(x, "ci",
        t.valid ? num1(t.ci_low * 100) + " to " + num1(t.ci_high * 100) : std::string("—"));
    set(x, "p", t.valid ? domain::format_p_value(t.p_value) : std::string("—"));
    set(x, "required", count(k.verdict.required));
    set(x, "sentence", k.verdict.sentence);
    set(x, "lift", k.reference_key == domain::kHoldoutArm);
    most_needed = std::max(most_needed, k.verdict.more_needed);
    cmp.push_back(x);
  }
  set(d, "comparisons", cmp);
  const bool live =
      e.status == domain::ExperimentStatus::Running || e.status == domain::ExperimentStatus::Paused;
  set(d, "many_looks", live && e.views >= domain::kManyLooks && most_needed > 0);
  set(d, "views", count(e.views));
  Data legend = list();
  set(d, "chart", cumulative_chart(e, m.closed, legend));
  set(d, "legend", legend);
  Data promote = list();
  for (const auto& a : e.arms) {
    Data x;
    set(x, "key", a.key);
    set(x, "name", a.name);
    promote.push_back(x);
  }
  set(d, "promote", promote);
  return page(templates::page_experiment, c, d);
}

}  // namespace cs::view
