#pragma once
// Helpers of the operations tests (tests/e2e/test_ops_*.cpp): the real churn-saver binary as a
// server process with its own environment, and small file helpers.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include "support/test_app.h"

namespace cs::ops_test {

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

/// True when `needle` occurs in the file's bytes (a missing file contains nothing).
inline bool file_contains(const std::string& path, const std::string& needle) {
  return read_file(path).find(needle) != std::string::npos;
}

inline std::string tail(const std::string& s, size_t n = 4000) {
  return s.size() <= n ? s : s.substr(s.size() - n);
}

/// `churn-saver serve` on 127.0.0.1:<free port> over `db`, stdout+stderr appended to `log`.
/// Killed (SIGKILL) and reaped on destruction unless stopped before.
class ServerProcess {
 public:
  /// `out` (optional): stdout goes there instead of `log`, which then holds stderr only.
  ServerProcess(std::string db, std::string log, std::vector<std::string> env = {},
                std::string out = "")
      : db_(std::move(db)), log_(std::move(log)), out_(std::move(out)), env_(std::move(env)) {}
  ~ServerProcess() { signal_and_reap(SIGKILL); }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  void start() {
    REQUIRE(pid_ <= 0);
    port_ = test::free_port();
    std::vector<std::string> args = {CS_BINARY, "serve",    "--db",
                                     db_,       "--listen", "127.0.0.1:" + std::to_string(port_)};
    std::vector<std::string> env = {
        "PATH=/usr/bin:/bin", "CHURN_SAVER_CONFIG=/dev/null",
        std::string("CHURN_SAVER_WHOP_WEBHOOK_SECRET=") + test::kTestSecret};
    env.insert(env.end(), env_.begin(), env_.end());
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    REQUIRE(fd >= 0);
    int out_fd =
        out_.empty() ? fd : ::open(out_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    REQUIRE(out_fd >= 0);
    started_ = std::chrono::steady_clock::now();
    pid_t pid = ::fork();
    if (pid == 0) {
      ::dup2(out_fd, 1);
      ::dup2(fd, 2);
      ::close_range(3, ~0U, 0);
      ::signal(SIGPIPE, SIG_DFL);
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      ::execve(CS_BINARY, argv.data(), envp.data());
      ::_exit(127);
    }
    ::close(fd);
    if (out_fd != fd) ::close(out_fd);
    REQUIRE(pid > 0);
    pid_ = pid;
  }

  /// Polls `path` until it answers 200, the child exits, or the deadline passes.
  bool wait_ready(const std::string& path = "/readyz",
                  std::chrono::milliseconds limit = std::chrono::milliseconds(10000)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      httplib::Client c("127.0.0.1", port_);
      c.set_connection_timeout(0, 200000);
      c.set_read_timeout(1, 0);
      auto res = c.Get(path);
      if (res && res->status == 200) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

  /// Sends `sig` and reaps the child; returns the wait status (-1 when there was no child).
  int signal_and_reap(int sig) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, sig);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return status;
  }

  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_keep_alive(true);
    c.set_tcp_nodelay(true);
    c.set_connection_timeout(2, 0);
    c.set_read_timeout(10, 0);
    return c;
  }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::chrono::steady_clock::time_point started() const { return started_; }
  std::string log() const { return read_file(log_); }

 private:
  std::string db_, log_, out_;
  std::vector<std::string> env_;
  pid_t pid_ = -1;
  int port_ = 0;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace cs::ops_test
