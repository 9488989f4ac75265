// Readiness sees the disk (issue 11 item 5): after a commit fails, /readyz and /api/health say the
// writer is unhealthy and the "database_unwritable" alert fires; both recover after a commit
// succeeds. Once with the writer's fault switch, once with a real full filesystem (a tmpfs,
// where the machine lets the test mount one).
#include <doctest/doctest.h>

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "support/fake_whop.h"
#include "support/test_app.h"
#include "support/webhook_client.h"

using namespace cs;
using nlohmann::json;

namespace {

int deliver(test::TestApp& app, const std::string& id) {
  test::FakeWhop::PaymentSpec spec;
  spec.payment_id = "pay_" + id;
  spec.membership_id = "mem_" + id;
  spec.user_id = "user_" + id;
  std::string body = test::FakeWhop::payment_event("payment.failed", spec).dump();
  auto c = app.client();
  auto res = c.Post("/webhooks/whop", test::v1_headers(test::kTestSecret, id, body), body,
                    "application/json");
  return res ? res->status : 0;
}

std::pair<int, json> get(test::TestApp& app, const std::string& path) {
  auto c = app.client();
  auto res = c.Get(path);
  REQUIRE(res);
  return {res->status, json::parse(res->body)};
}

std::string writer_check(const json& ready) {
  if (!ready["checks"].contains("writer")) return "";
  const auto& c = ready["checks"]["writer"];
  return c["detail"].get<std::string>() + (c["ok"].get<bool>() ? "|ok" : "|bad");
}

bool has_alert(test::TestApp& app, const std::string& code) {
  for (const auto& a : app.app().operations().evaluate_alerts_now()) {
    if (a.code == code) return true;
  }
  return false;
}

void check_unhealthy(test::TestApp& t) {
  auto [status, ready] = get(t, "/readyz");
  CHECK(status == 503);
  CHECK(writer_check(ready).find("the last commit failed") == 0);
  CHECK(has_alert(t, "database_unwritable"));
  auto [hs, health] = get(t, "/api/health");
  CHECK(hs == 503);
  bool alert = false;
  for (const auto& a : health["alerts"]) alert = alert || a["code"] == "database_unwritable";
  CHECK(alert);
}

void check_healthy(test::TestApp& t) {
  auto [status, ready] = get(t, "/readyz");
  CHECK(status == 200);
  CHECK(writer_check(ready) == "writable|ok");
  CHECK_FALSE(has_alert(t, "database_unwritable"));
}

}  // namespace

TEST_CASE("readiness: a failed commit makes the writer unhealthy until a commit succeeds") {
  test::TestApp t;
  check_healthy(t);
  t.app().writer().set_fail_commits_for_test(true);
  CHECK(deliver(t, "msg_FAIL1") == 503);
  t.app().operations().probe_now();  // the periodic empty transaction does not hide the failure
  check_unhealthy(t);
  t.app().writer().set_fail_commits_for_test(false);
  CHECK(deliver(t, "msg_FAIL1") == 200);
  t.app().operations().probe_now();  // (the fault switch refused the probe's transaction too)
  check_healthy(t);
}

TEST_CASE("readiness on a full filesystem (tmpfs): 503 and an alert, back once space is free") {
  test::TempDir dir;
  std::string mnt = dir.file("mnt");
  ::mkdir(mnt.c_str(), 0700);
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=8m") != 0) {
    MESSAGE("skipped: cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN)");
    return;
  }
  {
    test::TestApp::Options o;
    o.db_path = mnt + "/cs.db";
    test::TestApp t(o);
    check_healthy(t);
    // Fill the filesystem.
    std::string filler = mnt + "/filler";
    {
      std::FILE* f = std::fopen(filler.c_str(), "wb");
      REQUIRE(f);
      std::string block(64 * 1024, 'x');
      while (std::fwrite(block.data(), 1, block.size(), f) == block.size()) {
      }
      std::fclose(f);
    }
    // Free pages inside the database or its WAL may take a few rows; then commits fail.
    int status = 0;
    for (int i = 0; i < 200 && status != 503; ++i)
      status = deliver(t, "msg_FULL" + std::to_string(i));
    REQUIRE(status == 503);
    t.app().operations().probe_now();
    check_unhealthy(t);
    ::unlink(filler.c_str());
    CHECK(deliver(t, "msg_AFTER") == 200);
    check_healthy(t);
  }
  ::umount2(mnt.c_str(), MNT_DETACH);
}
