#pragma once
// The scheduler (DESIGN.md §6): a pure `tick(now)` that finds due work through indexes (nudges
// due, incentives pending, attribution windows passed) and enqueues jobs with unique keys, and a
// thread that calls it every interval, or at once when woken (a case just opened).
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include <SQLiteCpp/Database.h>

#include "domain/settings.h"
#include "store/engine.h"
#include "store/writer.h"
#include "util/clock.h"

namespace cs::jobs {

struct TickResult {
  int nudges_enqueued = 0;  // jobs: one per due case, carrying its channels
  int nudges_skipped = 0;
  int incentives_enqueued = 0;
  int cases_expired = 0;
  bool disabled = false;
};

/// One scheduler pass at `now`, inside the caller's write transaction. Reads only due rows.
/// - Due nudges: when several attempts are overdue only the latest is sent; the others are
///   recorded as skipped. One job per case and attempt carrying the enabled channels, unique key
///   nudge:<case>:<attempt> (jobs queued per channel before, nudge:<case>:<attempt>:<channel>,
///   still run: the send intents in nudge_sends keep every channel from going out twice).
///   With outbound notifications switched off, schedules are left as they are (nothing is sent,
///   and when they are switched on again only the latest overdue nudge goes out).
/// - Pending incentives: one job per case, unique key incentive:<case>.
/// - Open cases past their attribution window are re-folded (lost, unless a payment counts).
TickResult tick(SQLite::Database& db, const domain::RecoverySettings& settings, int64_t now,
                int limit = 1000);

/// The tick's nudge work for one case whose next reminder is due at `now` (skipped attempts
/// recorded, the latest due attempt enqueued as one job carrying the enabled channels, the
/// schedule advanced), counted into `r`. Event processing calls it for a case it opens whose
/// first reminder is due at once (T+0), so that nudge is enqueued in the transaction that opens
/// the case. Nothing while the scheduler or outbound notifications are switched off. Returns
/// whether a job was enqueued.
bool enqueue_due_nudge(SQLite::Database& db, const domain::RecoverySettings& settings,
                       const store::DueNudge& due, int64_t now, TickResult& r);

/// Queues the free-days grant of a case whose incentive is pending (one job, unique key
/// incentive:<case>) and marks the incentive queued.
void enqueue_incentive(SQLite::Database& db, const std::string& case_id, int64_t now);

class Scheduler {
 public:
  using SettingsFn = std::function<domain::RecoverySettings()>;
  Scheduler(store::Writer& writer, const Clock& clock, SettingsFn settings, int64_t interval_ms,
            std::function<void()> on_enqueued);
  ~Scheduler();
  void start();
  void stop();
  /// Runs a tick soon (without waiting for the interval).
  void wake();
  /// Runs one tick on the calling thread.
  TickResult run_once();
  int64_t heartbeat_ms() const { return heartbeat_.load(); }
  int64_t last_tick_duration_us() const { return last_duration_us_.load(); }
  bool disabled() const { return disabled_.load(); }

 private:
  void loop();
  store::Writer& writer_;
  const Clock& clock_;
  SettingsFn settings_;
  int64_t interval_ms_;
  std::function<void()> on_enqueued_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool woken_ = false;
  std::atomic<int64_t> heartbeat_{0};
  std::atomic<int64_t> last_duration_us_{0};
  std::atomic<bool> disabled_{false};
};

}  // namespace cs::jobs
