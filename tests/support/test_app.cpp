#include "support/test_app.h"
#include "support/wait.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace cs::test {

TempDir::TempDir() {
  char tmpl[] = "/tmp/churn-saver-test-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

TestApp::TestApp() : TestApp(Options{}) {}

TestApp::TestApp(Options opts) {
  config_.db_path = opts.db_path.empty() ? dir_.file("cs.db") : opts.db_path;
  config_.key_file = config_.db_path + ".key";
  config_.listen = "127.0.0.1:0";
  config_.webhook_secrets = opts.secrets;
  config_.http_threads = 8;
  if (opts.configure) opts.configure(config_);
  const Clock& clock = opts.clock ? *opts.clock : system_clock_;
  app::AppOptions ao;
  ao.background_workers = opts.background_workers;
  ao.whop_sleep = [](int64_t) {};  // in-call retries do not wait in tests
  app_ = std::make_unique<app::App>(config_, clock, ao);
  auto st = app_->start();
  if (!st) throw std::runtime_error("app did not start: " + st.error());
  serve_thread_ = std::thread([this] { app_->serve(); });
  // Wait until the listener answers.
  for (int i = 0; i < 200; ++i) {
    auto res = client().Get("/healthz");
    if (res && res->status == 200) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  throw std::runtime_error("app did not answer /healthz");
}

TestApp::~TestApp() {
  app_->stop();
  if (serve_thread_.joinable()) serve_thread_.join();
  app_.reset();
}

httplib::Client TestApp::client() const {
  httplib::Client c("127.0.0.1", port());
  c.set_connection_timeout(5);
  c.set_read_timeout(kClientReadTimeoutS);
  return c;
}

int TestApp::drain() {
  int total = 0;
  for (int i = 0; i < 1000; ++i) {
    int n = app_->runner().run_once();
    total += n;
    if (n > 0) continue;
    auto r = app_->scheduler().run_once();
    if (r.nudges_enqueued + r.incentives_enqueued + r.nudges_skipped + r.cases_expired == 0) break;
  }
  return total;
}

namespace {
std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}
}  // namespace

CommandResult run_binary(const std::vector<std::string>& args,
                         const std::vector<std::string>& env) {
  int out_pipe[2], err_pipe[2];
  if (pipe(out_pipe) != 0 || pipe(err_pipe) != 0) throw std::runtime_error("pipe failed");
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    close(out_pipe[0]);
    close(err_pipe[0]);
    std::vector<std::string> full = {CS_BINARY};
    full.insert(full.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : full) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> envs = {"PATH=/usr/bin:/bin", "CHURN_SAVER_CONFIG=/dev/null"};
    envs.insert(envs.end(), env.begin(), env.end());
    std::vector<char*> envp;
    for (auto& e : envs) envp.push_back(e.data());
    envp.push_back(nullptr);
    execve(CS_BINARY, argv.data(), envp.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  CommandResult r;
  // Read stderr on a thread so neither pipe can fill up and block the child.
  std::thread err_reader([&] { r.err = read_all(err_pipe[0]); });
  r.out = read_all(out_pipe[0]);
  err_reader.join();
  close(out_pipe[0]);
  close(err_pipe[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

}  // namespace cs::test
