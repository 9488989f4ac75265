// Actions that fit the case (issue 10 item 6), through the real server with its job workers
// running against the fake Whop: the confirmation names the member, the product and what
// happens; "Nudge now" answers with the real outcome of the send; cancelling or ending Whop's
// membership is not offered once the member has paid.
#include <doctest/doctest.h>

#include "http/dashboard_support.h"
#include "test_engine_env.h"

using namespace cs;
using namespace cs::engine_test;

namespace {

/// A case opened and its scheduled first nudge sent (workers off), then the app restarted with
/// its own job workers running, as in production.
std::string open_case(Env& env) {
  REQUIRE(env.fail(kMembership, env.start) == 200);
  env.drain();
  auto id = env.only_case().id;
  env.open({}, true);
  test::set_admin(*env.app);
  return id;
}

std::string flash_of(const std::string& body) {
  auto at = body.find("class=\"flash");
  if (at == std::string::npos) return "";
  auto open = body.find('>', at);
  auto close = body.find("</", open);
  return body.substr(open + 1, close - open - 1);
}

}  // namespace

TEST_CASE("case actions: Nudge now says what happened to each channel, and it stays true") {
  Env env;
  auto id = open_case(env);
  test::WebClient w(*env.app);
  REQUIRE(w.sign_in());

  auto confirm = w.get("/cases/" + id + "?confirm=nudge");
  REQUIRE(confirm);
  CHECK(confirm->body.find("Send johndoe42 a reminder about Pickaxe Analytics now") !=
        std::string::npos);
  CHECK(confirm->body.find(">Yes, nudge now</button>") != std::string::npos);

  auto done = w.post("/cases/" + id + "/actions/nudge", {{"csrf_token", w.csrf()}});
  REQUIRE(done);
  CHECK(done->status == 303);
  auto page = w.get("/cases/" + id);
  CHECK(flash_of(page->body) == "Nudge sent. Push sent. Direct message sent.");
  CHECK(env.pushes() == 2);
  CHECK(env.send_state(id, "m1", "push") == "sent");
  CHECK(env.send_state(id, "m1", "dm") == "sent");
  CHECK(page->body.find("badge-failed") == std::string::npos);

  // Whop refuses the DM for certain (400): the flash says so with Whop's reason, and the page
  // keeps saying it after a reload (no "Failed" that later turns into "Sent").
  auto refuse = fault_on("POST", "/api/v1/messages");
  refuse.status = 400;
  env.whop.inject(refuse);
  w.post("/cases/" + id + "/actions/nudge", {{"csrf_token", w.csrf()}});
  auto after = w.get("/cases/" + id);
  std::string flash = flash_of(after->body);
  CHECK(flash.rfind("Nudge not fully sent. Push sent. Direct message failed: ", 0) == 0);
  CHECK(env.send_state(id, "m2", "push") == "sent");
  CHECK(env.send_state(id, "m2", "dm") == "failed");
  CHECK(env.whop.calls("POST", "/api/v1/messages").size() == 3);  // one refused
}

TEST_CASE("case actions: a skipped channel is named with its reason") {
  Env env;
  REQUIRE(env.fail(kMembership, env.start) == 200);
  env.drain();
  auto id = env.only_case().id;
  env.open([](app::Config& c) { c.whop_experience_id = ""; }, true);
  test::set_admin(*env.app);
  test::WebClient w(*env.app);
  REQUIRE(w.sign_in());
  w.post("/cases/" + id + "/actions/nudge", {{"csrf_token", w.csrf()}});
  auto page = w.get("/cases/" + id);
  CHECK(flash_of(page->body) ==
        "Nudge not fully sent. Push skipped: no Whop experience id is set in Settings (a push "
        "needs it). Direct message sent.");
}

TEST_CASE(
    "case actions: confirmations name the member, the product and what happens; nothing "
    "ends the membership of a member who has paid") {
  Env env;
  auto id = open_case(env);
  test::WebClient w(*env.app);
  REQUIRE(w.sign_in());
  auto open_page = w.get("/cases/" + id);
  CHECK(open_page->body.find("?confirm=cancel-at-period-end") != std::string::npos);
  CHECK(open_page->body.find("?confirm=terminate") != std::string::npos);
  auto cape = w.get("/cases/" + id + "?confirm=cancel-at-period-end");
  CHECK(cape->body.find("Ask Whop to cancel johndoe42&apos;s Pickaxe Analytics membership when "
                        "the current billing period ends. johndoe42 keeps access until then") !=
        std::string::npos);
  auto term = w.get("/cases/" + id + "?confirm=terminate");
  CHECK(term->body.find("Ask Whop to end johndoe42&apos;s Pickaxe Analytics membership now. "
                        "johndoe42 loses access immediately") != std::string::npos);

  // The member pays: the case is recovered and neither action is offered or accepted.
  auto paid = Env::spec(kMembership, env.clock.now_ms());
  paid.payment_id = "pay_Paid1";
  REQUIRE(env.deliver(test::FakeWhop::payment_event("payment.succeeded", paid)) == 200);
  for (int i = 0; i < 500 && env.only_case().status != domain::CaseStatus::Recovered; ++i) {
    env.drain();  // the app's own workers process it too; this only helps them along
  }
  REQUIRE(env.only_case().status == domain::CaseStatus::Recovered);
  auto recovered = w.get("/cases/" + id);
  CHECK(recovered->body.find("?confirm=cancel-at-period-end") == std::string::npos);
  CHECK(recovered->body.find("?confirm=terminate") == std::string::npos);
  CHECK(w.get("/cases/" + id + "?confirm=terminate")->body.find("/actions/terminate") ==
        std::string::npos);
  auto refused = w.post("/cases/" + id + "/actions/terminate", {{"csrf_token", w.csrf()}});
  CHECK(refused->status == 303);
  CHECK(flash_of(w.get("/cases/" + id)->body) == "This case does not allow that.");
  CHECK(env.whop.calls("POST", "/api/v1/memberships/" + std::string(kMembership) + "/cancel")
            .empty());
}
