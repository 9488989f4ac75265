#include "domain/event.h"

#include <charconv>
#include <cmath>
#include <exception>
#include <initializer_list>
#include <map>
#include <vector>

#include <nlohmann/json.hpp>

#include "domain/currency.h"
#include "domain/member.h"
#include "domain/money.h"
#include "domain/time.h"
#include "util/json_limits.h"

namespace cs::domain {
namespace {

using nlohmann::json;

// Unix times: numbers above this are milliseconds, below it seconds (1e11 s is the year 5138,
// 1e11 ms is March 1973, so real values of either unit never straddle it).
constexpr double kMillisecondsThreshold = 1e11;
// 9999-12-31T23:59:59.999Z: the last instant that format_iso8601_ms writes with four digits.
constexpr double kMaxTimeMs = 253402300799999.0;
/// The source text of the non-integer numbers that are direct members of the body's "data"
/// object ("total" -> "1202.47"): amounts are converted from what the sender wrote, not from the
/// nearest binary double.
using NumberTexts = std::map<std::string, std::string, std::less<>>;

/// The member `key` of `obj`, or nullptr when `obj` is not an object or lacks the key.
const json* member(const json* obj, const char* key) {
  if (obj == nullptr || !obj->is_object()) return nullptr;
  const auto it = obj->find(key);
  return it == obj->end() ? nullptr : &*it;
}

/// Follows a path of object keys ("product", "id"); nullptr when any step is missing.
const json* path(const json* obj, std::initializer_list<const char*> keys) {
  for (const char* key : keys) obj = member(obj, key);
  return obj;
}

/// The string at `node`, or "" when it is absent or not a string.
std::string string_or_empty(const json* node) {
  return node != nullptr && node->is_string() ? node->get<std::string>() : std::string();
}

/// The first non-empty string among `nodes` ("" when none).
std::string first_string(std::initializer_list<const json*> nodes) {
  for (const json* node : nodes) {
    std::string s = string_or_empty(node);
    if (!s.empty()) return s;
  }
  return {};
}

std::string ascii_lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

/// Parses the whole of `text` as a finite decimal number ("29.99", "-1", "1e3"); nullopt for
/// anything else, including surrounding spaces, "nan" and "inf".
std::optional<double> parse_decimal(std::string_view text) {
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || !std::isfinite(value)) return std::nullopt;
  return value;
}

/// A JSON number, or a string holding a decimal number, as a double; nullopt otherwise.
std::optional<double> number_like(const json* node) {
  if (node == nullptr) return std::nullopt;
  if (node->is_number()) {
    const double value = node->get<double>();
    return std::isfinite(value) ? std::optional<double>(value) : std::nullopt;
  }
  if (node->is_string()) return parse_decimal(node->get_ref<const std::string&>());
  return std::nullopt;
}

/// Money in major units (a JSON number, or a string holding one) as minor units with `digits`
/// decimals (domain/money.h: exact, half-even); nullopt when absent, wrong-typed or absurdly
/// large. `text` is the number's source text when known.
std::optional<int64_t> amount_minor(const json* node, const std::string* text, int digits) {
  if (node == nullptr) return std::nullopt;
  if (node->is_string()) return parse_major_amount(node->get_ref<const std::string&>(), digits);
  if (node->is_number_unsigned()) {
    return parse_major_amount(std::to_string(node->get<uint64_t>()), digits);
  }
  if (node->is_number_integer()) {
    return parse_major_amount(std::to_string(node->get<int64_t>()), digits);
  }
  if (node->is_number_float()) {
    if (text != nullptr) return parse_major_amount(*text, digits);
    return major_double_to_minor(node->get<double>(), digits);
  }
  return std::nullopt;
}

/// Builds, in one SAX pass over a webhook body, only the part of its document that map_object and
/// member_details read: a few top-level members, a few members of "data", the ids inside data's
/// small objects (user, product, ...), the member's name, email and card, and the source text of
/// data's float members. Everything else is checked by the parser and dropped. Duplicate keys:
/// the last wins, as in the DOM.
class SparseEventSax : public nlohmann::json_sax<json> {
 public:
  SparseEventSax(json& root, NumberTexts& texts) : root_(root), texts_(texts) {
    stack_.reserve(kMaxJsonDepth + 1);
  }
  bool null() override { return scalar(nullptr); }
  bool boolean(bool v) override { return scalar(v); }
  bool number_integer(number_integer_t v) override { return scalar(v); }
  bool number_unsigned(number_unsigned_t v) override { return scalar(v); }
  bool number_float(number_float_t v, const string_t& s) override {
    if (!stack_.empty() && stack_.back().scope == Scope::Data) {
      texts_.insert_or_assign(stack_.back().key, s);  // last wins, as in the DOM
    }
    return scalar(v);
  }
  bool string(string_t& v) override {
    if (json* slot = kept_slot(); slot != nullptr) *slot = v;
    return true;
  }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return open(true); }
  bool key(string_t& k) override {
    Frame& f = stack_.back();
    if (f.scope != Scope::Skip) f.key = k;
    return true;
  }
  bool end_object() override {
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override { return open(false); }
  bool end_array() override {
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  // Skip: not kept (or inside an array); Root: the body; Data: its "data" object; Inner: an
  // object inside data whose ids are read (user, product, ...); Method: data.payment_method;
  // Card: data.payment_method.card.
  enum class Scope : uint8_t { Skip, Root, Data, Inner, Method, Card };
  struct Frame {
    json* node;
    Scope scope;
    std::string key;  // the member being read (objects only)
  };

  static bool one_of(std::string_view key, std::initializer_list<std::string_view> keys) {
    for (auto k : keys) {
      if (k == key) return true;
    }
    return false;
  }
  /// Whether the member `key` of an object in `scope` is read; `child` gets the scope its value
  /// has when it is an object (Skip: kept only as a value of the wrong type).
  static bool wanted(Scope scope, std::string_view key, Scope& child) {
    child = Scope::Skip;
    switch (scope) {
      case Scope::Root:
        if (key == "data") {
          child = Scope::Data;
          return true;
        }
        return one_of(key, {"type", "action", "api_version", "id", "company_id", "timestamp"});
      case Scope::Data:
        if (one_of(key, {"company", "membership", "payment", "user", "product", "plan"})) {
          child = Scope::Inner;
          return true;
        }
        if (key == "payment_method") {
          child = Scope::Method;
          return true;
        }
        return one_of(key, {"id",
                            "company_id",
                            "membership_id",
                            "payment_id",
                            "user_id",
                            "product_id",
                            "plan_id",
                            "currency",
                            "total",
                            "subtotal",
                            "usd_total",
                            "final_amount",
                            "amount",
                            "failure_message",
                            "manage_url",
                            "cancel_at_period_end",
                            "last_payment_attempt",
                            "paid_at",
                            "updated_at",
                            "created_at",
                            "card_brand",
                            "card_last4"});
      case Scope::Inner:
        return one_of(key, {"id", "username", "name", "title", "email"});
      case Scope::Method:
        if (key == "card") {
          child = Scope::Card;
          return true;
        }
        return false;
      case Scope::Card:
        return one_of(key, {"brand", "last4"});
      case Scope::Skip:
        return false;
    }
    return false;
  }
  /// Where the value now being read goes (nullptr: dropped); `child` as in wanted().
  json* slot(Scope& child) {
    child = Scope::Skip;
    if (stack_.empty()) {
      child = Scope::Root;
      return &root_;
    }
    Frame& f = stack_.back();
    if (f.scope == Scope::Skip || f.node == nullptr || !wanted(f.scope, f.key, child)) {
      return nullptr;
    }
    return &(*f.node)[f.key];
  }
  json* kept_slot() {
    Scope child;
    return slot(child);
  }
  template <class T>
  bool scalar(T v) {
    if (json* s = kept_slot(); s != nullptr) *s = v;
    return true;
  }
  bool open(bool object) {
    Scope child;
    json* s = slot(child);
    if (s != nullptr) {
      // A kept member that is a container: an object it reads into, else an empty placeholder of
      // the same type (the mapping treats it as absent, as it would the full value).
      *s = object ? json::object() : json::array();
      if (!object || child == Scope::Skip) s = nullptr;
    }
    stack_.push_back({s, s != nullptr ? child : Scope::Skip, {}});
    return true;
  }

  json& root_;
  NumberTexts& texts_;
  std::vector<Frame> stack_;
};

/// A unix time given as a number: seconds, or milliseconds when above 1e11. Negative or
/// out-of-range values are not usable times.
std::optional<int64_t> unix_time_ms(double value) {
  const double ms = value > kMillisecondsThreshold ? value : value * 1000.0;
  if (!(ms >= 0 && ms <= kMaxTimeMs)) return std::nullopt;
  return static_cast<int64_t>(std::floor(ms));
}

/// An event time field: an ISO-8601 string, or unix seconds/milliseconds as a number or a string
/// of digits. nullopt when absent, null, wrong-typed or unparseable.
std::optional<int64_t> time_ms(const json* node) {
  if (node == nullptr) return std::nullopt;
  if (node->is_string()) {
    const auto& text = node->get_ref<const std::string&>();
    if (auto iso = parse_iso8601_ms(text)) return iso;
    if (auto number = parse_decimal(text)) return unix_time_ms(*number);
    return std::nullopt;
  }
  if (node->is_number()) {
    const auto number = number_like(node);
    return number ? unix_time_ms(*number) : std::nullopt;
  }
  return std::nullopt;
}

bool is_payment(EventKind kind) {
  return kind == EventKind::PaymentFailed || kind == EventKind::PaymentSucceeded ||
         kind == EventKind::PaymentPending;
}

bool is_membership(EventKind kind) {
  return kind == EventKind::MembershipActivated || kind == EventKind::MembershipDeactivated ||
         kind == EventKind::MembershipCancelAtPeriodEndChanged;
}

bool is_money_reversal(EventKind kind) {
  return kind == EventKind::Refund || kind == EventKind::Dispute;
}

/// The event's own time per shared/WHOP.md §2, falling back to the envelope timestamp.
std::optional<int64_t> event_time(EventKind kind, const json& body, const json* data) {
  std::optional<int64_t> own;
  if (kind == EventKind::PaymentFailed) {
    own = time_ms(member(data, "last_payment_attempt"));
  } else if (kind == EventKind::PaymentSucceeded) {
    own = time_ms(member(data, "paid_at"));
  } else if (is_membership(kind)) {
    own = time_ms(member(data, "updated_at"));
  } else if (is_money_reversal(kind)) {
    own = time_ms(member(data, "updated_at"));
    if (!own) own = time_ms(member(data, "created_at"));
  }
  return own ? own : time_ms(member(&body, "timestamp"));
}

/// The amount of the event in minor units of `currency`: payments try total, subtotal,
/// usd_total, then legacy final_amount; refunds and disputes use data.amount; other events carry
/// none. usd_total is in US dollars whatever the payment's currency: when it is the amount used,
/// `currency` becomes "usd" so that amount and currency always agree.
std::optional<int64_t> event_amount(EventKind kind, const json* data, std::string& currency,
                                    const NumberTexts* texts) {
  auto read = [&](const char* key, int digits) {
    const std::string* text = nullptr;
    if (texts != nullptr) {
      if (auto it = texts->find(key); it != texts->end()) text = &it->second;
    }
    return amount_minor(member(data, key), text, digits);
  };
  const int digits = minor_digits(currency);
  if (is_payment(kind)) {
    for (const char* key : {"total", "subtotal"}) {
      if (auto minor = read(key, digits)) return minor;
    }
    if (auto usd = read("usd_total", minor_digits("usd"))) {
      currency = "usd";
      return usd;
    }
    return read("final_amount", digits);
  }
  if (is_money_reversal(kind)) return read("amount", digits);
  return std::nullopt;
}

/// Fills the ids of `event` (kind and type already set) from the body.
void map_ids(const json& body, const json* data, Event& event) {
  event.envelope_id = string_or_empty(member(&body, "id"));
  event.company_id = first_string(
      {member(&body, "company_id"), member(data, "company_id"), path(data, {"company", "id"})});
  if (is_membership(event.kind)) {
    event.membership_id = string_or_empty(member(data, "id"));
  } else {
    event.membership_id =
        first_string({path(data, {"membership", "id"}), member(data, "membership_id")});
  }
  if (is_payment(event.kind)) {
    event.payment_id = string_or_empty(member(data, "id"));
  } else if (is_money_reversal(event.kind)) {
    event.payment_id = first_string({path(data, {"payment", "id"}), member(data, "payment_id")});
  }
  event.user_id = first_string({path(data, {"user", "id"}), member(data, "user_id")});
  event.username = string_or_empty(path(data, {"user", "username"}));
  event.display_name = string_or_empty(path(data, {"user", "name"}));
  event.product_id = first_string({path(data, {"product", "id"}), member(data, "product_id")});
  event.product_title = string_or_empty(path(data, {"product", "title"}));
  event.plan_id = first_string({path(data, {"plan", "id"}), member(data, "plan_id")});
}

/// The event type: v1 "type", else legacy "action"; "" when neither is a non-empty string.
std::string event_type(const json& body) {
  return first_string({member(&body, "type"), member(&body, "action")});
}

Result<Event> map_object(const json& body, const NumberTexts* texts) {
  Event event;
  event.type = event_type(body);
  if (event.type.empty()) return Error{"webhook body names no event type"};
  event.kind = kind_from_type(event.type);
  event.api_version = string_or_empty(member(&body, "api_version"));
  const json* data = member(&body, "data");  // may be null or not an object: reads yield nothing
  map_ids(body, data, event);
  event.event_time_ms = event_time(event.kind, body, data);
  event.currency = ascii_lower(string_or_empty(member(data, "currency")));
  event.amount_cents = event_amount(event.kind, data, event.currency, texts);
  if (event.kind == EventKind::PaymentFailed) {
    event.failure_message = string_or_empty(member(data, "failure_message"));
  }
  if (is_membership(event.kind)) {
    event.manage_url = string_or_empty(member(data, "manage_url"));
    const json* cancel = member(data, "cancel_at_period_end");
    if (cancel != nullptr && cancel->is_boolean()) event.cancel_at_period_end = cancel->get<bool>();
  }
  return event;
}

}  // namespace

EventKind kind_from_type(std::string_view type) {
  if (type == "payment.failed") return EventKind::PaymentFailed;
  if (type == "payment.succeeded") return EventKind::PaymentSucceeded;
  if (type == "payment.pending") return EventKind::PaymentPending;
  if (type == "membership.activated" || type == "membership.went_valid") {
    return EventKind::MembershipActivated;
  }
  if (type == "membership.deactivated" || type == "membership.went_invalid") {
    return EventKind::MembershipDeactivated;
  }
  if (type == "membership.cancel_at_period_end_changed") {
    return EventKind::MembershipCancelAtPeriodEndChanged;
  }
  if (type.starts_with("refund.")) return EventKind::Refund;
  if (type.starts_with("dispute.")) return EventKind::Dispute;
  return EventKind::Other;
}

Result<Event> map_whop_event(const nlohmann::json& body) {
  if (!body.is_object()) return Error{"webhook body is not a JSON object"};
  try {
    return map_object(body, nullptr);
  } catch (const std::exception& e) {
    // The reads above are type-checked; this only guards against the unforeseen.
    return Error{std::string("webhook body could not be mapped: ") + e.what()};
  }
}

ParsedEvent parse_whop_event(std::string_view raw) {
  ParsedEvent out;
  json body;
  NumberTexts texts;
  SparseEventSax sax(body, texts);
  if (auto st = sax_parse_limited(raw, sax); !st) {
    out.error = st.error();
    out.bad_json = true;
    return out;
  }
  if (!body.is_object()) {
    out.error = "webhook body is not a JSON object";
    return out;
  }
  out.member = member_details(body);
  try {
    auto mapped = map_object(body, &texts);
    if (mapped) {
      out.event = std::move(*mapped);
    } else {
      out.error = mapped.error();
    }
  } catch (const std::exception& e) {
    out.error = std::string("webhook body could not be mapped: ") + e.what();
  }
  return out;
}

}  // namespace cs::domain
