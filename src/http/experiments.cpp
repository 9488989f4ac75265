// GET /experiments: the experiments and the create form; POST /experiments previews (nothing
// saved), adds an arm to the form, or creates (service::create_experiment). GET
// /experiments/{id}: the results (each view is counted: the peeking warning);
// /experiments/{id}/results.csv; POST /experiments/{id}/actions/{start|pause|stop|promote}.
#include "service/experiments.h"
#include <cstdio>

#include "domain/money.h"
#include "domain/setting_rules.h"
#include "http/csv.h"
#include "http/dashboard.h"
#include "store/experiments.h"
#include "view/experiments.h"
#include "view/pages.h"

namespace cs::http {
namespace {

constexpr size_t kMaxField = 4000;

std::string param(const httplib::Request& req, const std::string& key) {
  return req.get_param_value(key.c_str()).substr(0, kMaxField);
}

/// The form's experiment as typed. A number that does not parse becomes -1 (the rule then names
/// the field); a blank free-days field means "the settings' free days".
domain::Experiment experiment_from_form(const httplib::Request& req, bool add_arm) {
  domain::Experiment e;
  e.name = param(req, "name");
  auto number = [](const std::string& s) { return domain::parse_whole_number(s).value_or(-1); };
  e.holdout_percent =
      param(req, "holdout_percent").empty() ? 0 : number(param(req, "holdout_percent"));
  int arms = static_cast<int>(domain::parse_whole_number(param(req, "arm_count")).value_or(2));
  arms = std::clamp(arms + (add_arm ? 1 : 0), domain::kMinArms, domain::kMaxArms);
  for (int i = 0; i < arms; ++i) {
    const std::string k = domain::arm_key(static_cast<size_t>(i));
    domain::Arm a;
    a.key = k;
    a.name = param(req, k + ".name");
    a.weight = number(param(req, k + ".weight"));
    const std::string inc = param(req, k + ".incentive_days");
    if (!inc.empty()) a.incentive_days = number(inc);
    a.copy.by_category.clear();
    for (auto s : domain::kNudgeSteps) {
      for (const char* f : domain::kCopyFields) {
        domain::copy_field(a.copy.step(s), f) = param(req, k + "." + domain::copy_key(s, f));
      }
    }
    e.arms.push_back(std::move(a));
  }
  return e;
}

/// A new form: two arms with the current messages' step copy, weights 1:1, no holdout.
domain::Experiment default_draft(const domain::RecoverySettings& settings) {
  domain::Experiment e;
  for (int i = 0; i < 2; ++i) {
    domain::Arm a;
    a.key = domain::arm_key(static_cast<size_t>(i));
    a.name = i == 0 ? "Control" : "Variant";
    a.copy = settings.copy;
    a.copy.by_category.clear();
    e.arms.push_back(std::move(a));
  }
  return e;
}

view::ExperimentsModel list_model(Dashboard& d) {
  view::ExperimentsModel m;
  auto settings = service::stored_settings(*d.deps.services);
  m.incentive_days = settings.incentive_days;
  m.now = d.now();
  m.draft = default_draft(settings);
  auto db = d.deps.reads->lease();
  m.experiments = store::list_experiments(*db);
  for (const auto& e : m.experiments) {
    int64_t n = 0;
    for (const auto& a : store::arm_measures(*db, e.id, m.now, 0)) n += a.cases;
    m.case_counts[e.id] = n;
  }
  m.active_exists = store::active_experiment_id(*db).has_value();
  return m;
}

std::optional<view::ResultsModel> results_model(Dashboard& d, int64_t id) {
  view::ResultsModel m;
  m.now = d.now();
  m.window_days = service::stored_settings(*d.deps.services).attribution_window_days;
  const int64_t window_ms = static_cast<int64_t>(m.window_days) * 86400000;
  auto db = d.deps.reads->lease();
  auto e = store::find_experiment(*db, id);
  if (!e) return std::nullopt;
  m.experiment = *e;
  m.measures = store::arm_measures(*db, id, m.now, window_ms);
  m.closed = store::closed_cases(*db, id, m.now, window_ms);
  return m;
}

std::string fixed(double v, const char* fmt) {
  char buf[32];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

/// The results as CSV: one row per group and currency of its recovered revenue, with each arm's
/// difference against the control and against the holdout (points, 95 % CI, p-value).
std::string results_csv(const view::ResultsModel& m) {
  const auto& e = m.experiment;
  std::string out =
      "experiment_id,experiment,arm,arm_name,cases,open,closed,closed_recovered,recovery_rate,"
      "recovered,recovered_after_click,recovered_without_click,sends,clicks,incentive_days,"
      "mean_days_to_recovery,currency,net_recovered,net_recovered_per_case,"
      "diff_vs_control_points,ci_low_vs_control,ci_high_vs_control,p_vs_control,"
      "diff_vs_holdout_points,ci_low_vs_holdout,ci_high_vs_holdout,p_vs_holdout\r\n";
  const auto cmps = view::comparisons(e, m.measures);
  auto stat = [&](const std::string& arm, bool against_holdout) -> std::vector<std::string> {
    for (const auto& k : cmps) {
      if (k.key == arm && (k.reference_key == domain::kHoldoutArm) == against_holdout &&
          k.verdict.test.valid) {
        const auto& t = k.verdict.test;
        return {csv::plain(fixed(t.diff * 100, "%.2f")), csv::plain(fixed(t.ci_low * 100, "%.2f")),
                csv::plain(fixed(t.ci_high * 100, "%.2f")), csv::plain(fixed(t.p_value, "%.4f"))};
      }
    }
    return {"", "", "", ""};
  };
  for (const auto& r : m.measures) {
    auto revenue = r.revenue;
    if (revenue.empty()) revenue.emplace_back("", 0);
    for (const auto& [cur, cents] : revenue) {
      std::vector<std::string> cells = {
          csv::plain(std::to_string(e.id)),
          csv::text(e.name),
          csv::text(r.arm),
          csv::text(view::arm_label(e, r.arm)),
          csv::plain(std::to_string(r.cases)),
          csv::plain(std::to_string(r.open())),
          csv::plain(std::to_string(r.closed)),
          csv::plain(std::to_string(r.closed_recovered)),
          r.closed ? csv::plain(fixed(
                         static_cast<double>(r.closed_recovered) / static_cast<double>(r.closed),
                         "%.4f"))
                   : "",
          csv::plain(std::to_string(r.recovered)),
          csv::plain(std::to_string(r.recovered_after_click)),
          csv::plain(std::to_string(r.recovered - r.recovered_after_click)),
          csv::plain(std::to_string(r.sends)),
          csv::plain(std::to_string(r.clicks)),
          csv::plain(std::to_string(r.incentive_days)),
          r.recovered ? csv::plain(fixed(static_cast<double>(r.recovery_ms_total) /
                                             static_cast<double>(r.recovered) / 86400000.0,
                                         "%.2f"))
                      : "",
          csv::text(cur),
          csv::plain(cur.empty() ? "0" : domain::minor_to_decimal(cents, cur)),
          csv::plain(cur.empty() || r.cases == 0 ? "0"
                                                 : domain::minor_to_decimal(cents / r.cases, cur))};
      for (bool h : {false, true}) {
        auto s =
            domain::is_holdout(r.arm) ? std::vector<std::string>{"", "", "", ""} : stat(r.arm, h);
        cells.insert(cells.end(), s.begin(), s.end());
      }
      out += csv::row(cells);
    }
  }
  return out;
}

int64_t id_of(const httplib::Request& req) {
  return domain::parse_whole_number(req.matches[1].str()).value_or(0);
}

void not_found(Dashboard& d, httplib::Response& res, const Session& s) {
  send_html(res, 404,
            view::message_page(d.chrome(s, "Experiment not found", "experiments"),
                               "Experiment not found", "There is no experiment with this id.",
                               "/experiments", "All experiments"));
}

}  // namespace

void add_experiment_routes(httplib::Server& svr, Dashboard& d) {
  route(svr, d, "GET", "/experiments",
        [&d](const httplib::Request&, httplib::Response& res, const Session& s) {
          send_html(
              res, 200,
              view::experiments_page(d.chrome(s, "Experiments", "experiments"), list_model(d)));
        });
  route(svr, d, "POST", "/experiments",
        [&d](const httplib::Request& req, httplib::Response& res, const Session& s) {
          const std::string action = req.get_param_value("action");
          auto m = list_model(d);
          m.draft = experiment_from_form(req, action == "add_arm");
          if (action == "add_arm" || action == "preview") {
            auto c = d.chrome(s, "Experiments", "experiments");
            m.errors = domain::validate_experiment(m.draft);
            if (action == "add_arm") m.errors.clear();
            c.flash_kind = m.errors.empty() ? "ok" : "error";
            c.flash_text = m.errors.empty()
                               ? "Form updated below. Nothing is saved until you press Create."
                               : "A field needs a fix before the experiment can be created.";
            send_html(res, m.errors.empty() ? 200 : 400, view::experiments_page(c, m));
            return;
          }
          int64_t id = 0;
          auto change = service::create_experiment(*d.deps.services, m.draft, &id);
          if (!change.failure.empty()) throw std::runtime_error(change.failure);
          if (!change.errors.empty()) {
            m.errors = change.errors;
            auto c = d.form_error_chrome(s, "Experiments", "experiments",
                                         "A field needs a fix; nothing was saved.");
            send_html(res, 400, view::experiments_page(c, m));
            return;
          }
          d.flash(s, "ok", "Experiment created as a draft. Start it to assign new cases.");
          redirect(res, "/experiments/" + std::to_string(id));
        });
  route(svr, d, "GET", R"(/experiments/(\d{1,18}))",
        [&d](const httplib::Request& req, httplib::Response& res, const Session& s) {
          const int64_t id = id_of(req);
          service::count_view(*d.deps.services, id);
          auto m = results_model(d, id);
          if (!m) return not_found(d, res, s);
          send_html(res, 200,
                    view::experiment_page(d.chrome(s, m->experiment.name, "experiments"), *m));
        });
  route(svr, d, "GET", R"(/experiments/(\d{1,18})/results\.csv)",
        [&d](const httplib::Request& req, httplib::Response& res, const Session& s) {
          auto m = results_model(d, id_of(req));
          if (!m) return not_found(d, res, s);
          res.set_header("Content-Disposition", "attachment; filename=\"churn-saver-experiment-" +
                                                    std::to_string(m->experiment.id) +
                                                    "-results.csv\"");
          res.set_content(results_csv(*m), "text/csv; charset=utf-8");
        });
  route(svr, d, "POST", R"(/experiments/(\d{1,18})/actions/(start|pause|stop|promote))",
        [&d](const httplib::Request& req, httplib::Response& res, const Session& s) {
          const int64_t id = id_of(req);
          const std::string action = req.matches[2].str();
          auto& ctx = *d.deps.services;
          Status st = action == "start"   ? service::start_experiment(ctx, id)
                      : action == "pause" ? service::pause_experiment(ctx, id)
                      : action == "stop"
                          ? service::stop_experiment(ctx, id)
                          : service::promote_arm(ctx, id, req.get_param_value("arm"));
          if (st) {
            const char* done = action == "start"   ? "Experiment running: new cases are assigned."
                               : action == "pause" ? "Experiment paused: new cases are not "
                                                     "assigned; assigned cases keep their arm."
                               : action == "stop"
                                   ? "Experiment stopped. Its cases keep their arm."
                                   : "Arm promoted: its copy is now the messages, and the "
                                     "experiment is stopped.";
            d.flash(s, "ok", done);
          } else {
            d.flash(s, "error", st.error());
          }
          redirect(res, "/experiments/" + std::to_string(id));
        });
}

}  // namespace cs::http
