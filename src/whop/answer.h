#pragma once
// What one HTTP attempt to Whop came to, in the client's terms: a JSON value, or an ApiError with
// a message a person understands, whether it is worth retrying, whether a POST may have taken
// effect, and whether it counts against the circuit breaker. Pure: no sockets, no clock.
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "whop/api_error.h"

namespace cs::whop {

/// An HTTP answer as received.
struct Answer {
  int status = 0;
  std::string body;
  std::optional<std::string> retry_after;  // the Retry-After header, if any
};

/// Why no answer came.
enum class NoAnswer {
  ConnectFailed,   // nothing was sent (refused, connect timeout, bind error)
  TlsHandshake,    // the TLS handshake failed
  TlsVerify,       // the certificate could not be verified (not retryable)
  Timeout,         // sent (maybe partly), no answer within the read timeout
  ConnectionLost,  // sent (maybe partly), the connection closed before an answer
};

struct Attempt {
  bool ok = false;
  nlohmann::json value;          // when ok
  ApiError error;                // when not ok
  std::string metric;            // outcome for Client::calls()
  bool breaker_failure = false;  // counts towards opening the breaker
};

/// Interprets an answer to operation `op`. 2xx with JSON (or an empty body) is ok; Whop's error
/// body {"error": {"code"|"type", "message"}} becomes the message; 429, 408, 409 and 5xx are
/// retryable; 5xx and a non-JSON 2xx on a POST leave the outcome unknown.
Attempt interpret_answer(const std::string& op, bool is_post, const Answer& answer, int64_t now_ms);

/// Interprets a failed exchange. `host` is "scheme://host[:port]"; `detail` the library's words.
Attempt interpret_no_answer(const std::string& op, bool is_post, NoAnswer why,
                            const std::string& detail, const std::string& host,
                            int64_t read_timeout_ms);

}  // namespace cs::whop
