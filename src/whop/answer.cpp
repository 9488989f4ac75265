// Interpreting Whop's answers (see answer.h).
#include "whop/answer.h"

#include <cstdio>

#include "whop/retry.h"

namespace cs::whop {

using nlohmann::json;

namespace {

constexpr size_t kMaxWhopMessage = 300;

std::string status_phrase(int status) {
  switch (status) {
    case 400:
    case 422:
      return "Whop rejected the request";
    case 401:
      return "Whop did not accept the API key";
    case 403:
      return "Whop refused the request: the API key lacks the permission";
    case 404:
      return "Whop could not find it";
    case 408:
      return "Whop timed out waiting for the request";
    case 409:
      return "Whop reported a conflict with another change";
    case 429:
      return "Whop's rate limit was reached";
    case 503:
      return "Whop is unavailable";
    default:
      if (status >= 500) return "Whop had a server error";
      if (status >= 300 && status < 400) return "Whop answered with an unexpected redirect";
      return "Whop answered with an unexpected status";
  }
}

std::string status_hint(int status) {
  switch (status) {
    case 401:
      return " Check CHURN_SAVER_WHOP_API_KEY.";
    case 403:
      return " Give the API key this permission in Whop's developer settings.";
    default:
      return "";
  }
}

}  // namespace

std::string clean_text(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (out.size() >= kMaxWhopMessage) {
      out += "...";
      break;
    }
    out.push_back(static_cast<unsigned char>(c) < 0x20 ? ' ' : c);
  }
  return out;
}

std::string seconds_text(int64_t ms) {
  if (ms < 10000 && ms % 1000 != 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f seconds", static_cast<double>(ms) / 1000.0);
    return buf;
  }
  int64_t s = (ms + 999) / 1000;
  return std::to_string(s) + (s == 1 ? " second" : " seconds");
}

Attempt interpret_answer(const std::string& op, bool is_post, const Answer& answer,
                         int64_t now_ms) {
  Attempt a;
  ApiError& e = a.error;
  e.operation = op;
  const int status = answer.status;
  e.status = status;
  json body = json::parse(answer.body, nullptr, false);
  const bool json_ok = !body.is_discarded();

  if (status >= 200 && status < 300) {
    if (answer.body.empty()) {
      a.ok = true;
      a.value = json::object();
    } else if (json_ok) {
      a.ok = true;
      a.value = std::move(body);
    }
    if (a.ok) {
      a.metric = "ok";
      return a;
    }
    a.metric = "bad_response";
    a.breaker_failure = true;
    e.code = "bad_response";
    e.retryable = true;
    e.outcome_unknown = is_post;
    e.message = "Whop answered " + std::to_string(status) + " but the answer was not JSON" +
                (is_post ? "; the action probably took effect." : ".");
    return a;
  }

  // An error answer: {"error": {"code"|"type", "message"}} (or something close).
  std::string code, whop_message;
  if (json_ok && body.is_object()) {
    const json* err = body.contains("error") ? &body["error"] : &body;
    if (err->is_object()) {
      for (const char* k : {"code", "type"})
        if (code.empty() && err->contains(k) && (*err)[k].is_string())
          code = (*err)[k].get<std::string>();
      if (err->contains("message") && (*err)["message"].is_string())
        whop_message = (*err)["message"].get<std::string>();
    } else if (err->is_string()) {
      whop_message = err->get<std::string>();
    }
  }
  e.code = code.empty() ? "http_" + std::to_string(status) : clean_text(code);
  e.message = status_phrase(status) + " (" + std::to_string(status) +
              (code.empty() ? "" : " " + e.code) + ")" +
              (whop_message.empty() ? (json_ok ? "." : ": the answer was not JSON.")
                                    : ": " + clean_text(whop_message)) +
              status_hint(status);
  if (answer.retry_after) e.retry_after_ms = parse_retry_after_ms(*answer.retry_after, now_ms);

  if (status == 429) {
    a.metric = "http_429";
    e.retryable = true;  // rejected before processing: safe for POSTs too
  } else if (status == 408 || status == 409) {
    a.metric = "http_4xx";
    e.retryable = true;
    a.breaker_failure = status == 408;
  } else if (status >= 500) {
    a.metric = "http_5xx";
    e.retryable = true;
    e.outcome_unknown = is_post;
    a.breaker_failure = true;
    if (is_post) e.message += " The action may have taken effect.";
  } else {
    a.metric = "http_4xx";
    e.retryable = false;
  }
  return a;
}

Attempt interpret_no_answer(const std::string& op, bool is_post, NoAnswer why,
                            const std::string& detail, const std::string& host,
                            int64_t read_timeout_ms) {
  Attempt a;
  ApiError& e = a.error;
  e.operation = op;
  a.breaker_failure = true;
  e.retryable = true;
  const std::string effect = is_post ? " The action may have taken effect." : "";
  switch (why) {
    case NoAnswer::ConnectFailed:
      // Nothing was sent: safe to retry, POSTs included.
      a.metric = "network";
      e.code = "connection_failed";
      e.message = "Could not connect to Whop at " + host + " (" + detail + ").";
      return a;
    case NoAnswer::TlsHandshake:
      a.metric = "tls";
      e.code = "tls";
      e.message = "The TLS handshake with " + host + " failed.";
      return a;
    case NoAnswer::TlsVerify:
      a.metric = "tls";
      e.code = "tls";
      e.retryable = false;
      e.message = "Could not verify the TLS certificate of " + host +
                  " (check the system CA certificates and the clock).";
      return a;
    case NoAnswer::Timeout:
      e.outcome_unknown = is_post;
      a.metric = "timeout";
      e.code = "timeout";
      e.message = "Whop did not answer within " + seconds_text(read_timeout_ms) + "." + effect;
      return a;
    case NoAnswer::ConnectionLost:
      e.outcome_unknown = is_post;
      a.metric = "network";
      e.code = "connection_lost";
      e.message = "The connection to Whop was lost before an answer (" + detail + ")." + effect;
      return a;
  }
  return a;
}

}  // namespace cs::whop
