#pragma once
// Mapping a Whop webhook body (v1 envelope or legacy v5) to the plain domain Event: the minimal
// plaintext projection Churn Saver keeps next to the encrypted payload. Pure: no I/O, no clock.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "domain/member.h"
#include "util/result.h"

namespace cs::domain {

enum class EventKind {
  PaymentFailed,
  PaymentSucceeded,
  PaymentPending,
  MembershipActivated,    // also legacy "membership.went_valid"
  MembershipDeactivated,  // also legacy "membership.went_invalid"
  MembershipCancelAtPeriodEndChanged,
  Refund,   // any "refund.*"
  Dispute,  // any "dispute.*"
  Other,    // stored and acknowledged, ignored by recovery
};

/// EventKind for a Whop event type string (v1 names and the legacy ones above).
EventKind kind_from_type(std::string_view type);

/// What recovery needs from one event, and nothing personal beyond the username.
struct Event {
  std::string type;  // as sent: "payment.failed"; legacy: the "action"
  EventKind kind = EventKind::Other;
  std::string api_version;  // "v1", "v5", ... ("" when absent)
  std::string envelope_id;  // v1 envelope "id" (msg_...) when present
  /// The event's own time (shared/WHOP.md §2): payment.failed -> data.last_payment_attempt;
  /// payment.succeeded -> data.paid_at; membership.* -> data.updated_at; refund/dispute ->
  /// data.updated_at or data.created_at; otherwise and whenever that field is missing or null,
  /// the envelope "timestamp". Legacy bodies carry unix seconds; both forms are accepted.
  /// nullopt when no usable time exists at all.
  std::optional<int64_t> event_time_ms;
  std::string company_id;
  std::string membership_id;  // payment: data.membership.id (legacy data.membership_id);
                              // membership events: data.id
  std::string payment_id;     // payment events: data.id; refund/dispute: data.payment.id or
                              // data.payment_id
  std::string user_id;        // data.user.id (legacy data.user_id)
  std::string username;       // data.user.username ("" when absent)
  std::string display_name;   // data.user.name: personal; used only to render a message, never
                              // stored in plaintext
  std::string product_id;     // data.product.id (legacy data.product_id)
  std::string product_title;  // data.product.title
  std::string plan_id;        // data.plan.id (legacy data.plan_id)
  /// In minor units of `currency` (cents for USD, yen for JPY, fils for KWD: domain/money.h),
  /// converted exactly from the major units Whop sends. Payments: total, else subtotal, else
  /// usd_total, else legacy final_amount; refunds: data.amount.
  std::optional<int64_t> amount_cents;
  std::string currency;                      // lowercase; "" when absent
  std::string failure_message;               // payment.failed: data.failure_message
  std::string manage_url;                    // membership events: data.manage_url
  std::optional<bool> cancel_at_period_end;  // membership events: data.cancel_at_period_end
};

/// Maps a parsed webhook body. Error only when the body is not an object or names no event type
/// ("type" for v1, "action" for legacy). Unknown types map to EventKind::Other. Lenient about
/// everything else: unknown fields are ignored, wrong-typed fields are treated as absent.
/// Amounts that are JSON numbers are converted from the double the parser made of them (exact for
/// up to 15 significant digits); parse_whop_event converts them from their source text.
Result<Event> map_whop_event(const nlohmann::json& body);

/// A raw webhook body parsed and mapped in one pass.
struct ParsedEvent {
  std::optional<Event> event;  // when the body maps
  std::string error;           // otherwise: why
  bool bad_json = false;       // the body is not valid JSON or nests too deep (else: no event)
  /// The member's personal details (member_details of the body), also when it maps to no event;
  /// empty when it does not parse.
  MemberDetails member;
};
/// Parses and maps a raw body without building its document: one SAX pass keeps only the members
/// the mapping and member_details read. The same event as map_whop_event(parse_json_limited(raw))
/// (amounts converted from the text the sender wrote, so no digit is lost to binary floating
/// point), the same error as parse_json_limited for a body that does not parse, and the same
/// member as member_details of the document.
ParsedEvent parse_whop_event(std::string_view raw);

}  // namespace cs::domain
