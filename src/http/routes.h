#pragma once
// The route table: every resource file adds its routes through one of these functions, and the
// server installs them all in one place (server.cpp).
#include <httplib.h>

#include "http/server.h"

namespace cs::http {

void add_health_routes(httplib::Server& svr, Deps& deps);
void add_webhook_routes(httplib::Server& svr, Deps& deps);
void add_link_routes(httplib::Server& svr, Deps& deps);

/// Body limit for a request (bytes), by method and path; 0 means the route takes no body.
size_t body_limit_for(const std::string& method, const std::string& path);

/// Writes a JSON error body {"error": {"code", "message"}}.
void json_error(httplib::Response& res, int status, const std::string& code,
                const std::string& message);

}  // namespace cs::http
