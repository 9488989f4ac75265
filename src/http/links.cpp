// GET /r/{token}: the tracked link in nudges. Records the click on the case and redirects (302)
// to the member's manage page on Whop. Public: members are not signed in here.
#include "http/routes.h"

namespace cs::http {

void add_link_routes(httplib::Server& svr, Deps& deps) {
  install(svr, "GET", R"(/r/([0-9a-f]{1,64}))",
          [&deps](const httplib::Request& req, httplib::Response& res) {
            auto target =
                deps.engine ? deps.engine->follow_link(req.matches[1].str()) : std::nullopt;
            if (!target) {
              res.status = 404;
              res.set_content(
                  "<!doctype html><title>Link not found</title><p>This link is not valid any more. "
                  "Open Whop to manage your membership.</p>",
                  "text/html; charset=utf-8");
              return;
            }
            res.status = 302;
            res.set_header("Location", *target);
            res.set_header("Referrer-Policy", "no-referrer");
          });
}

}  // namespace cs::http
