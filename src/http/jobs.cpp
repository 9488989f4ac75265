// GET /jobs (jobs by state with the error of failed and dead ones), POST /jobs/{id}/retry.
#include "store/jobs.h"
#include "domain/job_kind.h"
#include "http/dashboard.h"
#include "jobs/kinds.h"
#include "service/queue.h"
#include "store/dashboard.h"
#include "store/events.h"
#include "view/pages.h"

namespace cs::http {
namespace {

/// A job as the creator names it: "Push to alice", linked to the case it acts for.
view::JobLabel job_label(SQLite::Database& db, const store::Job& j) {
  view::JobLabel l;
  auto kind = domain::job_kind_from_name(j.kind);
  auto for_case = [&](const std::string& case_id) {
    l.case_id = case_id;
    l.href = "/cases/" + case_id;
    std::string who = store::case_member_name(db, case_id);
    return who.empty() ? std::string("a deleted case") : who;
  };
  if (!kind) {
    l.name = j.kind;
    return l;
  }
  switch (*kind) {
    case domain::JobKind::ProcessEvent:
      if (auto p = jobs::read_payload<jobs::ProcessEventJob>(j.payload)) {
        auto ev = store::find_event(db, p->event_id);
        l.name =
            "Read " + (ev ? ev->type : std::string("event")) + " #" + std::to_string(p->event_id);
        l.href = "/events/" + std::to_string(p->event_id);
        return l;
      }
      break;
    case domain::JobKind::Nudge:
      if (auto p = jobs::read_payload<jobs::NudgeJob>(j.payload)) {
        std::string who = for_case(p->case_id);
        const bool manual = !p->attempt.empty() && p->attempt[0] == 'm';
        std::string what;
        for (const auto& ch : p->channels) {
          what += what.empty() ? (ch == "dm" ? "Direct message" : "Push")
                               : (ch == "dm" ? " and direct message" : " and push");
        }
        l.name = what + " to " + who +
                 (manual ? " (sent by you)"
                         : " (reminder " + std::to_string(std::atoi(p->attempt.c_str()) + 1) + ")");
        return l;
      }
      break;
    case domain::JobKind::Incentive:
      if (auto p = jobs::read_payload<jobs::IncentiveJob>(j.payload)) {
        l.name = "Free days for " + for_case(p->case_id);
        return l;
      }
      break;
    case domain::JobKind::WhopCancel:
      if (auto p = jobs::read_payload<jobs::WhopCancelJob>(j.payload)) {
        l.name = "Cancel " + for_case(p->case_id) + "'s membership" +
                 (p->mode == "immediate" ? " now" : " at period end");
        return l;
      }
      break;
  }
  l.name = j.kind + " (unreadable payload)";
  return l;
}

}  // namespace

void add_job_routes(httplib::Server& svr, Dashboard& d) {
  route(
      svr, d, "GET", "/jobs",
      [&d](const httplib::Request& req, httplib::Response& res, const Session& s) {
        view::JobsModel m;
        m.now = d.now();
        std::string state = req.get_param_value("state");
        if (state == "queued" || state == "running" || state == "done" || state == "failed" ||
            state == "dead") {
          m.state = state;
        }
        int64_t before = 0;
        std::string b = req.get_param_value("before");
        if (!b.empty() && b.size() < 19 && b.find_first_not_of("0123456789") == std::string::npos) {
          before = std::stoll(b);
        }
        m.paged = before > 0;
        const int kPage = 50;
        {
          auto db = d.deps.reads->lease();
          m.rows = store::list_jobs(*db, m.state, kPage + 1, before);
          m.counts = store::count_jobs_by_state(*db);
          if (m.rows.size() > kPage) {
            m.rows.pop_back();
            m.next_before = m.rows.back().id;
          }
          for (const auto& j : m.rows) m.labels.push_back(job_label(*db, j));
        }
        send_html(res, 200, view::jobs_page(d.chrome(s, "Jobs", "jobs"), m));
      });

  const char* kRetry = R"(/jobs/(\d{1,18})/retry)";

  route(svr, d, "POST", kRetry,
        [&d](const httplib::Request& req, httplib::Response& res, const Session& s) {
          int64_t id = std::stoll(req.matches[1].str());
          auto ok = service::retry_job(*d.deps.services, id);
          if (!ok) throw std::runtime_error(ok.error());
          if (*ok) {
            d.flash(s, "ok", "Job " + std::to_string(id) + " queued again.");
          } else {
            d.flash(s, "error",
                    "Job " + std::to_string(id) +
                        " cannot be retried (only failed and dead jobs can).");
          }
          std::string back = req.get_param_value("state");
          redirect(res, back.empty() || back.find_first_not_of("abcdefghijklmnopqrstuvwxyz") !=
                                            std::string::npos
                            ? "/jobs"
                            : "/jobs?state=" + back);
        });
}

}  // namespace cs::http
