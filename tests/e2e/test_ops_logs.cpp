// Logs (issue 5): the real binary runs a full failure-to-recovery flow against the fake Whop with
// debug logging; every stderr line is one JSON object with time, level and message (request
// lines with a request id), and nothing in them is a secret, an email address, a member's name
// or username, or the text of a message sent to the member.
#include <doctest/doctest.h>

#include <SQLiteCpp/SQLiteCpp.h>
#include <nlohmann/json.hpp>

#include "domain/time.h"
#include "e2e/ops_support.h"
#include "support/fake_whop.h"
#include "support/test_app.h"
#include "support/webhook_client.h"

using namespace cs;
using nlohmann::json;

namespace {

constexpr const char* kApiKey = "apik_L0gTestKeyThatMustNeverBeLogged";
constexpr const char* kMetricsToken = "mtok_NeverLogThisMetricsToken";
constexpr const char* kCompany = "biz_Qw12Er34Ty56Ui";
constexpr const char* kMembership = "mem_LogsMembership01";
constexpr const char* kUser = "user_LogsPerson0001";

template <class Pred>
bool eventually(Pred pred, int ms = 15000) {
  for (int i = 0; i < ms / 20; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

}  // namespace

TEST_CASE("logs: JSON lines through a failure-to-recovery flow, with no secrets or personal data") {
  ::signal(SIGPIPE, SIG_IGN);
  test::FakeWhop whop(test::kTestSecret, kApiKey);
  int64_t now = static_cast<int64_t>(std::time(nullptr)) * 1000;
  whop.put_membership(
      {{"id", kMembership},
       {"status", "past_due"},
       {"manage_url", std::string("https://whop.com/billing/manage/") + kMembership},
       {"renewal_period_end", domain::format_iso8601_ms(now + 3 * kDayMs)},
       {"updated_at", domain::format_iso8601_ms(now - kDayMs)},
       {"user", {{"id", kUser}, {"username", "priv_username_zed"}}},
       {"company", {{"id", kCompany}}}});

  test::TempDir dir;
  const std::string db_path = dir.file("cs.db");
  ops_test::ServerProcess server(
      db_path, dir.file("stderr.log"),
      {"CHURN_SAVER_LOG_LEVEL=debug", "CHURN_SAVER_WHOP_API_BASE=" + whop.api_base(),
       std::string("CHURN_SAVER_WHOP_API_KEY=") + kApiKey,
       std::string("CHURN_SAVER_WHOP_COMPANY_ID=") + kCompany,
       "CHURN_SAVER_WHOP_EXPERIENCE_ID=exp_LogsTest",
       "CHURN_SAVER_PUBLIC_URL=https://cs.example.com",
       std::string("CHURN_SAVER_METRICS_TOKEN=") + kMetricsToken,
       "CHURN_SAVER_SCHEDULER_INTERVAL=0.2", "CHURN_SAVER_RECONCILE_INTERVAL=0.5"},
      dir.file("stdout.log"));
  server.start();
  REQUIRE_MESSAGE(server.wait_ready(), ops_test::tail(server.log()));
  whop.set_webhook_target("http://127.0.0.1:" + std::to_string(server.port()) + "/webhooks/whop");

  test::FakeWhop::PaymentSpec spec;
  spec.payment_id = "pay_LogsFailed0001";
  spec.membership_id = kMembership;
  spec.user_id = kUser;
  spec.username = "priv_username_zed";
  spec.name = "Zebulon Privatename";
  spec.email = "zebulon.private@example.net";
  spec.time_ms = now;
  REQUIRE(whop.deliver(test::FakeWhop::payment_event("payment.failed", spec)).status == 200);

  // T+0: the push and the DM reach the fake Whop.
  REQUIRE_MESSAGE(eventually([&] {
                    return !whop.calls("POST", "/api/v1/notifications").empty() &&
                           !whop.calls("POST", "/api/v1/messages").empty();
                  }),
                  ops_test::tail(server.log()));
  std::vector<std::string> texts;
  texts.push_back(json::parse(whop.calls("POST", "/api/v1/notifications")[0].body)["content"]);
  texts.push_back(json::parse(whop.calls("POST", "/api/v1/messages")[0].body)["content"]);

  // A few more things an operator does: a forged delivery, a scrape, the health page.
  auto c = server.client();
  {
    std::string body = test::FakeWhop::payment_event("payment.failed", spec).dump();
    auto res = c.Post("/webhooks/whop", test::v1_headers("ws_forged", "msg_forged_1", body), body,
                      "application/json");
    REQUIRE(res);
    CHECK(res->status == 401);
  }
  CHECK(c.Get("/metrics", {{"Authorization", std::string("Bearer ") + kMetricsToken}})->status ==
        200);
  CHECK(c.Get("/api/health")->status == 200);

  // The member pays: the case is recovered.
  spec.payment_id = "pay_LogsPaid00001";
  spec.time_ms = now + kHourMs;
  REQUIRE(whop.deliver(test::FakeWhop::payment_event("payment.succeeded", spec)).status == 200);
  REQUIRE(eventually([&] {
    auto r = test::run_binary({"cases", "--json", "--status", "recovered", "--db", db_path});
    return r.exit_code == 0 && r.out.find(kMembership) != std::string::npos;
  }));

  int status = server.signal_and_reap(SIGTERM);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);

  // Every line is a JSON object with time, level and msg.
  std::string log = ops_test::read_file(dir.file("stderr.log"));
  std::istringstream lines(log);
  std::string line;
  int n = 0, with_request_id = 0;
  std::set<std::string> messages;
  while (std::getline(lines, line)) {
    ++n;
    INFO(line);
    auto j = json::parse(line, nullptr, false);
    REQUIRE(j.is_object());
    CHECK(j["time"].is_string());
    CHECK(j["level"].is_string());
    CHECK(j["msg"].is_string());
    messages.insert(j["msg"].get<std::string>());
    if (j.contains("request_id")) ++with_request_id;
    if (j["msg"] == "webhook") CHECK(j.contains("request_id"));
  }
  MESSAGE(n << " log lines, " << with_request_id << " with a request id");
  CHECK(n > 5);
  CHECK(with_request_id >= 3);
  CHECK(messages.count("churn-saver started"));
  CHECK(messages.count("stopping"));
  CHECK(messages.count("churn-saver stopped"));

  // ... and none holds a secret or personal data.
  std::vector<std::string> forbidden = {test::kTestSecret, std::string(test::kTestSecret).substr(3),
                                        kApiKey,           kMetricsToken,
                                        spec.email,        "@example.net",
                                        spec.name,         "Zebulon",
                                        "Privatename",     spec.username};
  for (const auto& t : texts) {
    forbidden.push_back(t);
    auto r = t.find("/r/");  // the member's tracked link
    if (r != std::string::npos) forbidden.push_back(t.substr(r, 35));
  }
  for (const auto& f : forbidden) {
    INFO(f);
    CHECK(log.find(f) == std::string::npos);
  }
}
