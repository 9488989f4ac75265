// GET /cases/export.csv: the cases of the current filters (status, q, sort) as CSV, streamed in
// chunks of 1,000 rows. Each chunk reads in its own short read transaction (keyset pagination),
// so memory stays flat and the WAL can be checkpointed while a large export runs.
#include <memory>

#include "domain/money.h"
#include "domain/time.h"
#include "http/csv.h"
#include "http/dashboard.h"
#include "http/page_data.h"
#include "store/dashboard.h"
#include "store/experiments.h"

namespace cs::http {
namespace {

const std::vector<std::string> kHeader = {
    "case_id",     "status",   "resolution",       "membership_id",   "user_id",
    "username",    "product",  "first_failure_at", "last_failure_at", "failures",
    "amount_due",  "currency", "recovered",        "refunded",        "net_recovered",
    "resolved_at", "clicks",   "incentive_days",   "experiment",      "arm"};

std::string iso(const std::optional<int64_t>& ms) {
  return ms ? domain::format_iso8601_ms(*ms) : "";
}

std::string case_csv(const store::CaseListRow& r, const store::CaseArm* arm) {
  const int64_t net = domain::net_recovered_cents(r.status, r.recovered_cents, r.refunded_cents);
  return csv::row({csv::text(r.id),
                   csv::text(domain::status_name(r.status)),
                   csv::text(domain::resolution_name(r.resolution)),
                   csv::text(r.membership_id),
                   csv::text(r.user_id),
                   csv::text(r.username),
                   csv::text(r.product_title),
                   csv::plain(iso(r.first_failure_at)),
                   csv::plain(iso(r.last_failure_at)),
                   csv::plain(std::to_string(r.failures)),
                   csv::plain(domain::minor_to_decimal(r.amount_due_cents, r.currency)),
                   csv::text(r.currency),
                   csv::plain(domain::minor_to_decimal(r.recovered_cents, r.currency)),
                   csv::plain(domain::minor_to_decimal(r.refunded_cents, r.currency)),
                   csv::plain(domain::minor_to_decimal(net, r.currency)),
                   csv::plain(iso(r.resolved_at)),
                   csv::plain(std::to_string(r.clicks)),
                   csv::plain(r.incentive_state == domain::IncentiveState::Granted
                                  ? std::to_string(r.incentive_days)
                                  : "0"),
                   csv::text(arm ? arm->experiment_name : ""),
                   csv::text(arm ? arm->arm_name : "")});
}

/// The rows of one page, each with its experiment arm (if any).
std::string rows_csv(Deps& deps, const std::vector<store::CaseListRow>& rows) {
  std::vector<std::string> ids;
  for (const auto& r : rows) ids.push_back(r.id);
  std::map<std::string, store::CaseArm> arms;
  {
    auto db = deps.reads->lease();
    arms = store::case_arms(*db, ids);
  }
  std::string out;
  for (const auto& r : rows) {
    auto a = arms.find(r.id);
    out += case_csv(r, a == arms.end() ? nullptr : &a->second);
  }
  return out;
}

struct ExportState {
  store::CaseQuery query;
  bool header_sent = false;
  bool done = false;
};

}  // namespace

void add_export_routes(httplib::Server& svr, Dashboard& d) {
  route(svr, d, "GET", "/cases/export.csv",
        [&d](const httplib::Request& req, httplib::Response& res, const Session&) {
          auto state = std::make_shared<ExportState>();
          state->query = case_query(req, d.deps.keys);
          state->query.cursor.clear();
          state->query.before.clear();
          state->query.want_offset = false;
          state->query.limit = 1000;
          std::string day = domain::format_iso8601_ms(d.now()).substr(0, 10);
          res.set_header("Content-Disposition",
                         "attachment; filename=\"churn-saver-cases-" + day + ".csv\"");
          Deps* deps = &d.deps;
          res.set_chunked_content_provider("text/csv; charset=utf-8",
                                           [state, deps](size_t, httplib::DataSink& sink) {
                                             if (!state->header_sent) {
                                               std::string h;
                                               for (size_t i = 0; i < kHeader.size(); ++i)
                                                 h += (i ? "," : "") + kHeader[i];
                                               h += "\r\n";
                                               state->header_sent = true;
                                               return sink.write(h.data(), h.size());
                                             }
                                             if (state->done) {
                                               sink.done();
                                               return true;
                                             }
                                             store::CasePage page;
                                             {
                                               auto db = deps->reads->lease();
                                               page = store::list_case_page(*db, state->query);
                                             }
                                             std::string chunk;
                                             chunk.reserve(page.rows.size() * 200);
                                             chunk += rows_csv(*deps, page.rows);
                                             state->query.cursor = page.next_cursor;
                                             if (page.next_cursor.empty()) state->done = true;
                                             if (chunk.empty()) {
                                               sink.done();
                                               return true;
                                             }
                                             return sink.write(chunk.data(), chunk.size());
                                           });
        });
}

}  // namespace cs::http
