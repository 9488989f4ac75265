// POST /webhooks/whop: thin adapter from HTTP to service::ingest_webhook.
#include <chrono>

#include <nlohmann/json.hpp>

#include "http/routes.h"
#include "util/log.h"

namespace cs::http {

void add_webhook_routes(httplib::Server& svr, Deps& deps) {
  install(
      svr, "POST", "/webhooks/whop", [&deps](const httplib::Request& req, httplib::Response& res) {
        whop::SignatureHeaders h{
            req.get_header_value("webhook-id"), req.get_header_value("webhook-timestamp"),
            req.get_header_value("webhook-signature"), req.get_header_value("x-whop-signature")};
        auto started = std::chrono::steady_clock::now();
        auto r = service::ingest_webhook(*deps.ingest, h, req.body);
        if (deps.ops) {
          deps.ops->webhooks.observe(
              r.status, r.reason,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
        }
        const auto level = r.status == 200 ? log::Level::Debug : log::Level::Warn;
        if (log::enabled(level)) {  // no fields built for a level that is off
          nlohmann::json fields = {{"request_id", res.get_header_value("X-Request-Id")},
                                   {"status", r.status},
                                   {"outcome", r.reason}};
          if (!r.webhook_id.empty()) fields["webhook_id"] = r.webhook_id;
          log::write(level, "webhook", fields);
        }
        if (r.status != 200 && deps.webhook_stats) {
          deps.webhook_stats->rejected(r.reason, r.status, deps.clock ? deps.clock->now_ms() : 0);
        }
        if (r.status == 200) {
          res.status = 200;
          // r.reason is "stored" or "duplicate": no escaping needed.
          res.set_content("{\"ok\":true,\"result\":\"" + r.reason + "\"}", "application/json");
        } else {
          json_error(res, r.status, r.reason, r.message);
          if (r.status == 503) res.set_header("Retry-After", "10");
        }
      });
}

}  // namespace cs::http
