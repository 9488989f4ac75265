// Health, readiness and metrics (issue 5) against the real app on an ephemeral port: the JSON
// documents, 503 when not ready, /metrics behind its bearer token, and `promtool check metrics`
// on the output.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "e2e/ops_support.h"
#include "store/settings.h"
#include "support/fake_whop.h"
#include "support/server_process.h"
#include "support/test_app.h"
#include "support/wait.h"
#include "support/webhook_client.h"

using namespace cs;
using nlohmann::json;

namespace {

int deliver(test::TestApp& app, const std::string& id, const std::string& body,
            const std::string& secret = test::kTestSecret) {
  auto c = app.client();
  auto res = c.Post("/webhooks/whop", test::v1_headers(secret, id, body), body, "application/json");
  return res ? res->status : 0;
}

std::string failed_body(const std::string& tag) {
  test::FakeWhop::PaymentSpec spec;
  spec.payment_id = "pay_" + tag;
  spec.membership_id = "mem_" + tag;
  spec.user_id = "user_" + tag;
  return test::FakeWhop::payment_event("payment.failed", spec).dump();
}

json get_json(test::TestApp& app, const std::string& path, int expect_status) {
  auto c = app.client();
  auto res = c.Get(path);
  REQUIRE(res);
  CHECK_MESSAGE(res->status == expect_status, path << " -> " << res->status << " " << res->body);
  CHECK(res->get_header_value("Content-Type") == "application/json");
  return json::parse(res->body);
}

/// Runs promtool on `text`; returns its exit code and output.
std::pair<int, std::string> promtool_check(const std::string& text) {
  test::TempDir dir;
  std::string in = dir.file("metrics.txt");
  ops_test::write_file(in, text);
  std::string cmd = "promtool check metrics < '" + in + "' 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE_MESSAGE(p, "cannot run promtool (Debian package prometheus)");
  std::string out;
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace

TEST_CASE("health: /healthz, /readyz and /api/health[/db|/webhooks] while ready") {
  test::TestApp app;
  CHECK(get_json(app, "/healthz", 200)["status"] == "ok");

  auto ready = get_json(app, "/readyz", 200);
  CHECK(ready["status"] == "ready");
  for (const char* check : {"started", "database", "writer"}) {
    INFO(check);
    CHECK(ready["checks"][check]["ok"] == true);
  }

  REQUIRE(deliver(app, "msg_health_1", failed_body("h1")) == 200);
  REQUIRE(deliver(app, "msg_health_1", failed_body("h1")) == 200);  // duplicate
  REQUIRE(deliver(app, "msg_health_2", failed_body("h2"), "ws_wrong") == 401);

  auto h = get_json(app, "/api/health", 200);
  CHECK(h["status"] == "ok");
  CHECK(h["ready"] == true);
  CHECK(h["version"] == CHURN_SAVER_VERSION);
  CHECK(h["alerts"].is_array());
  CHECK(h["http"]["heartbeat_age_ms"].is_number());  // this test's /healthz counted
  CHECK(h["database"]["integrity"] == "ok");
  CHECK(h.contains("scheduler"));
  CHECK(h.contains("workers"));
  CHECK(h["whop"]["breakers"].is_object());

  auto db = get_json(app, "/api/health/db", 200);
  CHECK(db["status"] == "ok");
  CHECK(db["schema_version"] == db["binary_schema_version"]);
  CHECK(db["size_bytes"].get<int64_t>() > 0);
  CHECK(db["writer"]["ok"] == true);
  CHECK(db["disk"]["total_bytes"].get<int64_t>() > 0);
  CHECK(db["backup"]["enabled"] == false);  // a Config built in code has no backup dir
  CHECK(db.dump().find(app.db_path()) == std::string::npos);  // no paths

  auto wh = get_json(app, "/api/health/webhooks", 200);
  CHECK(wh["status"] == "ok");
  CHECK(wh["last_received_at"].is_string());
  CHECK(wh["last_type"] == "payment.failed");
  CHECK(wh["received_last_hour"] == 1);
  CHECK(wh["accepted_since_start"]["stored"] == 1);
  CHECK(wh["accepted_since_start"]["duplicate"] == 1);
  CHECK(wh["rejected_since_start"] == 1);
  CHECK(wh["rejections"]["bad_signature"]["count"] == 1);
  CHECK(wh["rejections"]["bad_signature"]["status"] == 401);
  CHECK(wh["backlog"]["pending_events"] == 1);  // no workers run in this test
  // The event waits in the events table itself: process_event jobs are only replays now.
  CHECK(wh["backlog"]["process_jobs_waiting"] == 0);
  app.drain();
  CHECK(get_json(app, "/api/health/webhooks", 200)["backlog"]["pending_events"] == 0);
}

TEST_CASE("the service's threads carry names that top -H and ps -L show") {
  test::TempDir dir;
  test::ServerProcess server(dir.file("cs.db"), dir.file("server.log"));
  server.start();
  REQUIRE_MESSAGE(server.wait_ready(), test::tail(server.log()));
  const std::vector<std::string> expected = {"cs-writer",    "cs-checkpoint", "cs-http-reactor",
                                             "cs-http",      "cs-jobs",       "cs-jobs-keeper",
                                             "cs-scheduler", "cs-monitor",    "cs-maintenance"};
  std::multiset<std::string> names;
  auto read_names = [&] {
    names.clear();
    const std::string tasks = "/proc/" + std::to_string(server.pid()) + "/task";
    for (const auto& task : std::filesystem::directory_iterator(tasks)) {
      std::ifstream in(task.path() / "comm");
      std::string name;
      std::getline(in, name);
      names.insert(name);
    }
    for (const auto& name : expected) {
      if (names.count(name) == 0) return false;
    }
    return true;
  };
  // A thread names itself when it starts, which may be just after the server answers.
  test::wait_for(read_names, std::chrono::milliseconds(5000));
  for (const auto& name : expected) {
    INFO(name);
    CHECK(names.count(name) >= 1);
  }
  CHECK(names.count("cs-http") >= 2);  // the worker pool
}

TEST_CASE("health: each kill switch says whether it is on, and what switched it off") {
  test::TestApp::Options o;
  o.configure = [](app::Config& c) { c.disable_scheduler = true; };
  test::TestApp app(o);
  auto h = get_json(app, "/api/health", 200);
  CHECK(h["switches"]["processing"] == "on");
  CHECK(h["switches"]["scheduler"] == "off by environment");
  CHECK(h["switches"]["notifications"] == "on");

  // Switched off in the settings (the dashboard): reported without a restart.
  REQUIRE(app.app().writer().run([&](SQLite::Database& db) {
    domain::RecoverySettings s = app.app().stored_settings();
    s.notifications_enabled = false;
    store::save_recovery_settings(db, s, 1);
  }));
  h = get_json(app, "/api/health", 200);
  CHECK(h["switches"]["notifications"] == "off by settings");
  CHECK(h["switches"]["processing"] == "on");
}

TEST_CASE("health: 503 with the reason when the writer fails, and while draining") {
  test::TestApp app;
  auto& ops = app.app().operations();

  app.app().writer().set_fail_commits_for_test(true);
  ops.probe_now();
  auto r = get_json(app, "/readyz", 503);
  CHECK(r["status"] == "not_ready");
  CHECK(r["checks"]["writer"]["ok"] == false);
  CHECK(get_json(app, "/api/health", 503)["status"] == "unavailable");
  CHECK(get_json(app, "/api/health/db", 503)["writer"]["ok"] == false);
  CHECK(get_json(app, "/api/health/webhooks", 503)["status"] == "unavailable");
  CHECK(get_json(app, "/healthz", 200)["status"] == "ok");  // alive, just not ready

  app.app().writer().set_fail_commits_for_test(false);
  ops.probe_now();
  get_json(app, "/readyz", 200);

  ops.state().draining.store(true);
  auto d = get_json(app, "/readyz", 503);
  CHECK(d["checks"]["started"]["detail"] == "shutting down");
  ops.state().draining.store(false);
}

TEST_CASE("metrics: bearer token, Prometheus text that promtool accepts, figures that move") {
  SUBCASE("no token configured: 403 that says how to switch metrics on") {
    test::TestApp app;
    auto res = app.client().Get("/metrics");
    REQUIRE(res);
    CHECK(res->status == 403);
    CHECK(res->body.find("CHURN_SAVER_METRICS_TOKEN") != std::string::npos);
  }
  SUBCASE("with a token") {
    test::TestApp::Options o;
    o.configure = [](app::Config& c) { c.metrics_token = "m3tr1cs-t0ken"; };
    test::TestApp app(o);
    auto c = app.client();
    auto none = c.Get("/metrics");
    REQUIRE(none);
    CHECK(none->status == 401);
    CHECK(none->get_header_value("WWW-Authenticate").find("Bearer") == 0);
    auto wrong = c.Get("/metrics", {{"Authorization", "Bearer nope"}});
    REQUIRE(wrong);
    CHECK(wrong->status == 401);

    REQUIRE(deliver(app, "msg_metrics_1", failed_body("m1")) == 200);
    REQUIRE(deliver(app, "msg_metrics_2", failed_body("m2")) == 200);
    REQUIRE(deliver(app, "msg_metrics_2", failed_body("m2")) == 200);
    REQUIRE(deliver(app, "msg_metrics_3", failed_body("m3"), "ws_wrong") == 401);
    app.drain();

    auto res = c.Get("/metrics", {{"Authorization", "Bearer m3tr1cs-t0ken"}});
    REQUIRE(res);
    REQUIRE(res->status == 200);
    CHECK(res->get_header_value("Content-Type").find("text/plain; version=0.0.4") == 0);
    const std::string& m = res->body;
    for (const char* line :
         {"churn_saver_webhooks_total{status=\"200\",outcome=\"stored\"} 2",
          "churn_saver_webhooks_total{status=\"200\",outcome=\"duplicate\"} 1",
          "churn_saver_webhooks_total{status=\"401\",outcome=\"bad_signature\"} 1",
          "churn_saver_webhook_ingest_duration_seconds_count 4",
          "churn_saver_webhook_ingest_duration_seconds_bucket{le=\"+Inf\"} 4",
          "churn_saver_events{state=\"processed\"} 2", "churn_saver_cases{status=\"open\"} 2",
          "churn_saver_jobs{state=\"dead\"} ", "churn_saver_ready 1",
          "churn_saver_alert_active{alert=\"dead_jobs\"} 0",
          "# TYPE churn_saver_webhook_ingest_duration_seconds histogram",
          "# TYPE churn_saver_whop_calls_total counter", "churn_saver_nudges{channel=\"push\"",
          "churn_saver_scheduler_tick_duration_seconds ",
          "churn_saver_scheduler_last_run_timestamp_seconds ", "churn_saver_database_size_bytes ",
          "churn_saver_database_wal_size_bytes ", "process_resident_memory_bytes "}) {
      INFO(line);
      CHECK(m.find(line) != std::string::npos);
    }
    CHECK(m.find("m3tr1cs-t0ken") == std::string::npos);
    auto [code, out] = promtool_check(m);
    CHECK_MESSAGE(code == 0, "promtool check metrics:\n" << out << "\n--- metrics:\n" << m);
  }
}
