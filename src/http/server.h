#pragma once
// The HTTP server: cpp-httplib with the hardening of SECURITY.md (TCP_NODELAY, a larger worker
// pool, short timeouts, body limits enforced before the body is read, exception handler that never
// leaks, security headers) and one route table.
#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include <httplib.h>

#include "jobs/engine.h"
#include "whop/ingest.h"

namespace cs::http {

struct Deps {
  whop::IngestContext* ingest = nullptr;
  jobs::RecoveryEngine* engine = nullptr;
};

struct ServerOptions {
  int threads = 32;
  int read_timeout_s = 5;
  int keep_alive_timeout_s = 5;
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
  httplib::Server svr_;
};

/// Splits "HOST:PORT" ("[::1]:8080" for IPv6). Error for anything else.
Result<std::pair<std::string, int>> parse_listen(const std::string& listen);

}  // namespace cs::http
