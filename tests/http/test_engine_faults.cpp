// The recovery engine against a misbehaving Whop (the fake as a real server with injected faults):
// a 429 storm with and without Retry-After, a 5xx outage that trips and resets the circuit
// breaker, and add_free_days answers lost after (or before) the grant took effect.
#include <doctest/doctest.h>

#include <set>

#include "test_engine_env.h"

using namespace cs;
using namespace cs::engine_test;

namespace {

const std::string kNotifications = "/api/v1/notifications";

std::string free_days_path(const std::string& membership_id) {
  return "/api/v1/memberships/" + membership_id + "/add_free_days";
}

}  // namespace

TEST_CASE("429 storm with Retry-After: each push is retried after the wait, delivered once") {
  Env env;
  const std::vector<std::string> members = {"mem_Storm1", "mem_Storm2", "mem_Storm3"};
  for (const auto& m : members) {
    env.whop.put_membership(membership_json(m, env.start + 3 * kDay));
    REQUIRE(env.fail(m, env.start) == 200);
  }
  // The next 9 pushes are refused with 429 and "Retry-After: 30".
  auto storm = fault_on("POST", kNotifications, 9);
  storm.status = 429;
  storm.retry_after_s = 30;
  env.whop.inject(storm);
  env.drain();
  // Retry-After (30 s) is longer than a worker may wait in the call: one request per job, then
  // the job is rescheduled; the DMs are not affected.
  CHECK(env.pushes() == 3);
  CHECK(env.dms() == 3);

  // Not before Retry-After has passed.
  env.clock.advance(29 * 1000);
  env.drain();
  CHECK(env.pushes() == 3);

  for (int round = 0; round < 20 && !env.all_done("nudge"); ++round) {
    env.clock.advance(31 * 1000);
    env.drain();
  }
  auto calls = env.whop.calls("POST", kNotifications);
  CHECK(calls.size() == 12);  // 9 refused + 3 delivered
  CHECK(Env::answered(calls, 429) == 9);
  CHECK(Env::answered(calls, 200) == 3);
  std::set<std::string> delivered_to;
  for (const auto& c : calls) {
    if (c.status == 200) delivered_to.insert(json::parse(c.body)["user_ids"][0].get<std::string>());
  }
  CHECK(delivered_to == std::set<std::string>{"user_Storm1", "user_Storm2", "user_Storm3"});

  for (const auto& job : env.jobs("nudge", "push")) {
    CHECK(job.state == "done");
    CHECK(job.attempts == 4);
  }
  for (const auto& m : members) {
    auto c = env.only_case(m);
    CHECK(env.send_state(c.id, "0", "push") == "sent");
    CHECK(env.actions(c.id, "nudge_failed").size() == 3);
    CHECK(env.actions(c.id, "nudge_sent").size() == 2);  // push + DM
  }
  // 429 means "Whop is up": the breaker never opened.
  auto breakers = env.a().whop().breakers();
  REQUIRE(breakers.count("send_push"));
  CHECK(breakers["send_push"].state == "closed");
  // A later pass sends nothing more.
  env.clock.advance(kDay);
  env.drain();
  CHECK(env.pushes() == 12);
}

TEST_CASE("429 without Retry-After: retried in the call with backoff, then by the queue") {
  Env env;
  auto storm = fault_on("POST", kNotifications, 6);
  storm.status = 429;  // no Retry-After
  env.whop.inject(storm);
  REQUIRE(env.fail(kMembership, env.start) == 200);
  env.drain();
  // The client retried in the call (1 + 3 retries), then the job was rescheduled with backoff.
  auto calls = env.whop.calls("POST", kNotifications);
  CHECK(calls.size() == 4);
  CHECK(Env::answered(calls, 429) == 4);
  auto c = env.only_case();
  CHECK(env.send_state(c.id, "0", "push") == "failed");
  auto push_jobs = env.jobs("nudge", "push");
  REQUIRE(push_jobs.size() == 1);
  CHECK(push_jobs[0].state == "failed");
  CHECK(push_jobs[0].run_at > env.clock.now_ms());

  for (int round = 0; round < 10 && !env.all_done("nudge"); ++round) {
    env.clock.advance(60 * 1000);
    env.drain();
  }
  calls = env.whop.calls("POST", kNotifications);
  CHECK(calls.size() == 7);  // 4 + 2 refused, then delivered
  CHECK(Env::answered(calls, 200) == 1);
  push_jobs = env.jobs("nudge", "push");
  CHECK(push_jobs[0].state == "done");
  CHECK(push_jobs[0].attempts == 2);
  CHECK(env.send_state(c.id, "0", "push") == "sent");
  CHECK(env.dms() == 1);
}

TEST_CASE("5xx outage: the breaker opens, jobs wait without calls or spent attempts, then resume") {
  Env env;
  env.whop.put_membership(membership_json("mem_Out1", env.start + 3 * kDay));
  env.whop.put_membership(membership_json("mem_Out2", env.start + 3 * kDay));
  auto outage = fault_on("", "/api/v1/", 100000);
  outage.status = 503;
  env.whop.inject(outage);

  REQUIRE(env.fail("mem_Out1", env.start) == 200);
  env.drain();
  // Every job of the first case reads the membership first: 4 tries in the first job's call,
  // the 5th failure in a row opens the breaker, and the rest is refused without a request.
  auto reads = env.whop.calls("GET", "/api/v1/memberships/mem_Out1");
  CHECK(reads.size() == 5);
  CHECK(Env::answered(reads, 503) == 5);
  CHECK(env.whop.calls().size() == 5);
  CHECK(env.pushes() == 0);
  auto breakers = env.a().whop().breakers();
  REQUIRE(breakers.count("get_membership"));
  CHECK(breakers["get_membership"].state == "open");
  auto c1 = env.only_case("mem_Out1");
  CHECK(env.send_state(c1.id, "0", "push") == "failed");

  // During the outage a new case's jobs are deferred: no request reaches Whop, no attempt spent.
  const size_t calls_before = env.whop.calls().size();
  REQUIRE(env.fail("mem_Out2", env.start) == 200);
  env.drain();
  env.clock.advance(10 * 1000);  // the first case's retries come due, still inside the 30 s
  env.drain();
  CHECK(env.whop.calls().size() == calls_before);
  auto c2 = env.only_case("mem_Out2");
  int deferred = 0;
  for (const auto& kind : {"nudge", "incentive"}) {
    for (const auto& j : env.jobs(kind)) {
      if (json::parse(j.payload)["case_id"] != c2.id) continue;
      CHECK(j.attempts == 0);
      CHECK(j.state == "queued");
      CHECK(j.run_at > env.clock.now_ms());
      ++deferred;
    }
  }
  CHECK(deferred == 2);  // one nudge job (push and DM) and the incentive
  bool breaker_noted = false;
  for (const auto& a : env.actions(c2.id, "nudge_failed")) {
    breaker_noted |= json::parse(a.metadata).value("breaker_open", false);
  }
  CHECK(breaker_noted);

  // Whop is back; once breaker_open_ms (30 s) has passed, a trial call closes the breaker and
  // everything goes out, once.
  env.whop.clear_faults();
  env.clock.advance(60 * 1000);
  env.drain();
  breakers = env.a().whop().breakers();
  CHECK(breakers["get_membership"].state == "closed");
  CHECK(env.pushes() == 2);
  CHECK(env.dms() == 2);
  CHECK(env.whop.free_day_grants("mem_Out1") == std::vector<int>{3});
  CHECK(env.whop.free_day_grants("mem_Out2") == std::vector<int>{3});
  for (const auto& c : {c1, c2}) {
    CHECK(env.send_state(c.id, "0", "push") == "sent");
    CHECK(env.send_state(c.id, "0", "dm") == "sent");
    CHECK(env.incentive_state(c.id) == "granted");
  }
  CHECK(env.all_done("nudge"));
  CHECK(env.all_done("incentive"));

  // A POST answered 5xx may have been delivered (a proxy can fail after Whop acted): the engine
  // records it as unknown and never sends that nudge again (strict never-twice rule).
  auto proxy_error = fault_on("POST", kNotifications);
  proxy_error.status = 503;
  env.whop.inject(proxy_error);
  env.clock.advance(2 * kDay);
  env.drain();
  auto pushes = env.whop.calls("POST", kNotifications);
  CHECK(pushes.size() == 4);
  CHECK(Env::answered(pushes, 503) == 1);
  std::vector<std::string> states = {env.send_state(c1.id, "1", "push"),
                                     env.send_state(c2.id, "1", "push")};
  std::sort(states.begin(), states.end());
  CHECK(states == std::vector<std::string>{"sent", "unknown"});
  const auto& lost = env.send_state(c1.id, "1", "push") == "unknown" ? c1 : c2;
  auto unknown = env.actions(lost.id, "nudge_unknown");
  REQUIRE(unknown.size() == 1);
  CHECK(json::parse(unknown[0].metadata)["status"] == 503);
  CHECK(env.dms() == 4);  // the DM of that attempt went out as usual

  env.clock.advance(3600 * 1000);
  env.drain();
  CHECK(env.pushes() == 4);  // never re-sent
  CHECK(env.all_done("nudge"));
  CHECK(env.a().whop().breakers()["send_push"].state == "closed");
}

TEST_CASE("add_free_days answer lost after the grant took effect: read back, never granted twice") {
  auto dropped = fault_on("POST", free_days_path(kMembership));
  dropped.drop_connection = true;
  dropped.apply_effect = true;
  auto error_after = fault_on("POST", free_days_path(kMembership));
  error_after.status = 503;
  error_after.apply_effect = true;
  const std::vector<std::pair<const char*, test::Fault>> variants = {
      {"dropped connection", dropped}, {"503 after the effect", error_after}};
  for (const auto& [name, fault] : variants) {
    CAPTURE(name);
    Env env;
    env.whop.inject(fault);
    REQUIRE(env.fail(kMembership, env.start) == 200);
    env.drain();
    auto c = env.only_case();
    // The grant happened at Whop, but Churn Saver could not know: still "granting".
    CHECK(env.whop.free_day_grants(kMembership) == std::vector<int>{3});
    CHECK(env.free_day_calls() == 1);
    CHECK(env.incentive_state(c.id) == "granting");
    auto failed = env.actions(c.id, "incentive_failed");
    REQUIRE(failed.size() == 1);
    CHECK(failed[0].outcome == "unknown");

    // The retry reads the membership back, sees the days, and does not POST again.
    for (int round = 0; round < 10 && env.incentive_state(c.id) != "granted"; ++round) {
      env.clock.advance(60 * 1000);
      env.drain();
    }
    CHECK(env.incentive_state(c.id) == "granted");
    CHECK(env.free_day_calls() == 1);
    CHECK(env.whop.free_day_grants(kMembership) == std::vector<int>{3});
    auto granted = env.actions(c.id, "incentive_granted");
    REQUIRE(granted.size() == 1);
    CHECK(json::parse(granted[0].metadata)["confirmed"] == "read_back");
    CHECK(env.actions(c.id, "incentive_intent").size() == 1);
    CHECK(env.all_done("incentive"));
  }
}

TEST_CASE("add_free_days connection dropped before the grant: the retry grants exactly once") {
  Env env;
  auto dropped = fault_on("POST", free_days_path(kMembership));
  dropped.drop_connection = true;  // before the grant: nothing happened at Whop
  env.whop.inject(dropped);
  REQUIRE(env.fail(kMembership, env.start) == 200);
  env.drain();
  auto c = env.only_case();
  CHECK(env.whop.free_day_grants(kMembership).empty());
  CHECK(env.free_day_calls() == 1);
  CHECK(env.incentive_state(c.id) == "granting");

  for (int round = 0; round < 10 && env.incentive_state(c.id) != "granted"; ++round) {
    env.clock.advance(60 * 1000);
    env.drain();
  }
  CHECK(env.incentive_state(c.id) == "granted");
  CHECK(env.free_day_calls() == 2);
  CHECK(env.whop.free_day_grants(kMembership) == std::vector<int>{3});
  // The membership really carries the 3 days once.
  auto m = env.whop.membership(kMembership);
  REQUIRE(m);
  CHECK((*m)["renewal_period_end"] == domain::format_iso8601_ms(env.start + 6 * kDay));
  // More passes change nothing.
  env.clock.advance(kDay);
  env.drain();
  CHECK(env.free_day_calls() == 2);
}
