#pragma once
// What a call to Whop comes to when it fails: the error every part of the client speaks.
#include <cstdint>
#include <optional>
#include <string>

#include "util/result.h"

namespace cs::whop {

/// Why a call failed. `message` is for people (job last_error, settings page); `code` is Whop's
/// error code/type, or one of ours: "timeout", "connection_failed", "connection_lost", "tls",
/// "bad_response", "unexpected_response", "breaker_open", "rate_limited_locally",
/// "not_configured", "not_sent".
struct ApiError {
  std::string operation;
  int status = 0;  // HTTP status; 0 = no answer (connection error, timeout) or refused locally
  std::string code;
  std::string message;
  bool retryable = false;                 // worth trying again later (the job queue's decision)
  std::optional<int64_t> retry_after_ms;  // when to try again, if known (Retry-After, breaker)
  bool outcome_unknown = false;  // the request may have reached Whop and taken effect (POSTs)
  bool breaker_open = false;     // refused locally by the open circuit breaker; nothing was sent
  int attempts = 0;              // HTTP requests made by this call
};

/// Either a value or an ApiError.
template <class T>
using ApiResult = Expected<T, ApiError>;

/// "45 seconds", "1 second", "0.3 seconds" (short durations keep a decimal; longer ones round
/// up): how the client's messages state a wait.
std::string seconds_text(int64_t ms);

/// Whop's messages are shown to people and stored: one line, at most 300 characters.
std::string clean_text(const std::string& s);

}  // namespace cs::whop
