// The one-pass parse of a webhook body (domain::parse_whop_event, no document built, used by ingest
// and by processing) against the document: map_whop_event(parse_json_limited(raw)) and
// member_details of the same document give the same event and member for every fixture and for
// hand-made variations (duplicate keys, wrong types, deep nesting), and the same error for every
// body that does not parse. Amounts the document's doubles cannot hold (more than 15 significant
// digits) are checked against the sender's text instead.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "domain/event.h"
#include "domain/member.h"
#include "util/json_limits.h"

using cs::domain::Event;
using cs::domain::parse_whop_event;

namespace {

std::string describe(const cs::domain::MemberDetails& m) {
  return nlohmann::json{{"name", m.name},
                        {"email", m.email},
                        {"username", m.username},
                        {"brand", m.card_brand},
                        {"last4", m.card_last4}}
      .dump();
}

std::string describe(const Event& e) {
  nlohmann::json j = {
      {"type", e.type},
      {"kind", static_cast<int>(e.kind)},
      {"api_version", e.api_version},
      {"envelope_id", e.envelope_id},
      {"time", e.event_time_ms ? nlohmann::json(*e.event_time_ms) : nullptr},
      {"company", e.company_id},
      {"membership", e.membership_id},
      {"payment", e.payment_id},
      {"user", e.user_id},
      {"username", e.username},
      {"name", e.display_name},
      {"product", e.product_id},
      {"title", e.product_title},
      {"plan", e.plan_id},
      {"amount", e.amount_cents ? nlohmann::json(*e.amount_cents) : nullptr},
      {"currency", e.currency},
      {"failure", e.failure_message},
      {"manage_url", e.manage_url},
      {"cancel", e.cancel_at_period_end ? nlohmann::json(*e.cancel_at_period_end) : nullptr}};
  return j.dump();
}

/// The document path: "bad_json: ...", or the member and "bad_event: ..." or the event.
std::string reference(const std::string& raw) {
  auto json = cs::parse_json_limited(raw);
  if (!json) return "bad_json: " + json.error();
  const std::string member = describe(cs::domain::member_details(*json)) + " ";
  auto ev = cs::domain::map_whop_event(*json);
  if (!ev) return member + "bad_event: " + ev.error();
  return member + describe(*ev);
}

std::string one_pass(const std::string& raw) {
  auto p = parse_whop_event(raw);
  if (p.bad_json) {
    REQUIRE_FALSE(p.event);
    CHECK(p.member.empty());
    return "bad_json: " + p.error;
  }
  const std::string member = describe(p.member) + " ";
  if (!p.event) return member + "bad_event: " + p.error;
  return member + describe(*p.event);
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("one-pass parse: every Whop fixture maps to the same event as the document") {
  int n = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(CS_FIXTURES_DIR) + "/whop")) {
    if (entry.path().extension() != ".json") continue;
    const std::string raw = read_file(entry.path());
    CAPTURE(entry.path().filename().string());
    CHECK(one_pass(raw) == reference(raw));
    ++n;
  }
  CHECK(n >= 7);
}

TEST_CASE("one-pass parse: variations and hostile bodies give the same event or error") {
  const std::vector<std::string> bodies = {
      // Not JSON, or not an object, or no type.
      "",
      "{not json",
      "{\"type\":\"payment.failed\"",
      "[1,2]",
      "\"payment.failed\"",
      "null",
      "{\"type\":\"payment.failed\"} trailing",
      R"({"data":{}})",
      R"({"type":""})",
      R"({"type":5})",
      R"({"action":"payment.failed"})",
      std::string(65, '[') + std::string(65, ']'),
      std::string(64, '[') + std::string(64, ']'),
      "{\"type\":\"payment.failed\",\"data\":" + std::string(63, '[') + std::string(63, ']') + "}",
      R"({"type":"payment.failed","data":{"total":1e400}})",
      R"({"type":"payment.failed","data":{"total":12.3}, "x": "\ud800"})",
      "{\"type\":\"payment.failed\",\"data\":{\"id\":\"p\xff\"}}",
      // Duplicate keys: the last wins, also when a later one has another type.
      R"({"type":"payment.failed","type":"payment.succeeded","data":{"id":"pay_1"}})",
      R"({"type":"payment.failed","data":{"id":"pay_1","total":5},"data":{"id":"pay_2"}})",
      R"({"type":"payment.failed","data":{"user":{"id":"u1"},"user":"u2"}})",
      R"({"type":"payment.failed","data":{"total":1.25,"total":"3.50","currency":"USD"}})",
      R"({"type":"payment.failed","data":{"total":"3.50","total":1.255,"currency":"kwd"}})",
      // Wrong types where objects or strings are read.
      R"({"type":"payment.failed","data":[{"id":"pay_1"}]})",
      R"({"type":"payment.failed","data":{"membership":["mem_1"],"user":{"id":{"x":1}}}})",
      R"({"type":"payment.failed","data":{"membership":{"id":"mem_1","deep":{"id":"no"}}}})",
      R"({"type":"payment.failed","data":{"total":{"amount":5},"subtotal":[7],"usd_total":2}})",
      // Exact amounts, times in every form, nested numbers not taken for data's.
      R"({"type":"payment.failed","timestamp":"2026-01-01T00:00:00Z","data":{"total":1202.47,
         "currency":"usd","last_payment_attempt":1767225600,"x":{"total":9.99}}})",
      R"({"type":"payment.succeeded","timestamp":1767225600123,"data":{"paid_at":null,
         "subtotal":0.1,"currency":"JPY"}})",
      R"({"type":"refund.created","data":{"updated_at":"bad","created_at":"1767225600",
         "amount":"12.345","payment":{"id":"pay_9"},"currency":"kwd"}})",
      R"({"type":"membership.cancel_at_period_end_changed","data":{"id":"mem_1",
         "cancel_at_period_end":true,"manage_url":"https://whop.com/x","updated_at":5}})",
      R"({"action":"membership.went_valid","data":{"id":"mem_2","user_id":"u","product_id":"p",
         "plan_id":"pl","company_id":"biz"}})",
      R"({"api_version":"v1","id":"msg_1","company_id":"biz_1","type":"dispute.created",
         "data":{"payment_id":"pay_3","amount":100,"created_at":"2026-01-02T00:00:00.5Z"}})",
      R"({"type":"payment.failed","data":{"total":1e20,
         "failure_message":"Card declined","usd_total":-1}})",
      // The member's details: user, card fields, payment_method.card, and their wrong types.
      R"({"type":"payment.failed","data":{"user":{"id":"u","name":"Ann Lee","email":"a@x.io",
         "username":"ann"},"card_brand":"visa","card_last4":"4242"}})",
      R"({"type":"payment.failed","data":{"payment_method":{"card":{"brand":"amex",
         "last4":"0005"}},"user":{"email":"b@y.io","email":"c@z.io"}}})",
      R"({"type":"payment.failed","data":{"card_last4":"42x2","payment_method":{"card":[1]},
         "user":"u1"}})",
      R"({"type":"payment.failed","data":{"payment_method":"card","card_brand":7,
         "user":{"name":{"first":"A"},"email":null}}})",
      R"({"type":"payment.failed","data":{"payment_method":{"card":{"brand":"mc"},
         "card":{"last4":"1111"}},"x":{"user":{"name":"not data's"}}}})",
      R"({"data":{"user":{"name":"No Type","email":"n@t.io"}}})",
  };
  for (const auto& raw : bodies) {
    CAPTURE(raw);
    CHECK(one_pass(raw) == reference(raw));
  }
}

TEST_CASE("one-pass parse: amounts come from the sender's text, not the nearest double") {
  // The document holds these as doubles (15-17 significant digits); the one pass keeps the text.
  auto amount = [](const std::string& total, const std::string& currency) {
    auto p = parse_whop_event(R"({"type":"payment.failed","data":{"currency":")" + currency +
                              R"(","total":)" + total + "}}");
    REQUIRE(p.event);
    return p.event->amount_cents;
  };
  CHECK(amount("1.00500000000000000001", "usd") == 101);
  CHECK(amount("1.005", "usd") == 100);
  CHECK(amount("1202.47", "usd") == 120247);
  CHECK(amount("12.345", "kwd") == 12345);
  CHECK(amount("123456789012345678901234567890", "usd") == std::nullopt);  // not money
  // 16 significant digits: the nearest double is ...994.14, whose shortest text rounds down.
  CHECK(amount("9999999999999.995", "usd") == 1000000000000000);
}

TEST_CASE("one-pass parse: a hostile body gets the JSON error ingest answers 400 with") {
  auto deep = parse_whop_event(std::string(100000, '['));
  CHECK(deep.bad_json);
  CHECK(deep.error == "JSON nested deeper than 64 levels");
  auto broken = parse_whop_event("{\"type\": payment}");
  CHECK(broken.bad_json);
  CHECK(broken.error.starts_with("invalid JSON (at byte "));
  auto huge = parse_whop_event(R"({"type":"payment.failed","data":{"total":1e999}})");
  CHECK(huge.bad_json);
  CHECK(huge.error == "invalid JSON (a number is out of range)");
}
