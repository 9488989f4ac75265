#include "service/processing.h"

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

std::optional<jobs::PendingOutcome> process_pending(Context& ctx, const ProcessingHooks& hooks,
                                                    int limit) {
  auto s = hooks.settings();
  if (!s.processing_enabled) return std::nullopt;
  int64_t now = ctx.clock.now_ms();
  jobs::PendingOutcome out;
  auto st = ctx.writer.run([&](SQLite::Database& db) {
    out = jobs::process_pending_events(db, ctx.keys, s, now, limit,
                                       [&ctx] { return ctx.writer.urgent_waiting(); });
  });
  if (!st) {
    log::error("could not process stored events", {{"error", st.error()}});
    return std::nullopt;
  }
  if (out.opened > 0 && hooks.case_opened) hooks.case_opened();
  return out;
}

}  // namespace cs::service
