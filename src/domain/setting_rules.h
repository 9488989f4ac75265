#pragma once
// The rules for what a person may type on the settings and messages pages, beyond
// domain::validate(RecoverySettings): whole-number parsing, retention limits, the Whop connection
// fields. Pure; the configuration (src/app/config.cpp) uses the same retention limits.
#include <optional>
#include <string>
#include <vector>

#include "domain/settings.h"

namespace cs::domain {

/// Retention limits in days, for the settings page and the configuration alike. Ten years is the
/// upper bound: long enough for any bookkeeping rule, short enough to be a typo guard.
constexpr int kMinRetentionDays = 1;
constexpr int kMaxRetentionDays = 3650;

/// How long webhook payloads (encrypted bodies) and event rows are kept.
struct Retention {
  int payload_days = 0;
  int event_days = 0;
};

/// Each within [kMinRetentionDays, kMaxRetentionDays]; events kept at least as long as payloads.
FieldErrors validate(const Retention& r);

/// "12" -> 12; nullopt for anything but up to six digits (surrounding blanks allowed).
std::optional<int> parse_whole_number(const std::string& s);
/// "0, 2, 4" (commas, blanks or semicolons between) -> {0, 2, 4}; nullopt when a part is not a
/// whole number.
std::optional<std::vector<int>> parse_day_list(const std::string& s);
/// "0, 2, 4" from {0, 2, 4}.
std::string format_day_list(const std::vector<int>& days);

/// The Whop connection as typed on the settings page (blank secret fields keep the stored ones).
struct ConnectionInput {
  std::string api_key;          // "" = keep
  std::string webhook_secrets;  // comma-separated; "" = keep
  std::string company_id;
  std::string experience_id;
  std::string public_url;
  bool remove_api_key = false;          // forget the stored key (the configuration's applies)
  bool remove_webhook_secrets = false;  // forget the stored secrets (likewise)
};

/// Why Whop cannot post to this public URL ("" when it can): not http(s), spaces, no host, or
/// plain http:// for anything but localhost / 127.0.0.1 / [::1] (Whop sends only to HTTPS).
std::string public_url_problem(const std::string& url);
/// Why a pasted webhook secret is not one Whop gives ("" when it is): `ws_` followed by letters
/// and digits, or `whsec_` followed by base64.
std::string webhook_secret_problem(const std::string& secret);

/// The connection values once checked: the secrets split, the URL without a trailing slash.
struct CheckedConnection {
  std::optional<std::string> api_key;
  std::optional<std::vector<std::string>> webhook_secrets;
  bool remove_api_key = false, remove_webhook_secrets = false;
  std::string company_id;
  std::string experience_id;
  std::string public_url;
};

/// Checks the connection fields (shape only: Whop is asked by the "check" button). Errors per
/// field, or the checked values.
struct ConnectionCheck {
  FieldErrors errors;
  CheckedConnection values;
};
ConnectionCheck check_connection_input(const ConnectionInput& in);

/// Leading and trailing blanks removed.
std::string trim(const std::string& s);
/// A comma-separated list ("a, b,,c"): each item trimmed, empty items dropped.
std::vector<std::string> split_list(const std::string& s);

}  // namespace cs::domain
