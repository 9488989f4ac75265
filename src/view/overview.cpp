// The overview page: KPI tiles for a window, charts, and what to do next on a new install.
#include <cstdio>

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

Data tile(const std::string& key, const std::string& label, const std::string& value,
          const std::string& how) {
  Data t;
  set(t, "key", key);
  set(t, "label", label);
  set(t, "value", value);
  set(t, "how", how);
  return t;
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
  Data tiles = list();
  tiles.push_back(tile("active", "Active cases", count(k.open),
                       "Open cases whose first failure was in the last " + w + " days. " +
                           money_list(k.at_risk) + " is still unpaid."));
  tiles.push_back(tile("recoveries", "Recoveries", count(k.recovered),
                       "Cases where the member paid within the attribution window; " +
                           count(k.click_through) + " after clicking a nudge link."));
  tiles.push_back(tile("rate", "Recovery rate", rate,
                       "Recovered ÷ (recovered + lost) = " + count(k.recovered) + " ÷ " +
                           count(k.recovered + k.lost) + ". Open (" + count(k.open) +
                           ") and cancelled (" + count(k.cancelled) +
                           ") cases are counted apart."));
  tiles.push_back(tile("revenue", "Recovered revenue", money_list(k.recovered_net),
                       "Payments that recovered a case, minus refunds and disputes on them."));
  tiles.push_back(tile("incentives", "Incentive days granted", count(k.incentive_days_granted),
                       "Free days granted as an incentive, to " + count(k.incentive_cases) +
                           (k.incentive_cases == 1 ? " member." : " members.")));
  set(d, "tiles", tiles);

  int64_t cases_in_window = k.open + k.recovered + k.lost + k.cancelled;
  set(d, "has_cases", cases_in_window > 0);
  set(d, "not_connected", !m.connected || !m.has_secret);
  set(d, "no_api", !m.connected);
  set(d, "no_secret", !m.has_secret);
  set(d, "waiting", m.connected && m.has_secret && !m.any_events);
  set(d, "webhook_url", m.webhook_url);

  if (cases_in_window > 0) {
    std::vector<std::string> labels;
    DaySeries failures{"failures", {}, "s1"}, recoveries{"recoveries", {}, "s0"},
        revenue{"recovered", {}, "s0"};
    for (const auto& p : m.charts.days) {
      labels.push_back(short_date(p.day_start));
      failures.values.push_back(p.failures);
      recoveries.values.push_back(p.recoveries);
      revenue.values.push_back(p.revenue_cents);
    }
    auto plain = [](int64_t v) { return count(v); };
    std::string cur = m.charts.currency.empty() ? "usd" : m.charts.currency;
    auto cash = [cur](int64_t v) { return money(v, cur); };
    set(d, "chart_daily",
        day_chart("ch-daily", "Failures and recoveries per day", labels, {failures, recoveries},
                  plain));
    set(d, "chart_revenue",
        day_chart("ch-revenue", "Recovered revenue per day (" + cur + ")", labels, {revenue},
                  cash));
    set(d, "chart_attempt",
        bar_chart("ch-attempt", "Recoveries by nudges sent before paying", m.charts.by_attempt,
                  "recoveries"));
    set(d, "chart_channel",
        bar_chart("ch-channel", "Recoveries by channel nudged", m.charts.by_channel, "recoveries"));
    set(d, "chart_ttr",
        bar_chart("ch-ttr", "Time from first failure to recovery", m.charts.time_to_recovery,
                  "recoveries"));
  }
  return page("overview", c, d);
}

}  // namespace cs::view
