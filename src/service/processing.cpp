#include "service/processing.h"

#include "jobs/processor.h"

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

}  // namespace cs::service
