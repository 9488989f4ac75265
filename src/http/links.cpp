// GET /r/{token}: the tracked link in nudges. Records the click on the case and redirects (302)
// to the member's manage page on Whop. Public: members are not signed in here.
#include "http/routes.h"
#include "view/pages.h"

namespace cs::http {

void add_link_routes(httplib::Server& svr, Deps& deps) {
  install(svr, "GET", R"(/r/([0-9a-f]{1,64}))",
          [&deps](const httplib::Request& req, httplib::Response& res) {
            auto target =
                deps.engine ? deps.engine->follow_link(req.matches[1].str()) : std::nullopt;
            if (!target) {
              // The member followed a link from an old or mistyped message: say so, and send them
              // where they can fix the payment themselves.
              res.status = 404;
              res.set_header("Referrer-Policy", "no-referrer");
              res.set_content(
                  view::error_page(404, "This link has expired",
                                   "The link in your message is no longer valid (it may be from "
                                   "an older message, or it was copied incompletely). You can "
                                   "still update your payment method or renew on Whop: sign in, "
                                   "open your memberships and choose this one.",
                                   "https://whop.com/", "Open Whop"),
                  "text/html; charset=utf-8");
              return;
            }
            res.status = 302;
            res.set_header("Location", *target);
            res.set_header("Referrer-Policy", "no-referrer");
          });
}

}  // namespace cs::http
