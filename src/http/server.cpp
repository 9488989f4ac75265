#include "http/server.h"

#include <sys/socket.h>

#include "view/pages.h"

#include <nlohmann/json.hpp>

#include "http/routes.h"
#include "util/crypto.h"
#include "util/log.h"

namespace cs::http {

Result<std::pair<std::string, int>> parse_listen(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) {
    return Error{"listen address must be HOST:PORT, got \"" + listen + "\""};
  }
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = 0;
  for (char c : listen.substr(colon + 1)) {
    if (c < '0' || c > '9' || port > 65535) return Error{"bad port in \"" + listen + "\""};
    port = port * 10 + (c - '0');
  }
  if (port > 65535) return Error{"bad port in \"" + listen + "\""};
  return std::make_pair(host, port);
}

bool wants_html(const httplib::Request& req) {
  const std::string& p = req.path;
  if (p.rfind("/api/", 0) == 0 || p.rfind("/webhooks/", 0) == 0 || p == "/metrics") return false;
  return req.get_header_value("Accept").find("text/html") != std::string::npos;
}

void json_error(httplib::Response& res, int status, const std::string& code,
                const std::string& message) {
  res.status = status;
  res.set_content(nlohmann::json{{"error", {{"code", code}, {"message", message}}}}.dump(),
                  "application/json");
}

namespace {
ConnectionLimits limits_of(const ServerOptions& o) {
  ConnectionLimits l = o.limits;
  l.workers = o.threads;
  return l;
}
}  // namespace

Server::Server(Deps deps, ServerOptions opts) : deps_(deps), opts_(opts), svr_(limits_of(opts)) {
  svr_.set_tcp_nodelay(true);
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, which lets a second churn-saver (or
  // anything else) bind the same port and silently take a share of the webhooks (issue 5).
  svr_.set_socket_options([this](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<const void*>(&yes), sizeof(yes));
    listen_fd_ = sock;  // the last socket httplib creates is the one it binds (see bind())
  });
  // The front end enforces these; httplib only advertises them in its Keep-Alive header.
  svr_.set_keep_alive_timeout(opts_.limits.idle_timeout_ms / 1000);
  svr_.set_keep_alive_max_count(opts_.limits.keep_alive_max);
  svr_.set_payload_max_length(whop::kMaxWebhookBody);
  install_middleware();
  install_routes();
}

Server::~Server() {
  stop();
}

void Server::install_middleware() {
  // Body limits, framing and header limits are enforced by the front end before a request
  // reaches httplib (http/frontend.h). Here: a request id, and the dashboard's access gate.
  svr_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    res.set_header("X-Request-Id", crypto::random_hex(8));
    // Dashboard access (default deny): no session, no route.
    if (gate_ && gate_(req, res)) return httplib::Server::HandlerResponse::Handled;
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // CVE-2026-28434: never let an exception's text reach the client.
  svr_.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        log::error("request failed", {{"request_id", res.get_header_value("X-Request-Id")},
                                      {"path", req.path},
                                      {"error", what}});
        res.headers.erase("EXCEPTION_WHAT");
        json_error(res, 500, "internal_error", "internal error");
      });
  svr_.set_post_routing_handler([](const httplib::Request&, httplib::Response& res) {
    auto set_default = [&res](const char* name, const char* value) {
      if (!res.has_header(name)) res.set_header(name, value);
    };
    set_default("X-Content-Type-Options", "nosniff");
    set_default("Referrer-Policy", "same-origin");
    set_default("Content-Security-Policy",
                "default-src 'self'; object-src 'none'; base-uri 'none'; "
                "frame-ancestors 'none'; form-action 'self'");
    set_default("X-Frame-Options", "DENY");
    set_default("Cache-Control", "no-store");
  });
  svr_.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    // A person in a browser gets a page with a way back; API clients, Whop and scripts JSON.
    if (wants_html(req)) {
      bool missing = res.status == 404;
      res.set_content(
          view::error_page(res.status, missing ? "Page not found" : "Something went wrong",
                           missing ? "There is no page at this address. It may have "
                                     "moved, or the link was mistyped."
                                   : "The request could not be completed (HTTP " +
                                         std::to_string(res.status) + ").",
                           "/", "Back to the overview"),
          "text/html; charset=utf-8");
      return;
    }
    json_error(res, res.status, res.status == 404 ? "not_found" : "error",
               res.status == 404 ? "no such page" : "request failed");
  });
}

void Server::install_routes() {
  add_health_routes(svr_, deps_);
  add_webhook_routes(svr_, deps_);
  add_link_routes(svr_, deps_);
  add_metrics_routes(svr_, deps_);
  gate_ = add_dashboard_routes(svr_, deps_);
}

Result<int> Server::bind(const std::string& host, int port) {
  int bound = port;
  if (port == 0) {
    bound = svr_.bind_to_any_port(host);
    if (bound <= 0) return Error{"cannot listen on " + host + ": no free port"};
  } else if (!svr_.bind_to_port(host, port)) {
    return Error{"cannot listen on " + host + ":" + std::to_string(port) +
                 " (address in use or not available)"};
  }
  // httplib 0.11 (a compiled library) listens with a backlog of 5: a burst of more new
  // connections than that (a sender opening its pool, a load balancer's health checks) overflows
  // the accept queue, the kernel drops their SYNs and each of those clients waits for its 1 s SYN
  // retransmission. Listening again on the bound socket raises the backlog (Linux keeps the
  // socket and its queue; the kernel caps the value at net.core.somaxconn).
  if (listen_fd_ >= 0) ::listen(listen_fd_, SOMAXCONN);
  return bound;
}

void Server::serve() {
  svr_.listen_after_bind();
}

void Server::stop() {
  if (svr_.is_running()) svr_.stop();
  svr_.shutdown_connections();
}

bool Server::running() const {
  return svr_.is_running();
}

}  // namespace cs::http
