#pragma once
// The composition root: opens and checks the database, migrates, loads the keys, wires the writer,
// read pool, Whop client, job runner, recovery engine, scheduler and HTTP server, and owns their
// start/stop order.
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "app/config.h"
#include "app/operations.h"
#include "domain/settings.h"
#include "http/server.h"
#include "jobs/engine.h"
#include "jobs/reconciler.h"
#include "jobs/runner.h"
#include "jobs/scheduler.h"
#include "service/accounts.h"
#include "service/context.h"
#include "service/ingest.h"
#include "store/db.h"
#include "store/writer.h"
#include "util/clock.h"
#include "util/crypto.h"
#include "whop/client.h"

namespace cs::app {

struct AppOptions {
  /// Start job worker and scheduler threads (tests turn this off and drive runner().run_once()
  /// and scheduler().run_once() themselves).
  bool background_workers = true;
  /// Sleep used by the Whop client between in-call retries (tests pass one that does not sleep).
  whop::Client::Sleep whop_sleep;
};

/// The outcome of the database integrity check made at start.
class DbCheck {
 public:
  void set_ok() {
    std::lock_guard<std::mutex> lock(mu_);
    state_ = "ok";
  }
  void set_failed(std::string why) {
    std::lock_guard<std::mutex> lock(mu_);
    state_ = "failed";
    failure_ = std::move(why);
  }
  /// Not checked at this start: the file was closed cleanly by the last run (see App::start).
  void set_clean() {
    std::lock_guard<std::mutex> lock(mu_);
    state_ = "clean_shutdown";
  }
  /// "pending" | "ok" | "clean_shutdown" | "failed".
  std::string state() const {
    std::lock_guard<std::mutex> lock(mu_);
    return state_;
  }
  std::string failure() const {
    std::lock_guard<std::mutex> lock(mu_);
    return failure_;
  }

 private:
  mutable std::mutex mu_;
  std::string state_ = "pending";
  std::string failure_;
};

/// Databases up to this size are checked before serving; larger ones in the background after an
/// unclean shutdown (App::start).
constexpr uintmax_t kSyncQuickCheckBytes = 32ull * 1024 * 1024;

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
  const DbCheck& db_check() const { return db_check_; }
  /// Why the database could not be written at start (serve then runs read-only: the dashboard
  /// reads, sessions are kept in memory, webhooks get 503, nothing writes); "" = writable.
  const std::string& read_only() const { return read_only_; }
  /// Health probes, watchdog, backups, retention and alerts (app/operations.h).
  Operations& operations() { return *ops_; }
  /// The settings in force: stored settings over the configured defaults, with the
  /// environment's kill switches applied.
  domain::RecoverySettings settings();
  /// The recovery settings as stored over the configured defaults, without the environment's
  /// kill switches (what the dashboard edits).
  domain::RecoverySettings stored_settings();

  /// The Whop connection in force: values saved on the dashboard (sealed in the settings table)
  /// over the configuration's. Cheap; called per webhook for the secrets.
  store::ConnectionSettings connection() const;
  /// When no admin password is set: stores a new one-time setup token valid for 30 minutes and
  /// returns it (the link is /setup/<token>); "" when an admin exists.
  Result<std::string> create_setup_token();
  /// The application services (every state change); valid after start().
  service::Context& services() { return *services_; }
  http::WebhookStats& webhook_stats() { return webhook_stats_; }

 private:
  domain::RecoverySettings default_settings() const;
  /// The Whop connection as configured (environment / config file).
  store::ConnectionSettings config_connection() const;
  /// Reads the stored connection over the configuration's into conn_ (start()).
  void find_connection();
  /// Applies a changed Whop connection at once: Whop client key, engine config, reconciler
  /// company (and starts the reconciler when it becomes configured), webhook secrets.
  void apply_connection(const store::ConnectionSettings& c);

  Config config_;
  const Clock& clock_;
  AppOptions options_;
  crypto::Keyring keys_;
  service::MemorySessions memory_sessions_;  // the sessions in read-only mode
  std::unique_ptr<store::Writer> writer_;
  std::unique_ptr<store::ReadPool> reads_;
  std::unique_ptr<whop::Client> whop_;
  std::unique_ptr<jobs::JobRunner> runner_;
  std::unique_ptr<jobs::RecoveryEngine> engine_;
  std::unique_ptr<jobs::Scheduler> scheduler_;
  std::unique_ptr<jobs::Reconciler> reconciler_;
  std::unique_ptr<service::Context> services_;
  std::unique_ptr<service::IngestContext> ingest_;
  std::unique_ptr<http::Server> http_;
  mutable std::mutex conn_mu_;      // guards conn_
  store::ConnectionSettings conn_;  // see connection()
  http::WebhookStats webhook_stats_;
  std::string read_only_;  // see read_only()
  std::atomic<bool> reconciler_started_{false};
  DbCheck db_check_;
  bool background_check_ = false;
  std::thread check_thread_;
  std::unique_ptr<Operations> ops_;
  std::mutex serve_mu_;  // serving_: stop() waits for serve() to drain requests in flight
  std::condition_variable serve_cv_;
  bool serving_ = false;
  std::mutex stop_mu_;
  bool stopped_ = false;
  int port_ = 0;
};

}  // namespace cs::app
