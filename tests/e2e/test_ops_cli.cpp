// The operator's job and event commands (issue 5) against a database the app is using:
// `jobs list|retry|purge` and `events replay`, with refusals a person understands.
#include <doctest/doctest.h>

#include <SQLiteCpp/SQLiteCpp.h>
#include <nlohmann/json.hpp>

#include "e2e/ops_support.h"
#include "store/jobs.h"
#include "support/fake_whop.h"
#include "support/test_app.h"
#include "support/webhook_client.h"

using namespace cs;
using nlohmann::json;

namespace {

std::vector<json> json_lines(const std::string& out) {
  std::vector<json> rows;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) rows.push_back(json::parse(line));
  }
  return rows;
}

}  // namespace

TEST_CASE("jobs list, retry and purge; events replay; on a database the app is using") {
  // Whop refuses the API key (401, not retryable): the incentive job dies at once. (With no key
  // at all it would wait for one instead.)
  test::FakeWhop whop(test::kTestSecret, "the_right_key");
  test::TestApp::Options opts;
  opts.configure = [&](app::Config& c) {
    c.whop_api_base = whop.api_base();
    c.whop_api_key = "a_revoked_key";
  };
  test::TestApp app(opts);
  test::FakeWhop::PaymentSpec spec;
  std::string body = test::FakeWhop::payment_event("payment.failed", spec).dump();
  auto res =
      app.client().Post("/webhooks/whop", test::v1_headers(test::kTestSecret, "msg_cli_1", body),
                        body, "application/json");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  app.drain();
  const std::string db = app.db_path();

  auto dead = test::run_binary({"jobs", "list", "--state", "dead", "--json", "--db", db});
  REQUIRE(dead.exit_code == 0);
  auto rows = json_lines(dead.out);
  REQUIRE(!rows.empty());
  for (const auto& r : rows) CHECK(r["state"] == "dead");
  int64_t dead_id = rows[0]["id"];
  CHECK(rows[0]["last_error"].get<std::string>().find("API key") != std::string::npos);

  auto table = test::run_binary({"jobs", "list", "--db", db});
  CHECK(table.exit_code == 0);
  CHECK(table.out.find("dead ") != std::string::npos);
  CHECK(table.out.find("LAST ERROR") != std::string::npos);

  auto retry = test::run_binary({"jobs", "retry", std::to_string(dead_id), "--db", db});
  CHECK_MESSAGE(retry.exit_code == 0, retry.err);
  {
    auto conn = app.app().reads().lease();
    CHECK(store::find_job(*conn, dead_id)->state == "queued");
  }
  auto again = test::run_binary({"jobs", "retry", std::to_string(dead_id), "--db", db});
  CHECK(again.exit_code == 1);
  CHECK(again.err.find("cannot be retried") != std::string::npos);
  CHECK(test::run_binary({"jobs", "retry", "999999", "--db", db}).exit_code == 1);
  CHECK(test::run_binary({"jobs", "list", "--state", "nonsense", "--db", db}).exit_code != 0);

  // Replay: a new process_event job for the stored event, which the app then runs.
  auto events = test::run_binary({"events", "--json", "--db", db});
  auto ev = json_lines(events.out);
  REQUIRE(ev.size() == 1);
  int64_t event_id = ev[0]["id"];
  auto replay = test::run_binary({"events", "replay", std::to_string(event_id), "--db", db});
  CHECK_MESSAGE(replay.exit_code == 0, replay.err);
  auto queued =
      json_lines(test::run_binary({"jobs", "list", "--state", "queued", "--json", "--db", db}).out);
  bool replay_queued = false;
  for (const auto& j : queued) replay_queued = replay_queued || j["kind"] == "process_event";
  CHECK(replay_queued);
  app.drain();
  auto none = test::run_binary({"events", "replay", "424242", "--db", db});
  CHECK(none.exit_code == 1);
  CHECK(none.err.find("no event 424242") != std::string::npos);

  // Purge: finished jobs go (all of them with --older-than 0), dead ones only with --dead.
  auto purge = test::run_binary({"jobs", "purge", "--older-than", "0", "--db", db});
  CHECK_MESSAGE(purge.exit_code == 0, purge.err);
  {
    auto conn = app.app().reads().lease();
    auto counts = store::count_jobs_by_state(*conn);
    CHECK(counts["done"] == 0);
    int64_t dead_left = counts["dead"];
    auto purge_dead =
        test::run_binary({"jobs", "purge", "--older-than", "0", "--dead", "--db", db});
    CHECK(purge_dead.out.find("and " + std::to_string(dead_left) + " dead job(s)") !=
          std::string::npos);
  }
  // The app's own database stays consistent throughout.
  CHECK(test::run_binary({"check", "--db", db}).exit_code == 0);
}
