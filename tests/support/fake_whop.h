#pragma once
// The project's fake Whop (shared/WHOP.md §5): a real HTTP server on an ephemeral loopback port.
// - Webhook side: signs and sends v1 webhooks exactly as Whop does (and the legacy header on
//   request), with duplicates, reordering, stale timestamps and bad signatures on demand, and
//   Whop's retry schedule (10 s, 20 s, 40 s, scaled down) when the receiver does not answer 2xx.
// - REST side (shared/WHOP.md §3): memberships, payments, notifications, DM channels, messages,
//   with bearer auth, 404s, cursor pagination, validation errors, a call log, and injected faults.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cs::test {

/// How one webhook is delivered.
struct DeliveryOptions {
  bool legacy = false;             // x-whop-signature only (no webhook-* headers)
  bool bad_signature = false;      // sign with a wrong secret
  bool omit_signature = false;     // leave out the signature header(s)
  int64_t timestamp_offset_s = 0;  // e.g. -301 for a stale delivery
  std::vector<std::string>
      extra_signature_entries;  // extra entries in webhook-signature
                                // (e.g. "v1,AAAA", "v2,xyz") before the good one
  bool retry = true;            // follow Whop's retry schedule on non-2xx / no answer
  std::optional<std::string> secret_override;  // sign with this secret instead
};

/// What happened to one delivery.
struct DeliveryResult {
  std::string webhook_id;
  int status = 0;    // last HTTP status (0 when no answer at all)
  int attempts = 0;  // 1 + retries made
};

/// One REST call the fake received.
struct Call {
  std::string method;
  std::string path;   // without query string
  std::string query;  // raw query string
  std::string body;
  int status = 0;  // what the fake answered (0 for a dropped connection)
};

/// A fault to inject into the REST side for the next `count` matching calls.
struct Fault {
  std::string method;                // "" = any
  std::string path_prefix;           // "" = any, e.g. "/api/v1/memberships/"
  int status = 0;                    // 429, 500, 503, ... (0 = no status fault)
  std::optional<int> retry_after_s;  // Retry-After header with a 429
  int delay_ms = 0;              // answer slowly (after applying the call's effect if apply_effect)
  bool drop_connection = false;  // close the socket without answering
  bool apply_effect = false;     // with delay/drop: perform the call's side effect anyway
  int count = 1;
};

class FakeWhop {
 public:
  /// Starts the server on 127.0.0.1 with an ephemeral port. `secret` signs webhooks; `api_key` is
  /// the bearer token the REST side accepts. `retry_scale` multiplies Whop's retry delays
  /// (10/20/40 s): 0.001 gives 10/20/40 ms. `port` 0 picks an ephemeral port (the standalone
  /// fake-whop executable passes a fixed one); throws std::runtime_error when it cannot bind.
  FakeWhop(std::string secret, std::string api_key = "test_api_key", double retry_scale = 0.001,
           int port = 0);
  ~FakeWhop();
  FakeWhop(const FakeWhop&) = delete;
  FakeWhop& operator=(const FakeWhop&) = delete;

  int port() const;
  /// REST base URL, "http://127.0.0.1:<port>/api/v1" (what CHURN_SAVER_WHOP_API_BASE points at).
  std::string api_base() const;
  /// Where webhooks are POSTed, e.g. "http://127.0.0.1:8080/webhooks/whop".
  void set_webhook_target(const std::string& url);

  /// Delivers one v1 event body (`event.dump()`); the webhook-id is event["id"] (a fresh msg_ id
  /// is put there when absent). Blocks through retries.
  DeliveryResult deliver(const nlohmann::json& event, const DeliveryOptions& opts = {});
  /// Delivers exact bytes under the given webhook-id.
  DeliveryResult deliver_raw(const std::string& body, const std::string& webhook_id,
                             const DeliveryOptions& opts = {});
  /// Delivers every event, each `copies` times, in an order shuffled with `seed`.
  std::vector<DeliveryResult> deliver_shuffled(const std::vector<nlohmann::json>& events,
                                               uint32_t seed, int copies = 1);

  // --- Event builders (v1 bodies shaped like shared/fixtures/whop/*.json) -------------------
  struct PaymentSpec {
    std::string payment_id = "pay_Ab12Cd34Ef56Gh";
    std::string membership_id = "mem_Zx12Cv34Bn56Ml";
    std::string user_id = "user_Qa12Ws34Ed56R";
    std::string username = "johndoe42";
    std::string name = "John Doe";
    std::string email = "john.doe@example.com";
    double total = 29.99;
    std::string currency = "usd";
    int64_t time_ms = 0;  // last_payment_attempt (failed) / paid_at (succeeded); envelope timestamp
    std::string failure_message = "Your card has insufficient funds.";
  };
  /// type: "payment.failed" | "payment.succeeded" | "payment.pending".
  static nlohmann::json payment_event(const std::string& type, const PaymentSpec& spec);
  /// type: "membership.activated" | "membership.deactivated" |
  /// "membership.cancel_at_period_end_changed"; updated_at = envelope timestamp = time_ms.
  static nlohmann::json membership_event(const std::string& type, const std::string& membership_id,
                                         const std::string& user_id, int64_t time_ms);
  /// A fresh "msg_" + 24 alphanumerics.
  static std::string new_webhook_id();

  // --- REST side state ------------------------------------------------------------------------
  /// Adds or replaces a membership (JSON shaped like a v1 Membership; needs "id").
  void put_membership(const nlohmann::json& membership);
  std::optional<nlohmann::json> membership(const std::string& id) const;
  /// Adds or replaces a payment (JSON shaped like a v1 Payment; needs "id", "updated_at").
  void put_payment(const nlohmann::json& payment);
  /// Every add_free_days grant made to a membership, in order (N per successful call), so tests
  /// can see double grants.
  std::vector<int> free_day_grants(const std::string& membership_id) const;
  void inject(const Fault& fault);
  void clear_faults();
  /// Enforce 600 requests per minute per operation (method + route) with 429s.
  void enforce_rate_limit(bool on);
  std::vector<Call> calls() const;
  /// Calls whose method matches and whose path starts with `path_prefix`.
  std::vector<Call> calls(const std::string& method, const std::string& path_prefix) const;
  void clear_calls();
  /// Calls `fn` for every REST call as it arrives (before faults and the answer), on the fake's
  /// server thread and outside its lock; for benchmarks that time calls. nullptr removes it.
  void set_call_observer(std::function<void(const Call&)> fn);

  /// Serves the control API under /_fake on the same port (404 while off); used by the standalone
  /// fake-whop executable: POST /_fake/deliver, GET|DELETE /_fake/calls, POST /_fake/memberships,
  /// GET /_fake/memberships/{id}, POST /_fake/payments, POST|DELETE /_fake/faults,
  /// POST /_fake/rate_limit.
  void enable_control_api(bool on = true);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cs::test
