#include "support/server_process.h"
#include "support/wait.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/test_app.h"

namespace cs::test {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string tail(const std::string& s, size_t n) {
  return s.size() <= n ? s : s.substr(s.size() - n);
}

ServerProcess::ServerProcess(std::string db, std::string log, std::vector<std::string> env,
                             std::string out)
    : db_(std::move(db)), log_(std::move(log)), out_(std::move(out)), env_(std::move(env)) {}

ServerProcess::~ServerProcess() {
  signal_and_reap(SIGKILL);
}

void ServerProcess::start() {
  if (pid_ > 0) throw std::logic_error("server already running");
  port_ = free_port();
  // Everything the child needs is built before fork (only async-signal-safe calls after it).
  std::vector<std::string> args = {CS_BINARY, "serve",    "--db",
                                   db_,       "--listen", "127.0.0.1:" + std::to_string(port_)};
  std::vector<std::string> env = {"PATH=/usr/bin:/bin", "CHURN_SAVER_CONFIG=/dev/null",
                                  std::string("CHURN_SAVER_WHOP_WEBHOOK_SECRET=") + kTestSecret};
  for (const auto& e : env_) {
    std::string key = e.substr(0, e.find('=') + 1);
    bool replaced = false;
    for (auto& b : env) {
      if (b.compare(0, key.size(), key) == 0) {
        b = e;
        replaced = true;
      }
    }
    if (!replaced) env.push_back(e);
  }
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot open " + log_);
  int out_fd =
      out_.empty() ? fd : ::open(out_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (out_fd < 0) {
    ::close(fd);
    throw std::runtime_error("cannot open " + out_);
  }
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
  if (pid < 0) throw std::runtime_error("fork failed");
  pid_ = pid;
}

bool ServerProcess::wait_ready(const std::string& path, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (pid_ > 0 && std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    httplib::Client c("127.0.0.1", port_);
    c.set_connection_timeout(0, 200000);
    c.set_read_timeout(1, 0);
    auto res = c.Get(path);
    if (res && res->status == 200) {
      ready_ms_ =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_)
              .count();
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

int ServerProcess::signal_and_reap(int sig) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, sig);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  return status;
}

httplib::Client ServerProcess::client() const {
  httplib::Client c("127.0.0.1", port_);
  c.set_keep_alive(true);
  c.set_tcp_nodelay(true);
  c.set_connection_timeout(2, 0);
  c.set_read_timeout(kClientReadTimeoutS, 0);
  c.set_write_timeout(10, 0);
  return c;
}

std::string ServerProcess::webhook_url() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/webhooks/whop";
}

}  // namespace cs::test
