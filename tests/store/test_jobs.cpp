// The job queue on a real file: unique keys, leases, retries, dead-letter, admin retry, and
// crash-safety: a worker process killed mid-job leaves the job to be taken again after its lease.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "domain/backoff.h"
#include "jobs/runner.h"
#include "store/db.h"
#include "store/jobs.h"
#include "store/migrations.h"
#include "support/test_app.h"
#include "util/clock.h"

using namespace cs;

namespace {
std::unique_ptr<SQLite::Database> fresh_db(const test::TempDir& dir) {
  auto db = store::open_connection(dir.file("j.db"), store::ConnectionRole::Writer);
  REQUIRE(store::migrate_up(*db));
  return db;
}
store::NewJob job(const std::string& kind, std::optional<std::string> key = std::nullopt,
                  int max_attempts = 3) {
  store::NewJob j;
  j.kind = kind;
  j.unique_key = std::move(key);
  j.run_at = 1000;
  j.max_attempts = max_attempts;
  return j;
}
}  // namespace

TEST_CASE("unique keys stop duplicates at enqueue") {
  test::TempDir dir;
  auto db = fresh_db(dir);
  CHECK(store::enqueue_job(*db, job("nudge", "nudge:case1:0:push"), 1000).has_value());
  CHECK_FALSE(store::enqueue_job(*db, job("nudge", "nudge:case1:0:push"), 1000).has_value());
  CHECK(store::enqueue_job(*db, job("nudge", "nudge:case1:0:dm"), 1000).has_value());
  CHECK(store::enqueue_job(*db, job("process_event"), 1000).has_value());
  CHECK(store::enqueue_job(*db, job("process_event"), 1000).has_value());  // no key: always
  CHECK(store::count_jobs_by_state(*db)["queued"] == 4);
}

TEST_CASE("jobs are not due before run_at; a claim leases them") {
  test::TempDir dir;
  auto db = fresh_db(dir);
  store::enqueue_job(*db, job("a"), 1000);
  CHECK(store::claim_jobs(*db, 999, 100, 10).empty());
  auto claimed = store::claim_jobs(*db, 1000, 100, 10);
  REQUIRE(claimed.size() == 1);
  CHECK(claimed[0].state == "running");
  CHECK(claimed[0].attempts == 1);
  CHECK(claimed[0].lease_until == 1100);
  // Leased: nobody else gets it before the lease ends.
  CHECK(store::claim_jobs(*db, 1099, 100, 10).empty());
  // Lease over (the worker died): taken again, the attempt counted.
  auto again = store::claim_jobs(*db, 1100, 100, 10);
  REQUIRE(again.size() == 1);
  CHECK(again[0].attempts == 2);
  store::complete_job(*db, again[0].id, 1150);
  CHECK(store::claim_jobs(*db, 99999, 100, 10).empty());
  CHECK(store::find_job(*db, again[0].id)->state == "done");
}

TEST_CASE("failures back off, then the job is dead, and an admin retry revives it") {
  test::TempDir dir;
  auto db = fresh_db(dir);
  auto id = *store::enqueue_job(*db, job("a", std::nullopt, 2), 1000);
  auto c1 = store::claim_jobs(*db, 1000, 100, 10);
  REQUIRE(c1.size() == 1);
  CHECK(store::fail_job(*db, id, "503 from Whop", 1010, 5000) == "failed");
  CHECK(store::claim_jobs(*db, 4999, 100, 10).empty());
  auto c2 = store::claim_jobs(*db, 5000, 100, 10);
  REQUIRE(c2.size() == 1);
  CHECK(store::fail_job(*db, id, "503 again", 5010, 9000) == "dead");  // attempts 2 of 2
  auto dead = store::find_job(*db, id);
  CHECK(dead->state == "dead");
  CHECK(dead->last_error == "503 again");
  CHECK(store::claim_jobs(*db, 999999, 100, 10).empty());
  CHECK(store::retry_job(*db, id, 10000));
  auto revived = store::claim_jobs(*db, 10000, 100, 10);
  REQUIRE(revived.size() == 1);
  CHECK(revived[0].attempts == 1);
}

TEST_CASE("a permanent failure is dead at once") {
  test::TempDir dir;
  auto db = fresh_db(dir);
  auto id = *store::enqueue_job(*db, job("a", std::nullopt, 10), 1000);
  store::claim_jobs(*db, 1000, 100, 10);
  CHECK(store::fail_job(*db, id, "404 membership not found", 1001, std::nullopt) == "dead");
}

TEST_CASE("backoff grows exponentially with jitter, within bounds") {
  for (int attempt = 1; attempt <= 12; ++attempt) {
    int64_t full = std::min<int64_t>(2000LL << (attempt - 1), 3600 * 1000);
    CHECK(domain::retry_delay_ms(attempt, 0.0) == full / 2);
    CHECK(domain::retry_delay_ms(attempt, 0.999) <= full);
    CHECK(domain::retry_delay_ms(attempt, 0.999) >= full / 2);
  }
  CHECK(domain::retry_delay_ms(40, 0.5) <= 3600 * 1000);
}

TEST_CASE("crash safety: a worker process SIGKILLed while holding a job loses nothing") {
  test::TempDir dir;
  std::string path = dir.file("j.db");
  int64_t id = 0;
  {
    auto db = store::open_connection(path, store::ConnectionRole::Writer);
    REQUIRE(store::migrate_up(*db));
    id = *store::enqueue_job(*db, job("grant", "grant:case1"), 1000);
  }
  int ready[2];
  REQUIRE(pipe(ready) == 0);
  pid_t pid = fork();
  if (pid == 0) {
    // The worker: claims the job, says so, and then hangs "in the middle of the call".
    auto db = store::open_connection(path, store::ConnectionRole::Writer);
    auto claimed = store::claim_jobs(*db, 2000, 60000, 1);
    char c = claimed.size() == 1 ? 'y' : 'n';
    if (write(ready[1], &c, 1) != 1) _exit(2);
    for (;;) pause();
  }
  char c = 0;
  REQUIRE(read(ready[0], &c, 1) == 1);
  REQUIRE(c == 'y');
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);

  auto db = store::open_connection(path, store::ConnectionRole::Writer);
  CHECK(store::quick_check(*db));
  auto j = store::find_job(*db, id);
  REQUIRE(j);
  CHECK(j->state == "running");
  CHECK(store::claim_jobs(*db, 2000 + 59999, 60000, 10).empty());  // lease still held
  auto retaken = store::claim_jobs(*db, 2000 + 60000, 60000, 10);
  REQUIRE(retaken.size() == 1);
  CHECK(retaken[0].id == id);
  CHECK(retaken[0].attempts == 2);
  // The unique key still holds while the job lives on.
  CHECK_FALSE(store::enqueue_job(*db, job("grant", "grant:case1"), 3000).has_value());
}

TEST_CASE("a runner renews the leases it holds: a batch that outlasts a lease is never run twice") {
  ManualClock clock(1'000'000);
  test::TestApp::Options o;
  o.clock = &clock;
  o.configure = [](app::Config& c) { c.job_lease_s = 10; };
  test::TestApp app(o);
  auto& runner = app.app().runner();
  const int64_t lease = 10'000;
  auto enqueue = [&](const std::string& key) {
    store::NewJob j = job("incentive", key);
    j.payload = jobs::write_payload(jobs::IncentiveJob{"case-" + key});
    j.run_at = clock.now_ms();
    auto id = app.app().writer().run_value<std::optional<int64_t>>(
        [&](SQLite::Database& db) { return store::enqueue_job(db, j, clock.now_ms()); });
    REQUIRE(id);
    REQUIRE(id->has_value());
  };
  // What another worker (another thread or process) would take right now.
  auto steal = [&] {
    auto taken = app.app().writer().run_value<std::vector<store::Job>>(
        [&](SQLite::Database& db) { return store::claim_jobs(db, clock.now_ms(), lease, 10); });
    REQUIRE(taken);
    return *taken;
  };

  SUBCASE("renewed: the second job of the batch is still held when it runs") {
    enqueue("slow:a");
    enqueue("slow:b");
    std::vector<std::string> ran;
    std::vector<store::Job> stolen;
    runner.on<jobs::IncentiveJob>([&](const store::Job& j, const jobs::IncentiveJob&) {
      ran.push_back(*j.unique_key);
      if (ran.size() == 1) {  // the first job takes almost two leases, the keeper renewing
        clock.advance(lease * 9 / 10);
        CHECK(runner.renew_leases() == 2);
        clock.advance(lease * 9 / 10);
        stolen = steal();
      }
      return jobs::JobOutcome::success();
    });
    CHECK(runner.run_once() == 2);
    CHECK(stolen.empty());
    std::sort(ran.begin(), ran.end());
    CHECK(ran == std::vector<std::string>{"slow:a", "slow:b"});
    auto counts = app.app().writer().run_value<std::map<std::string, int64_t>>(
        [](SQLite::Database& db) { return store::count_jobs_by_state(db); });
    REQUIRE(counts);
    CHECK((*counts)["done"] == 2);
  }

  SUBCASE("not renewed in time: a job taken over is left to the worker that took it") {
    enqueue("slow:a");
    enqueue("slow:b");
    std::vector<std::string> ran;
    std::string other;
    runner.on<jobs::IncentiveJob>([&](const store::Job& j, const jobs::IncentiveJob&) {
      ran.push_back(*j.unique_key);
      if (ran.size() == 1) {
        clock.advance(lease * 3 / 2);  // no renewal: both leases ran out
        // Another worker claims the one still waiting in this batch.
        other = *j.unique_key == "slow:a" ? "slow:b" : "slow:a";
        auto changed = app.app().writer().run_value<int>([&](SQLite::Database& db) {
          SQLite::Statement q(db,
                              "UPDATE jobs SET attempts = attempts + 1, run_at = ?1, "
                              "lease_until = ?1 WHERE unique_key = ?2");
          q.bind(1, clock.now_ms() + lease);
          q.bind(2, other);
          return q.exec();
        });
        REQUIRE(changed);
        REQUIRE(*changed == 1);
        CHECK(runner.renew_leases() == 1);  // its own; the other is reported lost
      }
      return jobs::JobOutcome::success();
    });
    runner.run_once();
    REQUIRE(ran.size() == 1);
    auto taken = app.app().writer().run_value<std::vector<store::Job>>(
        [&](SQLite::Database& db) { return store::list_jobs(db, "running", 10); });
    REQUIRE(taken);
    REQUIRE(taken->size() == 1);
    CHECK(*(*taken)[0].unique_key == other);  // still the other worker's, not run nor finished here
    CHECK((*taken)[0].attempts == 2);
  }
}
