#pragma once
// Test fixtures: temp directories, the real App on an ephemeral port, and helpers to run the real
// churn-saver binary as a subprocess.
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include "app/app.h"
#include "util/clock.h"

namespace cs::test {

/// A fresh directory under /tmp, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

constexpr const char* kTestSecret =
    "ws_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// The real application (HTTP server, store, workers) on 127.0.0.1:<ephemeral> over a temp db.
class TestApp {
 public:
  struct Options {
    std::vector<std::string> secrets = {kTestSecret};
    bool background_workers = false;              // tests drive jobs with drain()
    const Clock* clock = nullptr;                 // default: the system clock
    std::string db_path;                          // default: <tempdir>/cs.db
    std::function<void(app::Config&)> configure;  // adjust the configuration before start
  };
  TestApp();
  explicit TestApp(Options opts);
  ~TestApp();

  app::App& app() { return *app_; }
  int port() const { return app_->port(); }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port()); }
  std::string webhook_url() const { return base_url() + "/webhooks/whop"; }
  const std::string& db_path() const { return config_.db_path; }
  httplib::Client client() const;
  /// Runs due jobs and scheduler passes until nothing is left to do (bounded). Returns how many
  /// jobs ran.
  int drain();

 private:
  SystemClock system_clock_;
  TempDir dir_;
  app::Config config_;
  std::unique_ptr<app::App> app_;
  std::thread serve_thread_;
};

/// Result of running a command.
struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};
/// Runs the churn-saver binary with `args` (no shell), environment `env` added to a minimal one.
CommandResult run_binary(const std::vector<std::string>& args,
                         const std::vector<std::string>& env = {});

/// A free TCP port on 127.0.0.1 (bound and released; good enough for spawning a server).
int free_port();

}  // namespace cs::test
