#pragma once
// The HTTP server: cpp-httplib behind the connection front end of http/frontend.h (head and body
// read by one reactor with deadlines, header limits and the route table's body limits; workers
// only for complete requests), an exception handler that never leaks, security headers, and the
// route table of http/route_table.h.
#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include <httplib.h>

#include "domain/settings.h"
#include "http/frontend.h"
#include "http/ops.h"
#include "http/webhook_stats.h"
#include "jobs/engine.h"
#include "service/context.h"
#include "service/ingest.h"
#include "store/connection.h"
#include "store/dashboard.h"
#include "store/db.h"
#include "util/clock.h"
#include "util/crypto.h"
#include "whop/client.h"

namespace cs::http {

struct Deps {
  service::IngestContext* ingest = nullptr;
  jobs::RecoveryEngine* engine = nullptr;

  // --- Dashboard (issue 4). Unset pointers leave the dashboard routes out.
  /// Every state change goes through a service (src/service/); handlers never write themselves.
  service::Context* services = nullptr;
  store::ReadPool* reads = nullptr;
  const Clock* clock = nullptr;
  const crypto::Keyring* keys = nullptr;
  whop::Client* whop = nullptr;
  /// Rejected webhook deliveries by reason (in memory; the webhook route counts into it).
  WebhookStats* webhook_stats = nullptr;
  /// Kill switches forced off by the environment (CHURN_SAVER_DISABLE_*).
  bool env_processing_off = false, env_scheduler_off = false, env_notifications_off = false;
  /// The Whop connection in force (dashboard values over the configuration's).
  std::function<store::ConnectionSettings()> connection;
  std::string whop_api_base;  // for the settings page
  /// Address of a reverse proxy whose X-Forwarded-For / X-Forwarded-Proto are believed
  /// (CHURN_SAVER_TRUSTED_PROXY); "" = none.
  std::string trusted_proxy;

  // --- Operations (issue 5): health, readiness, metrics, alerts. Owned by app::Operations;
  // null in a bare server (then /readyz and /metrics answer 503). The dashboard's alert banner
  // reads ops->alerts().
  OpsState* ops = nullptr;
};

struct ServerOptions {
  int threads = 32;  // workers that run handlers (waiting clients never hold one)
  /// Connection limits and deadlines (http/frontend.h); `threads` overrides limits.workers.
  ConnectionLimits limits;
};

class Server {
 public:
  Server(Deps deps, ServerOptions opts = {});
  ~Server();
  /// Binds host:port (port 0 = any free port). Returns the bound port, or an error.
  Result<int> bind(const std::string& host, int port);
  /// Serves until stop(); call after bind().
  void serve();
  void stop();
  bool running() const;

 private:
  void install_middleware();
  void install_routes();

  Deps deps_;
  ServerOptions opts_;
  Frontend svr_;
  int listen_fd_ = -1;  // the listening socket (to raise its backlog after httplib binds it)
  /// The dashboard's access check, run before routing (see add_dashboard_routes).
  std::function<bool(const httplib::Request&, httplib::Response&)> gate_;
};

/// Splits "HOST:PORT" ("[::1]:8080" for IPv6). Error for anything else.
Result<std::pair<std::string, int>> parse_listen(const std::string& listen);

}  // namespace cs::http
