// A database that is read-only when `serve` starts (issue 11 item 5): the real binary starts in
// read-only mode instead of exiting. The dashboard is readable and the admin can sign in
// (sessions in memory), webhooks get 503 with Retry-After, /readyz is 503, /api/health says
// read-only, and the log names the path and the cause. The database is made read-only for real:
// a tmpfs remounted read-only (where the test may mount), else, when not root, chmod of the file
// and its directory (root ignores file modes, so that variant is skipped for root).
#include <doctest/doctest.h>

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <memory>

#include <nlohmann/json.hpp>

#include "store/auth.h"
#include "store/db.h"
#include "store/migrations.h"
#include "support/fake_whop.h"
#include "support/server_process.h"
#include "support/test_app.h"
#include "support/webhook_client.h"
#include "util/password.h"

using namespace cs;
using nlohmann::json;

namespace {

constexpr const char* kPassword = "correct horse battery staple";

int deliver(test::ServerProcess& p, const std::string& id, std::string* retry_after = nullptr) {
  test::FakeWhop::PaymentSpec spec;
  spec.payment_id = "pay_" + id;
  spec.membership_id = "mem_" + id;
  spec.user_id = "user_" + id;
  std::string body = test::FakeWhop::payment_event("payment.failed", spec).dump();
  auto c = p.client();
  auto res = c.Post("/webhooks/whop", test::v1_headers(test::kTestSecret, id, body), body,
                    "application/json");
  if (res && retry_after) *retry_after = res->get_header_value("Retry-After");
  return res ? res->status : 0;
}

/// "name=value" of the Set-Cookie header naming `name`, or "".
std::string set_cookie(const httplib::Result& res, const std::string& name) {
  for (const auto& [k, v] : res->headers) {
    if (k == "Set-Cookie" && v.rfind(name + "=", 0) == 0) return v.substr(0, v.find(';'));
  }
  return "";
}

/// Makes `mnt` read-only: remounts its tmpfs, or (not root) takes the write bits away.
struct ReadOnly {
  std::string mnt, db;
  bool tmpfs = false;
  void apply() {
    if (tmpfs) {
      REQUIRE(::mount(nullptr, mnt.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr) == 0);
    } else {
      REQUIRE(::chmod(db.c_str(), 0400) == 0);
      REQUIRE(::chmod(mnt.c_str(), 0500) == 0);
    }
  }
  void undo() {
    if (tmpfs) {
      ::mount(nullptr, mnt.c_str(), nullptr, MS_REMOUNT, nullptr);
      ::umount2(mnt.c_str(), MNT_DETACH);
    } else {
      ::chmod(mnt.c_str(), 0700);
      ::chmod(db.c_str(), 0600);
    }
  }
};

}  // namespace

TEST_CASE("serve on a read-only database: read-only mode, not an exit") {
  test::TempDir dir;
  ReadOnly ro;
  ro.mnt = dir.file("data");
  ::mkdir(ro.mnt.c_str(), 0700);
  ro.tmpfs = ::mount("tmpfs", ro.mnt.c_str(), "tmpfs", 0, "size=16m") == 0;
  if (!ro.tmpfs && ::geteuid() == 0) {
    MESSAGE("skipped: cannot mount a tmpfs here, and as root chmod does not stop writes");
    return;
  }
  ro.db = ro.mnt + "/cs.db";
  std::string log = dir.file("serve.log");

  // A normal first run: creates the database and the keyring, stores one event.
  {
    test::ServerProcess p(ro.db, log);
    p.start();
    REQUIRE(p.wait_ready());
    REQUIRE(deliver(p, "msg_RO_BEFORE") == 200);
    p.signal_and_reap(SIGTERM);
  }
  {
    auto db = store::open_connection(ro.db, store::ConnectionRole::Writer);
    store::save_admin_password(*db, password::hash(kPassword), 1);
  }
  ro.apply();
  struct Undo {
    ReadOnly& r;
    ~Undo() { r.undo(); }
  } undo{ro};
  std::string before = test::read_file(ro.db);
  std::string log2 = dir.file("serve-ro.log");

  test::ServerProcess p(ro.db, log2);
  p.start();
  INFO(test::tail(p.log()));
  REQUIRE(p.wait_ready("/healthz"));

  // The log says so once, with the path and the cause.
  std::string text = test::read_file(log2);
  CHECK(text.find("the database is read-only") != std::string::npos);
  CHECK(text.find(ro.db) != std::string::npos);
  CHECK(text.find(ro.tmpfs ? "mounted read-only" : "cannot be written") != std::string::npos);

  auto c = p.client();
  auto ready = c.Get("/readyz");
  REQUIRE(ready);
  CHECK(ready->status == 503);
  auto rj = json::parse(ready->body);
  CHECK_FALSE(rj["checks"]["writer"]["ok"].get<bool>());
  CHECK(rj["checks"]["writer"]["detail"].get<std::string>().rfind("read-only: ", 0) == 0);

  auto health = c.Get("/api/health");
  REQUIRE(health);
  CHECK(health->status == 503);
  auto hj = json::parse(health->body);
  CHECK(hj["status"] == "read_only");
  CHECK(hj["read_only"] == true);
  CHECK(hj["database"]["writer"]["ok"] == false);

  // Webhooks: 503 with Retry-After, so Whop keeps them for later.
  std::string retry;
  CHECK(deliver(p, "msg_RO_AFTER", &retry) == 503);
  CHECK_FALSE(retry.empty());

  // Sign-in works (the session is kept in memory) and the dashboard shows what was stored,
  // with the read-only banner.
  auto login = c.Get("/login");
  REQUIRE(login);
  REQUIRE(login->status == 200);
  std::string csrf = set_cookie(login, "cs_login_csrf");
  REQUIRE_FALSE(csrf.empty());
  auto signin = c.Post(
      "/login", {{"Cookie", csrf}},
      httplib::Params{{"csrf_token", csrf.substr(csrf.find('=') + 1)}, {"password", kPassword}});
  REQUIRE(signin);
  CHECK(signin->status == 303);
  std::string session = set_cookie(signin, "cs_session");
  REQUIRE_FALSE(session.empty());
  auto events = c.Get("/events", {{"Cookie", session}});
  REQUIRE(events);
  CHECK(events->status == 200);
  CHECK(events->body.find("The database is read-only") != std::string::npos);
  CHECK(events->body.find("mem_msg_RO_BEFORE") != std::string::npos);
  auto home = c.Get("/", {{"Cookie", session}});
  REQUIRE(home);
  CHECK(home->status == 200);

  // The server keeps serving; nothing was written.
  CHECK(c.Get("/healthz")->status == 200);
  CHECK(p.signal_and_reap(SIGTERM) >= 0);
  CHECK(test::read_file(ro.db) == before);
  // No writes were attempted (the writer logs every failed transaction).
  CHECK(test::read_file(log2).find("write transaction failed") == std::string::npos);
}
