// The first end-to-end slice: the fake Whop signs and sends webhooks exactly as Whop does, the real
// server stores and processes them, and the operator sees the case with `churn-saver cases --json`.
#include <doctest/doctest.h>

#include <ctime>
#include <sstream>

#include <nlohmann/json.hpp>

#include "store/cases.h"
#include "support/fake_whop.h"
#include "support/test_app.h"

using namespace cs;
using nlohmann::json;

namespace {

constexpr int64_t kDay = 86400000;

std::vector<json> json_lines(const std::string& text) {
  std::vector<json> out;
  std::stringstream ss(text);
  std::string line;
  while (std::getline(ss, line)) {
    if (!line.empty()) out.push_back(json::parse(line));
  }
  return out;
}

std::vector<json> cli_cases(test::TestApp& t, const std::string& status = "") {
  std::vector<std::string> args = {"cases", "--json", "--db", t.db_path()};
  if (!status.empty()) {
    args.push_back("--status");
    args.push_back(status);
  }
  auto r = test::run_binary(args);
  REQUIRE(r.exit_code == 0);
  return json_lines(r.out);
}

}  // namespace

TEST_CASE(
    "a failed payment opens a case; a payment inside the window recovers it with its amount") {
  test::TestApp t;
  test::FakeWhop whop(test::kTestSecret);
  whop.set_webhook_target(t.webhook_url());
  int64_t now = static_cast<int64_t>(std::time(nullptr)) * 1000;

  test::FakeWhop::PaymentSpec spec;
  spec.payment_id = "pay_FAIL1";
  spec.total = 29.99;
  spec.time_ms = now - 3 * kDay;
  auto failed = whop.deliver(test::FakeWhop::payment_event("payment.failed", spec));
  CHECK(failed.status == 200);
  CHECK(t.drain() >= 1);

  auto open = cli_cases(t);
  REQUIRE(open.size() == 1);
  CHECK(open[0]["status"] == "open");
  CHECK(open[0]["membership_id"] == "mem_Zx12Cv34Bn56Ml");
  CHECK(open[0]["user_id"] == "user_Qa12Ws34Ed56R");
  CHECK(open[0]["amount_due_cents"] == 2999);
  CHECK(open[0]["currency"] == "usd");
  CHECK(open[0]["failure_message"] == "Your card has insufficient funds.");
  CHECK(open[0]["recovered_cents"] == 0);
  CHECK(open[0]["resolved_at"].is_null());

  // The member updates the card; Whop charges 24.50 two days later.
  spec.payment_id = "pay_OK1";
  spec.total = 24.50;
  spec.time_ms = now - 1 * kDay;
  auto paid = whop.deliver(test::FakeWhop::payment_event("payment.succeeded", spec));
  CHECK(paid.status == 200);
  t.drain();

  auto recovered = cli_cases(t, "recovered");
  REQUIRE(recovered.size() == 1);
  CHECK(recovered[0]["id"] == open[0]["id"]);
  CHECK(recovered[0]["recovered_cents"] == 2450);
  CHECK(recovered[0]["recovery_payment_id"] == "pay_OK1");
  CHECK(recovered[0]["resolution"] == "payment");
  CHECK(cli_cases(t, "open").empty());

  // The events listing names each delivery by its webhook-id, newest first.
  auto ev = test::run_binary({"events", "--json", "--db", t.db_path()});
  REQUIRE(ev.exit_code == 0);
  auto events = json_lines(ev.out);
  REQUIRE(events.size() == 2);
  CHECK(events[0]["webhook_id"] == paid.webhook_id);
  CHECK(events[1]["webhook_id"] == failed.webhook_id);
  CHECK(events[1]["type"] == "payment.failed");
  CHECK(events[1]["amount_cents"] == 2999);
  CHECK(events[1]["process_state"] == "processed");
  // Personal data stays out of the operator listing.
  CHECK(ev.out.find("john.doe@example.com") == std::string::npos);
}

TEST_CASE("a payment after the 14-day window does not recover the case") {
  test::TestApp t;
  test::FakeWhop whop(test::kTestSecret);
  whop.set_webhook_target(t.webhook_url());
  int64_t now = static_cast<int64_t>(std::time(nullptr)) * 1000;
  test::FakeWhop::PaymentSpec spec;
  spec.time_ms = now - 20 * kDay;
  REQUIRE(whop.deliver(test::FakeWhop::payment_event("payment.failed", spec)).status == 200);
  spec.payment_id = "pay_LATE";
  spec.time_ms = now - 20 * kDay + 14 * kDay + kDay / 10;  // 14.1 days later
  REQUIRE(whop.deliver(test::FakeWhop::payment_event("payment.succeeded", spec)).status == 200);
  t.drain();
  auto cases = cli_cases(t);
  REQUIRE(cases.size() == 1);
  CHECK(cases[0]["status"] == "lost");
  CHECK(cases[0]["resolution"] == "expired");
  CHECK(cases[0]["recovered_cents"] == 0);
}

TEST_CASE("reordered and duplicated deliveries give the same cases as the ordered stream") {
  int64_t now = static_cast<int64_t>(std::time(nullptr)) * 1000;
  std::vector<json> events;
  test::FakeWhop::PaymentSpec a;
  a.membership_id = "mem_A";
  a.payment_id = "pay_A1";
  a.time_ms = now - 10 * kDay;
  events.push_back(test::FakeWhop::payment_event("payment.failed", a));
  a.payment_id = "pay_A2";
  a.time_ms = now - 8 * kDay;
  events.push_back(test::FakeWhop::payment_event("payment.failed", a));
  a.payment_id = "pay_A3";
  a.time_ms = now - 7 * kDay;
  a.total = 19.0;
  events.push_back(test::FakeWhop::payment_event("payment.succeeded", a));
  test::FakeWhop::PaymentSpec b;
  b.membership_id = "mem_B";
  b.payment_id = "pay_B1";
  b.time_ms = now - 5 * kDay;
  events.push_back(test::FakeWhop::payment_event("payment.failed", b));
  events.push_back(test::FakeWhop::membership_event("membership.deactivated", "mem_B",
                                                    "user_Qa12Ws34Ed56R", now - 2 * kDay));

  auto summarise = [](test::TestApp& t) {
    std::vector<std::string> out;
    for (const auto& c : cli_cases(t)) {
      out.push_back(c["membership_id"].get<std::string>() + " " + c["status"].get<std::string>() +
                    " " + std::to_string(c["failures"].get<int>()) + " " +
                    std::to_string(c["recovered_cents"].get<int64_t>()) + " " +
                    c["first_failure_at"].get<std::string>());
    }
    std::sort(out.begin(), out.end());
    return out;
  };

  test::TestApp ordered_app;
  test::FakeWhop whop(test::kTestSecret);
  whop.set_webhook_target(ordered_app.webhook_url());
  for (const auto& e : events) {
    REQUIRE(whop.deliver(e).status == 200);
    ordered_app.drain();
  }
  auto expected = summarise(ordered_app);
  REQUIRE(expected.size() == 2);
  CHECK(expected[0].rfind("mem_A recovered 2 1900", 0) == 0);
  CHECK(expected[1].rfind("mem_B lost 1 0", 0) == 0);

  for (uint32_t seed : {1u, 2u, 3u}) {
    test::TestApp shuffled_app;
    whop.set_webhook_target(shuffled_app.webhook_url());
    for (const auto& r : whop.deliver_shuffled(events, seed, 2)) CHECK(r.status == 200);
    shuffled_app.drain();
    INFO("seed " << seed);
    CHECK(summarise(shuffled_app) == expected);
  }
}
