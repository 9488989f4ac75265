// The typed job kinds: each payload is written and read in one place, and the runner hands a
// handler only a payload that parsed; a malformed or unknown job is dead at once, not retried.
#include <doctest/doctest.h>

#include "jobs/kinds.h"
#include "jobs/runner.h"
#include "store/db.h"
#include "store/jobs.h"
#include "store/migrations.h"
#include "support/test_app.h"
#include "util/clock.h"

using namespace cs;

namespace {
/// A migrated database file, its writer, a manual clock at 1,000,000 ms and a job runner.
struct RunnerOnDisk {
  test::TempDir dir;
  store::Writer writer{migrated(dir.file("k.db"))};
  ManualClock clock{1'000'000};
  jobs::JobRunner runner{writer, clock};

  static std::unique_ptr<SQLite::Database> migrated(const std::string& path) {
    auto db = store::open_connection(path, store::ConnectionRole::Writer);
    REQUIRE(store::migrate_up(*db));
    return db;
  }
};
}  // namespace

TEST_CASE("job kinds: every kind has one stored name, and payloads survive the round trip") {
  for (auto k : {domain::JobKind::ProcessEvent, domain::JobKind::Nudge, domain::JobKind::Incentive,
                 domain::JobKind::WhopCancel}) {
    CHECK(domain::job_kind_from_name(domain::job_kind_name(k)) == k);
  }
  CHECK_FALSE(domain::job_kind_from_name("slow").has_value());

  auto n = jobs::read_payload<jobs::NudgeJob>(
      jobs::write_payload(jobs::NudgeJob{"c1", "m2", {"dm"}, "admin"}));
  REQUIRE(n);
  CHECK(n->case_id == "c1");
  CHECK(n->attempt == "m2");
  CHECK(n->channels == std::vector<std::string>{"dm"});
  CHECK(n->actor == "admin");
  // One job carries a nudge's channels, in order.
  auto both = jobs::read_payload<jobs::NudgeJob>(
      jobs::write_payload(jobs::NudgeJob{"c1", "0", {"push", "dm"}, "system"}));
  REQUIRE(both);
  CHECK(both->channels == std::vector<std::string>{"push", "dm"});
  CHECK(jobs::nudge_job_key("c1", "0") == "nudge:c1:0");
  // A job queued per channel before an upgrade still reads (and runs) as that one channel.
  auto legacy = jobs::read_payload<jobs::NudgeJob>(
      R"({"case_id":"c","attempt":"1","channel":"push","actor":"system"})");
  REQUIRE(legacy);
  CHECK(legacy->channels == std::vector<std::string>{"push"});
  auto e = jobs::read_payload<jobs::ProcessEventJob>(jobs::write_payload(jobs::ProcessEventJob{7}));
  REQUIRE(e);
  CHECK(e->event_id == 7);
  auto w = jobs::read_payload<jobs::WhopCancelJob>(
      jobs::write_payload(jobs::WhopCancelJob{"c1", "mem_1", "immediate"}));
  REQUIRE(w);
  CHECK(w->membership_id == "mem_1");

  CHECK_FALSE(
      jobs::read_payload<jobs::NudgeJob>(R"({"case_id":"c","attempt":"0","channel":"sms"})"));
  CHECK_FALSE(
      jobs::read_payload<jobs::NudgeJob>(R"({"case_id":"c","attempt":"0","channels":["sms"]})"));
  CHECK_FALSE(jobs::read_payload<jobs::NudgeJob>(R"({"case_id":"c","attempt":"0","channels":[]})"));
  CHECK_FALSE(jobs::read_payload<jobs::NudgeJob>(
      R"({"case_id":"c","attempt":"0","channels":["push","push"]})"));
  CHECK_FALSE(
      jobs::read_payload<jobs::NudgeJob>(R"({"case_id":"c","attempt":"0","channels":"push"})"));
  CHECK_FALSE(jobs::read_payload<jobs::ProcessEventJob>(R"({"event_id":"7"})"));
  CHECK_FALSE(jobs::read_payload<jobs::IncentiveJob>("[1]"));
  CHECK_FALSE(jobs::read_payload<jobs::WhopCancelJob>(R"({"membership_id":"m","mode":"later"})"));

  auto job = jobs::make_job(jobs::IncentiveJob{"c9"}, 5, std::string("incentive:c9"), 8);
  CHECK(job.kind == "incentive");
  CHECK(job.max_attempts == 8);
  CHECK(jobs::read_payload<jobs::IncentiveJob>(job.payload)->case_id == "c9");
}

TEST_CASE("job kinds: a malformed payload or an unknown kind is dead without calling a handler") {
  RunnerOnDisk r;
  auto& writer = r.writer;
  auto& runner = r.runner;
  std::vector<std::string> handled;
  runner.on<jobs::IncentiveJob>([&](const store::Job&, const jobs::IncentiveJob& p) {
    handled.push_back(p.case_id);
    return jobs::JobOutcome::success();
  });
  std::vector<int64_t> ids;
  REQUIRE(writer.run([&](SQLite::Database& d) {
    auto enqueue = [&](store::NewJob j) { ids.push_back(*store::enqueue_job(d, j, 1'000'000)); };
    enqueue(jobs::make_job(jobs::IncentiveJob{"good"}, 1'000'000, std::nullopt));
    auto bad = jobs::make_job(jobs::IncentiveJob{"x"}, 1'000'000, std::nullopt);
    bad.payload = R"({"case":"typo"})";
    enqueue(bad);
    auto unknown = bad;
    unknown.kind = "slow";
    enqueue(unknown);
  }));
  CHECK(runner.run_once() == 3);
  CHECK(handled == std::vector<std::string>{"good"});
  REQUIRE(writer.run([&](SQLite::Database& d) {
    CHECK(store::find_job(d, ids[0])->state == "done");
    auto bad = store::find_job(d, ids[1]);
    CHECK(bad->state == "dead");
    CHECK(bad->last_error == "malformed incentive job: no case_id");
    auto unknown = store::find_job(d, ids[2]);
    CHECK(unknown->state == "dead");
    CHECK(unknown->last_error == "no handler for job kind slow");
  }));
}

TEST_CASE("the runner's pending work and its claim share one commit") {
  RunnerOnDisk r;
  auto& writer = r.writer;
  auto& clock = r.clock;
  auto& runner = r.runner;
  uint64_t commits_when_run = 0;
  runner.on<jobs::IncentiveJob>([&](const store::Job&, const jobs::IncentiveJob&) {
    commits_when_run = writer.commits();
    return jobs::JobOutcome::success();
  });
  // The pending work enqueues a job due now (as processing does a case's first nudge), or throws.
  bool fail = false;
  std::vector<bool> done;
  runner.set_pending_work([&] {
    return jobs::PendingPass{
        [&](SQLite::Database& d) {
          if (fail) throw std::runtime_error("disk gone");
          store::enqueue_job(d,
                             jobs::make_job(jobs::IncentiveJob{"c"}, clock.now_ms(), std::nullopt),
                             clock.now_ms());
          return 1;
        },
        [&](bool committed) { done.push_back(committed); }};
  });
  const uint64_t before = writer.commits();
  CHECK(runner.run_once() == 2);  // one item of pending work, one job
  // The job ran after ONE commit: the work's and the claim's.
  CHECK(commits_when_run == before + 1);
  CHECK(done == std::vector<bool>{true});

  // Failing work rolls back with its claim: the pass is told, nothing is taken.
  fail = true;
  CHECK(runner.run_once() == 0);
  CHECK(done == std::vector<bool>{true, false});
}
