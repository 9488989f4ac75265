// Recovery engine rules against the fake Whop as a real server (DESIGN.md §5): the overdue rule,
// never two sends for one (case, attempt, channel), and the creator's settings changing what is
// sent.
#include <doctest/doctest.h>

#include "jobs/scheduler.h"
#include "test_engine_env.h"

using namespace cs;
using namespace cs::engine_test;

namespace {

std::vector<int> attempts_of(const std::vector<store::Action>& actions) {
  std::vector<int> out;
  for (const auto& a : actions) out.push_back(a.attempt.value_or(-1));
  return out;
}

std::string link_token(Env& env, const std::string& case_id) {
  auto db = env.a().reads().lease();
  SQLite::Statement q(*db, "SELECT coalesce(link_token, '') FROM cases WHERE id = ?");
  q.bind(1, case_id);
  REQUIRE(q.executeStep());
  return q.getColumn(0).getString();
}

}  // namespace

TEST_CASE("overdue rule: first failure 5 days ago sends only the day-4 reminder, once") {
  Env env;
  REQUIRE(env.fail(kMembership, env.start - 5 * kDay) == 200);
  env.drain();
  // A failure that arrives days late settles for a minute before anything is sent.
  CHECK(env.pushes() == 0);
  env.clock.advance(domain::ContactPolicy{}.settle_ms);
  env.drain();

  // One push and one DM, for attempt 2 (day 4); attempts 0 and 1 are recorded as skipped.
  CHECK(env.pushes() == 1);
  CHECK(env.dms() == 1);
  auto c = env.only_case();
  CHECK(c.status == domain::CaseStatus::Open);
  CHECK(c.first_failure_at == env.start - 5 * kDay);
  for (const char* ch : {"push", "dm"}) {
    CAPTURE(ch);
    CHECK(env.send_state(c.id, "0", ch) == "skipped");
    CHECK(env.send_state(c.id, "1", ch) == "skipped");
    CHECK(env.send_state(c.id, "2", ch) == "sent");
  }
  CHECK(env.sends(c.id).size() == 6);
  CHECK(attempts_of(env.actions(c.id, "nudge_skipped")) == std::vector<int>{0, 1});
  auto sent = env.actions(c.id, "nudge_sent");
  REQUIRE(sent.size() == 2);
  for (const auto& s : sent) {
    CHECK(s.attempt == 2);
    CHECK(s.actor == "system");
  }
  // The free days are granted once, whatever the schedule.
  CHECK(env.whop.free_day_grants(kMembership) == std::vector<int>{3});

  // A second scheduler pass (and later ones) sends nothing more: the schedule is finished.
  auto again = env.a().scheduler().run_once();
  CHECK(again.nudges_enqueued == 0);
  CHECK(again.nudges_skipped == 0);
  env.drain();
  env.clock.advance(3 * kDay);
  env.drain();
  CHECK(env.pushes() == 1);
  CHECK(env.dms() == 1);
  CHECK(env.count_sql("SELECT count(*) FROM cases WHERE next_nudge_at IS NOT NULL") == 0);
  CHECK(env.actions(c.id, "nudge_skipped").size() == 2);
}

TEST_CASE("overdue rule: 3 days late skips day 0, sends day 2, and day 4 still comes on time") {
  Env env;
  REQUIRE(env.fail(kMembership, env.start - 3 * kDay) == 200);
  env.drain();
  // A failure that arrives days late settles for a minute before anything is sent.
  CHECK(env.pushes() == 0);
  env.clock.advance(domain::ContactPolicy{}.settle_ms);
  env.drain();
  auto c = env.only_case();
  CHECK(env.pushes() == 1);
  CHECK(env.send_state(c.id, "0", "push") == "skipped");
  CHECK(env.send_state(c.id, "1", "push") == "sent");
  CHECK(env.send_state(c.id, "1", "dm") == "sent");

  env.clock.advance(kDay - 1000 - domain::ContactPolicy{}.settle_ms);  // just before day 4
  env.drain();
  CHECK(env.pushes() == 1);
  env.clock.advance(1000);  // day 4
  env.drain();
  CHECK(env.pushes() == 2);
  CHECK(env.dms() == 2);
  CHECK(env.send_state(c.id, "2", "push") == "sent");
  CHECK(attempts_of(env.actions(c.id, "nudge_skipped")) == std::vector<int>{0});
}

TEST_CASE("never two sends per (case, attempt, channel): scheduler, queue, re-runs, crashes") {
  Env env;
  REQUIRE(env.fail(kMembership, env.start) == 200);

  // The event is processed (the T+0 nudge, one job carrying push and DM, and the free days are
  // queued with the case); then the scheduler runs twice before any job runs.
  REQUIRE(env.process() == 1);
  REQUIRE(env.jobs("nudge").size() == 1);
  REQUIRE(env.jobs("incentive").size() == 1);
  auto first = env.a().scheduler().run_once();
  CHECK(first.nudges_enqueued == 0);  // already queued
  CHECK(first.incentives_enqueued == 0);
  auto second = env.a().scheduler().run_once();
  CHECK(second.nudges_enqueued == 0);
  CHECK(second.incentives_enqueued == 0);
  auto c = env.only_case();

  // Even a tick that replays the schedule from the start enqueues nothing new: unique job keys.
  jobs::TickResult replay;
  auto st = env.a().writer().run([&](SQLite::Database& db) {
    store::save_nudge_schedule(db, c.id, 0, c.first_failure_at);
    replay = jobs::tick(db, env.a().settings(), env.clock.now_ms());
  });
  REQUIRE(st.ok());
  CHECK(replay.nudges_enqueued == 0);
  CHECK(env.jobs("nudge").size() == 1);

  env.drain();
  CHECK(env.pushes() == 1);
  CHECK(env.dms() == 1);

  // The same nudge enqueued again: refused by its unique key. Enqueued under another key (or no
  // key at all), or as a job queued per channel before an upgrade: the job runs, finds the send
  // recorded, and sends nothing.
  json payload = {
      {"case_id", c.id}, {"attempt", "0"}, {"channels", {"push", "dm"}}, {"actor", "system"}};
  json legacy = {{"case_id", c.id}, {"attempt", "0"}, {"channel", "push"}, {"actor", "system"}};
  std::optional<int64_t> same, other, old;
  st = env.a().writer().run([&](SQLite::Database& db) {
    store::NewJob j;
    j.kind = "nudge";
    j.unique_key = "nudge:" + c.id + ":0";
    j.payload = payload.dump();
    j.run_at = env.clock.now_ms();
    same = store::enqueue_job(db, j, env.clock.now_ms());
    j.unique_key = std::nullopt;
    other = store::enqueue_job(db, j, env.clock.now_ms());
    j.unique_key = "nudge:" + c.id + ":0:push";
    j.payload = legacy.dump();
    old = store::enqueue_job(db, j, env.clock.now_ms());
  });
  REQUIRE(st.ok());
  CHECK_FALSE(same.has_value());
  REQUIRE(other.has_value());
  REQUIRE(old.has_value());
  env.drain();
  CHECK(env.pushes() == 1);
  CHECK(env.dms() == 1);
  for (auto id : {*other, *old}) {
    auto db = env.a().reads().lease();
    auto job = store::find_job(*db, id);
    REQUIRE(job);
    CHECK(job->state == "done");
  }

  // Re-running a nudge job that already succeeded (a worker that lost its lease) sends nothing.
  for (const auto& job : env.jobs("nudge")) {
    CHECK(env.a().engine().run_nudge(job).ok);
  }
  CHECK(env.pushes() == 1);
  CHECK(env.dms() == 1);
  CHECK(env.send_state(c.id, "0", "push") == "sent");
  CHECK(env.send_state(c.id, "0", "dm") == "sent");

  // A send whose worker died mid-call ("sending" left behind) may have reached Whop: the retry
  // records it as unknown and never sends it again. The other channel goes out as usual.
  st = env.a().writer().run([&](SQLite::Database& db) {
    CHECK_FALSE(store::begin_send(db, c.id, "1", "push", "system", env.clock.now_ms()));
  });
  REQUIRE(st.ok());
  env.clock.advance(2 * kDay);
  env.drain();
  CHECK(env.pushes() == 1);
  CHECK(env.dms() == 2);
  CHECK(env.send_state(c.id, "1", "push") == "unknown");
  CHECK(env.send_state(c.id, "1", "dm") == "sent");
  auto unknown = env.actions(c.id, "nudge_unknown");
  REQUIRE(unknown.size() == 1);
  CHECK(unknown[0].channel == "push");
  CHECK(unknown[0].attempt == 1);

  // Every (case, attempt, channel) reached the fake at most once.
  env.clock.advance(5 * kDay);
  env.drain();
  CHECK(env.pushes() == 2);  // day 4
  CHECK(env.dms() == 3);
  CHECK(env.whop.free_day_grants(kMembership).size() == 1);
}

TEST_CASE("settings change what is sent: channels, templates, reminder days, free days") {
  Env env;
  env.settings([](domain::RecoverySettings& s) {
    s.dm_enabled = false;
    for (auto& t : s.copy.steps) t.push_title = "Hey {{name}}";
    for (auto& t : s.copy.steps)
      t.push_content =
          "{{name}}, {{amount}} for {{product}} did not go through. Fix it: {{manage_url}}";
    s.reminder_offsets_days = {0, 1};
    s.incentive_days = 5;
  });

  REQUIRE(env.fail(kMembership, env.start) == 200);
  env.drain();
  auto c = env.only_case();
  std::string token = link_token(env, c.id);
  REQUIRE(token.size() == 32);
  const std::string link = std::string(kPublicUrl) + "/r/" + token;

  auto pushes = env.whop.calls("POST", "/api/v1/notifications");
  REQUIRE(pushes.size() == 1);
  auto body = json::parse(pushes[0].body);
  CHECK(body["experience_id"] == kExperience);
  CHECK(body["user_ids"] == json::array({kUser}));
  CHECK(body["title"] == "Hey John");
  CHECK(body["content"] ==
        "John, $29.99 for Pickaxe Analytics did not go through. Fix it: " + link);
  // DM switched off: no channel opened, no message, no send row.
  CHECK(env.dms() == 0);
  CHECK(env.whop.calls("POST", "/api/v1/dm_channels").empty());
  CHECK(env.send_state(c.id, "0", "dm") == "");
  CHECK(env.whop.free_day_grants(kMembership) == std::vector<int>{5});

  // Reminder days 0, 1: the second push at T+1, and nothing after.
  env.clock.advance(kDay);
  env.drain();
  CHECK(env.pushes() == 2);
  env.clock.advance(3 * kDay);
  env.drain();
  CHECK(env.pushes() == 2);
  CHECK(env.dms() == 0);
  CHECK(env.sends(c.id).size() == 2);
  CHECK(env.send_state(c.id, "1", "push") == "sent");

  // Switch to DM only with its own copy: a new case gets exactly that DM and no push.
  env.settings([](domain::RecoverySettings& s) {
    s.push_enabled = false;
    s.dm_enabled = true;
    for (auto& t : s.copy.steps)
      t.dm_content = "DM for {{name}}: {{amount}} ({{product}}) {{manage_url}}";
    s.incentive_days = 0;
  });
  env.whop.put_membership(membership_json("mem_Second", env.clock.now_ms() + 3 * kDay));
  REQUIRE(env.fail("mem_Second", env.clock.now_ms()) == 200);
  env.drain();
  auto c2 = env.only_case("mem_Second");
  CHECK(env.pushes() == 2);
  auto dms = env.whop.calls("POST", "/api/v1/messages");
  REQUIRE(dms.size() == 1);
  CHECK(json::parse(dms[0].body)["content"] == "DM for John: $29.99 (Pickaxe Analytics) " +
                                                   std::string(kPublicUrl) + "/r/" +
                                                   link_token(env, c2.id));
  auto channels = env.whop.calls("POST", "/api/v1/dm_channels");
  REQUIRE(channels.size() == 1);
  CHECK(json::parse(channels[0].body)["with_user_ids"] == json::array({"user_Second"}));
  CHECK(json::parse(channels[0].body)["company_id"] == kCompany);
  // Free days 0 = off: no grant for the new case.
  CHECK(env.whop.free_day_grants("mem_Second").empty());
  CHECK(env.incentive_state(c2.id) == "off");

  // The tracked link of the first case still redirects to its member's manage page.
  auto r = env.app->client().Get("/r/" + token);
  REQUIRE(r);
  CHECK(r->status == 302);
  CHECK(r->get_header_value("Location") ==
        "https://whop.com/billing/manage/" + std::string(kMembership));
}
