#include "jobs/runner.h"

#include <algorithm>
#include <chrono>

#include "domain/backoff.h"
#include "util/log.h"
#include "util/thread_name.h"

namespace cs::jobs {

JobRunner::JobRunner(store::Writer& writer, const Clock& clock, RunnerOptions opts)
    : writer_(writer), clock_(clock), opts_(opts) {}

JobRunner::~JobRunner() {
  stop();
}

void JobRunner::start() {
  for (int i = 0; i < opts_.workers; ++i)
    threads_.emplace_back([this] {
      name_this_thread("cs-jobs");
      worker_loop();
    });
  keeper_ = std::thread([this] {
    name_this_thread("cs-jobs-keeper");
    keeper_loop();
  });
}

void JobRunner::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  keeper_cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
  if (keeper_.joinable()) keeper_.join();
}

void JobRunner::wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++wakeups_;
  }
  cv_.notify_one();
}

int JobRunner::run_once() {
  PendingPass pass = pending_work_ ? pending_work_() : PendingPass{};
  int pending = 0;
  // One commit for the pending work and the claim: a nudge the processing enqueued due now is
  // claimed here, without a transaction (and a sync to disk) of its own.
  auto claimed = writer_.run_value<std::vector<store::Job>>([&](SQLite::Database& db) {
    pending = pass.run ? pass.run(db) : 0;
    // Read after the pending work: what it enqueued due now is due at this time too.
    const int64_t now = clock_.now_ms();
    return store::claim_jobs(db, now, opts_.lease_ms, opts_.batch);
  });
  if (pass.done) pass.done(static_cast<bool>(claimed));
  if (!claimed) {
    log::error("could not claim jobs", {{"error", claimed.error()}});
    return 0;
  }
  {
    std::lock_guard<std::mutex> lock(held_mu_);
    for (const auto& job : *claimed) held_[job.id] = job.attempts;
  }
  for (const auto& job : *claimed) {
    if (lost(job.id)) {
      // Its lease ran out while it waited in this batch and another worker took it.
      log::warn("job left to the worker that took it over", {{"job_id", job.id}});
      continue;
    }
    JobOutcome out;
    auto kind = domain::job_kind_from_name(job.kind);
    auto it = kind ? handlers_.find(*kind) : handlers_.end();
    if (it == handlers_.end()) {
      out = JobOutcome::fatal("no handler for job kind " + job.kind);
    } else {
      try {
        out = it->second(job);
      } catch (const std::exception& e) {
        out = JobOutcome::failure(std::string("handler error: ") + e.what());
      }
    }
    finish(job, out);
  }
  return pending + static_cast<int>(claimed->size());
}

void JobRunner::finish(const store::Job& job, const JobOutcome& out) {
  {
    std::lock_guard<std::mutex> lock(held_mu_);
    held_.erase(job.id);
  }
  int64_t now = clock_.now_ms();
  if (out.ok) {
    auto st = writer_.run([&](SQLite::Database& db) { store::complete_job(db, job.id, now); });
    if (!st) log::error("could not complete job", {{"job_id", job.id}, {"error", st.error()}});
    return;
  }
  if (out.deferred) {
    auto st = writer_.run([&](SQLite::Database& db) {
      store::defer_job(db, job.id, now + out.retry_after_ms.value_or(60000), now, out.error);
    });
    if (!st) log::error("could not defer job", {{"job_id", job.id}, {"error", st.error()}});
    return;
  }
  std::optional<int64_t> retry_at;
  if (!out.permanent) {
    double jitter;
    {
      std::lock_guard<std::mutex> lock(rng_mu_);
      jitter = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
    }
    int64_t delay =
        out.retry_after_ms ? *out.retry_after_ms : domain::retry_delay_ms(job.attempts, jitter);
    retry_at = now + delay;
  }
  std::string state;
  auto st = writer_.run(
      [&](SQLite::Database& db) { state = store::fail_job(db, job.id, out.error, now, retry_at); });
  log::warn("job failed", {{"job_id", job.id},
                           {"kind", job.kind},
                           {"attempt", job.attempts},
                           {"state", state},
                           {"error", out.error}});
}

int JobRunner::renew_leases() {
  std::vector<std::pair<int64_t, int>> held;
  {
    std::lock_guard<std::mutex> lock(held_mu_);
    held.assign(held_.begin(), held_.end());
  }
  if (held.empty()) return 0;
  int64_t until = clock_.now_ms() + opts_.lease_ms;
  int renewed = 0;
  std::vector<int64_t> gone;
  auto st = writer_.run([&](SQLite::Database& db) {
    renewed = 0;
    gone.clear();
    for (const auto& [id, attempt] : held) {
      if (store::renew_lease(db, id, attempt, until)) {
        ++renewed;
      } else {
        gone.push_back(id);
      }
    }
  });
  if (!st) {
    log::error("could not renew job leases", {{"error", st.error()}});
    return 0;
  }
  std::lock_guard<std::mutex> lock(held_mu_);
  for (int64_t id : gone) {
    auto it = held_.find(id);
    if (it != held_.end()) it->second = -1;  // finished meanwhile (erased) or taken over
  }
  return renewed;
}

bool JobRunner::lost(int64_t id) {
  std::lock_guard<std::mutex> lock(held_mu_);
  auto it = held_.find(id);
  if (it == held_.end() || it->second >= 0) return false;
  held_.erase(it);
  return true;
}

void JobRunner::keeper_loop() {
  const auto period = std::chrono::milliseconds(std::max<int64_t>(opts_.lease_ms / 3, 1));
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (keeper_cv_.wait_for(lock, period, [&] { return stopping_; })) return;
    }
    renew_leases();
  }
}

void JobRunner::worker_loop() {
  for (;;) {
    heartbeat_.store(clock_.now_ms());
    uint64_t seen = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      // Read before the pass: a wake-up that arrives while the pass runs (work committed after
      // its claim looked) ends the wait below at once instead of after idle_poll_ms.
      seen = wakeups_;
    }
    int ran = run_once();
    if (ran > 0) continue;
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(opts_.idle_poll_ms),
                 [&] { return stopping_ || wakeups_ != seen; });
  }
}

}  // namespace cs::jobs
