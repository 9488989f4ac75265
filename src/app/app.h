#pragma once
// The composition root: opens and checks the database, migrates, loads the keys, wires the writer,
// read pool, job runner, maintenance loop and HTTP server, and owns their start/stop order.
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "app/config.h"
#include "domain/recovery.h"
#include "http/server.h"
#include "jobs/runner.h"
#include "store/db.h"
#include "store/writer.h"
#include "util/clock.h"
#include "util/crypto.h"
#include "whop/ingest.h"

namespace cs::app {

struct AppOptions {
  /// Start job worker threads and the maintenance loop (tests turn this off and drive
  /// runner().run_once() and expire_cases() themselves).
  bool background_workers = true;
};

class App {
 public:
  App(Config config, const Clock& clock, AppOptions options = {});
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  /// Opens, checks and migrates the database, loads the keyring, binds the listen address, and
  /// starts the workers. Error (with a message for the operator) leaves nothing running.
  Status start();
  /// Serves HTTP on the calling thread until stop().
  void serve();
  /// Stops accepting requests, drains workers and the writer. Idempotent, thread-safe.
  void stop();

  int port() const { return port_; }
  const Config& config() const { return config_; }
  store::Writer& writer() { return *writer_; }
  store::ReadPool& reads() { return *reads_; }
  jobs::JobRunner& runner() { return *runner_; }
  const crypto::Keyring& keys() const { return keys_; }
  domain::RecoveryPolicy policy() const;
  /// Re-folds memberships whose open cases' windows have passed. Returns cases changed.
  int expire_cases(int64_t now);

 private:
  void maintenance_loop();

  Config config_;
  const Clock& clock_;
  AppOptions options_;
  crypto::Keyring keys_;
  std::unique_ptr<store::Writer> writer_;
  std::unique_ptr<store::ReadPool> reads_;
  std::unique_ptr<jobs::JobRunner> runner_;
  std::unique_ptr<whop::IngestContext> ingest_;
  std::unique_ptr<http::Server> http_;
  std::thread maintenance_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool started_ = false;
  int port_ = 0;
};

}  // namespace cs::app
