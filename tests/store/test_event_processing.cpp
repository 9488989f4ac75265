// Events are processed from the events table (no job row per event): the processor takes the
// pending rows oldest first, marks each in the same transaction as its effects (exactly once, also
// across a restart), and an upgrade hands the process_event jobs of an older version over to it.
#include <doctest/doctest.h>

#include <fstream>
#include <functional>
#include <sstream>

#include <sqlite3.h>
#include <zlib.h>

#include <nlohmann/json.hpp>

#include "jobs/kinds.h"
#include "jobs/processor.h"
#include "store/cases.h"
#include "store/db.h"
#include "store/engine.h"
#include "store/events.h"
#include "store/jobs.h"
#include "store/migrations.h"
#include "store/payload_dictionary.h"
#include "support/test_app.h"
#include "util/compress.h"
#include "util/crypto.h"

using namespace cs;

namespace {

constexpr int64_t kT0 = 1767225600000;  // 2026-01-01

store::NewEvent failed_payment(const std::string& id, const std::string& membership) {
  store::NewEvent e;
  e.webhook_id = id;
  e.type = "payment.failed";
  e.event_time = kT0;
  e.received_at = kT0;
  e.membership_id = membership;
  e.payment_id = "pay_" + id;
  e.amount_cents = 1000;
  e.currency = "usd";
  return e;
}

std::string state_of(SQLite::Database& db, int64_t id) {
  return store::find_event(db, id)->process_state;
}

struct Fixture {
  test::TempDir dir;
  std::unique_ptr<SQLite::Database> db;
  crypto::Keyring keys{{crypto::Key{1, std::string(32, 'k')}}};
  domain::RecoverySettings settings;
  Fixture() {
    db = store::open_connection(dir.file("e.db"), store::ConnectionRole::Writer);
    REQUIRE(store::migrate_up(*db));
  }
};

}  // namespace

TEST_CASE("a stored event waits pending, with no job row, until the processor takes it") {
  Fixture f;
  auto id = jobs::insert_event_for_processing(*f.db, failed_payment("msg_1", "mem_A"), kT0);
  REQUIRE(id);
  CHECK(store::list_jobs(*f.db, "", 10).empty());
  CHECK(state_of(*f.db, *id) == "pending");
  CHECK(store::list_pending_events(*f.db, 10) == std::vector<int64_t>{*id});

  auto out = jobs::process_pending_events(*f.db, f.keys, f.settings, kT0, 10);
  CHECK(out.events == 1);
  CHECK(out.opened == 1);
  CHECK(state_of(*f.db, *id) == "processed");
  CHECK(store::list_cases_for_membership(*f.db, "mem_A").size() == 1);
  // Taken once: the next pass finds nothing.
  CHECK(store::list_pending_events(*f.db, 10).empty());
  CHECK(jobs::process_pending_events(*f.db, f.keys, f.settings, kT0, 10).events == 0);
}

TEST_CASE("the processor takes pending events oldest first, at most the batch") {
  Fixture f;
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(*store::save_event(
        *f.db, failed_payment("msg_" + std::to_string(i), "mem_" + std::to_string(i))));
  }
  CHECK(jobs::process_pending_events(*f.db, f.keys, f.settings, kT0, 2).events == 2);
  CHECK(state_of(*f.db, ids[0]) == "processed");
  CHECK(state_of(*f.db, ids[1]) == "processed");
  CHECK(state_of(*f.db, ids[2]) == "pending");
  CHECK(store::list_pending_events(*f.db, 10) == std::vector<int64_t>{ids[2], ids[3], ids[4]});
  CHECK(jobs::process_pending_events(*f.db, f.keys, f.settings, kT0, 10).events == 3);
  CHECK(store::list_pending_events(*f.db, 10).empty());
}

TEST_CASE("a case opened with its first reminder due now has its nudge job in the same pass") {
  // T+0: the worker that processed the event claims the nudge next, then the free days, with no
  // scheduler tick.
  Fixture f;
  REQUIRE(f.settings.incentive_days > 0);
  auto id = *store::save_event(*f.db, failed_payment("msg_1", "mem_A"));
  auto out = jobs::process_pending_events(*f.db, f.keys, f.settings, kT0 + 1000, 10);
  CHECK(out.opened == 1);
  CHECK(out.nudges == 1);
  CHECK(state_of(*f.db, id) == "processed");
  const auto case_id = store::list_cases_for_membership(*f.db, "mem_A").at(0).id;
  auto jobs = store::claim_jobs(*f.db, kT0 + 1000, 60000, 10);  // in the order a worker runs them
  REQUIRE(jobs.size() == 2);
  CHECK(jobs[0].kind == "nudge");
  CHECK(jobs[0].unique_key == jobs::nudge_job_key(case_id, "0"));
  CHECK(nlohmann::json::parse(jobs[0].payload)["channels"] ==
        nlohmann::json::array({"push", "dm"}));
  CHECK(jobs[1].kind == "incentive");
  CHECK(jobs[1].unique_key == "incentive:" + case_id);
  CHECK(store::find_incentive(*f.db, case_id)->state == domain::IncentiveState::Queued);
  // The schedule moved on to the day-2 reminder and the free days are queued: a tick now
  // enqueues nothing more.
  CHECK(store::find_due_nudges(*f.db, kT0 + 1000, 10).empty());
  CHECK(store::find_pending_incentives(*f.db, 10).empty());

  // Outbound notifications switched off: the case opens, no nudge job.
  Fixture off;
  off.settings.notifications_enabled = false;
  store::save_event(*off.db, failed_payment("msg_2", "mem_B"));
  auto quiet = jobs::process_pending_events(*off.db, off.keys, off.settings, kT0 + 1000, 10);
  CHECK(quiet.opened == 1);
  CHECK(quiet.nudges == 0);
  auto left = store::list_jobs(*off.db, "queued", 10);  // only the free days
  REQUIRE(left.size() == 1);
  CHECK(left[0].kind == "incentive");

  // The scheduler switched off (no nudges, incentives or expiries): the case opens with nothing
  // queued, and its reminder and free days wait for the scheduler to be switched on.
  Fixture stopped;
  stopped.settings.scheduler_enabled = false;
  store::save_event(*stopped.db, failed_payment("msg_3", "mem_C"));
  auto held =
      jobs::process_pending_events(*stopped.db, stopped.keys, stopped.settings, kT0 + 1000, 10);
  CHECK(held.opened == 1);
  CHECK(held.nudges == 0);
  CHECK(store::list_jobs(*stopped.db, "queued", 10).empty());
  CHECK(store::find_due_nudges(*stopped.db, kT0 + 1000, 10).size() == 1);
  CHECK(store::find_pending_incentives(*stopped.db, 10).size() == 1);
}

TEST_CASE("a processing pass ends early, after at least one event, when a webhook waits") {
  Fixture f;
  std::vector<int64_t> ids;
  for (int i = 0; i < 4; ++i) {
    ids.push_back(*store::save_event(
        *f.db, failed_payment("msg_" + std::to_string(i), "mem_" + std::to_string(i))));
  }
  int asked = 0;
  auto waiting = [&] {
    ++asked;
    return true;
  };
  auto out = jobs::process_pending_events(*f.db, f.keys, f.settings, kT0, 8, waiting);
  CHECK(out.events == 1);  // one event per pass even while inserts keep arriving
  CHECK(out.yielded);
  CHECK(asked == 1);
  CHECK(state_of(*f.db, ids[0]) == "processed");
  CHECK(state_of(*f.db, ids[1]) == "pending");
  // Nobody waiting: the rest in one pass, and a pass that took all it found did not yield.
  out = jobs::process_pending_events(*f.db, f.keys, f.settings, kT0, 8, [] { return false; });
  CHECK(out.events == 3);
  CHECK_FALSE(out.yielded);
  CHECK(store::list_pending_events(*f.db, 10).empty());
}

TEST_CASE("a rolled-back processing transaction leaves the event pending for the next pass") {
  // A crash (or a failed commit) between storing and processing: nothing of the processing
  // stays, and the event is still pending, so it is processed after the restart.
  Fixture f;
  auto id = *store::save_event(*f.db, failed_payment("msg_1", "mem_A"));
  f.db->exec("BEGIN");
  CHECK(jobs::process_pending_events(*f.db, f.keys, f.settings, kT0, 10).events == 1);
  f.db->exec("ROLLBACK");
  CHECK(state_of(*f.db, id) == "pending");
  CHECK(store::list_cases_for_membership(*f.db, "mem_A").empty());
  CHECK(jobs::process_pending_events(*f.db, f.keys, f.settings, kT0, 10).events == 1);
  CHECK(state_of(*f.db, id) == "processed");
  CHECK(store::list_cases_for_membership(*f.db, "mem_A").size() == 1);
}

TEST_CASE("an event whose processing fails is rolled back alone and marked failed") {
  Fixture f;
  auto good = *store::save_event(*f.db, failed_payment("msg_1", "mem_A"));
  auto bad = *store::save_event(*f.db, failed_payment("msg_2", "mem_B"));
  auto later = *store::save_event(*f.db, failed_payment("msg_3", "mem_C"));
  // Cases of mem_B cannot be written (a constraint error in the middle of its processing).
  f.db->exec(
      "CREATE TRIGGER refuse_mem_b BEFORE INSERT ON cases WHEN NEW.membership_id = 'mem_B' "
      "BEGIN SELECT RAISE(ABORT, 'refused by test'); END");
  f.db->exec("BEGIN");
  CHECK(jobs::process_pending_events(*f.db, f.keys, f.settings, kT0, 10).events == 3);
  f.db->exec("COMMIT");
  CHECK(state_of(*f.db, good) == "processed");
  CHECK(state_of(*f.db, later) == "processed");
  auto row = store::find_event(*f.db, bad);
  CHECK(row->process_state == "failed");
  CHECK(row->process_note.find("refused by test") != std::string::npos);
  CHECK(store::list_cases_for_membership(*f.db, "mem_B").empty());
  CHECK(store::list_cases_for_membership(*f.db, "mem_C").size() == 1);
}

TEST_CASE("upgrade: process_event jobs of pending events go to the processor, replays stay") {
  test::TempDir dir;
  auto db = store::open_connection(dir.file("u.db"), store::ConnectionRole::Writer);
  REQUIRE(store::migrate_up(*db));
  const int latest = store::schema_version(*db);
  REQUIRE(store::migrate_down(*db, latest - 7));  // the schema of the version before
  REQUIRE(store::schema_version(*db) == 7);
  // What that version wrote: an event with its process_event job, queued, and a processed event
  // with a replay queued by the admin.
  auto pending = *store::save_event(*db, failed_payment("msg_1", "mem_A"));
  store::enqueue_job(*db, jobs::make_job(jobs::ProcessEventJob{pending}, kT0, std::nullopt), kT0);
  auto done = *store::save_event(*db, failed_payment("msg_2", "mem_B"));
  store::mark_event(*db, done, "processed", "", kT0);
  REQUIRE(jobs::queue_replay(*db, done, kT0));

  REQUIRE(store::migrate_up(*db));
  REQUIRE(store::verify_schema(*db));
  auto left = store::list_jobs(*db, "", 10);
  REQUIRE(left.size() == 1);  // the replay
  CHECK(left[0].unique_key.value_or("").starts_with("replay:"));
  CHECK(store::list_pending_events(*db, 10) == std::vector<int64_t>{pending});

  // And back down: the pending event gets its job again, so the older version processes it.
  REQUIRE(store::migrate_down(*db, store::schema_version(*db) - 7));
  int queued = 0;
  for (const auto& j : store::list_jobs(*db, "queued", 10)) {
    if (!j.unique_key && j.payload == jobs::write_payload(jobs::ProcessEventJob{pending})) ++queued;
  }
  CHECK(queued == 1);
}

TEST_CASE("stored payloads: deflated with the Whop dictionary, and the older format still opens") {
  crypto::Keyring keys({crypto::Key{1, std::string(32, 'k')}});
  std::ifstream in(std::string(CS_FIXTURES_DIR) + "/whop/v1_payment.failed.json");
  std::stringstream text;
  text << in.rdbuf();
  const std::string body = nlohmann::json::parse(text.str()).dump();
  const std::string sealed = store::seal_event_payload(keys, body, "msg_1");
  auto opened = store::open_event_payload(keys, sealed, "msg_1");
  REQUIRE(opened);
  CHECK(*opened == body);
  // Smaller than plain deflate (the format before schema 8) by at least a third.
  const std::string plain_z = "z" + compress::deflate(body);
  CHECK(sealed.size() * 3 < (plain_z.size() + 28) * 2);
  // A payload stored by an earlier version ("z": plain deflate) still opens.
  const std::string old = crypto::seal(keys.current(), plain_z, store::event_payload_aad("msg_1"));
  auto reopened = store::open_event_payload(keys, old, "msg_1");
  REQUIRE(reopened);
  CHECK(*reopened == body);
  // Bound to its row: another webhook-id does not open it.
  CHECK_FALSE(store::open_event_payload(keys, sealed, "msg_2"));
}

TEST_CASE("stored payloads: bodies longer than the compression window, and rows written before") {
  crypto::Keyring keys({crypto::Key{1, std::string(32, 'k')}});
  // 200 KB of varied text, far beyond the 8 KB window the payloads are deflated with.
  nlohmann::json big = {{"type", "payment.failed"}, {"data", nlohmann::json::array()}};
  for (int i = 0; i < 4000; ++i) {
    big["data"].push_back({{"id", "pay_" + std::to_string(i * 7919)}, {"n", i}});
  }
  const std::string body = big.dump();
  REQUIRE(body.size() > 100000);
  auto opened = store::open_event_payload(keys, store::seal_event_payload(keys, body, "m"), "m");
  REQUIRE(opened);
  CHECK(*opened == body);

  // A row sealed with zlib's defaults (level 6, 32 KB window), as "d" payloads were written
  // before the smaller window, still opens.
  z_stream zs{};
  REQUIRE(deflateInit(&zs, 6) == Z_OK);
  REQUIRE(deflateSetDictionary(&zs,
                               reinterpret_cast<const Bytef*>(store::kPayloadDictionaryV1.data()),
                               static_cast<uInt>(store::kPayloadDictionaryV1.size())) == Z_OK);
  std::string z(deflateBound(&zs, static_cast<uLong>(body.size())), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
  zs.avail_in = static_cast<uInt>(body.size());
  zs.next_out = reinterpret_cast<Bytef*>(z.data());
  zs.avail_out = static_cast<uInt>(z.size());
  REQUIRE(::deflate(&zs, Z_FINISH) == Z_STREAM_END);
  z.resize(z.size() - zs.avail_out);
  deflateEnd(&zs);
  const std::string old = crypto::seal(keys.current(), "d" + z, store::event_payload_aad("m"));
  auto reopened = store::open_event_payload(keys, old, "m");
  REQUIRE(reopened);
  CHECK(*reopened == body);
}

TEST_CASE(
    "per-membership lookups read that membership's rows, not every open case or pending event") {
  test::TempDir dir;
  auto db = store::open_connection(dir.file("q.db"), store::ConnectionRole::Writer);
  REQUIRE(store::migrate_up(*db));
  // 3,000 open cases and 3,000 pending failures, one per membership.
  db->exec("BEGIN");
  for (int i = 0; i < 3000; ++i) {
    const std::string m = "mem_" + std::to_string(i);
    SQLite::Statement c(*db,
                        "INSERT INTO cases (id, membership_id, user_id, product_id, status, "
                        "first_failure_at, last_failure_at, amount_due_cents, currency, "
                        "created_at, updated_at) VALUES (?, ?, 'user', 'prod', 'open', ?, ?, 100, "
                        "'usd', 1, 1)");
    c.bind(1, "case_" + std::to_string(i));
    c.bind(2, m);
    c.bind(3, 1000 + i);
    c.bind(4, 1000 + i);
    c.exec();
    SQLite::Statement e(*db,
                        "INSERT INTO events (webhook_id, type, event_time, received_at, "
                        "membership_id) VALUES (?, 'payment.failed', ?, ?, ?)");
    e.bind(1, "msg_" + std::to_string(i));
    e.bind(2, 1000 + i);
    e.bind(3, 1000 + i);
    e.bind(4, m);
    e.exec();
  }
  db->exec("COMMIT");
  // The virtual machine's steps a call takes: a lookup through the membership's index takes a
  // few dozen; reading every open case or pending event takes tens of thousands.
  auto steps = [&](const std::function<void()>& fn) {
    static int64_t n = 0;
    n = 0;
    ::sqlite3_progress_handler(
        db->getHandle(), 1, [](void*) { return ++n, 0; }, nullptr);
    fn();
    ::sqlite3_progress_handler(db->getHandle(), 0, nullptr, nullptr);
    return n;
  };
  bool open = false, pending = false;
  CHECK(steps([&] { open = store::has_open_case(*db, "mem_2500"); }) < 300);
  CHECK(open);
  CHECK(steps([&] { pending = store::has_pending_failure(*db, "mem_2500"); }) < 300);
  CHECK(pending);
  CHECK_FALSE(store::has_open_case(*db, "mem_none"));
  std::vector<int64_t> first;
  CHECK(steps([&] { first = store::list_pending_events(*db, 8); }) < 300);
  CHECK(first == std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8});
}

TEST_CASE("a case update writes what changed, and the row reads back as if saved in full") {
  Fixture f;
  store::CaseRow a;
  a.id = std::string(32, 'c');
  a.membership_id = "mem_A";
  a.user_id = "user_A";
  a.first_failure_at = a.last_failure_at = kT0;
  a.amount_due_cents = 1000;
  a.currency = "usd";
  a.created_at = a.updated_at = kT0;
  store::save_case(*f.db, a);

  store::CaseRow b = a;
  b.username = "alice";
  b.status = domain::CaseStatus::Recovered;
  b.resolution = domain::Resolution::Payment;
  b.last_failure_at = kT0 + 1000;
  b.failures = 2;
  b.resolved_at = kT0 + 2000;
  b.recovered_cents = 1000;
  b.recovery_payment_id = "pay_B";
  b.updated_at = kT0 + 3000;
  store::update_case(*f.db, a, b);
  store::CaseRow c = b;  // nothing but the time changes
  c.updated_at = kT0 + 4000;
  store::update_case(*f.db, b, c);

  auto got = store::find_case(*f.db, a.id);
  REQUIRE(got);
  CHECK(got->username == "alice");
  CHECK(got->user_id == "user_A");
  CHECK(got->status == domain::CaseStatus::Recovered);
  CHECK(got->resolution == domain::Resolution::Payment);
  CHECK(got->first_failure_at == kT0);
  CHECK(got->last_failure_at == kT0 + 1000);
  CHECK(got->failures == 2);
  CHECK(got->amount_due_cents == 1000);
  CHECK(got->resolved_at == kT0 + 2000);
  CHECK(got->recovered_cents == 1000);
  CHECK(got->recovery_payment_id == "pay_B");
  CHECK_FALSE(got->cancelled_at);
  CHECK(got->updated_at == kT0 + 4000);
  // The rollup moved with the status: one recovered case, none open.
  SQLite::Statement q(*f.db, "SELECT sum(open_cases), sum(recovered) FROM rollup_failures");
  REQUIRE(q.executeStep());
  CHECK(q.getColumn(0).getInt64() == 0);
  CHECK(q.getColumn(1).getInt64() == 1);
}
