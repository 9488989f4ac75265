// The JSON depth pre-scan (src/util/json_limits.cpp) and the Whop event mapper
// (src/domain/event.cpp) on hostile bodies, and the webhook's one-pass parser against them.
// The plain scan that sax_parse_limited runs for ordinary bodies gives nlohmann's SAX events.
// Invariants: nothing crashes or recurses without bound; whatever parses is shallow enough to
// copy and dump; the mapper never throws; parse_whop_event (the SAX pass the webhook uses) gives
// what parse_json_limited + map_whop_event + member_details give for the same body: the same
// event field by field and the same member, or the same error. Amounts are the one exception:
// the one pass converts the sender's text, the document a double, so they may differ by the
// double's rounding (beyond 15 significant digits) and no more.
#include <cmath>
#include <cstdint>
#include <string_view>

#include "domain/event.h"
#include "domain/member.h"
#include "domain/money.h"
#include "fuzz/fuzz.h"
#include "support/sax_recorder.h"
#include "util/json_limits.h"

namespace {

using cs::domain::Event;
using cs::fuzz::check;

void check_same_event(const Event& a, const Event& b) {
  check(a.type == b.type, "one-pass parse: type differs");
  check(a.kind == b.kind, "one-pass parse: kind differs");
  check(a.api_version == b.api_version, "one-pass parse: api_version differs");
  check(a.envelope_id == b.envelope_id, "one-pass parse: envelope_id differs");
  check(a.event_time_ms == b.event_time_ms, "one-pass parse: event time differs");
  check(a.company_id == b.company_id, "one-pass parse: company_id differs");
  check(a.membership_id == b.membership_id, "one-pass parse: membership_id differs");
  check(a.payment_id == b.payment_id, "one-pass parse: payment_id differs");
  check(a.user_id == b.user_id, "one-pass parse: user_id differs");
  check(a.username == b.username, "one-pass parse: username differs");
  check(a.display_name == b.display_name, "one-pass parse: display_name differs");
  check(a.product_id == b.product_id, "one-pass parse: product_id differs");
  check(a.product_title == b.product_title, "one-pass parse: product_title differs");
  check(a.plan_id == b.plan_id, "one-pass parse: plan_id differs");
  // a: from the text; b: from the double. At most 1e13 major units (domain/money.h), whose
  // double is within 2^-52 relative, so a few minor units apart at the very top.
  if (a.amount_cents && b.amount_cents) {
    const double gap = std::fabs(static_cast<double>(*a.amount_cents - *b.amount_cents));
    check(gap <= 1 + std::fabs(static_cast<double>(*b.amount_cents)) * 1e-14,
          "one-pass parse: amount differs beyond a double's rounding");
  } else if (a.amount_cents != b.amount_cents) {
    // One side only: only at the edge of the largest amount accepted.
    const int64_t v = a.amount_cents ? *a.amount_cents : *b.amount_cents;
    check(std::fabs(static_cast<double>(v)) >= cs::domain::kMaxMajorAmount * 0.99,
          "one-pass parse: an amount on one side only");
  }
  check(a.currency == b.currency, "one-pass parse: currency differs");
  check(a.failure_message == b.failure_message, "one-pass parse: failure_message differs");
  check(a.manage_url == b.manage_url, "one-pass parse: manage_url differs");
  check(a.cancel_at_period_end == b.cancel_at_period_end,
        "one-pass parse: cancel_at_period_end differs");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  // The plain scan (util/json_limits.cpp: the webhook's fast path) against nlohmann's own SAX
  // parse: whatever it scans, nlohmann accepts, with exactly the same events.
  if (cs::plain_json(text)) {
    cs::test::SaxRecorder reference, ours;
    check(cs::test::reference_sax_parse(text, reference), "plain_json accepted invalid JSON");
    check(static_cast<bool>(cs::sax_parse_limited(text, ours)), "plain scan: parse failed");
    check(ours.log == reference.log, "plain scan: events differ from nlohmann's");
  }

  // The document path at a small depth: copying and dumping stay bounded.
  if (auto shallow = cs::parse_json_limited(text, 8)) {
    nlohmann::json copy = *shallow;  // copying recurses: bounded by the depth limit
    (void)copy.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    auto event = cs::domain::map_whop_event(*shallow);
    if (event) {
      check(!event->type.empty(), "mapped an event without a type");
      for (char c : event->currency) check(!(c >= 'A' && c <= 'Z'), "currency not lower-cased");
    }
  }

  // Differential: the webhook's one pass against the document path at the webhook's depth.
  const auto one_pass = cs::domain::parse_whop_event(text);
  const auto parsed = cs::parse_json_limited(text);
  check(one_pass.bad_json == !parsed, "one-pass parse: valid JSON judged differently");
  if (!parsed) {
    check(one_pass.error == parsed.error(), "one-pass parse: a different JSON error");
    check(!one_pass.event, "one-pass parse: an event from invalid JSON");
    return 0;
  }
  const auto member = cs::domain::member_details(*parsed);
  check(one_pass.member.name == member.name && one_pass.member.email == member.email &&
            one_pass.member.username == member.username &&
            one_pass.member.card_brand == member.card_brand &&
            one_pass.member.card_last4 == member.card_last4,
        "one-pass parse: member details differ");
  auto mapped = cs::domain::map_whop_event(*parsed);
  check(one_pass.event.has_value() == static_cast<bool>(mapped),
        "one-pass parse: maps when the document path does not, or the reverse");
  if (mapped) {
    check_same_event(*one_pass.event, *mapped);
    check(!one_pass.event->type.empty(), "mapped an event without a type");
  } else {
    check(one_pass.error == mapped.error(), "one-pass parse: a different mapping error");
  }
  return 0;
}
