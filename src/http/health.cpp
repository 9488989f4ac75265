// GET /healthz: the process serves HTTP.
#include "http/routes.h"

namespace cs::http {

void add_health_routes(httplib::Server& svr, Deps&) {
  svr.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"status\":\"ok\"}", "application/json");
  });
}

}  // namespace cs::http
