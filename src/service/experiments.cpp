#include "service/experiments.h"

#include <nlohmann/json.hpp>

#include "store/experiments.h"
#include "store/settings.h"
#include "util/log.h"

namespace cs::service {
namespace {

constexpr const char* kRefused =
    "The change could not be saved (the database refused it); nothing was changed.";

/// One state change of an experiment in one transaction: `change` returns "" (done) or why not.
Status transition(
    Context& ctx, int64_t id, const char* audit_type,
    const std::function<std::string(SQLite::Database&, domain::Experiment&, int64_t now)>& change) {
  const int64_t now = ctx.clock.now_ms();
  std::string problem;
  auto st = ctx.writer.run([&](SQLite::Database& db) {
    auto e = store::find_experiment(db, id);
    if (!e) {
      problem = "No such experiment.";
      return;
    }
    const char* from = domain::experiment_status_name(e->status);
    problem = change(db, *e, now);
    if (!problem.empty()) return;
    audit(db, now, audit_type, "ok",
          nlohmann::json{{"experiment_id", id},
                         {"from", from},
                         {"to", domain::experiment_status_name(e->status)}}
              .dump());
  });
  if (!st) {
    log::error("an experiment change was not saved", {{"error", st.error()}});
    return Error{kRefused};
  }
  if (!problem.empty()) return Error{problem};
  return Ok{};
}

std::string set_status(SQLite::Database& db, domain::Experiment& e, domain::ExperimentStatus to,
                       int64_t now) {
  e.status = to;
  store::set_experiment_status(db, e.id, to, now);
  return "";
}

}  // namespace

Change create_experiment(Context& ctx, domain::Experiment e, int64_t* id) {
  Change out;
  for (size_t i = 0; i < e.arms.size(); ++i) e.arms[i].key = domain::arm_key(i);
  out.errors = domain::validate_experiment(e);
  if (!out.errors.empty()) return out;
  const std::string nonce = crypto::random_hex(16);
  const std::string app_key =
      ctx.keys.empty() ? crypto::random_bytes(32) : ctx.keys.current().bytes;
  e.assignment_key = domain::derive_assignment_key(app_key, nonce);
  e.status = domain::ExperimentStatus::Draft;
  e.created_at = ctx.clock.now_ms();
  int64_t new_id = 0;
  auto st = ctx.writer.run([&](SQLite::Database& db) {
    new_id = store::insert_experiment(db, e);
    nlohmann::json arms = nlohmann::json::array();
    for (const auto& a : e.arms) {
      arms.push_back({{"key", a.key}, {"weight", a.weight}});
    }
    audit(db, e.created_at, "experiment_created", "ok",
          nlohmann::json{
              {"experiment_id", new_id}, {"holdout_percent", e.holdout_percent}, {"arms", arms}}
              .dump());
  });
  if (!st) {
    log::error("an experiment was not saved", {{"error", st.error()}});
    out.failure = kRefused;
    return out;
  }
  if (id) *id = new_id;
  return out;
}

Status start_experiment(Context& ctx, int64_t id) {
  return transition(ctx, id, "experiment_started", [](SQLite::Database& db, auto& e, int64_t now) {
    if (!domain::experiment_actions(e.status).start) {
      return std::string("This experiment is ") + domain::experiment_status_name(e.status) +
             "; only a draft or a paused experiment can start.";
    }
    auto active = store::active_experiment_id(db);
    if (active && *active != e.id) {
      return std::string(
          "Another experiment is running or paused: stop it first (a case can only be in one "
          "experiment).");
    }
    return set_status(db, e, domain::ExperimentStatus::Running, now);
  });
}

Status pause_experiment(Context& ctx, int64_t id) {
  return transition(ctx, id, "experiment_paused", [](SQLite::Database& db, auto& e, int64_t now) {
    if (!domain::experiment_actions(e.status).pause) {
      return std::string("Only a running experiment can be paused.");
    }
    return set_status(db, e, domain::ExperimentStatus::Paused, now);
  });
}

Status stop_experiment(Context& ctx, int64_t id) {
  return transition(ctx, id, "experiment_stopped", [](SQLite::Database& db, auto& e, int64_t now) {
    if (!domain::experiment_actions(e.status).stop) {
      return std::string("This experiment is already stopped.");
    }
    return set_status(db, e, domain::ExperimentStatus::Stopped, now);
  });
}

Status promote_arm(Context& ctx, int64_t id, const std::string& arm) {
  return transition(
      ctx, id, "experiment_promoted", [&](SQLite::Database& db, auto& e, int64_t now) {
        if (!domain::experiment_actions(e.status).promote) {
          return std::string("Start the experiment before promoting one of its arms.");
        }
        const domain::Arm* a = e.arm(arm);
        if (!a) return std::string("This experiment has no such arm.");
        auto settings = store::find_recovery_settings(db, ctx.recovery_defaults);
        settings.copy = a->copy;
        if (a->incentive_days) settings.incentive_days = *a->incentive_days;
        if (!domain::validate(settings).empty()) {
          return std::string("The arm's copy does not fit the current settings; nothing changed.");
        }
        store::save_recovery_settings(db, settings, now);
        audit(db, now, "settings_changed", "messages",
              nlohmann::json{{"section", "messages"},
                             {"fields", nlohmann::json::array({"copy"})},
                             {"experiment_id", e.id},
                             {"arm", arm}}
                  .dump());
        if (e.status != domain::ExperimentStatus::Stopped) {
          set_status(db, e, domain::ExperimentStatus::Stopped, now);
        }
        return std::string();
      });
}

int64_t count_view(Context& ctx, int64_t id) {
  int64_t views = 0;
  auto st =
      ctx.writer.run([&](SQLite::Database& db) { views = store::count_experiment_view(db, id); });
  return st ? views : 0;
}

}  // namespace cs::service
