#include "jobs/scheduler.h"

#include <chrono>

#include <nlohmann/json.hpp>

#include "jobs/kinds.h"
#include "jobs/processor.h"
#include "store/cases.h"
#include "store/engine.h"
#include "store/jobs.h"
#include "util/log.h"
#include "util/thread_name.h"

namespace cs::jobs {
namespace {

std::vector<std::string> enabled_channels(const domain::RecoverySettings& s) {
  std::vector<std::string> out;
  if (s.push_enabled) out.push_back("push");
  if (s.dm_enabled) out.push_back("dm");
  return out;
}

}  // namespace

bool enqueue_due_nudge(SQLite::Database& db, const domain::RecoverySettings& s,
                       const store::DueNudge& due, int64_t now, TickResult& r) {
  if (!s.scheduler_enabled || !s.notifications_enabled) return false;
  const auto channels = enabled_channels(s);
  const int enqueued_before = r.nudges_enqueued;
  auto plan =
      domain::plan_nudges(due.first_failure_at, s.reminder_offsets_days, due.next_attempt, now);
  for (int k : plan.skipped) {
    for (const auto& ch : channels) {
      if (!store::begin_send(db, due.case_id, std::to_string(k), ch, "system", now)) {
        store::finish_send(db, due.case_id, std::to_string(k), ch, domain::SendState::Skipped, now);
      }
    }
    store::save_action(db, {due.case_id, now, "nudge_skipped", "", k, "system", "skipped",
                            nlohmann::json{{"reason", "superseded by a later reminder"}}.dump()});
    ++r.nudges_skipped;
  }
  if (plan.send_attempt >= 0 && !channels.empty()) {
    // One job per case and attempt carrying its channels (one row and its index entries per
    // due case); each channel's send intent keeps it from being sent twice.
    const auto attempt = std::to_string(plan.send_attempt);
    auto job = make_job(NudgeJob{due.case_id, attempt, channels, "system"}, now,
                        nudge_job_key(due.case_id, attempt), 8);
    if (store::enqueue_job(db, job, now)) ++r.nudges_enqueued;
  }
  store::save_nudge_schedule(db, due.case_id, plan.next_attempt, plan.next_at);
  return r.nudges_enqueued > enqueued_before;
}

void enqueue_incentive(SQLite::Database& db, const std::string& case_id, int64_t now) {
  auto job = make_job(IncentiveJob{case_id}, now, "incentive:" + case_id, 8);
  store::enqueue_job(db, job, now);
  auto inc = store::find_incentive(db, case_id);
  if (inc) {
    inc->state = domain::IncentiveState::Queued;
    store::save_incentive(db, case_id, *inc);
  }
}

TickResult tick(SQLite::Database& db, const domain::RecoverySettings& s, int64_t now, int limit) {
  TickResult r;
  if (!s.scheduler_enabled) {
    r.disabled = true;
    return r;
  }
  if (s.notifications_enabled) {
    for (const auto& due : store::find_due_nudges(db, now, limit)) {
      enqueue_due_nudge(db, s, due, now, r);
    }
  }
  for (const auto& case_id : store::find_pending_incentives(db, limit)) {
    enqueue_incentive(db, case_id, now);
    ++r.incentives_enqueued;
  }
  int64_t window_ms = static_cast<int64_t>(s.attribution_window_days) * 86400000LL;
  for (const auto& m : store::list_memberships_with_expired_cases(db, now, window_ms, limit)) {
    r.cases_expired += refold_membership(db, m, s, now);
  }
  return r;
}

Scheduler::Scheduler(store::Writer& writer, const Clock& clock, SettingsFn settings,
                     int64_t interval_ms, std::function<void()> on_enqueued)
    : writer_(writer),
      clock_(clock),
      settings_(std::move(settings)),
      interval_ms_(interval_ms),
      on_enqueued_(std::move(on_enqueued)) {}

Scheduler::~Scheduler() {
  stop();
}

void Scheduler::start() {
  thread_ = std::thread([this] {
    name_this_thread("cs-scheduler");
    loop();
  });
}

void Scheduler::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Scheduler::wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

TickResult Scheduler::run_once() {
  auto settings = settings_();
  int64_t now = clock_.now_ms();
  auto started = std::chrono::steady_clock::now();
  TickResult r;
  auto st = writer_.run([&](SQLite::Database& db) { r = tick(db, settings, now); });
  last_duration_us_.store(std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::steady_clock::now() - started)
                              .count());
  heartbeat_.store(clock_.now_ms());
  if (r.disabled != disabled_.exchange(r.disabled)) {
    log::warn(r.disabled ? "scheduler switched off: no nudges, incentives or expiries"
                         : "scheduler switched on");
  }
  if (!st) {
    log::error("scheduler tick failed", {{"error", st.error()}});
    return r;
  }
  if ((r.nudges_enqueued || r.incentives_enqueued) && on_enqueued_) on_enqueued_();
  if (r.nudges_enqueued || r.nudges_skipped || r.incentives_enqueued || r.cases_expired) {
    log::info("scheduler tick", {{"nudges", r.nudges_enqueued},
                                 {"skipped", r.nudges_skipped},
                                 {"incentives", r.incentives_enqueued},
                                 {"expired", r.cases_expired}});
  }
  return r;
}

void Scheduler::loop() {
  // Wakes arriving in a burst (many cases opening at once) are coalesced: at most one woken pass
  // every kMinGap, which keeps a T+0 reminder within milliseconds without a pass per event.
  constexpr auto kMinGap = std::chrono::milliseconds(20);
  for (;;) {
    run_once();
    std::unique_lock<std::mutex> lock(mu_);
    if (cv_.wait_for(lock, kMinGap, [&] { return stopping_; })) return;
    cv_.wait_for(lock, std::chrono::milliseconds(interval_ms_) - kMinGap,
                 [&] { return stopping_ || woken_; });
    if (stopping_) return;
    woken_ = false;
  }
}

}  // namespace cs::jobs
