// Crash safety of the recovery engine against the real binary: SIGKILL the server while a Whop
// call is in flight (the fake Whop has applied the call and is slow to answer), restart it on the
// same database, and still exactly one free-days grant and no duplicate nudge.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <SQLiteCpp/SQLiteCpp.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "domain/time.h"
#include "support/fake_whop.h"
#include "support/server_process.h"
#include "support/test_app.h"
#include "support/wait.h"

using namespace cs;
using nlohmann::json;

namespace {

constexpr int64_t kDay = 86400000;
constexpr const char* kMembership = "mem_Zx12Cv34Bn56Ml";
constexpr const char* kApiKey = "key_e2e";

using test::wait_for;
int64_t now_ms() {
  return test::wall_now_ms();
}

using test::ServerProcess;
using test::tail;

/// Reads the server's database (read-only, while it runs).
struct DbView {
  std::string path;

  std::string scalar(const std::string& sql, const std::string& arg = "") const {
    try {
      SQLite::Database db(path, SQLite::OPEN_READONLY);
      db.setBusyTimeout(5000);
      SQLite::Statement q(db, sql);
      if (!arg.empty()) q.bind(1, arg);
      if (!q.executeStep() || q.getColumn(0).isNull()) return "";
      return q.getColumn(0).getString();
    } catch (const std::exception&) {
      return "";  // not created yet
    }
  }
  std::string incentive_state() const {
    return scalar("SELECT incentive_state FROM cases WHERE membership_id = ?", kMembership);
  }
  std::string send_state(const std::string& attempt, const std::string& channel) const {
    return scalar("SELECT state FROM nudge_sends WHERE attempt = '" + attempt +
                      "' AND channel = '" + channel +
                      "' AND case_id = (SELECT id FROM cases WHERE membership_id = ?)",
                  kMembership);
  }
  /// Jobs not finished (anything but done/dead).
  std::string unfinished_jobs() const {
    return scalar("SELECT count(*) FROM jobs WHERE state NOT IN ('done', 'dead')");
  }
};

/// A fake Whop, a database directory and the server wired to them.
struct Rig {
  test::FakeWhop whop{test::kTestSecret, kApiKey};
  test::TempDir dir;
  DbView db{dir.file("cs.db")};
  ServerProcess server{dir.file("cs.db"),
                       dir.file("server.log"),
                       {"CHURN_SAVER_WHOP_WEBHOOK_SECRET=" + std::string(test::kTestSecret),
                        "CHURN_SAVER_WHOP_API_BASE=" + whop.api_base(),
                        "CHURN_SAVER_WHOP_API_KEY=" + std::string(kApiKey),
                        "CHURN_SAVER_WHOP_COMPANY_ID=biz_Qw12Er34Ty56Ui",
                        "CHURN_SAVER_WHOP_EXPERIENCE_ID=exp_E2e123",
                        "CHURN_SAVER_PUBLIC_URL=https://recover.example.com",
                        "CHURN_SAVER_JOB_LEASE=1", "CHURN_SAVER_SCHEDULER_INTERVAL=0.05"}};

  Rig() {
    ::signal(SIGPIPE, SIG_IGN);
    int64_t now = now_ms();
    whop.put_membership(
        {{"id", kMembership},
         {"status", "past_due"},
         {"manage_url", "https://whop.com/billing/manage/" + std::string(kMembership)},
         {"renewal_period_end", domain::format_iso8601_ms(now + 3 * kDay)},
         {"updated_at", domain::format_iso8601_ms(now)},
         {"user", {{"id", "user_Qa12Ws34Ed56R"}, {"username", "johndoe42"}}},
         {"company", {{"id", "biz_Qw12Er34Ty56Ui"}}}});
  }

  void start() {
    server.start();
    REQUIRE_MESSAGE(server.wait_ready("/healthz"), tail(server.log()));
    whop.set_webhook_target(server.webhook_url());
  }

  void kill() {
    int status = server.signal_and_reap(SIGKILL);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
  }

  int deliver_failure() {
    test::FakeWhop::PaymentSpec spec;
    spec.time_ms = now_ms();
    return whop.deliver(test::FakeWhop::payment_event("payment.failed", spec)).status;
  }

  size_t calls(const std::string& path) { return whop.calls("POST", path).size(); }
  size_t free_day_calls() {
    return calls("/api/v1/memberships/" + std::string(kMembership) + "/add_free_days");
  }
  size_t pushes() { return calls("/api/v1/notifications"); }
  size_t dms() { return calls("/api/v1/messages"); }
};

}  // namespace

TEST_CASE("SIGKILL inside add_free_days: after restart one grant and no duplicate nudge") {
  Rig rig;
  // add_free_days takes effect at once, then the answer is held back for 3 s.
  test::Fault slow;
  slow.method = "POST";
  slow.path_prefix = "/api/v1/memberships/" + std::string(kMembership) + "/add_free_days";
  slow.delay_ms = 3000;
  slow.apply_effect = true;
  rig.whop.inject(slow);
  rig.start();
  REQUIRE(rig.deliver_failure() == 200);

  // Kill the server while the fake is inside add_free_days. The T+0 nudge was queued ahead of
  // the free days in the same transaction, so its push and DM have gone out by then.
  REQUIRE_MESSAGE(wait_for([&] { return rig.free_day_calls() == 1; }), tail(rig.server.log()));
  CHECK(rig.pushes() == 1);
  CHECK(rig.dms() == 1);
  rig.kill();
  CHECK(rig.whop.free_day_grants(kMembership) == std::vector<int>{3});
  CHECK(rig.db.incentive_state() == "granting");  // intent recorded before the call

  rig.start();
  REQUIRE_MESSAGE(wait_for([&] { return rig.db.incentive_state() == "granted"; }),
                  "incentive state " << rig.db.incentive_state() << "\n"
                                     << tail(rig.server.log()));
  REQUIRE_MESSAGE(wait_for([&] { return rig.db.unfinished_jobs() == "0"; }),
                  tail(rig.server.log()));

  // The restarted server read the membership back instead of granting again.
  CHECK(rig.free_day_calls() == 1);
  CHECK(rig.whop.free_day_grants(kMembership) == std::vector<int>{3});
  CHECK(rig.db.scalar("SELECT count(*) FROM recovery_actions WHERE type = 'incentive_granted' "
                      "AND metadata LIKE '%read_back%'") == "1");
  // One T+0 push and one DM, no duplicates.
  CHECK(rig.pushes() == 1);
  CHECK(rig.dms() == 1);
  CHECK(rig.db.send_state("0", "push") == "sent");
  CHECK(rig.db.send_state("0", "dm") == "sent");
  CHECK(rig.db.scalar("SELECT count(*) FROM cases") == "1");
}

TEST_CASE("SIGKILL inside a push: after restart the push is never sent again") {
  Rig rig;
  test::Fault slow;
  slow.method = "POST";
  slow.path_prefix = "/api/v1/notifications";
  slow.delay_ms = 3000;
  slow.apply_effect = true;
  rig.whop.inject(slow);
  rig.start();
  REQUIRE(rig.deliver_failure() == 200);

  REQUIRE_MESSAGE(wait_for([&] { return rig.pushes() == 1; }), tail(rig.server.log()));
  rig.kill();
  CHECK(rig.db.send_state("0", "push") == "sending");  // intent recorded before the call

  rig.start();
  REQUIRE_MESSAGE(wait_for([&] {
                    return rig.db.unfinished_jobs() == "0" && rig.db.incentive_state() == "granted";
                  }),
                  tail(rig.server.log()));
  // The push may have reached the member: it is recorded as unknown and not repeated.
  CHECK(rig.pushes() == 1);
  CHECK(rig.db.send_state("0", "push") == "unknown");
  CHECK(rig.db.scalar("SELECT count(*) FROM recovery_actions WHERE type = 'nudge_unknown'") == "1");
  CHECK(rig.dms() == 1);
  CHECK(rig.db.send_state("0", "dm") == "sent");
  CHECK(rig.whop.free_day_grants(kMembership) == std::vector<int>{3});
  CHECK(rig.free_day_calls() == 1);
}

TEST_CASE("SIGKILL between a nudge's channels: after restart neither channel is sent again") {
  // One job carries the T+0 push and DM. The push goes out; the DM's call reaches Whop (and takes
  // effect), and the server dies before the answer. The restarted server runs the job again:
  // the push is settled (sent), the DM may have been delivered (unknown): nothing is resent.
  Rig rig;
  test::Fault slow;
  slow.method = "POST";
  slow.path_prefix = "/api/v1/messages";
  slow.delay_ms = 3000;
  slow.apply_effect = true;
  rig.whop.inject(slow);
  rig.start();
  REQUIRE(rig.deliver_failure() == 200);

  REQUIRE_MESSAGE(wait_for([&] { return rig.dms() == 1; }), tail(rig.server.log()));
  rig.kill();
  CHECK(rig.pushes() == 1);
  CHECK(rig.db.send_state("0", "push") == "sent");
  CHECK(rig.db.send_state("0", "dm") == "sending");
  CHECK(rig.db.scalar("SELECT count(*) FROM jobs WHERE kind = 'nudge'") == "1");

  rig.start();
  REQUIRE_MESSAGE(wait_for([&] {
                    return rig.db.unfinished_jobs() == "0" && rig.db.incentive_state() == "granted";
                  }),
                  tail(rig.server.log()));
  CHECK(rig.pushes() == 1);
  CHECK(rig.dms() == 1);
  CHECK(rig.db.send_state("0", "push") == "sent");
  CHECK(rig.db.send_state("0", "dm") == "unknown");
  CHECK(rig.db.scalar("SELECT count(*) FROM recovery_actions WHERE type = 'nudge_sent'") == "1");
}
