// HTTP(S) transport with reused connections (see transport.h).
#include "whop/transport.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <stdexcept>

#include <httplib.h>

#include "util/log.h"

namespace cs::whop {

namespace {

bool is_loopback_host(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "[::1]";
}

}  // namespace

Endpoint parse_api_base(const std::string& base) {
  auto scheme_end = base.find("://");
  std::string scheme = scheme_end == std::string::npos ? "" : base.substr(0, scheme_end);
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  auto bad = [&]() {
    return std::invalid_argument(
        "CHURN_SAVER_WHOP_API_BASE must be an http(s) URL such as "
        "https://api.whop.com/api/v1, got \"" +
        clean_text(base) + "\"");
  };
  if (scheme != "https" && scheme != "http") throw bad();
  auto slash = base.find('/', scheme_end + 3);
  std::string authority = base.substr(
      scheme_end + 3, slash == std::string::npos ? std::string::npos : slash - scheme_end - 3);
  if (authority.empty() || authority.find_first_of("?#@ ") != std::string::npos) throw bad();
  Endpoint ep;
  ep.prefix = slash == std::string::npos ? "" : base.substr(slash);
  if (ep.prefix.find_first_of("?# ") != std::string::npos) throw bad();
  while (!ep.prefix.empty() && ep.prefix.back() == '/') ep.prefix.pop_back();
  ep.scheme_host = scheme + "://" + authority;
  ep.plain_http = scheme == "http";
  if (ep.plain_http) {
    const auto colon = authority.rfind(':');
    std::string host = authority.substr(
        0, colon == std::string::npos || authority.back() == ']' ? std::string::npos : colon);
    if (!is_loopback_host(host))
      log::warn("Whop API base uses plain http: the API key travels unencrypted",
                {{"host", authority}});
  }
  return ep;
}

Transport::Transport(Endpoint endpoint, TransportConfig config, const Clock& clock)
    : endpoint_(std::move(endpoint)),
      cfg_(config),
      clock_(clock),
      opened_(std::make_shared<std::atomic<uint64_t>>(0)) {}

Transport::~Transport() = default;

std::unique_ptr<httplib::Client> Transport::acquire() {
  {
    std::lock_guard lk(mu_);
    const int64_t now = clock_.now_ms();
    while (!idle_.empty()) {
      Idle last = std::move(idle_.back());
      idle_.pop_back();
      if (now - last.since_ms < cfg_.idle_ms) return std::move(last.client);
      // Too long idle: the server may be closing it right now. Closed outside the lock below.
      idle_.clear();  // everything older than the most recent is older still
      break;
    }
  }
  auto cli = std::make_unique<httplib::Client>(endpoint_.scheme_host);
  cli->set_connection_timeout(std::chrono::milliseconds(cfg_.connect_timeout_ms));
  cli->set_read_timeout(std::chrono::milliseconds(cfg_.read_timeout_ms));
  cli->set_write_timeout(std::chrono::milliseconds(cfg_.read_timeout_ms));
  cli->set_tcp_nodelay(true);
  cli->set_keep_alive(true);
  cli->set_follow_location(false);
  cli->set_socket_options([opened = opened_](socket_t) { opened->fetch_add(1); });
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
  cli->enable_server_certificate_verification(true);
  if (!cfg_.ca_cert_file.empty()) cli->set_ca_cert_path(cfg_.ca_cert_file.c_str());
#endif
  return cli;
}

void Transport::release(std::unique_ptr<httplib::Client> client) {
  std::lock_guard lk(mu_);
  if (idle_.size() >= static_cast<size_t>(std::max(0, cfg_.max_idle_connections))) return;
  idle_.push_back(Idle{std::move(client), clock_.now_ms()});
}

Exchange Transport::send(const std::string& method, const std::string& target,
                         const std::string& json_body, const std::string& api_key) {
  auto cli = acquire();
  httplib::Headers headers{{"Authorization", "Bearer " + api_key},
                           {"Accept", "application/json"},
                           {"User-Agent", std::string("churn-saver/") + CHURN_SAVER_VERSION}};
  const auto started = std::chrono::steady_clock::now();
  httplib::Result res = method == "GET" ? cli->Get(target, headers)
                                        : cli->Post(target, headers, json_body, "application/json");
  const auto elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - started)
                              .count();
  Exchange x;
  if (res) {
    Answer a;
    a.status = res->status;
    a.body = std::move(res->body);
    if (res->has_header("Retry-After")) a.retry_after = res->get_header_value("Retry-After");
    x.answer = std::move(a);
    release(std::move(cli));
    return x;
  }
  // The client's connection state is unknown after a failure: it is dropped, not pooled.
  const httplib::Error err = res.error();
  x.detail = httplib::to_string(err);
  switch (err) {
    case httplib::Error::Connection:
    case httplib::Error::ConnectionTimeout:
    case httplib::Error::BindIPAddress:
      x.why = NoAnswer::ConnectFailed;
      break;
    case httplib::Error::SSLConnection:
      x.why = NoAnswer::TlsHandshake;
      break;
    case httplib::Error::SSLServerVerification:
    case httplib::Error::SSLLoadingCerts:
      x.why = NoAnswer::TlsVerify;
      break;
    default:
      // Read/Write errors: the request may have been (partly) sent. httplib reports a read
      // timeout and a closed connection alike; the time taken tells them apart.
      x.why =
          elapsed_ms + 50 >= cfg_.read_timeout_ms ? NoAnswer::Timeout : NoAnswer::ConnectionLost;
      break;
  }
  return x;
}

}  // namespace cs::whop
