#pragma once
// The real churn-saver binary as a `serve` subprocess on 127.0.0.1:<free port>, for the tests and
// benchmarks that need a separate process (SIGKILL, SIGTERM, restarts, readiness timing, memory).
// Not tied to a test framework: setup failures throw std::runtime_error.
#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include <httplib.h>

namespace cs::test {

/// The whole file's bytes ("" when it cannot be read).
std::string read_file(const std::string& path);
/// The last `n` characters of `s` (for failure messages quoting a log).
std::string tail(const std::string& s, size_t n = 4000);

class ServerProcess {
 public:
  /// `env` entries (KEY=VALUE) are added to, and override, the base environment: PATH,
  /// CHURN_SAVER_CONFIG=/dev/null and CHURN_SAVER_WHOP_WEBHOOK_SECRET=kTestSecret.
  /// stdout and stderr are appended to `log`, or stdout to `out` when it is given.
  ServerProcess(std::string db, std::string log, std::vector<std::string> env = {},
                std::string out = "");
  /// Kills (SIGKILL) and reaps the child if it still runs.
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  /// Forks and execs `churn-saver serve` on a fresh free port.
  void start();
  /// Polls `path` until it answers 200 (true), or the child exits or `limit` passes (false).
  bool wait_ready(const std::string& path = "/readyz",
                  std::chrono::milliseconds limit = std::chrono::milliseconds(10000));
  /// Milliseconds from fork to the 200 that ended the last successful wait_ready.
  double ready_ms() const { return ready_ms_; }
  /// Sends `sig` and reaps the child; returns the wait status (-1 when there was no child).
  int signal_and_reap(int sig);

  /// A keep-alive client for this server.
  httplib::Client client() const;
  std::string webhook_url() const;
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::chrono::steady_clock::time_point started() const { return started_; }
  std::string log() const { return read_file(log_); }

 private:
  std::string db_, log_, out_;
  std::vector<std::string> env_;
  pid_t pid_ = -1;
  int port_ = 0;
  double ready_ms_ = 0;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace cs::test
