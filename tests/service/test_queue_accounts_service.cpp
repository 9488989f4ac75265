// The admin's queue actions and the account services without HTTP: each change is audited in
// its own transaction, a refused change writes nothing.
#include <doctest/doctest.h>

#include "service/accounts.h"
#include "service/processing.h"
#include "service/queue.h"
#include "service_env.h"
#include "store/auth.h"
#include "store/jobs.h"

using namespace cs;

namespace {

int64_t dead_job(test::ServiceEnv& env) {
  int64_t now = env.clock.now_ms();
  auto id = env.writer->run_value<int64_t>([&](SQLite::Database& db) {
    store::NewJob j;
    j.kind = "nudge";
    j.run_at = now;
    j.max_attempts = 1;
    int64_t id = *store::enqueue_job(db, j, now);
    store::claim_jobs(db, now, 1000, 10);
    store::fail_job(db, id, "gone", now, std::nullopt);
    return id;
  });
  REQUIRE(id);
  return *id;
}

}  // namespace

TEST_CASE("queue service: a dead job is retried and audited; anything else is refused") {
  test::ServiceEnv env;
  auto& ctx = *env.ctx;
  int64_t id = dead_job(env);

  env.refuse_audit(true);
  auto refused = service::retry_job(ctx, id);
  CHECK_FALSE(refused);  // the audit failed: the retry is rolled back with it
  {
    auto db = env.reads->lease();
    CHECK(store::find_job(*db, id)->state == "dead");
  }
  env.refuse_audit(false);

  auto ok = service::retry_job(ctx, id);
  REQUIRE(ok);
  CHECK(*ok);
  CHECK(env.wakeups == 1);
  {
    auto db = env.reads->lease();
    CHECK(store::find_job(*db, id)->state == "queued");
  }
  auto again = service::retry_job(ctx, id);  // queued now: nothing to retry
  REQUIRE(again);
  CHECK_FALSE(*again);
  CHECK(env.audit_rows() == std::vector<std::string>{"job_retried queued"});
}

TEST_CASE("queue service: replaying an unknown event writes nothing") {
  test::ServiceEnv env;
  auto r = service::replay_event(*env.ctx, 42);
  REQUIRE(r);
  CHECK_FALSE(*r);
  CHECK(env.wakeups == 0);
  CHECK(env.audit_rows().empty());
}

TEST_CASE("processing service: switched off, an event waits without using an attempt") {
  test::ServiceEnv env;
  domain::RecoverySettings off;
  off.processing_enabled = false;
  bool opened = false;
  auto out = service::process_event(*env.ctx, {[&] { return off; }, [&] { opened = true; }}, 1);
  CHECK(out.deferred);
  CHECK_FALSE(opened);
}

TEST_CASE("accounts service: the setup link sets the password once, audited with it") {
  test::ServiceEnv env;
  auto& ctx = *env.ctx;
  auto token = service::create_setup_token(ctx);
  REQUIRE(token);
  REQUIRE(token->size() == 32);
  CHECK(service::setup_token_usable(ctx, *token));

  auto weak = service::complete_setup(ctx, *token, "short", "short");
  CHECK_FALSE(weak.problem.empty());
  auto differ = service::complete_setup(ctx, *token, "a long enough passphrase 1",
                                        "a long enough passphrase 2");
  CHECK(differ.problem == "The two passwords are not the same.");
  CHECK(env.audit_rows().empty());

  env.refuse_audit(true);
  CHECK_THROWS(service::complete_setup(ctx, *token, "a long enough passphrase 1",
                                       "a long enough passphrase 1"));
  CHECK(service::setup_token_usable(ctx, *token));  // not used up by the failed attempt
  CHECK_FALSE(service::password_matches(ctx, "a long enough passphrase 1"));
  env.refuse_audit(false);

  auto done = service::complete_setup(ctx, *token, "a long enough passphrase 1",
                                      "a long enough passphrase 1");
  CHECK(done.problem.empty());
  CHECK(done.used);
  CHECK(service::password_matches(ctx, "a long enough passphrase 1"));
  CHECK_FALSE(service::password_matches(ctx, "a long enough passphrase 2"));
  CHECK_FALSE(service::setup_token_usable(ctx, *token));
  auto twice = service::complete_setup(ctx, *token, "another long passphrase 3",
                                       "another long passphrase 3");
  CHECK_FALSE(twice.used);
  CHECK(service::create_setup_token(ctx).value() == "");  // an admin exists now
  CHECK(env.audit_rows() == std::vector<std::string>{"admin_password_set setup_link"});
}

TEST_CASE("accounts service: sessions expire after 30 idle minutes and rotate at sign-in") {
  test::ServiceEnv env;
  auto& ctx = *env.ctx;
  auto first = service::start_session(ctx, std::nullopt);
  CHECK(first.id.size() == 32);
  CHECK(service::resume_session(ctx, first.id_hash));
  auto second = service::start_session(ctx, first.id_hash);
  CHECK_FALSE(service::resume_session(ctx, first.id_hash));  // replaced
  env.clock.advance(service::kSessionIdleMs);
  CHECK_FALSE(service::resume_session(ctx, second.id_hash));
  auto third = service::start_session(ctx, std::nullopt);
  service::end_session(ctx, third.id_hash);
  CHECK_FALSE(service::resume_session(ctx, third.id_hash));
}
