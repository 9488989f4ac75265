// Whop webhook signatures (see signature.h and shared/WHOP.md §1).
#include "whop/signature.h"

#include <optional>
#include <string>

#include "util/crypto.h"

namespace cs::whop {
namespace {

constexpr std::string_view kWhsecPrefix = "whsec_";
// 18 digits always fit in int64_t; a real unix time has 10.
constexpr size_t kMaxTimestampDigits = 18;

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Parses a decimal unix timestamp: 1..18 ASCII digits, nothing else (no sign, no spaces).
std::optional<int64_t> parse_timestamp(std::string_view s) {
  if (s.empty() || s.size() > kMaxTimestampDigits) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

// True when |now_s - ts| <= tolerance_s, computed without signed overflow.
bool fresh(int64_t now_s, int64_t ts, int64_t tolerance_s) {
  if (tolerance_s < 0) return false;
  const uint64_t diff = now_s >= ts ? static_cast<uint64_t>(now_s) - static_cast<uint64_t>(ts)
                                    : static_cast<uint64_t>(ts) - static_cast<uint64_t>(now_s);
  return diff <= static_cast<uint64_t>(tolerance_s);
}

// HMAC keys of the usable secrets (empty and whitespace-only entries skipped).
std::vector<std::string> usable_keys(const std::vector<std::string>& secrets) {
  std::vector<std::string> keys;
  for (const std::string& s : secrets) {
    if (!trim(s).empty()) keys.push_back(secret_key_bytes(s));
  }
  return keys;
}

// Splits `s` on `sep`, dropping empty pieces.
std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  while (!s.empty()) {
    const size_t pos = s.find(sep);
    const std::string_view part = s.substr(0, pos);
    if (!part.empty()) parts.push_back(part);
    if (pos == std::string_view::npos) break;
    s.remove_prefix(pos + 1);
  }
  return parts;
}

// The signature values of every "v1,<sig>" entry of a webhook-signature header; entries of other
// versions (or without a comma) are left out.
std::vector<std::string_view> v1_entries(std::string_view header) {
  std::vector<std::string_view> sigs;
  for (std::string_view entry : split(header, ' ')) {
    const size_t comma = entry.find(',');
    if (comma == std::string_view::npos || entry.substr(0, comma) != "v1") continue;
    sigs.push_back(entry.substr(comma + 1));
  }
  return sigs;
}

// True when any candidate equals any expected value. Every pair is compared (constant time per
// comparison, no early exit), so timing does not reveal which entry or secret matched.
bool any_match(const std::vector<std::string>& expected,
               const std::vector<std::string_view>& candidates) {
  bool matched = false;
  for (const std::string& e : expected) {
    for (std::string_view c : candidates) matched |= crypto::constant_time_equal(e, c);
  }
  return matched;
}

Verification outcome(VerifyOutcome o, int64_t ts = 0) {
  Verification v;
  v.outcome = o;
  v.timestamp = ts;
  return v;
}

// Timestamp checks shared by both schemes: BadTimestamp, StaleTimestamp, or nullopt when fine.
std::optional<Verification> check_timestamp(std::optional<int64_t> ts, int64_t now_s,
                                            int64_t tolerance_s) {
  if (!ts) return outcome(VerifyOutcome::BadTimestamp);
  if (!fresh(now_s, *ts, tolerance_s)) return outcome(VerifyOutcome::StaleTimestamp, *ts);
  return std::nullopt;
}

// Standard Webhooks v1: base64(HMAC(key, id "." timestamp "." body)) against each "v1," entry.
Verification verify_v1(const std::vector<std::string>& keys, const SignatureHeaders& h,
                       std::string_view body, int64_t now_s, int64_t tolerance_s) {
  const auto ts = parse_timestamp(h.webhook_timestamp);
  if (auto bad = check_timestamp(ts, now_s, tolerance_s)) return *bad;
  std::string content = h.webhook_id + "." + h.webhook_timestamp + ".";
  content.append(body);
  std::vector<std::string> expected;
  for (const std::string& key : keys) {
    expected.push_back(crypto::base64_encode(crypto::hmac_sha256(key, content)));
  }
  if (!any_match(expected, v1_entries(h.webhook_signature))) {
    return outcome(VerifyOutcome::BadSignature, *ts);
  }
  Verification ok = outcome(VerifyOutcome::Ok, *ts);
  ok.scheme = "v1";
  return ok;
}

// The parts of a legacy "t=<unix>,v1=<hex>" header.
struct LegacyParts {
  std::optional<std::string_view> t;
  bool repeated_t = false;
  std::vector<std::string> sigs;  // decoded v1 values (raw bytes); undecodable ones dropped
  bool any_sig = false;           // at least one v1= part, decodable or not
};

// Splits a legacy header on ',' into "key=value" parts, in any order; unknown keys are ignored.
LegacyParts parse_legacy(std::string_view header) {
  LegacyParts p;
  for (std::string_view raw : split(header, ',')) {
    const std::string_view part = trim(raw);
    const size_t eq = part.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view key = part.substr(0, eq);
    const std::string_view value = part.substr(eq + 1);
    if (key == "t") {
      p.repeated_t = p.t.has_value();
      p.t = value;
    } else if (key == "v1") {
      p.any_sig = true;
      if (auto raw_sig = crypto::hex_decode(value)) p.sigs.push_back(std::move(*raw_sig));
    }
  }
  return p;
}

// Legacy: hex(HMAC(key, t "." body)) against each v1= part (compared as raw bytes, so either hex
// case is accepted).
Verification verify_legacy(const std::vector<std::string>& keys, std::string_view header,
                           std::string_view body, int64_t now_s, int64_t tolerance_s) {
  const LegacyParts p = parse_legacy(header);
  if (!p.t || !p.any_sig) return outcome(VerifyOutcome::MissingHeaders);
  const auto ts = p.repeated_t ? std::nullopt : parse_timestamp(*p.t);
  if (auto bad = check_timestamp(ts, now_s, tolerance_s)) return *bad;
  std::string content(*p.t);
  content.push_back('.');
  content.append(body);
  std::vector<std::string> expected;
  for (const std::string& key : keys) expected.push_back(crypto::hmac_sha256(key, content));
  const std::vector<std::string_view> candidates(p.sigs.begin(), p.sigs.end());
  if (!any_match(expected, candidates)) return outcome(VerifyOutcome::BadSignature, *ts);
  Verification ok = outcome(VerifyOutcome::Ok, *ts);
  ok.scheme = "legacy";
  return ok;
}

}  // namespace

const char* outcome_name(VerifyOutcome o) {
  switch (o) {
    case VerifyOutcome::Ok:
      return "ok";
    case VerifyOutcome::NoSecret:
      return "no_secret";
    case VerifyOutcome::MissingHeaders:
      return "missing_headers";
    case VerifyOutcome::BadTimestamp:
      return "bad_timestamp";
    case VerifyOutcome::StaleTimestamp:
      return "stale_timestamp";
    case VerifyOutcome::BadSignature:
      return "bad_signature";
  }
  return "unknown";
}

// A `whsec_` secret whose remainder is not strict base64 is used as its raw bytes (whole trimmed
// string, prefix included), like any other secret.
std::string secret_key_bytes(std::string_view configured_secret) {
  const std::string_view s = trim(configured_secret);
  if (s.starts_with(kWhsecPrefix)) {
    if (auto decoded = crypto::base64_decode(s.substr(kWhsecPrefix.size()))) return *decoded;
  }
  return std::string(s);
}

// Order of checks: no usable secret, then which scheme applies (complete v1 headers win, else
// the legacy header), then the timestamp (format, staleness), then the signature.
Verification verify(const std::vector<std::string>& secrets, const SignatureHeaders& headers,
                    std::string_view body, int64_t now_s, int64_t tolerance_s) {
  const std::vector<std::string> keys = usable_keys(secrets);
  if (keys.empty()) return outcome(VerifyOutcome::NoSecret);
  const bool v1_complete = !headers.webhook_id.empty() && !headers.webhook_timestamp.empty() &&
                           !headers.webhook_signature.empty();
  if (v1_complete) return verify_v1(keys, headers, body, now_s, tolerance_s);
  if (!headers.legacy_signature.empty()) {
    return verify_legacy(keys, headers.legacy_signature, body, now_s, tolerance_s);
  }
  return outcome(VerifyOutcome::MissingHeaders);
}

std::string sign_v1(std::string_view secret, std::string_view webhook_id, int64_t timestamp_s,
                    std::string_view body) {
  std::string content(webhook_id);
  content += "." + std::to_string(timestamp_s) + ".";
  content.append(body);
  return "v1," + crypto::base64_encode(crypto::hmac_sha256(secret_key_bytes(secret), content));
}

std::string sign_legacy(std::string_view secret, int64_t timestamp_s, std::string_view body) {
  const std::string t = std::to_string(timestamp_s);
  std::string content = t + ".";
  content.append(body);
  return "t=" + t +
         ",v1=" + crypto::hex_encode(crypto::hmac_sha256(secret_key_bytes(secret), content));
}

}  // namespace cs::whop
