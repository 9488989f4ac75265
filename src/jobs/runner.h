#pragma once
// Job workers (DESIGN.md §6): claim due jobs with a lease, run the handler for their kind, then
// complete, retry with backoff and jitter (Retry-After wins), or dead-letter them. At-least-once:
// a job whose worker died is claimed again once its lease has passed.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "domain/job_kind.h"
#include "jobs/kinds.h"
#include "store/jobs.h"
#include "store/writer.h"
#include "util/clock.h"

namespace cs::jobs {

struct JobOutcome {
  bool ok = true;
  std::string error;                      // when !ok: what went wrong (no personal data)
  std::optional<int64_t> retry_after_ms;  // when !ok: the server's Retry-After, if any
  bool permanent = false;                 // when !ok: do not retry (dead now)
  bool deferred = false;  // not run (a kill switch): try again later, attempt not counted

  static JobOutcome success() { return {}; }
  static JobOutcome failure(std::string e, std::optional<int64_t> retry_after = std::nullopt) {
    return {false, std::move(e), retry_after, false, false};
  }
  static JobOutcome fatal(std::string e) {
    return {false, std::move(e), std::nullopt, true, false};
  }
  static JobOutcome defer(std::string why, int64_t after_ms) {
    return {false, std::move(why), after_ms, false, true};
  }
};

/// One pass of the work that is not a job row (the stored events waiting to be processed). `run`
/// is done in the write transaction that claims the pass's jobs, before the claim, so that a job
/// it enqueues due now (a case's first nudge) is claimed by the same commit; it returns how many
/// items it did. `done` is told after the transaction whether it committed.
struct PendingPass {
  std::function<int(SQLite::Database&)> run;  // empty: nothing to do in this pass
  std::function<void(bool committed)> done;
};

struct RunnerOptions {
  int workers = 2;
  int64_t lease_ms = 120 * 1000;  // longer than the longest Whop call with its retries
  int batch = 32;                 // jobs claimed per claim transaction
  int64_t idle_poll_ms = 500;     // how often idle workers look for due jobs
};

class JobRunner {
 public:
  /// A handler for jobs of payload type P (jobs/kinds.h); it gets the job row and its payload.
  template <class P>
  using TypedHandler = std::function<JobOutcome(const store::Job&, const P&)>;

  JobRunner(store::Writer& writer, const Clock& clock, RunnerOptions opts = {});
  ~JobRunner();

  /// Registers the handler of P's kind (before start()), replacing an earlier one. A job whose
  /// payload does not parse as P is dead at once and the handler is not called.
  template <class P>
  void on(TypedHandler<P> handler) {
    handlers_[P::kKind] = [h = std::move(handler)](const store::Job& job) {
      auto payload = read_payload<P>(job.payload);
      if (!payload) {
        return JobOutcome::fatal(std::string("malformed ") + domain::job_kind_name(P::kKind) +
                                 " job: " + payload.error());
      }
      return h(job, *payload);
    };
  }
  /// Work that is not a job row, asked for at the start of every pass (outside the writer) and
  /// done in the pass's claim transaction (PendingPass). Set before start().
  void set_pending_work(std::function<PendingPass()> work) { pending_work_ = std::move(work); }
  void start();
  /// Stops claiming; waits for running handlers to finish.
  void stop();
  /// Wakes idle workers (new work was enqueued).
  void wake();
  /// Does the pending work and claims one batch of jobs in one write transaction, then runs them
  /// on the calling thread; returns how many events and jobs it took. For tests.
  int run_once();
  /// Extends the leases of every job this runner holds (claimed, not yet finished) to now + lease,
  /// so a job that runs long (slow Whop answers, retries) or waits behind others of its batch is
  /// never taken by another worker while it runs. The lease keeper thread calls it every third of
  /// a lease; returns how many leases were renewed.
  int renew_leases();
  /// Time of the last loop iteration of any worker (heartbeat for readiness), unix ms.
  int64_t heartbeat_ms() const { return heartbeat_.load(); }

 private:
  void worker_loop();
  void keeper_loop();
  /// True (and forgets it) when renew_leases found the job taken over by another worker.
  bool lost(int64_t id);
  void finish(const store::Job& job, const JobOutcome& out);

  store::Writer& writer_;
  const Clock& clock_;
  RunnerOptions opts_;
  using Handler = std::function<JobOutcome(const store::Job&)>;
  std::map<domain::JobKind, Handler> handlers_;
  std::function<PendingPass()> pending_work_;
  std::vector<std::thread> threads_;
  std::thread keeper_;
  std::condition_variable keeper_cv_;
  std::mutex held_mu_;
  std::map<int64_t, int> held_;  // job id -> the attempt this runner claimed (-1: taken over)
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  uint64_t wakeups_ = 0;
  std::atomic<int64_t> heartbeat_{0};
  std::mutex rng_mu_;
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace cs::jobs
