#pragma once
// The Whop REST client (shared/WHOP.md §3): HTTPS through cpp-httplib with OpenSSL, bearer key,
// connect/read timeouts, Whop's JSON errors turned into messages a person understands.
//
// Every method is one "operation" (its name is the metrics/limit/breaker key). Per operation:
// - retries in the call on connection errors, timeouts, 408, 409, 429 and 5xx, with exponential
//   backoff and equal jitter; a Retry-After header (seconds or HTTP-date) wins over the backoff;
// - POSTs are never retried in the call when the outcome is unknown (timeout or dropped connection
//   after sending, 5xx): the error says `outcome_unknown` and the caller re-reads before retrying.
//   429, 408, 409 and "could not connect" (request never sent) POSTs are retried;
// - a client-side sliding-window limit (default 540/min, under Whop's 600/min);
// - a circuit breaker: closed -> open after N consecutive failures (5xx, 408, timeouts, network
//   and TLS errors; 429/409 and other answers count as "Whop is up") -> half-open after
//   breaker_open_ms (one trial request) -> closed on a healthy answer, open again on a failure.
//   While open, calls fail fast without touching the network.
// Waits (backoff, Retry-After, rate limit) go through an injected sleep and are bounded: a wait
// longer than max_wait_ms, or past call_wait_budget_ms in total, ends the call with a retryable
// error carrying retry_after_ms so the job queue reschedules instead of blocking a worker.
// Connections are kept alive and reused between calls (a small pool; see whop/transport.h).
// The parts live in their own units: whop/transport (HTTP exchanges), whop/answer (what an answer
// means), whop/retry (retry rules, Retry-After), whop/rate_limiter, whop/circuit_breaker.
// Thread-safe: job workers share one Client. Logs operation, status, attempt; never the API key,
// request bodies or message contents.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/clock.h"
#include "whop/api_error.h"
#include "whop/circuit_breaker.h"
#include "whop/retry.h"

namespace cs::whop {

struct ClientConfig {
  std::string api_base;  // CHURN_SAVER_WHOP_API_BASE, e.g. "https://api.whop.com/api/v1"
  std::string api_key;   // CHURN_SAVER_WHOP_API_KEY (empty: every call fails, not retryable)
  int connect_timeout_ms = 5000;
  int read_timeout_ms = 15000;  // also the write timeout
  int max_retries = 3;          // in-call retries after the first attempt
  int64_t backoff_base_ms = 500;
  int64_t backoff_cap_ms = 8000;
  int64_t max_wait_ms = 10000;          // longest single in-call wait
  int64_t call_wait_budget_ms = 20000;  // total in-call waiting per call
  int rate_limit_per_minute = 540;      // per operation; Whop allows 600
  int breaker_failures = 5;             // consecutive failures that open the breaker
  int64_t breaker_open_ms = 30000;
  int max_idle_connections = 4;       // kept-alive connections reused between calls
  int64_t idle_connection_ms = 4000;  // an idle connection older than this is not reused
  std::string ca_cert_file;           // PEM CA bundle to trust instead of the system's (tests)
};

/// One page of a cursor-paginated list.
struct Page {
  std::vector<nlohmann::json> data;
  std::optional<std::string> end_cursor;  // pass as `after` for the next page
  bool has_next_page = false;
};

enum class CancelMode { AtPeriodEnd, Immediate };

class Client {
 public:
  using Sleep = std::function<void(int64_t ms)>;
  using Random = std::function<double()>;  // uniform in [0, 1)

  /// Throws std::invalid_argument when api_base is not an http(s) URL. `sleep` defaults to a real
  /// sleep, `random01` to a seeded Mersenne Twister (jitter). `clock` must outlive the client.
  Client(ClientConfig config, const Clock& clock, Sleep sleep = {}, Random random01 = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// GET /memberships/{id} (has manage_url, renewal_period_end, ...).
  ApiResult<nlohmann::json> get_membership(const std::string& membership_id);
  /// GET /memberships?company_id=&statuses[]=&first=&after=
  ApiResult<Page> list_memberships(const std::string& company_id,
                                   const std::vector<std::string>& statuses = {},
                                   const std::optional<std::string>& after = std::nullopt,
                                   int first = 50);
  /// GET /payments/{id}.
  ApiResult<nlohmann::json> get_payment(const std::string& payment_id);
  /// GET /payments?company_id=&updated_after=ISO&first=&after=
  ApiResult<Page> list_payments(const std::string& company_id,
                                const std::optional<std::string>& updated_after_iso = std::nullopt,
                                const std::optional<std::string>& after = std::nullopt,
                                int first = 50);
  /// POST /memberships/{id}/add_free_days {"free_days": days}: NOT idempotent. Returns the
  /// membership. On outcome_unknown, re-read the membership (renewal_period_end) before retrying.
  ApiResult<nlohmann::json> add_free_days(const std::string& membership_id, int days);
  /// POST /memberships/{id}/cancel {"cancellation_mode": ...}. Returns the membership.
  ApiResult<nlohmann::json> cancel_membership(const std::string& membership_id, CancelMode mode);
  /// POST /memberships/{id}/uncancel. Returns the membership.
  ApiResult<nlohmann::json> uncancel_membership(const std::string& membership_id);
  /// POST /payments/{id}/retry. Returns the payment.
  ApiResult<nlohmann::json> retry_payment(const std::string& payment_id);
  /// POST /notifications to members of an experience. An answer without "success": true is a
  /// non-retryable error with code "not_sent".
  ApiResult<nlohmann::json> send_push(const std::string& experience_id,
                                      const std::vector<std::string>& user_ids,
                                      const std::string& title, const std::string& content,
                                      const std::optional<std::string>& rest_path = std::nullopt);
  /// POST /dm_channels {"with_user_ids":[user], "company_id"}: the channel id (existing or new).
  ApiResult<std::string> open_dm_channel(const std::string& user_id, const std::string& company_id);
  /// POST /messages {"channel_id", "content"}: the message id.
  ApiResult<std::string> send_dm(const std::string& channel_id, const std::string& content);

  /// Lists one membership of the company: a short message for the settings page / CLI saying the
  /// base URL and key work, or the error.
  ApiResult<std::string> check_connection(const std::string& company_id);

  /// HTTP requests made, by (operation, outcome). Outcomes: "ok", "http_4xx", "http_429",
  /// "http_5xx", "timeout", "network", "tls", "bad_response"; and calls refused without a
  /// request: "breaker_open", "throttled" (local limit wait too long), "not_configured".
  std::map<std::pair<std::string, std::string>, uint64_t> calls() const;
  /// Breaker state of every operation used so far.
  std::map<std::string, BreakerInfo> breakers() const;

  /// Replaces the API key (the settings page changes it without a restart). Thread-safe.
  void set_api_key(const std::string& api_key);

  /// TCP connections opened to Whop so far (reused connections are not counted again).
  uint64_t connections_opened() const;

  /// "scheme://host[:port]" of the API base (for messages).
  const std::string& host() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Reads a cursor-paginated list from the start: calls fetch(after) (nullopt first), hands each
/// page to on_page, and stops when there is no next page, on_page returns false, or max_pages
/// were read. Returns the number of pages read, or the first error (pages already handed over
/// stay handed over; resume from the last page's end_cursor). Example:
///   for_each_page([&](auto& after) { return c.list_memberships(biz, {"past_due"}, after); },
///                 [&](const Page& p) { ...; return true; });
ApiResult<int> for_each_page(
    const std::function<ApiResult<Page>(const std::optional<std::string>& after)>& fetch,
    const std::function<bool(const Page&)>& on_page, int max_pages = 10000);

}  // namespace cs::whop
