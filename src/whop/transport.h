#pragma once
// HTTP(S) exchanges with Whop through cpp-httplib and OpenSSL, over reused keep-alive
// connections: a small pool of clients, each used by one thread at a time. A connection that
// has sat idle for `idle_ms` (by the injected clock) is closed rather than reused, so a request
// is never written into a socket the server is about to close; one that failed is discarded.
// cpp-httplib itself reconnects when the server closed the connection (e.g. `Connection: close`).
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "util/clock.h"
#include "whop/answer.h"

namespace httplib {
class Client;
}

namespace cs::whop {

/// Where the API lives: "https://api.whop.com" and "/api/v1".
struct Endpoint {
  std::string scheme_host;
  std::string prefix;  // without a trailing '/'
  bool plain_http = false;
};

/// Parses CHURN_SAVER_WHOP_API_BASE. Throws std::invalid_argument with a message naming the
/// setting when it is not an http(s) URL.
Endpoint parse_api_base(const std::string& base);

struct TransportConfig {
  int connect_timeout_ms = 5000;
  int read_timeout_ms = 15000;  // also the write timeout
  int max_idle_connections = 4;
  int64_t idle_ms = 4000;    // an idle connection older than this is closed, not reused
  std::string ca_cert_file;  // PEM CA bundle to trust instead of the system's; empty: system's
};

/// What one exchange came to: an answer, or why there was none.
struct Exchange {
  std::optional<Answer> answer;
  NoAnswer why = NoAnswer::ConnectFailed;  // when no answer
  std::string detail;                      // the library's words, when no answer
};

class Transport {
 public:
  Transport(Endpoint endpoint, TransportConfig config, const Clock& clock);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  /// Sends `method` ("GET" | "POST") to `target` (prefix + path + "?query") with a bearer key;
  /// POSTs carry `json_body`. Thread-safe.
  Exchange send(const std::string& method, const std::string& target, const std::string& json_body,
                const std::string& api_key);

  const Endpoint& endpoint() const { return endpoint_; }
  /// TCP connections opened so far (each new connection, reconnections included).
  uint64_t connections_opened() const { return opened_->load(); }

 private:
  struct Idle {
    std::unique_ptr<httplib::Client> client;
    int64_t since_ms = 0;
  };
  std::unique_ptr<httplib::Client> acquire();
  void release(std::unique_ptr<httplib::Client> client);

  Endpoint endpoint_;
  TransportConfig cfg_;
  const Clock& clock_;
  std::shared_ptr<std::atomic<uint64_t>> opened_;
  std::mutex mu_;
  std::vector<Idle> idle_;  // most recently used last
};

}  // namespace cs::whop
