#include "app/retention.h"

#include "store/jobs.h"
#include "store/maintenance.h"
#include "util/clock.h"
#include "util/log.h"

namespace cs::app {

http::RetentionStatus run_retention(store::Writer& writer, store::ReadPool& reads,
                                    const std::string& db_path, const RetentionPolicy& policy,
                                    int64_t now, const std::atomic<bool>* stop) {
  http::RetentionStatus r;
  r.last_run_ms = now;
  auto stopping = [&] {
    if (stop && stop->load()) r.stopped = true;
    return r.stopped;
  };
  try {
    // 1. Encrypted payloads.
    int64_t cutoff = now - policy.payload_days * kDayMs;
    int64_t upto = 0;
    {
      auto db = reads.lease();
      upto = store::find_last_event_id_before(*db, cutoff);
    }
    for (int64_t after = 0; !stopping();) {
      std::vector<int64_t> ids;
      {
        auto db = reads.lease();
        ids = store::list_events_with_payload_before(*db, cutoff, after, upto, policy.batch);
      }
      if (ids.empty()) break;
      auto st = writer.run(
          [&](SQLite::Database& db) { r.payloads_stripped += store::strip_payloads(db, ids); });
      if (!st) throw std::runtime_error(st.error());
      after = ids.back();
    }
    // 2. Old events.
    cutoff = now - policy.event_days * kDayMs;
    {
      auto db = reads.lease();
      upto = store::find_last_event_id_before(*db, cutoff);
    }
    for (int64_t after = 0; !stopping();) {
      std::vector<int64_t> ids;
      {
        auto db = reads.lease();
        ids = store::list_expired_events(*db, cutoff, after, upto, policy.batch);
      }
      if (ids.empty()) break;
      auto st = writer.run(
          [&](SQLite::Database& db) { r.events_deleted += store::delete_events(db, ids); });
      if (!st) throw std::runtime_error(st.error());
      after = ids.back();
    }
    // 3. Cases left open far past any attribution window.
    cutoff = now - policy.case_days * kDayMs;
    for (int round = 0; round < 1000 && !stopping(); ++round) {
      std::vector<std::string> ids;
      {
        auto db = reads.lease();
        ids = store::list_stale_open_cases(*db, cutoff, policy.batch);
      }
      if (ids.empty()) break;
      int64_t closed = 0;
      auto st = writer.run([&](SQLite::Database& db) {
        for (const auto& id : ids) closed += store::close_stale_case(db, id, now) ? 1 : 0;
      });
      if (!st) throw std::runtime_error(st.error());
      r.cases_closed += closed;
      if (closed == 0) break;
    }
    // 4. Finished jobs.
    if (!stopping()) {
      auto st = writer.run([&](SQLite::Database& db) {
        r.jobs_purged = store::purge_done_jobs(db, now - policy.job_days * kDayMs);
      });
      if (!st) throw std::runtime_error(st.error());
    }
    // 5. Let the WAL go, so removed bytes do not linger there.
    if (!stopping() && r.payloads_stripped + r.events_deleted + r.jobs_purged > 0) {
      auto db = store::open_for_maintenance(db_path);
      store::checkpoint_truncate(*db, 5);
    }
  } catch (const std::exception& e) {
    r.last_error = e.what();
  }
  nlohmann::json fields = {{"payloads_stripped", r.payloads_stripped},
                           {"events_deleted", r.events_deleted},
                           {"cases_closed", r.cases_closed},
                           {"jobs_purged", r.jobs_purged}};
  if (r.stopped && r.last_error.empty()) {
    log::info("retention pass stopped: the service is stopping (the next pass carries on)", fields);
  } else if (r.last_error.empty()) {
    log::info("retention pass", fields);
  } else {
    fields["error"] = r.last_error;
    log::error("retention pass failed", fields);
  }
  return r;
}

}  // namespace cs::app
