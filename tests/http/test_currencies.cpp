// Currencies end to end: the fake Whop sends amounts in major units as Whop does, the real server
// stores them in each currency's minor units (ISO 4217), and every page shows them in the
// currency's own decimals; charts keep one series per currency.
#include <doctest/doctest.h>

#include <ctime>

#include <nlohmann/json.hpp>

#include "http/dashboard_support.h"
#include "store/cases.h"
#include "support/fake_whop.h"

using namespace cs;
using nlohmann::json;

namespace {

constexpr int64_t kDay = 86400000;

/// A member of `currency` fails to pay `total` three days ago and pays it one day ago.
void fail_then_pay(test::FakeWhop& whop, const std::string& n, const std::string& currency,
                   double total, int64_t now, bool pay = true) {
  test::FakeWhop::PaymentSpec spec;
  spec.payment_id = "pay_F" + n;
  spec.membership_id = "mem_" + n;
  spec.user_id = "user_" + n;
  spec.username = "member" + n;
  spec.currency = currency;
  spec.total = total;
  spec.time_ms = now - 3 * kDay;
  REQUIRE(whop.deliver(test::FakeWhop::payment_event("payment.failed", spec)).status == 200);
  if (!pay) return;
  spec.payment_id = "pay_S" + n;
  spec.time_ms = now - 1 * kDay;
  REQUIRE(whop.deliver(test::FakeWhop::payment_event("payment.succeeded", spec)).status == 200);
}

std::optional<store::CaseRow> case_of(test::TestApp& t, const std::string& membership_id) {
  std::optional<store::CaseRow> found;
  REQUIRE(t.app().writer().run([&](SQLite::Database& db) {
    auto rows = store::list_cases_for_membership(db, membership_id);
    if (!rows.empty()) found = rows.back();
  }));
  return found;
}

}  // namespace

TEST_CASE(
    "JPY and KWD payments are stored in their own minor units and shown with their decimals") {
  test::TestApp t;
  test::set_admin(t);
  test::FakeWhop whop(test::kTestSecret);
  whop.set_webhook_target(t.webhook_url());
  const int64_t now = static_cast<int64_t>(std::time(nullptr)) * 1000;

  fail_then_pay(whop, "JPY1", "jpy", 1000, now);
  fail_then_pay(whop, "KWD1", "kwd", 12.345, now);
  fail_then_pay(whop, "USD1", "usd", 1202.47, now);
  fail_then_pay(whop, "USD2", "usd", 0.29, now, /*pay=*/false);
  t.drain();

  auto jpy = case_of(t, "mem_JPY1");
  REQUIRE(jpy);
  CHECK(jpy->status == cs::domain::CaseStatus::Recovered);
  CHECK(jpy->currency == "jpy");
  CHECK(jpy->amount_due_cents == 1000);  // yen: no minor unit (was 100000)
  CHECK(jpy->recovered_cents == 1000);
  auto kwd = case_of(t, "mem_KWD1");
  REQUIRE(kwd);
  CHECK(kwd->status == cs::domain::CaseStatus::Recovered);
  CHECK(kwd->amount_due_cents == 12345);  // fils: three decimals (was 1235)
  CHECK(kwd->recovered_cents == 12345);
  auto usd = case_of(t, "mem_USD1");
  REQUIRE(usd);
  CHECK(usd->amount_due_cents == 120247);
  auto cents = case_of(t, "mem_USD2");
  REQUIRE(cents);
  CHECK(cents->status == cs::domain::CaseStatus::Open);
  CHECK(cents->amount_due_cents == 29);

  test::WebClient w(t);
  REQUIRE(w.sign_in());
  auto overview = w.get("/");
  REQUIRE(overview);
  REQUIRE(overview->status == 200);
  const std::string& page = overview->body;
  CHECK(page.find("$1,202.47") != std::string::npos);
  CHECK(page.find("\u00a51,000") != std::string::npos);
  CHECK(page.find("KWD 12.345") != std::string::npos);
  // One revenue chart per currency, each caption naming its currency.
  CHECK(page.find("Recovered revenue per day in USD") != std::string::npos);
  CHECK(page.find("Recovered revenue per day in JPY") != std::string::npos);
  CHECK(page.find("Recovered revenue per day in KWD") != std::string::npos);

  auto api = w.get("/api/dashboard/kpis?window=30");
  REQUIRE(api);
  INFO(api->body);
  const json kpis = json::parse(api->body);
  bool saw_jpy = false, saw_kwd = false;
  for (const auto& m : kpis["recovered_revenue"]) {
    if (m["currency"] == "jpy") saw_jpy = m["cents"] == 1000 && m["amount"] == "1000";
    if (m["currency"] == "kwd") saw_kwd = m["cents"] == 12345 && m["amount"] == "12.345";
  }
  CHECK(saw_jpy);
  CHECK(saw_kwd);

  auto case_page = w.get("/cases/" + kwd->id);
  REQUIRE(case_page);
  CHECK(case_page->status == 200);
  CHECK(case_page->body.find("KWD 12.345") != std::string::npos);
  auto list = w.get("/cases");
  REQUIRE(list);
  CHECK(list->body.find("\u00a51,000") != std::string::npos);
  CHECK(list->body.find("$0.29") != std::string::npos);

  auto csv = w.get("/cases/export.csv");
  REQUIRE(csv);
  CHECK(csv->body.find(",1000,jpy,1000,0,1000,") != std::string::npos);
  CHECK(csv->body.find(",12.345,kwd,12.345,0.000,12.345,") != std::string::npos);
  CHECK(csv->body.find(",1202.47,usd,1202.47,0.00,1202.47,") != std::string::npos);
}

TEST_CASE("an unknown currency code is stored with two decimals and flagged on the overview") {
  test::TestApp t;
  test::set_admin(t);
  test::FakeWhop whop(test::kTestSecret);
  whop.set_webhook_target(t.webhook_url());
  const int64_t now = static_cast<int64_t>(std::time(nullptr)) * 1000;
  fail_then_pay(whop, "XYZ1", "xyz", 12.34, now);
  t.drain();
  auto c = case_of(t, "mem_XYZ1");
  REQUIRE(c);
  CHECK(c->status == cs::domain::CaseStatus::Recovered);
  CHECK(c->amount_due_cents == 1234);
  test::WebClient w(t);
  REQUIRE(w.sign_in());
  auto overview = w.get("/");
  REQUIRE(overview);
  CHECK(overview->body.find("XYZ 12.34") != std::string::npos);
  CHECK(overview->body.find("XYZ (not an ISO 4217 code, read with 2 decimals)") !=
        std::string::npos);
}
