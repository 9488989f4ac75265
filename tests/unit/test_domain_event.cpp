// Mapping Whop webhook bodies to domain Events (src/domain/event.h), against the fixtures in
// tests/fixtures/whop and hand-made variations of them.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "domain/event.h"
#include "domain/time.h"

using cs::domain::Event;
using cs::domain::EventKind;
using cs::domain::kind_from_type;
using cs::domain::map_whop_event;
using cs::domain::parse_iso8601_ms;
using nlohmann::json;

#ifndef CS_FIXTURES_DIR
#error "CS_FIXTURES_DIR must name the absolute path of tests/fixtures"
#endif

namespace {

/// The parsed fixture tests/fixtures/whop/<name>; fails the test when it cannot be read.
json load_fixture(const std::string& name) {
  const std::string file = std::string(CS_FIXTURES_DIR) + "/whop/" + name;
  std::ifstream in(file);
  REQUIRE_MESSAGE(in.good(), "cannot open fixture " << file);
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str());
}

/// Maps `body`, requiring success.
Event map_ok(const json& body) {
  const auto result = map_whop_event(body);
  REQUIRE_MESSAGE(result.ok(), (result.ok() ? "" : result.error()));
  return *result;
}

int64_t iso(const char* text) {
  return *parse_iso8601_ms(text);
}

constexpr const char* kMembership = "mem_Zx12Cv34Bn56Ml";
constexpr const char* kPayment = "pay_Ab12Cd34Ef56Gh";
constexpr const char* kUser = "user_Qa12Ws34Ed56R";
constexpr const char* kCompany = "biz_Qw12Er34Ty56Ui";
constexpr const char* kProduct = "prod_As12Df34Gh56J";
constexpr const char* kPlan = "plan_Po12Iu34Yt56R";

/// Ids every v1 fixture shares.
void check_common_ids(const Event& e) {
  CHECK(e.api_version == "v1");
  CHECK(e.company_id == kCompany);
  CHECK(e.membership_id == kMembership);
  CHECK(e.user_id == kUser);
  CHECK(e.username == "johndoe42");
  CHECK(e.product_id == kProduct);
  CHECK(e.product_title == "Pickaxe Analytics");
  CHECK(e.plan_id == kPlan);
  CHECK(e.currency == "usd");
}

}  // namespace

TEST_CASE("v1 payment.failed: event time is last_payment_attempt, not created_at") {
  const Event e = map_ok(load_fixture("v1_payment.failed.json"));
  CHECK(e.type == "payment.failed");
  CHECK(e.kind == EventKind::PaymentFailed);
  CHECK(e.envelope_id == "msg_AxmrtCJqgLTVy6vQiCKAGoEe");
  check_common_ids(e);
  CHECK(e.payment_id == kPayment);
  CHECK(e.event_time_ms == iso("2026-11-20T23:09:16.752Z"));
  CHECK(e.event_time_ms != iso("2026-07-01T12:00:00.000Z"));  // data.created_at
  CHECK(e.amount_cents == 2999);
  CHECK(e.failure_message == "Your card has insufficient funds.");
  CHECK(e.manage_url.empty());
}

TEST_CASE("v1 payment.succeeded: event time is paid_at") {
  json body = load_fixture("v1_payment.succeeded.json");
  body["data"]["paid_at"] = "2026-11-20T23:09:16.500Z";  // distinct from the other candidates
  const Event e = map_ok(body);
  CHECK(e.kind == EventKind::PaymentSucceeded);
  check_common_ids(e);
  CHECK(e.payment_id == kPayment);
  CHECK(e.event_time_ms == iso("2026-11-20T23:09:16.500Z"));
  CHECK(e.amount_cents == 2999);
  CHECK(e.failure_message.empty());
}

TEST_CASE("v1 payment.pending: informational, envelope time") {
  const Event e = map_ok(load_fixture("v1_payment.pending.json"));
  CHECK(e.kind == EventKind::PaymentPending);
  check_common_ids(e);
  CHECK(e.payment_id == kPayment);
  CHECK(e.event_time_ms == iso("2026-11-20T23:09:17.195Z"));
  CHECK(e.amount_cents == 2999);
}

TEST_CASE("v1 membership events: id is data.id, time is updated_at, manage_url kept") {
  struct Case {
    const char* file;
    EventKind kind;
    const char* time;
  };
  const Case cases[] = {
      {"v1_membership.activated.json", EventKind::MembershipActivated, "2026-11-20T23:09:17.436Z"},
      {"v1_membership.deactivated.json", EventKind::MembershipDeactivated,
       "2026-11-20T23:09:17.757Z"},
      {"v1_membership.cancel_at_period_end_changed.json",
       EventKind::MembershipCancelAtPeriodEndChanged, "2026-11-20T23:09:18.062Z"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.file);
    json body = load_fixture(c.file);
    body["timestamp"] = "2030-01-01T00:00:00Z";  // must not be used while updated_at exists
    const Event e = map_ok(body);
    CHECK(e.type == body["type"].get<std::string>());
    CHECK(e.kind == c.kind);
    check_common_ids(e);
    CHECK(e.payment_id.empty());
    CHECK(e.event_time_ms == iso(c.time));
    CHECK_FALSE(e.amount_cents.has_value());
    CHECK(e.manage_url == "https://whop.com/billing/manage/mem_Zx12Cv34Bn56Ml");
  }
}

TEST_CASE("signature vector body maps (partial payment, no last_payment_attempt)") {
  const Event e = map_ok(load_fixture("vector_body.json"));
  CHECK(e.kind == EventKind::PaymentFailed);
  CHECK(e.envelope_id == "msg_2Z6rH4n8QmXcVb1LpT0sKy9A");
  CHECK(e.membership_id == kMembership);
  CHECK(e.payment_id == kPayment);
  CHECK(e.user_id == kUser);
  CHECK(e.event_time_ms == iso("2026-01-01T00:00:00.000Z"));  // envelope fallback
  CHECK(e.amount_cents == 2999);
  CHECK(e.failure_message == "Your card was declined.");
  CHECK(e.product_id.empty());
  CHECK(e.product_title.empty());
}

TEST_CASE("legacy v5 payment.failed: flat ids, unix seconds, final_amount") {
  const Event e = map_ok(load_fixture("v5_legacy_payment.failed.json"));
  CHECK(e.type == "payment.failed");
  CHECK(e.kind == EventKind::PaymentFailed);
  CHECK(e.api_version == "v5");
  CHECK(e.envelope_id.empty());
  CHECK(e.payment_id == "pay_Lg12Ac34Yq56Zt");
  CHECK(e.membership_id == kMembership);
  CHECK(e.user_id == kUser);
  CHECK(e.username.empty());
  CHECK(e.product_id == kProduct);
  CHECK(e.plan_id == kPlan);
  CHECK(e.company_id == kCompany);
  CHECK(e.event_time_ms == 1767225600LL * 1000);
  CHECK(e.amount_cents == 2999);
  CHECK(e.currency == "usd");
}

TEST_CASE("legacy v5: final_amount is used when no other amount exists") {
  json body = load_fixture("v5_legacy_payment.failed.json");
  body["data"].erase("subtotal");
  body["data"]["final_amount"] = 12.5;
  CHECK(map_ok(body).amount_cents == 1250);
}

TEST_CASE("legacy membership names") {
  CHECK(kind_from_type("membership.went_valid") == EventKind::MembershipActivated);
  CHECK(kind_from_type("membership.went_invalid") == EventKind::MembershipDeactivated);
  const json body = {{"action", "membership.went_valid"},
                     {"api_version", "v5"},
                     {"data",
                      {{"id", kMembership},
                       {"user_id", kUser},
                       {"updated_at", 1767225600},
                       {"manage_url", "https://whop.com/x"}}}};
  const Event e = map_ok(body);
  CHECK(e.kind == EventKind::MembershipActivated);
  CHECK(e.membership_id == kMembership);
  CHECK(e.user_id == kUser);
  CHECK(e.event_time_ms == 1767225600000);
  CHECK(e.manage_url == "https://whop.com/x");
}

TEST_CASE("kind_from_type") {
  CHECK(kind_from_type("payment.failed") == EventKind::PaymentFailed);
  CHECK(kind_from_type("payment.succeeded") == EventKind::PaymentSucceeded);
  CHECK(kind_from_type("payment.pending") == EventKind::PaymentPending);
  CHECK(kind_from_type("membership.activated") == EventKind::MembershipActivated);
  CHECK(kind_from_type("membership.deactivated") == EventKind::MembershipDeactivated);
  CHECK(kind_from_type("membership.cancel_at_period_end_changed") ==
        EventKind::MembershipCancelAtPeriodEndChanged);
  CHECK(kind_from_type("refund.created") == EventKind::Refund);
  CHECK(kind_from_type("refund.updated") == EventKind::Refund);
  CHECK(kind_from_type("dispute.created") == EventKind::Dispute);
  CHECK(kind_from_type("refund") == EventKind::Other);
  CHECK(kind_from_type("Payment.Failed") == EventKind::Other);
  CHECK(kind_from_type("invoice.paid") == EventKind::Other);
  CHECK(kind_from_type("") == EventKind::Other);
}

TEST_CASE("unknown types map to Other with the envelope time") {
  const json body = {{"id", "msg_1"},
                     {"type", "invoice.paid"},
                     {"timestamp", "2026-11-20T23:09:16.752Z"},
                     {"data", {{"id", "inv_1"}}}};
  const Event e = map_ok(body);
  CHECK(e.type == "invoice.paid");
  CHECK(e.kind == EventKind::Other);
  CHECK(e.event_time_ms == iso("2026-11-20T23:09:16.752Z"));
  CHECK(e.payment_id.empty());
}

TEST_CASE("event time falls back to the envelope timestamp when the field is null or missing") {
  const int64_t envelope = iso("2026-11-20T23:09:16.752Z");
  SUBCASE("payment.failed, last_payment_attempt null") {
    json body = load_fixture("v1_payment.failed.json");
    body["data"]["last_payment_attempt"] = nullptr;
    CHECK(map_ok(body).event_time_ms == envelope);
  }
  SUBCASE("payment.failed, last_payment_attempt missing") {
    json body = load_fixture("v1_payment.failed.json");
    body["data"].erase("last_payment_attempt");
    CHECK(map_ok(body).event_time_ms == envelope);
  }
  SUBCASE("payment.succeeded, paid_at null") {
    json body = load_fixture("v1_payment.succeeded.json");
    body["data"]["paid_at"] = nullptr;
    body["timestamp"] = "2026-11-20T23:09:16.752Z";
    CHECK(map_ok(body).event_time_ms == envelope);
  }
  SUBCASE("membership, updated_at missing") {
    json body = load_fixture("v1_membership.deactivated.json");
    body["data"].erase("updated_at");
    body["timestamp"] = "2026-11-20T23:09:16.752Z";
    CHECK(map_ok(body).event_time_ms == envelope);
  }
  SUBCASE("unparseable field") {
    json body = load_fixture("v1_payment.failed.json");
    body["data"]["last_payment_attempt"] = "yesterday";
    CHECK(map_ok(body).event_time_ms == envelope);
  }
  SUBCASE("envelope timestamp as unix seconds") {
    json body = load_fixture("v1_payment.failed.json");
    body["data"]["last_payment_attempt"] = nullptr;
    body["timestamp"] = 1767225600;
    CHECK(map_ok(body).event_time_ms == 1767225600000);
  }
  SUBCASE("no usable time at all") {
    json body = load_fixture("v5_legacy_payment.failed.json");
    body["data"]["last_payment_attempt"] = nullptr;
    CHECK_FALSE(map_ok(body).event_time_ms.has_value());
  }
}

TEST_CASE("numeric times: seconds, milliseconds above 1e11, digit strings") {
  json body = load_fixture("v5_legacy_payment.failed.json");
  SUBCASE("seconds") {
    body["data"]["last_payment_attempt"] = 1767225600;
    CHECK(map_ok(body).event_time_ms == 1767225600000);
  }
  SUBCASE("milliseconds") {
    body["data"]["last_payment_attempt"] = 1767225600123LL;
    CHECK(map_ok(body).event_time_ms == 1767225600123);
  }
  SUBCASE("fractional seconds") {
    body["data"]["last_payment_attempt"] = 1767225600.5;
    CHECK(map_ok(body).event_time_ms == 1767225600500);
  }
  SUBCASE("seconds as a string") {
    body["data"]["last_payment_attempt"] = "1767225600";
    CHECK(map_ok(body).event_time_ms == 1767225600000);
  }
  SUBCASE("ISO string in a legacy body") {
    body["data"]["last_payment_attempt"] = "2026-01-01T00:00:00Z";
    CHECK(map_ok(body).event_time_ms == 1767225600000);
  }
  SUBCASE("negative is unusable") {
    body["data"]["last_payment_attempt"] = -5;
    CHECK_FALSE(map_ok(body).event_time_ms.has_value());
  }
}

TEST_CASE("amounts: numbers and numeric strings, fallbacks in order") {
  json body = load_fixture("v1_payment.failed.json");
  SUBCASE("numeric string") {
    body["data"]["total"] = "29.99";
    CHECK(map_ok(body).amount_cents == 2999);
  }
  SUBCASE("integer") {
    body["data"]["total"] = 30;
    CHECK(map_ok(body).amount_cents == 3000);
  }
  SUBCASE("total null -> subtotal") {
    body["data"]["total"] = nullptr;
    body["data"]["subtotal"] = 19.999;
    CHECK(map_ok(body).amount_cents == 2000);
  }
  SUBCASE("total and subtotal absent -> usd_total") {
    body["data"].erase("total");
    body["data"].erase("subtotal");
    body["data"]["usd_total"] = 10.1;
    CHECK(map_ok(body).amount_cents == 1010);
  }
  SUBCASE("no amount at all") {
    for (const char* key : {"total", "subtotal", "usd_total"}) body["data"].erase(key);
    CHECK_FALSE(map_ok(body).amount_cents.has_value());
  }
  SUBCASE("garbage strings are absent") {
    body["data"]["total"] = "29.99 USD";
    body["data"]["subtotal"] = "nan";
    body["data"]["usd_total"] = "12";
    CHECK(map_ok(body).amount_cents == 1200);
  }
  SUBCASE("currency is lower-cased") {
    body["data"]["currency"] = "EUR";
    CHECK(map_ok(body).currency == "eur");
  }
}

TEST_CASE("amounts: each currency's minor units, exactly as the sender wrote them") {
  json body = load_fixture("v1_payment.failed.json");
  auto mapped_text = [&](const std::string& currency, const std::string& total) {
    body["data"]["currency"] = currency;
    body["data"]["total"] = 0;
    std::string raw = body.dump();
    const std::string from = "\"total\":0";
    REQUIRE(raw.find(from) != std::string::npos);
    raw.replace(raw.find(from), from.size(), "\"total\":" + total);
    auto result = cs::domain::parse_whop_event(raw);
    REQUIRE(result.event);
    return *result.event;
  };
  CHECK(mapped_text("jpy", "1000").amount_cents == 1000);
  CHECK(mapped_text("JPY", "1000.0").amount_cents == 1000);
  CHECK(mapped_text("kwd", "12.345").amount_cents == 12345);
  CHECK(mapped_text("usd", "1202.47").amount_cents == 120247);
  CHECK(mapped_text("usd", "0.29").amount_cents == 29);
  CHECK(mapped_text("usd", "19.99").amount_cents == 1999);
  CHECK(mapped_text("usd", "1e3").amount_cents == 100000);
  // The source text decides, not the nearest double (1.005 as a double rounds to 100).
  CHECK(mapped_text("usd", "1.00500000000000000001").amount_cents == 101);
  CHECK(mapped_text("usd", "1.005").amount_cents == 100);
  CHECK(mapped_text("xyz", "12.34").amount_cents == 1234);
  CHECK(mapped_text("usd", "1e300").amount_cents == 2999);  // not money: subtotal instead
  SUBCASE("without the text, a parsed double converts as written") {
    body["data"]["currency"] = "kwd";
    body["data"]["total"] = 12.345;
    CHECK(map_ok(body).amount_cents == 12345);
    body["data"]["currency"] = "jpy";
    body["data"]["total"] = 1000;
    CHECK(map_ok(body).amount_cents == 1000);
  }
  SUBCASE("a repeated key: the last one counts, for the text as for the document") {
    const std::string raw =
        R"({"type":"payment.failed","data":{"currency":"usd","total":1.5,"total":2.25},)"
        R"("data":{"currency":"usd","total":3.75,"total":4.125}})";
    const auto result = cs::domain::parse_whop_event(raw).event;
    REQUIRE(result);
    CHECK(result->amount_cents == 412);
  }
  SUBCASE("nested numbers do not stand in for data's own") {
    const std::string raw =
        R"({"type":"payment.failed","data":{"currency":"usd","x":{"total":9.99},"total":1.25}})";
    const auto result = cs::domain::parse_whop_event(raw).event;
    REQUIRE(result);
    CHECK(result->amount_cents == 125);
  }
  SUBCASE("usd_total is US dollars whatever the currency") {
    body["data"]["currency"] = "jpy";
    body["data"].erase("total");
    body["data"].erase("subtotal");
    body["data"]["usd_total"] = 6.71;
    const Event e = map_ok(body);
    CHECK(e.amount_cents == 671);
    CHECK(e.currency == "usd");
  }
}

TEST_CASE("refunds and disputes") {
  const json refund = {{"id", "msg_r1"},
                       {"api_version", "v1"},
                       {"type", "refund.created"},
                       {"timestamp", "2026-11-22T00:00:00Z"},
                       {"company_id", kCompany},
                       {"data",
                        {{"id", "rfnd_1"},
                         {"amount", 10.00},
                         {"currency", "usd"},
                         {"created_at", "2026-11-21T00:00:00Z"},
                         {"payment", {{"id", kPayment}}}}}};
  SUBCASE("refund with payment object and created_at") {
    const Event e = map_ok(refund);
    CHECK(e.kind == EventKind::Refund);
    CHECK(e.payment_id == kPayment);
    CHECK(e.amount_cents == 1000);
    CHECK(e.event_time_ms == iso("2026-11-21T00:00:00Z"));
  }
  SUBCASE("updated_at wins over created_at") {
    json body = refund;
    body["data"]["updated_at"] = "2026-11-21T12:00:00Z";
    CHECK(map_ok(body).event_time_ms == iso("2026-11-21T12:00:00Z"));
  }
  SUBCASE("dispute with flat payment_id and no times") {
    json body = refund;
    body["type"] = "dispute.created";
    body["data"].erase("payment");
    body["data"].erase("created_at");
    body["data"]["payment_id"] = "pay_2";
    const Event e = map_ok(body);
    CHECK(e.kind == EventKind::Dispute);
    CHECK(e.payment_id == "pay_2");
    CHECK(e.event_time_ms == iso("2026-11-22T00:00:00Z"));
  }
}

TEST_CASE("wrong-typed fields are treated as absent") {
  json body = load_fixture("v1_payment.failed.json");
  body["id"] = 42;
  body["api_version"] = true;
  body["company_id"] = json::array({1, 2});
  body["data"]["id"] = json::object();
  body["data"]["membership"] = "mem_not_an_object";
  body["data"]["user"] = json::array();
  body["data"]["product"] = {{"id", 7}, {"title", nullptr}};
  body["data"]["plan"] = nullptr;
  body["data"]["total"] = json::object();
  body["data"]["subtotal"] = false;
  body["data"]["usd_total"] = json::array({29.99});
  body["data"]["currency"] = 840;
  body["data"]["failure_message"] = 3;
  body["data"]["last_payment_attempt"] = json::object();
  const auto result = map_whop_event(body);
  REQUIRE(result.ok());
  const Event& e = *result;
  CHECK(e.kind == EventKind::PaymentFailed);
  CHECK(e.envelope_id.empty());
  CHECK(e.api_version.empty());
  CHECK(e.company_id == kCompany);  // falls back to data.company.id
  CHECK(e.payment_id.empty());
  CHECK(e.membership_id.empty());
  CHECK(e.user_id.empty());
  CHECK(e.username.empty());
  CHECK(e.product_id.empty());
  CHECK(e.product_title.empty());
  CHECK(e.plan_id.empty());
  CHECK_FALSE(e.amount_cents.has_value());
  CHECK(e.currency.empty());
  CHECK(e.failure_message.empty());
  CHECK(e.event_time_ms == iso("2026-11-20T23:09:16.752Z"));  // envelope fallback
}

TEST_CASE("data that is not an object yields an event with only envelope fields") {
  for (const json& data : {json(nullptr), json("x"), json(5), json::array({1})}) {
    const json body = {{"id", "msg_1"},
                       {"type", "payment.failed"},
                       {"timestamp", "2026-11-20T23:09:16.752Z"},
                       {"data", data}};
    const Event e = map_ok(body);
    CHECK(e.kind == EventKind::PaymentFailed);
    CHECK(e.envelope_id == "msg_1");
    CHECK(e.payment_id.empty());
    CHECK(e.event_time_ms == iso("2026-11-20T23:09:16.752Z"));
  }
}

TEST_CASE("bodies that are not objects or name no type are errors") {
  const json bad[] = {
      json(nullptr),
      json("payment.failed"),
      json(42),
      json::array({{{"type", "payment.failed"}}}),
      json::object(),
      json{{"data", json::object()}},
      json{{"type", 5}},
      json{{"type", ""}},
      json{{"type", nullptr}, {"action", false}},
  };
  for (const json& body : bad) {
    CAPTURE(body.dump());
    const auto result = map_whop_event(body);
    CHECK_FALSE(result.ok());
    if (!result.ok()) CHECK_FALSE(result.error().empty());
  }
  // A wrong-typed "type" falls back to a valid legacy "action".
  const auto legacy = map_whop_event(json{{"type", 5}, {"action", "payment.failed"}});
  REQUIRE(legacy.ok());
  CHECK(legacy->kind == EventKind::PaymentFailed);
}
