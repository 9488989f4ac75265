#pragma once
// Whop webhook signatures (shared/WHOP.md §1): Standard Webhooks "v1" headers, and the legacy
// `x-whop-signature` scheme as a fallback. Also the signing side, used by the fake Whop and tests.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cs::whop {

/// Maximum webhook body (SECURITY.md); the HTTP layer enforces it before reading the body.
constexpr size_t kMaxWebhookBody = 1024 * 1024;

enum class VerifyOutcome {
  Ok,
  NoSecret,        // no webhook secret configured
  MissingHeaders,  // neither complete v1 headers nor a legacy header
  BadTimestamp,    // timestamp header not a decimal integer
  StaleTimestamp,  // |now - timestamp| > tolerance
  BadSignature,    // no signature entry matched any secret
};

/// Short stable name for an outcome: "ok", "no_secret", "missing_headers", "bad_timestamp",
/// "stale_timestamp", "bad_signature" (used in logs, metrics and the events page).
const char* outcome_name(VerifyOutcome o);

/// The headers a webhook delivery carries (values as received; empty when absent).
struct SignatureHeaders {
  std::string webhook_id;         // webhook-id
  std::string webhook_timestamp;  // webhook-timestamp
  std::string webhook_signature;  // webhook-signature: "v1,<b64> v1,<b64> ..."
  std::string legacy_signature;   // x-whop-signature: "t=<unix>,v1=<hex>"
};

struct Verification {
  VerifyOutcome outcome = VerifyOutcome::MissingHeaders;
  std::string scheme;     // "v1" or "legacy" when Ok
  int64_t timestamp = 0;  // the signed timestamp (unix seconds) when parsed
};

/// The HMAC key bytes for a configured secret: a `whsec_` prefix means base64 of the key bytes
/// (Standard Webhooks convention); anything else (Whop's `ws_<hex>`) is used as its UTF-8 bytes,
/// prefix included. Surrounding whitespace is trimmed.
std::string secret_key_bytes(std::string_view configured_secret);

/// Verifies a delivery against every configured secret. Uses the v1 headers when webhook-id,
/// webhook-timestamp and webhook-signature are all present; otherwise the legacy header.
/// v1: HMAC-SHA256(key, id + "." + timestamp + "." + body), base64; entries are space-separated
/// "<version>,<sig>", entries whose version is not "v1" are ignored, one match suffices.
/// Legacy: "t=<unix>,v1=<hex HMAC-SHA256(key, t + "." + body)>".
/// Rejects |now_s - timestamp| > tolerance_s. All comparisons are constant-time.
Verification verify(const std::vector<std::string>& secrets, const SignatureHeaders& headers,
                    std::string_view body, int64_t now_s, int64_t tolerance_s = 300);

/// "v1,<base64 signature>" for one delivery.
std::string sign_v1(std::string_view secret, std::string_view webhook_id, int64_t timestamp_s,
                    std::string_view body);
/// "t=<ts>,v1=<hex>" for the legacy header.
std::string sign_legacy(std::string_view secret, int64_t timestamp_s, std::string_view body);

}  // namespace cs::whop
