// GET /static/{file}: the stylesheet, script and icons compiled in from web/. Public.
#include "http/dashboard.h"
#include "http/route_table.h"
#include "util/embedded.h"

namespace cs::http {

void add_static_routes(httplib::Server& svr, Dashboard&) {
  install(svr, "GET", R"(/static/([a-z0-9_-]{1,64}\.(css|js|svg)))",
          [](const httplib::Request& req, httplib::Response& res) {
            auto f = embedded::find("web/" + req.matches[1].str());
            if (!f) {
              res.status = 404;
              res.set_content("not found", "text/plain");
              return;
            }
            std::string ext = req.matches[2].str();
            const char* type = ext == "css"  ? "text/css; charset=utf-8"
                               : ext == "js" ? "text/javascript; charset=utf-8"
                                             : "image/svg+xml";
            res.set_content(std::string(*f), type);
            res.set_header("Cache-Control", "public, max-age=3600");
          });
  install(svr, "GET", "/favicon.ico", [](const httplib::Request&, httplib::Response& res) {
    res.status = 302;
    res.set_header("Location", "/static/icon.svg");
  });
}

}  // namespace cs::http
