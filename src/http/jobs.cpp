// GET /jobs (jobs by state with the error of failed and dead ones), POST /jobs/{id}/retry.
#include "store/jobs.h"
#include "http/dashboard.h"
#include "service/queue.h"
#include "view/pages.h"

namespace cs::http {

void add_job_routes(httplib::Server& svr, Dashboard& d) {
  route(svr, d, "GET", "/jobs",
        [&d](const httplib::Request& req, httplib::Response& res, const Session& s) {
          view::JobsModel m;
          m.now = d.now();
          std::string state = req.get_param_value("state");
          if (state == "queued" || state == "running" || state == "done" || state == "failed" ||
              state == "dead") {
            m.state = state;
          }
          {
            auto db = d.deps.reads->lease();
            m.rows = store::list_jobs(*db, m.state, 100);
            m.counts = store::count_jobs_by_state(*db);
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
