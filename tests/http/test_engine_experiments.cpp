// Experiments through the real engine and the fake Whop (issue 13): cases are assigned once when
// they open and keep their arm across restarts; each arm's copy and free days are what its cases
// get; a holdout case gets nothing at Whop from any path (scheduler, a job left from before a
// crash, the creator's "Nudge now"); promoting an arm changes what the next nudges say.
#include <doctest/doctest.h>

#include <map>
#include <set>

#include "domain/experiment.h"
#include "jobs/kinds.h"
#include "service/experiments.h"
#include "store/experiments.h"
#include "test_engine_env.h"

using namespace cs;
using namespace cs::engine_test;

namespace {

domain::Experiment two_arms(int holdout_percent, const std::string& b_title) {
  domain::Experiment e;
  e.name = "Short subject line";
  e.holdout_percent = holdout_percent;
  domain::Arm a, b;
  a.name = "Control";
  b.name = "Short";
  b.copy.step(domain::NudgeStep::First).push_title = b_title;
  b.incentive_days = 0;
  e.arms = {a, b};
  return e;
}

int64_t create_and_start(Env& env, const domain::Experiment& e) {
  int64_t id = 0;
  auto change = service::create_experiment(env.a().services(), e, &id);
  REQUIRE(change.saved());
  REQUIRE(service::start_experiment(env.a().services(), id).ok());
  return id;
}

std::string membership(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "mem_Exp%05dAbCd", i);
  return buf;
}
std::string user_of(const std::string& m) {
  return "user_" + m.substr(4);
}

/// payment.failed for `n` memberships (each its own member), all at the app's time.
void open_cases(Env& env, int n, int from = 0) {
  for (int i = from; i < from + n; ++i) {
    const auto m = membership(i);
    env.whop.put_membership(
        membership_json(m, env.clock.now_ms() + 3 * kDay, "past_due", user_of(m)));
    REQUIRE(env.fail(m, env.clock.now_ms()) == 200);
  }
  env.drain();
}

std::map<std::string, std::string> arms_of(Env& env, int n, int from = 0) {
  std::map<std::string, std::string> out;  // membership -> arm
  auto db = env.a().reads().lease();
  for (int i = from; i < from + n; ++i) {
    auto rows = store::list_cases_for_membership(*db, membership(i));
    REQUIRE(rows.size() == 1);
    auto ca = store::case_arm(*db, rows[0].id);
    out[membership(i)] = ca ? ca->arm : "";
  }
  return out;
}

/// Every user id Whop was asked to contact (push recipients and DM channel members).
std::set<std::string> contacted(Env& env) {
  std::set<std::string> users;
  for (const auto& c : env.whop.calls("POST", "/api/v1/notifications")) {
    const auto body = json::parse(c.body);
    for (const auto& u : body["user_ids"]) users.insert(u.get<std::string>());
  }
  for (const auto& c : env.whop.calls("POST", "/api/v1/dm_channels")) {
    const auto body = json::parse(c.body);
    for (const auto& u : body["with_user_ids"]) users.insert(u.get<std::string>());
  }
  return users;
}

}  // namespace

TEST_CASE("experiment: holdout cases get nothing at Whop, from any path; arms keep their copy") {
  Env env;
  env.settings([](domain::RecoverySettings& s) { s.incentive_days = 3; });
  create_and_start(env, two_arms(30, "B: your card needs a look"));
  const int n = 40;
  open_cases(env, n);
  auto arms = arms_of(env, n);
  std::map<std::string, int> count;
  for (const auto& [m, arm] : arms) ++count[arm];
  INFO("holdout " << count["holdout"] << " a " << count["a"] << " b " << count["b"]);
  REQUIRE(count["holdout"] > 0);
  REQUIRE(count["a"] > 0);
  REQUIRE(count["b"] > 0);
  CHECK(count[""] == 0);

  // The whole schedule runs: days 0, 2 and 4, and the incentive.
  for (int d = 0; d < 3; ++d) {
    env.clock.advance(2 * kDay);
    env.drain();
  }
  const auto users = contacted(env);
  for (const auto& [m, arm] : arms) {
    CAPTURE(m);
    CAPTURE(arm);
    const bool reached = users.count(user_of(m)) > 0;
    CHECK(reached == (arm != "holdout"));
    // Arm b sets no free days; arm a follows the settings (3); the holdout gets none.
    CHECK(env.free_day_calls(m) == (arm == "a" ? 1u : 0u));
  }
  // Arm b's first push carries its own title, arm a's the settings' copy.
  for (const auto& c : env.whop.calls("POST", "/api/v1/notifications")) {
    auto body = json::parse(c.body);
    std::string user = body["user_ids"][0];
    std::string arm = arms["mem_" + user.substr(5)];
    std::string title = body["title"];
    if (title.rfind("Reminder", 0) == 0 || title.rfind("Last reminder", 0) == 0) continue;
    CHECK(title == (arm == "b" ? "B: your card needs a look"
                               : "Your Pickaxe Analytics payment didn't go through"));
  }

  // A holdout case: "Nudge now" is refused, and a nudge or incentive job that reaches the
  // engine anyway (left in the queue by an older version, or re-run after a crash) sends nothing.
  std::string held;
  for (const auto& [m, arm] : arms) {
    if (arm == "holdout") held = m;
  }
  auto c = env.only_case(held);
  CHECK(c.status == domain::CaseStatus::Open);
  auto refused = env.a().engine().nudge_now(c.id);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().find("holdout") != std::string::npos);
  const auto pushes_before = env.pushes(), dms_before = env.dms();
  const auto now = env.clock.now_ms();
  REQUIRE(env.a()
              .writer()
              .run([&](SQLite::Database& db) {
                store::enqueue_job(db,
                                   jobs::make_job(jobs::NudgeJob{c.id, "9", {"push"}, "system"},
                                                  now, "nudge:" + c.id + ":9:push", 8),
                                   now);
                store::enqueue_job(db,
                                   jobs::make_job(jobs::NudgeJob{c.id, "m9", {"dm"}, "admin"}, now,
                                                  "nudge:" + c.id + ":m9:dm", 8),
                                   now);
                store::enqueue_job(db,
                                   jobs::make_job(jobs::IncentiveJob{c.id}, now,
                                                  "incentive:" + c.id + ":again", 8),
                                   now);
                store::IncentiveState inc;
                inc.state = domain::IncentiveState::Pending;
                inc.days = 3;
                store::save_incentive(db, c.id, inc);
              })
              .ok());
  env.drain();
  CHECK(env.pushes() == pushes_before);
  CHECK(env.dms() == dms_before);
  CHECK(env.free_day_calls(held) == 0);
  CHECK(env.send_state(c.id, "9", "push") == "skipped");
  CHECK(env.send_state(c.id, "m9", "dm") == "skipped");
  CHECK(env.incentive_state(c.id) == "off");
  auto skipped = env.actions(c.id, "nudge_skipped");
  REQUIRE_FALSE(skipped.empty());
  CHECK(skipped.back().metadata.find("holdout") != std::string::npos);

  // Restarting the app on the same database keeps every assignment.
  env.open();
  CHECK(arms_of(env, n) == arms);
}

TEST_CASE("experiment: pausing stops new assignments; promoting an arm changes the next nudges") {
  Env env;
  const int64_t id = create_and_start(env, two_arms(0, "Promoted words"));
  open_cases(env, 6);
  for (const auto& [m, arm] : arms_of(env, 6)) CHECK((arm == "a" || arm == "b"));

  REQUIRE(service::pause_experiment(env.a().services(), id).ok());
  open_cases(env, 2, 6);
  for (const auto& [m, arm] : arms_of(env, 2, 6)) CHECK(arm == "");

  // Another experiment cannot start while this one is paused.
  int64_t other = 0;
  REQUIRE(service::create_experiment(env.a().services(), two_arms(10, "x"), &other).saved());
  CHECK_FALSE(service::start_experiment(env.a().services(), other).ok());

  REQUIRE(service::promote_arm(env.a().services(), id, "b").ok());
  {
    auto db = env.a().reads().lease();
    auto e = store::find_experiment(*db, id);
    REQUIRE(e);
    CHECK(e->status == domain::ExperimentStatus::Stopped);
    CHECK(e->stopped_at);
    auto s = store::find_recovery_settings(*db, domain::RecoverySettings{});
    CHECK(s.copy.step(domain::NudgeStep::First).push_title == "Promoted words");
    CHECK(s.incentive_days == 0);
  }
  // Stopped: the earlier cases keep their arm; a new case follows the promoted copy.
  for (const auto& [m, arm] : arms_of(env, 6)) CHECK((arm == "a" || arm == "b"));
  const auto before = env.whop.calls("POST", "/api/v1/notifications").size();
  open_cases(env, 1, 20);
  auto pushes = env.whop.calls("POST", "/api/v1/notifications");
  REQUIRE(pushes.size() == before + 1);
  CHECK(json::parse(pushes.back().body)["title"] == "Promoted words");
  CHECK(arms_of(env, 1, 20).begin()->second == "");
  // Every change is audited as admin.
  CHECK(env.count_sql("SELECT count(*) FROM recovery_actions WHERE actor = 'admin' AND type IN "
                      "('experiment_created', 'experiment_started', 'experiment_paused', "
                      "'experiment_promoted')") == 5);
  CHECK_FALSE(service::stop_experiment(env.a().services(), id).ok());
}
