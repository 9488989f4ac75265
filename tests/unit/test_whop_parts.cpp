// The Whop client's parts without any server: the sliding-window limit, the circuit breaker, the
// in-call retry rules, what an answer means, and the API base. Time is a parameter throughout.
#include <doctest/doctest.h>

#include <stdexcept>

#include "whop/answer.h"
#include "whop/circuit_breaker.h"
#include "whop/rate_limiter.h"
#include "whop/retry.h"
#include "whop/transport.h"

using namespace cs::whop;

namespace {
std::string json_error(const std::string& message) {
  return nlohmann::json{{"error", {{"message", message}}}}.dump();
}
}  // namespace

TEST_SUITE("whop parts") {
  TEST_CASE("the sliding window allows N per minute and says when the next slot frees") {
    SlidingWindowLimit lim(3);
    CHECK(lim.acquire(1000) == 0);
    CHECK(lim.acquire(2000) == 0);
    CHECK(lim.acquire(30000) == 0);
    CHECK(lim.acquire(30001) == 30999);  // the first slot frees at 61000
    CHECK(lim.in_window(30001) == 3);
    CHECK(lim.acquire(61000) == 0);  // the 1000 request left the window
    CHECK(lim.acquire(61500) == 500);
    CHECK(lim.acquire(62000) == 0);
    SlidingWindowLimit zero(0);  // taken as 1
    CHECK(zero.acquire(0) == 0);
    CHECK(zero.acquire(1) == 59999);
  }

  TEST_CASE("the breaker opens after N failures, lets one trial through, and closes on success") {
    CircuitBreaker b("get_membership", 3, 30000);
    for (int i = 0; i < 2; ++i) {
      auto a = b.admit(0);
      REQUIRE(a.allowed);
      CHECK_FALSE(b.record(true, a.trial, 0).has_value());
    }
    CHECK(b.info(0).state == "closed");
    CHECK(b.info(0).consecutive_failures == 2);
    REQUIRE(b.admit(0).allowed);
    CHECK(b.record(true, false, 100) == std::optional<int64_t>(30000));
    CHECK(b.info(100).state == "open");
    CHECK(b.info(100).open_until_ms == 30100);

    auto refused = b.admit(10100);
    CHECK_FALSE(refused.allowed);
    CHECK(refused.state == BreakerState::Open);
    CHECK(refused.open_for_ms == 20000);
    CHECK(refused.failures == 3);

    CHECK(b.info(30100).state == "half_open");  // the pause is over: the next call is the trial
    auto trial = b.admit(30100);
    REQUIRE(trial.allowed);
    CHECK(trial.trial);
    auto second = b.admit(30101);  // only one trial at a time
    CHECK_FALSE(second.allowed);
    CHECK(second.state == BreakerState::HalfOpen);
    CHECK_FALSE(b.record(false, true, 30200).has_value());
    CHECK(b.info(30200).state == "closed");
    CHECK(b.info(30200).consecutive_failures == 0);
  }

  TEST_CASE("a failed trial opens the breaker again; a released trial frees the slot") {
    CircuitBreaker b("send_push", 1, 1000);
    REQUIRE(b.admit(0).allowed);
    REQUIRE(b.record(true, false, 0).has_value());
    auto t = b.admit(1000);
    REQUIRE(t.trial);
    b.release_trial();  // e.g. the rate limit refused it before sending
    auto t2 = b.admit(1001);
    REQUIRE(t2.trial);
    CHECK(b.record(true, true, 1002) == std::optional<int64_t>(1000));
    CHECK(b.info(1002).state == "open");
    CHECK_FALSE(b.admit(1500).allowed);
  }

  TEST_CASE("retry rules: retryable errors, never resend a POST that may have taken effect") {
    RetryPolicy p;  // 3 retries, 500 ms base, 8 s cap, 10 s longest wait, 20 s per call
    ApiError e503;
    e503.retryable = true;
    e503.status = 503;
    auto d = decide_retry(p, e503, false, false, 1, 0, 0.0);
    CHECK(d.retry);
    CHECK(d.delay_ms == 250);  // equal jitter: half of 500 ms at jitter 0
    CHECK(decide_retry(p, e503, false, false, 3, 0, 0.999).delay_ms <= 2000);
    CHECK_FALSE(decide_retry(p, e503, false, false, 4, 0, 0.0).retry);  // retries used up
    CHECK_FALSE(decide_retry(p, e503, false, true, 1, 0, 0.0).retry);   // breaker just opened

    ApiError post503 = e503;
    post503.outcome_unknown = true;
    CHECK_FALSE(decide_retry(p, post503, true, false, 1, 0, 0.0).retry);
    CHECK(decide_retry(p, post503, false, false, 1, 0, 0.0).retry);  // a GET: harmless

    ApiError e404;
    e404.status = 404;
    CHECK_FALSE(decide_retry(p, e404, false, false, 1, 0, 0.0).retry);

    ApiError e429 = e503;
    e429.status = 429;
    e429.retry_after_ms = 7000;
    auto w = decide_retry(p, e429, true, false, 1, 0, 0.5);
    CHECK(w.retry);
    CHECK(w.delay_ms == 7000);  // Retry-After wins over the backoff
    auto late = decide_retry(p, e429, true, false, 1, 14000, 0.5);
    CHECK_FALSE(late.retry);
    CHECK(late.too_long);  // 14 s + 7 s is past the 20 s budget
    CHECK(late.delay_ms == 7000);
    e429.retry_after_ms = 11000;
    CHECK(decide_retry(p, e429, true, false, 1, 0, 0.5).too_long);  // longer than 10 s
  }

  TEST_CASE("answers: Whop's error body, retryability and unknown outcomes") {
    auto ok = interpret_answer("get_membership", false, Answer{200, R"({"id":"mem_1"})", {}}, 0);
    CHECK(ok.ok);
    CHECK(ok.value["id"] == "mem_1");
    CHECK(ok.metric == "ok");
    CHECK(interpret_answer("cancel", true, Answer{204, "", {}}, 0).ok);

    auto bad = interpret_answer("add_free_days", true, Answer{200, "<html>", {}}, 0);
    CHECK_FALSE(bad.ok);
    CHECK(bad.error.code == "bad_response");
    CHECK(bad.error.outcome_unknown);

    auto e422 = interpret_answer(
        "add_free_days", true,
        Answer{
            422, R"({"error":{"type":"invalid_request","message":"free_days must be > 0"}})", {}},
        0);
    CHECK(e422.error.code == "invalid_request");
    CHECK(e422.error.message ==
          "Whop rejected the request (422 invalid_request): free_days must be > 0");
    CHECK_FALSE(e422.error.retryable);

    auto e401 = interpret_answer("get_membership", false, Answer{401, "{}", {}}, 0);
    CHECK(e401.error.message ==
          "Whop did not accept the API key (401). Check CHURN_SAVER_WHOP_API_KEY.");

    auto e429 = interpret_answer("send_push", true, Answer{429, "", std::string("3")}, 0);
    CHECK(e429.error.retryable);
    CHECK_FALSE(e429.error.outcome_unknown);
    CHECK(e429.error.retry_after_ms == std::optional<int64_t>(3000));
    CHECK_FALSE(e429.breaker_failure);  // Whop is up

    auto e503 = interpret_answer("send_dm", true, Answer{503, "oops", {}}, 0);
    CHECK(e503.error.retryable);
    CHECK(e503.error.outcome_unknown);
    CHECK(e503.breaker_failure);
    CHECK(e503.error.message ==
          "Whop is unavailable (503): the answer was not JSON. The action may have taken effect.");

    std::string long_msg(1000, 'x');
    long_msg[5] = '\n';
    auto e400 = interpret_answer("x", false, Answer{400, json_error(long_msg), {}}, 0);
    CHECK(e400.error.message.find('\n') == std::string::npos);
    CHECK(e400.error.message.size() < 400);
  }

  TEST_CASE("no answer: nothing sent is safe to retry; a lost POST may have taken effect") {
    auto refused = interpret_no_answer("add_free_days", true, NoAnswer::ConnectFailed, "Connection",
                                       "https://api.whop.com", 15000);
    CHECK(refused.error.retryable);
    CHECK_FALSE(refused.error.outcome_unknown);
    CHECK(refused.error.code == "connection_failed");
    CHECK(refused.error.message ==
          "Could not connect to Whop at https://api.whop.com (Connection).");

    auto lost = interpret_no_answer("add_free_days", true, NoAnswer::Timeout, "Read",
                                    "https://api.whop.com", 15000);
    CHECK(lost.error.outcome_unknown);
    CHECK(lost.error.message ==
          "Whop did not answer within 15 seconds. The action may have taken effect.");

    auto cert = interpret_no_answer("get_membership", false, NoAnswer::TlsVerify, "",
                                    "https://api.whop.com", 15000);
    CHECK_FALSE(cert.error.retryable);
    CHECK(cert.metric == "tls");
  }

  TEST_CASE("the API base: http(s) only, prefix kept without a trailing slash") {
    auto ep = parse_api_base("https://api.whop.com/api/v1/");
    CHECK(ep.scheme_host == "https://api.whop.com");
    CHECK(ep.prefix == "/api/v1");
    CHECK_FALSE(ep.plain_http);
    CHECK(parse_api_base("HTTP://127.0.0.1:8080").scheme_host == "http://127.0.0.1:8080");
    CHECK(parse_api_base("http://127.0.0.1:8080").prefix.empty());
    CHECK_THROWS_AS(parse_api_base("api.whop.com/api/v1"), std::invalid_argument);
    CHECK_THROWS_AS(parse_api_base("ftp://api.whop.com"), std::invalid_argument);
    CHECK_THROWS_AS(parse_api_base("https://user@api.whop.com"), std::invalid_argument);
    CHECK_THROWS_AS(parse_api_base("https://api.whop.com/v1?x=1"), std::invalid_argument);
  }

  TEST_CASE("waits are stated the way people read them") {
    CHECK(seconds_text(300) == "0.3 seconds");
    CHECK(seconds_text(1000) == "1 second");
    CHECK(seconds_text(45000) == "45 seconds");
    CHECK(seconds_text(10001) == "11 seconds");
  }
}
