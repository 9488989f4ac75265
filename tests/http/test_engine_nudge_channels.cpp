// One nudge job per case and attempt carries its channels (push, DM): the scheduler writes one
// job row per due case, and each channel is still settled on its own in nudge_sends, so a failed
// channel is retried alone and a settled one is never sent again.
#include <doctest/doctest.h>

#include "jobs/kinds.h"
#include "store/jobs.h"
#include "test_engine_env.h"

using namespace cs;
using namespace cs::engine_test;

namespace {

const std::string kNotifications = "/api/v1/notifications";
const std::string kMessages = "/api/v1/messages";

}  // namespace

TEST_CASE("a due case gives one nudge job carrying push and DM, and each goes out once") {
  Env env;
  REQUIRE(env.fail(kMembership, env.start) == 200);
  // Processing the event opens the case and, in the same transaction, queues its T+0 nudge.
  REQUIRE(env.process() == 1);
  auto c = env.only_case();

  auto nudges = env.jobs("nudge");
  REQUIRE(nudges.size() == 1);
  CHECK(nudges[0].unique_key == "nudge:" + c.id + ":0");
  auto payload = jobs::read_payload<jobs::NudgeJob>(nudges[0].payload);
  REQUIRE(payload);
  CHECK(payload->channels == std::vector<std::string>{"push", "dm"});

  env.drain();
  CHECK(env.pushes() == 1);
  CHECK(env.dms() == 1);
  CHECK(env.send_state(c.id, "0", "push") == "sent");
  CHECK(env.send_state(c.id, "0", "dm") == "sent");
  CHECK(env.jobs("nudge")[0].state == "done");
  CHECK(env.actions(c.id, "nudge_sent").size() == 2);
}

TEST_CASE("one channel failing: only that channel is retried, the other is not sent again") {
  Env env;
  // The first push is refused (429, Retry-After 30 s: nothing sent, retried by the queue).
  auto refused = fault_on("POST", kNotifications, 1);
  refused.status = 429;
  refused.retry_after_s = 30;
  env.whop.inject(refused);
  REQUIRE(env.fail(kMembership, env.start) == 200);
  env.drain();
  auto c = env.only_case();
  CHECK(env.pushes() == 1);
  CHECK(env.dms() == 1);
  CHECK(env.send_state(c.id, "0", "push") == "failed");
  CHECK(env.send_state(c.id, "0", "dm") == "sent");
  auto nudges = env.jobs("nudge");
  REQUIRE(nudges.size() == 1);
  CHECK(nudges[0].state == "failed");
  CHECK(nudges[0].last_error.find("push: ") == 0);

  env.clock.advance(31 * 1000);
  env.drain();
  auto pushes = env.whop.calls("POST", kNotifications);
  CHECK(pushes.size() == 2);
  CHECK(Env::answered(pushes, 200) == 1);
  CHECK(env.dms() == 1);  // the DM was settled: not sent again
  CHECK(env.send_state(c.id, "0", "push") == "sent");
  CHECK(env.send_state(c.id, "0", "dm") == "sent");
  nudges = env.jobs("nudge");
  CHECK(nudges[0].state == "done");
  CHECK(nudges[0].attempts == 2);

  // And the other way round: the next reminder's DM is refused, its push is not repeated.
  auto dm_refused = fault_on("POST", kMessages, 1);
  dm_refused.status = 429;
  dm_refused.retry_after_s = 30;
  env.whop.inject(dm_refused);
  env.clock.advance(2 * kDay);
  env.drain();
  CHECK(env.send_state(c.id, "1", "push") == "sent");
  CHECK(env.send_state(c.id, "1", "dm") == "failed");
  env.clock.advance(31 * 1000);
  env.drain();
  CHECK(env.send_state(c.id, "1", "dm") == "sent");
  CHECK(Env::answered(env.whop.calls("POST", kNotifications), 200) == 2);
  CHECK(Env::answered(env.whop.calls("POST", kMessages), 200) == 2);
}

TEST_CASE("a worker that died between a nudge's channels: the sent one is not sent again") {
  Env env;
  REQUIRE(env.fail(kMembership, env.start) == 200);
  REQUIRE(env.process() == 1);  // the case opens with its T+0 nudge job queued
  auto c = env.only_case();
  auto job = env.jobs("nudge").at(0);

  // What a worker leaves behind when it dies after the push was sent and before the DM began:
  // the job claimed (running, under a lease) and the push settled as sent.
  const int64_t now = env.clock.now_ms();
  REQUIRE(env.a().writer().run([&](SQLite::Database& db) {
    bool held = false;
    for (const auto& j : store::claim_jobs(db, now, 60 * 1000, 100)) held = held || j.id == job.id;
    CHECK(held);
    CHECK_FALSE(store::begin_send(db, c.id, "0", "push", "system", now));
    store::finish_send(db, c.id, "0", "push", domain::SendState::Sent, now);
  }));
  env.drain();
  CHECK(env.pushes() + env.dms() == 0);  // the lease has not run out yet

  // The lease runs out: another worker takes the job and sends only the DM.
  env.clock.advance(61 * 1000);
  env.drain();
  CHECK(env.pushes() == 0);
  CHECK(env.dms() == 1);
  CHECK(env.send_state(c.id, "0", "push") == "sent");
  CHECK(env.send_state(c.id, "0", "dm") == "sent");
  auto done = env.jobs("nudge").at(0);
  CHECK(done.id == job.id);
  CHECK(done.state == "done");
}
