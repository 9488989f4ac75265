#pragma once
// Reconciliation (issue: catch what webhooks missed): every interval, page through Whop's payments
// updated since the last cursor and the company's past_due memberships, and feed what is missing
// into the same path as webhooks (an event row + a process_event job), de-duplicated against what
// already arrived (same payment, type and event time; or an open case for the membership).
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "store/writer.h"
#include "util/clock.h"
#include "util/crypto.h"
#include "whop/client.h"

namespace cs::jobs {

struct ReconcileResult {
  int payments_seen = 0;
  int memberships_seen = 0;
  int events_added = 0;
  std::string error;  // "" when the pass completed
};

/// The webhook event a payment object stands for: payment.succeeded when paid, payment.failed
/// when its last attempt failed, "" otherwise (pending, draft, void, ...).
std::string event_type_for_payment(const nlohmann::json& payment);

class Reconciler {
 public:
  Reconciler(store::Writer& writer, whop::Client& whop, const crypto::Keyring& keys,
             const Clock& clock, std::string company_id, int64_t interval_ms,
             std::function<void()> on_added);
  ~Reconciler();
  void start();
  void stop();
  /// Replaces the company id (the settings page changes it without a restart). Thread-safe.
  void set_company_id(const std::string& company_id);
  /// One pass on the calling thread.
  ReconcileResult run_once();
  int64_t last_run_ms() const { return last_run_.load(); }

 private:
  bool add_event(const std::string& type, const nlohmann::json& data, const std::string& id_suffix,
                 int64_t now, bool membership_based);
  void loop();

  store::Writer& writer_;
  whop::Client& whop_;
  const crypto::Keyring& keys_;
  const Clock& clock_;
  std::string company_id() const;
  mutable std::mutex company_mu_;  // guards company_id_
  std::string company_id_;
  int64_t interval_ms_;
  std::function<void()> on_added_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::atomic<int64_t> last_run_{0};
};

}  // namespace cs::jobs
