#pragma once
// Daily retention (issue 5, DESIGN.md §4): strip encrypted payloads after 30 days, delete events
// after 60 (except what an open case still needs), close cases left open far past their window,
// purge finished jobs; then checkpoint so the WAL does not keep what was removed. Ids are read on
// a read connection and changed in small writer batches, so webhooks never wait long.
#include <atomic>
#include <cstdint>
#include <string>

#include "http/ops.h"
#include "store/db.h"
#include "store/writer.h"

namespace cs::app {

struct RetentionPolicy {
  int payload_days = 30;  // CHURN_SAVER_RETENTION_PAYLOAD_DAYS
  int event_days = 60;    // CHURN_SAVER_RETENTION_EVENT_DAYS
  int case_days = 60;     // CHURN_SAVER_RETENTION_CASE_DAYS: open cases older than this close
  int job_days = 7;       // done jobs older than this are deleted
  int batch = 500;        // rows per writer task
};

/// One retention pass at `now` (unix ms). Errors are reported in the result, not thrown.
/// `stop` (may be null) is read between batches: once it is true the pass ends where it is, with
/// `stopped` set (the next pass carries on; a first pass over a year of events takes minutes).
http::RetentionStatus run_retention(store::Writer& writer, store::ReadPool& reads,
                                    const std::string& db_path, const RetentionPolicy& policy,
                                    int64_t now, const std::atomic<bool>* stop = nullptr);

}  // namespace cs::app
