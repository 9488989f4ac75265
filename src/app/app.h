#pragma once
// The composition root: opens and checks the database, migrates, loads the keys, wires the writer,
// read pool, Whop client, job runner, recovery engine, scheduler and HTTP server, and owns their
// start/stop order.
#include <memory>

#include "app/config.h"
#include "domain/settings.h"
#include "http/server.h"
#include "jobs/engine.h"
#include "jobs/reconciler.h"
#include "jobs/runner.h"
#include "jobs/scheduler.h"
#include "store/db.h"
#include "store/writer.h"
#include "util/clock.h"
#include "util/crypto.h"
#include "whop/client.h"
#include "whop/ingest.h"

namespace cs::app {

struct AppOptions {
  /// Start job worker and scheduler threads (tests turn this off and drive runner().run_once()
  /// and scheduler().run_once() themselves).
  bool background_workers = true;
  /// Sleep used by the Whop client between in-call retries (tests pass one that does not sleep).
  whop::Client::Sleep whop_sleep;
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
  jobs::Scheduler& scheduler() { return *scheduler_; }
  jobs::RecoveryEngine& engine() { return *engine_; }
  jobs::Reconciler& reconciler() { return *reconciler_; }
  whop::Client& whop() { return *whop_; }
  const crypto::Keyring& keys() const { return keys_; }
  /// The settings in force: stored settings over the configured defaults, with the
  /// environment's kill switches applied.
  domain::RecoverySettings settings();

 private:
  domain::RecoverySettings default_settings() const;

  Config config_;
  const Clock& clock_;
  AppOptions options_;
  crypto::Keyring keys_;
  std::unique_ptr<store::Writer> writer_;
  std::unique_ptr<store::ReadPool> reads_;
  std::unique_ptr<whop::Client> whop_;
  std::unique_ptr<jobs::JobRunner> runner_;
  std::unique_ptr<jobs::RecoveryEngine> engine_;
  std::unique_ptr<jobs::Scheduler> scheduler_;
  std::unique_ptr<jobs::Reconciler> reconciler_;
  std::unique_ptr<whop::IngestContext> ingest_;
  std::unique_ptr<http::Server> http_;
  std::mutex stop_mu_;
  bool stopped_ = false;
  int port_ = 0;
};

}  // namespace cs::app
