// The overview page: KPI tiles for a window, charts, and what to do next on a new install.
#include <cstdio>
#include <functional>

#include "view/charts.h"
#include "view/format.h"
#include "view/pages.h"

namespace cs::view {
namespace {

std::string money_list(const store::MoneyByCurrency& m) {
  if (m.empty()) return money(0, "usd");
  std::string out;
  for (size_t i = 0; i < m.size(); ++i) {
    if (i) out += " + ";
    out += money(m[i].second, m[i].first);
  }
  return out;
}

/// The x axis of the day charts: days in the creator's time zone.
std::string day_axis_title() {
  return "Day (" + display_zone().name() + ")";
}

/// How many revenue charts are drawn; further currencies are named with their totals below them.
constexpr size_t kMaxRevenueCharts = 4;

std::vector<std::pair<std::string, int64_t>> attempt_bars(const store::ChartSeries& c) {
  std::vector<std::pair<std::string, int64_t>> bars;
  for (size_t a = 0; a < c.by_attempt.size(); ++a) {
    std::string label = a == 0                         ? "No nudge"
                        : a + 1 == c.by_attempt.size() ? "After " + std::to_string(a) + "+"
                                                       : "After " + std::to_string(a);
    bars.emplace_back(label, c.by_attempt[a]);
  }
  return bars;
}

std::string channel_label(store::NudgeChannels ch) {
  switch (ch) {
    case store::NudgeChannels::None:
      return "No nudge";
    case store::NudgeChannels::Push:
      return "Push";
    case store::NudgeChannels::Dm:
      return "DM";
    case store::NudgeChannels::Both:
      return "Push + DM";
  }
  return "";
}

std::vector<std::pair<std::string, int64_t>> channel_bars(const store::ChartSeries& c) {
  std::vector<std::pair<std::string, int64_t>> bars;
  for (auto ch : {store::NudgeChannels::None, store::NudgeChannels::Push, store::NudgeChannels::Dm,
                  store::NudgeChannels::Both}) {
    bars.emplace_back(channel_label(ch), c.by_channel[static_cast<size_t>(ch)]);
  }
  return bars;
}

/// "< 1 day", "1–2 days", ..., "> 14 days" from store::kRecoveryBucketDays.
std::vector<std::pair<std::string, int64_t>> time_to_recovery_bars(const store::ChartSeries& c) {
  const auto& bounds = store::kRecoveryBucketDays;
  auto days = [](int64_t d) { return std::to_string(d) + (d == 1 ? " day" : " days"); };
  std::vector<std::pair<std::string, int64_t>> bars;
  for (size_t b = 0; b < c.time_to_recovery.size(); ++b) {
    std::string label = b == 0 ? "< " + days(bounds[0])
                        : b == bounds.size()
                            ? "> " + days(bounds[b - 1])
                            : std::to_string(bounds[b - 1]) + "–" + days(bounds[b]);
    bars.emplace_back(label, c.time_to_recovery[b]);
  }
  return bars;
}

/// One chart per currency (never summed across currencies, never dropped): the first
/// kMaxRevenueCharts as charts, the rest named with their totals in `others`.
Data revenue_charts(const store::ChartSeries& c, const std::vector<std::string>& labels,
                    std::string& others) {
  Data charts = list();
  for (size_t i = 0; i < c.revenue.size(); ++i) {
    const auto& r = c.revenue[i];
    const std::string code = currency_code(r.currency);
    if (i >= kMaxRevenueCharts) {
      others += (others.empty() ? "" : ", ") + money(r.total, r.currency);
      continue;
    }
    auto cash = [cur = r.currency](int64_t v) { return money(v, cur); };
    Data chart;
    set(chart, "caption", "Recovered revenue per day in " + code);
    set(chart, "svg",
        day_chart(i == 0 ? "ch-revenue" : "ch-revenue-" + std::to_string(i + 1),
                  "Recovered revenue per day in " + code, labels,
                  {DaySeries{"recovered", r.per_day, "s0"}}, cash, "Recovered (" + code + ")",
                  day_axis_title()));
    charts.push_back(chart);
  }
  if (c.revenue.empty()) {
    Data chart;
    set(chart, "caption", "Recovered revenue per day (no recovered payments in this window)");
    set(chart, "svg",
        day_chart(
            "ch-revenue", "Recovered revenue per day", labels,
            {DaySeries{"recovered", std::vector<int64_t>(labels.size(), 0), "s0"}},
            [](int64_t v) { return count(v); }, "Recovered", day_axis_title()));
    charts.push_back(chart);
  }
  return charts;
}

Data tile(const std::string& key, const std::string& label, const std::string& value,
          const std::string& how, const std::string& change = "", const std::string& trend = "") {
  Data t;
  set(t, "key", key);
  set(t, "label", label);
  set(t, "value", value);
  set(t, "how", how);
  set(t, "change", change);
  set(t, "trend", trend);
  return t;
}

/// The amount in `currency` (0 when absent).
int64_t amount_in(const store::MoneyByCurrency& m, const std::string& currency) {
  for (const auto& [c, v] : m) {
    if (c == currency) return v;
  }
  return 0;
}

/// The currency a money tile compares in: the largest now, else the largest before.
std::string main_currency(const store::MoneyByCurrency& now, const store::MoneyByCurrency& before) {
  if (!now.empty()) return now.front().first;
  if (!before.empty()) return before.front().first;
  return "usd";
}

/// "Up 3 from 5 in the previous 30 days" and the direction ("up", "down", "same").
std::pair<std::string, std::string> compare(int64_t now, int64_t before, const std::string& days,
                                            const std::function<std::string(int64_t)>& fmt) {
  const std::string period = "the previous " + days + " days";
  if (now == before) return {"Same as " + period + " (" + fmt(before) + ")", "same"};
  const bool up = now > before;
  return {std::string(up ? "Up " : "Down ") + fmt(up ? now - before : before - now) + " from " +
              fmt(before) + " in " + period,
          up ? "up" : "down"};
}

}  // namespace

KpiFigures kpi_figures(const store::Kpis& k) {
  KpiFigures f;
  f.active = k.open;
  f.recovered = k.recovered;
  f.lost = k.lost;
  f.cancelled = k.cancelled;
  if (k.recovered + k.lost > 0) {
    f.recovery_rate = static_cast<double>(k.recovered) / static_cast<double>(k.recovered + k.lost);
  }
  return f;
}

std::string overview_page(const Chrome& c, const OverviewModel& m) {
  Data d;
  const auto& k = m.kpis;
  auto f = kpi_figures(k);
  std::string w = std::to_string(m.window_days);
  set(d, "window", w);
  Data windows = list();
  for (int opt : {7, 30, 90}) {
    Data o;
    set(o, "days", std::to_string(opt));
    set(o, "current", opt == m.window_days);
    windows.push_back(o);
  }
  set(d, "windows", windows);

  std::string rate = "—";
  if (f.recovery_rate) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%.1f%%", *f.recovery_rate * 100.0);
    rate = buf;
  }
  const auto& p = m.previous;
  auto pf = kpi_figures(p);
  auto plain = [](int64_t v) { return count(v); };
  auto cmp = [&](int64_t now, int64_t before) { return compare(now, before, w, plain); };
  auto cmp_money = [&](const store::MoneyByCurrency& now, const store::MoneyByCurrency& before) {
    const std::string cur = main_currency(now, before);
    return compare(amount_in(now, cur), amount_in(before, cur), w,
                   [cur](int64_t v) { return money(v, cur); });
  };
  auto tile_cmp = [&](const std::string& key, const std::string& label, const std::string& value,
                      const std::string& how, const std::pair<std::string, std::string>& c) {
    return tile(key, label, value, how, c.first, c.second);
  };
  std::pair<std::string, std::string> rate_change{"No rate in the previous " + w + " days", ""};
  if (f.recovery_rate && pf.recovery_rate) {
    const double diff = (*f.recovery_rate - *pf.recovery_rate) * 100.0;
    char buf[96];
    std::snprintf(buf, sizeof buf, "%s %.1f points from %.1f%% in the previous %s days",
                  diff > 0.05 ? "Up" : (diff < -0.05 ? "Down" : "Same,"), diff < 0 ? -diff : diff,
                  *pf.recovery_rate * 100.0, w.c_str());
    rate_change = {buf, diff > 0.05 ? "up" : (diff < -0.05 ? "down" : "same")};
  }
  Data tiles = list();
  tiles.push_back(tile_cmp("revenue", "Recovered revenue", money_list(k.recovered_net),
                           "Payments that recovered a case, minus refunds and disputes on them.",
                           cmp_money(k.recovered_net, p.recovered_net)));
  tiles.push_back(tile_cmp("at-risk", "Still at risk", money_list(k.at_risk),
                           "Owed by members whose case is still open: what recovery can still "
                           "bring back.",
                           cmp_money(k.at_risk, p.at_risk)));
  tiles.push_back(tile_cmp("lost-revenue", "Lost revenue", money_list(k.lost_revenue),
                           "Owed by members whose case was lost (Whop ended the membership, or "
                           "the window passed without a payment).",
                           cmp_money(k.lost_revenue, p.lost_revenue)));
  tiles.push_back(tile_cmp("rate", "Recovery rate", rate,
                           "Recovered ÷ (recovered + lost) = " + count(k.recovered) + " ÷ " +
                               count(k.recovered + k.lost) + ". Open (" + count(k.open) +
                               ") and cancelled (" + count(k.cancelled) +
                               ") cases are counted apart.",
                           rate_change));
  tiles.push_back(tile_cmp("recoveries", "Recoveries", count(k.recovered),
                           "Cases where the member paid within the attribution window; " +
                               count(k.click_through) + " after clicking a nudge link.",
                           cmp(k.recovered, p.recovered)));
  tiles.push_back(tile_cmp("active", "Active cases", count(k.open),
                           "Open cases whose first failure was in the last " + w + " days.",
                           cmp(k.open, p.open)));
  tiles.push_back(tile_cmp("incentives", "Incentive days granted", count(k.incentive_days_granted),
                           "Free days granted as an incentive, to " + count(k.incentive_cases) +
                               (k.incentive_cases == 1 ? " member." : " members."),
                           cmp(k.incentive_days_granted, p.incentive_days_granted)));
  tiles.push_back(tile_cmp("paid-late", "Paid after the window", count(k.paid_after_window),
                           "Lost cases whose member paid after the attribution window ended: not "
                           "counted as recovered. Each case's timeline shows how late.",
                           cmp(k.paid_after_window, p.paid_after_window)));
  set(d, "tiles", tiles);

  int64_t cases_in_window = k.open + k.recovered + k.lost + k.cancelled;
  set(d, "has_cases", cases_in_window > 0);
  // Getting started: shown until every step has worked once; each ticks itself off.
  {
    Data steps = list();
    auto step = [&](const char* key, bool done, const std::string& todo, const std::string& ok) {
      Data st;
      set(st, "key", key);
      set(st, "done", done);
      set(st, "text", done ? ok : todo);
      steps.push_back(st);
    };
    step("secret", m.has_secret,
         "Create a webhook in Whop pointing at " + m.webhook_url +
             " and paste its secret into Settings.",
         "Webhook secret set.");
    step("api-key", m.connected, "Enter your Whop API key and company id in Settings.",
         "API key and company id set.");
    step("webhook", m.real_webhook,
         std::string("Wait for the first webhook from Whop") +
             (m.test_webhook ? " (the test webhook went through)."
                             : " (Settings → Send a test webhook checks the path first)."),
         "First webhook from Whop received.");
    step("nudge", m.nudge_sent, "The first nudge goes out when a member's payment fails.",
         "First nudge sent.");
    bool all = m.has_secret && m.connected && m.real_webhook && m.nudge_sent;
    set(d, "getting_started", !all);
    set(d, "steps", steps);
  }
  set(d, "webhook_url", m.webhook_url);

  if (cases_in_window > 0) {
    std::vector<std::string> labels;
    DaySeries failures{"failures", {}, "s1"}, recoveries{"recoveries", {}, "s0"};
    for (const auto& p : m.charts.days) {
      labels.push_back(short_date(p.day_start));
      failures.values.push_back(p.failures);
      recoveries.values.push_back(p.recoveries);
    }
    set(d, "chart_daily",
        day_chart("ch-daily", "Failures and recoveries per day", labels, {failures, recoveries},
                  plain, "Cases", day_axis_title()));
    std::string other_currencies;
    set(d, "revenue_charts", revenue_charts(m.charts, labels, other_currencies));
    set(d, "other_currencies", other_currencies);
    set(d, "chart_attempt",
        bar_chart("ch-attempt", "Recoveries by nudges sent before paying", attempt_bars(m.charts),
                  "recoveries"));
    set(d, "chart_channel",
        bar_chart("ch-channel", "Recoveries by channel nudged", channel_bars(m.charts),
                  "recoveries"));
    set(d, "chart_ttr",
        bar_chart("ch-ttr", "Time from first failure to recovery", time_to_recovery_bars(m.charts),
                  "recoveries"));
  }
  return page(templates::page_overview, c, d);
}

}  // namespace cs::view
