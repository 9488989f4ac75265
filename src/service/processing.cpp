#include "service/processing.h"

#include <memory>

#include "jobs/processor.h"
#include "util/log.h"

namespace cs::service {

jobs::JobOutcome process_event(Context& ctx, const ProcessingHooks& hooks, int64_t event_id) {
  auto s = hooks.settings();
  if (!s.processing_enabled) {
    return jobs::JobOutcome::defer("webhook processing is switched off", 60 * 1000);
  }
  int64_t now = ctx.clock.now_ms();
  jobs::ProcessOutcome out;
  auto st = ctx.writer.run(
      [&](SQLite::Database& db) { out = jobs::process_event(db, ctx.keys, event_id, s, now); });
  if (!st) return jobs::JobOutcome::failure(st.error());
  if (out.opened > 0 && hooks.case_opened) hooks.case_opened();
  return jobs::JobOutcome::success();
}

namespace {

/// Inside a write transaction: up to `limit` pending events, ending early when a webhook waits.
jobs::PendingOutcome process_in(Context& ctx, SQLite::Database& db,
                                const domain::RecoverySettings& s, int limit) {
  return jobs::process_pending_events(db, ctx.keys, s, ctx.clock.now_ms(), limit,
                                      [&ctx] { return ctx.writer.urgent_waiting(); });
}

/// After the commit: the scheduler is woken only for a case opened without its first nudge job
/// (one due now was enqueued with the case).
void after_commit(const ProcessingHooks& hooks, const jobs::PendingOutcome& out) {
  if (out.opened > out.nudges && hooks.case_opened) hooks.case_opened();
}

}  // namespace

std::optional<jobs::PendingOutcome> process_pending(Context& ctx, const ProcessingHooks& hooks,
                                                    int limit) {
  auto s = hooks.settings();
  if (!s.processing_enabled) return std::nullopt;
  jobs::PendingOutcome out;
  auto st = ctx.writer.run([&](SQLite::Database& db) { out = process_in(ctx, db, s, limit); });
  if (!st) {
    log::error("could not process stored events", {{"error", st.error()}});
    return std::nullopt;
  }
  after_commit(hooks, out);
  return out;
}

jobs::PendingPass pending_pass(Context& ctx, const ProcessingHooks& hooks, int limit,
                               std::function<void(const jobs::PendingOutcome&)> committed) {
  auto s = hooks.settings();
  if (!s.processing_enabled) return {};
  auto out = std::make_shared<jobs::PendingOutcome>();
  return {[&ctx, s, limit, out](SQLite::Database& db) {
            *out = process_in(ctx, db, s, limit);  // the writer may run a task twice
            return out->events;
          },
          [hooks, out, committed = std::move(committed)](bool ok) {
            if (!ok) return;  // the events stay pending; the runner logged the failure
            after_commit(hooks, *out);
            if (committed) committed(*out);
          }};
}

}  // namespace cs::service
