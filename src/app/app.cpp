#include "app/app.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <SQLiteCpp/Exception.h>
#include <sqlite3.h>
#include <nlohmann/json.hpp>

#include "service/accounts.h"
#include "service/processing.h"
#include "service/settings.h"
#include "store/migrations.h"
#include "store/settings.h"
#include "util/log.h"
#include "util/thread_name.h"

namespace cs::app {

App::App(Config config, const Clock& clock, AppOptions options)
    : config_(std::move(config)), clock_(clock), options_(std::move(options)) {
  ops_ = std::make_unique<Operations>(*this, clock_);
}

App::~App() {
  stop();
}

domain::RecoverySettings App::default_settings() const {
  domain::RecoverySettings s;
  s.attribution_window_days = config_.attribution_window_days;
  return s;
}

domain::RecoverySettings App::settings() {
  domain::RecoverySettings s;
  {
    auto db = reads_->lease();
    s = store::find_recovery_settings(*db, default_settings());
  }
  if (config_.disable_processing) s.processing_enabled = false;
  if (config_.disable_scheduler) s.scheduler_enabled = false;
  if (config_.disable_notifications) s.notifications_enabled = false;
  return s;
}

domain::RecoverySettings App::stored_settings() {
  return service::stored_settings(*services_);
}

store::ConnectionSettings App::connection() const {
  std::lock_guard<std::mutex> lock(conn_mu_);
  return conn_;
}

store::ConnectionSettings App::config_connection() const {
  return {config_.whop_api_key, config_.webhook_secrets, config_.whop_company_id,
          config_.whop_experience_id, config_.public_url};
}

void App::find_connection() {
  store::ConnectionSettings base = config_connection();
  store::StoredConnection stored;
  {
    auto db = reads_->lease();
    auto r = store::find_connection(*db, keys_);
    if (r) {
      stored = *r;
    } else {
      log::error(
          "the Whop connection saved on the dashboard is not readable; using the "
          "configuration's",
          {{"error", r.error()}});
    }
  }
  std::lock_guard<std::mutex> lock(conn_mu_);
  conn_ = store::merge_connection(base, stored);
}

void App::apply_connection(const store::ConnectionSettings& c) {
  {
    std::lock_guard<std::mutex> lock(conn_mu_);
    conn_ = c;
  }
  whop_->set_api_key(c.api_key);
  engine_->set_config(jobs::EngineConfig{c.public_url, c.company_id, c.experience_id});
  reconciler_->set_company_id(c.company_id);
  if (options_.background_workers && read_only_.empty() && !c.api_key.empty() &&
      !c.company_id.empty() && !reconciler_started_.exchange(true)) {
    reconciler_->start();
  }
}

Result<std::string> App::create_setup_token() {
  return service::create_setup_token(*services_);
}

Status App::start() {
  auto listen = http::parse_listen(config_.listen);
  if (!listen) return Error{listen.error()};
  std::unique_ptr<SQLite::Database> wdb;
  // A small file is checked before serving (cheap). A large one (a full read of the file: minutes
  // at 10 M events) is checked only when the last run did not close it: SQLite removes the WAL
  // when the last connection closes cleanly, so a WAL left behind means a crash, a power cut or
  // a kill, the one moment storage that loses an fsync could have left a torn file. That check
  // runs after READY, in the background at idle priority, so start-up stays fast (PERFORMANCE.md
  // target 5); if it fails, webhooks are answered 503 (Whop retries) and readiness says so.
  // After a clean stop the file is as the last commit left it (WAL, synchronous=FULL), and what
  // a start-up check would find besides (a damaged disk) shows as errors on the pages read, in
  // the writer's health, and in `churn-saver check`; backups are verified when made.
  const bool unclean = store::wal_left_behind(config_.db_path);
  auto check = [&]() -> Status {
    std::error_code ec;
    auto size = std::filesystem::file_size(config_.db_path, ec);
    if (ec || size <= kSyncQuickCheckBytes) {
      if (auto st = store::quick_check(*wdb); !st) return st;
      db_check_.set_ok();
    } else if (unclean) {
      background_check_ = true;
    } else {
      db_check_.set_clean();
    }
    return Ok{};
  };
  umask(0077);
  read_only_ = store::read_only_cause(config_.db_path);
  if (read_only_.empty()) {
    try {
      wdb = store::open_connection(config_.db_path, store::ConnectionRole::Writer);
      if (auto st = check(); !st) return st;
      if (auto st = store::migrate_up(*wdb); !st) return st;
    } catch (const SQLite::Exception& e) {
      if ((e.getErrorCode() & 0xff) != SQLITE_READONLY) {
        return Error{"cannot open database " + config_.db_path + ": " + e.what()};
      }
      read_only_ = std::string("SQLite cannot write it (") + e.what() + ")";
    } catch (const std::exception& e) {
      return Error{"cannot open database " + config_.db_path + ": " + e.what()};
    }
  }
  if (!read_only_.empty()) {
    // Read-only mode: the dashboard reads; nothing writes (no job workers, scheduler,
    // reconciler or maintenance); webhooks are refused with 503 so Whop keeps them for later.
    try {
      wdb.reset();
      wdb = store::open_connection(config_.db_path, store::ConnectionRole::ReadOnly);
      if (auto st = check(); !st) return st;
      int have = store::schema_version(*wdb), need = store::binary_schema_version();
      if (have != need) {
        return Error{"the database " + config_.db_path + " is read-only (" + read_only_ +
                     ") and its schema is version " + std::to_string(have) +
                     " where this version needs " + std::to_string(need) +
                     ": make it writable so it can be migrated"};
      }
    } catch (const std::exception& e) {
      return Error{"cannot open database " + config_.db_path + " (read-only: " + read_only_ +
                   "): " + e.what()};
    }
    log::error(
        "the database is read-only: serving the dashboard read-only; webhooks are answered 503 "
        "and nothing is written until it is writable and the service is restarted",
        {{"path", config_.db_path}, {"cause", read_only_}});
  }
  auto keys = crypto::load_or_create_keyring(config_.key_file);
  if (!keys) return Error{keys.error()};
  keys_ = std::move(*keys);

  writer_ = std::make_unique<store::Writer>(std::move(wdb));
  reads_ = std::make_unique<store::ReadPool>(
      config_.db_path, 4,
      read_only_.empty() ? store::ConnectionRole::Reader : store::ConnectionRole::ReadOnly);
  find_connection();  // dashboard-saved Whop connection over the configuration's
  whop::ClientConfig wc;
  wc.api_base = config_.whop_api_base;
  wc.api_key = connection().api_key;
  whop_ = std::make_unique<whop::Client>(wc, clock_, options_.whop_sleep);
  jobs::RunnerOptions ro;
  ro.lease_ms = static_cast<int64_t>(config_.job_lease_s) * 1000;
  runner_ = std::make_unique<jobs::JobRunner>(*writer_, clock_, ro);
  jobs::EngineConfig ec{connection().public_url, connection().company_id,
                        connection().experience_id};
  engine_ = std::make_unique<jobs::RecoveryEngine>(*writer_, *reads_, *whop_, keys_, clock_, ec,
                                                   [this] { return settings(); });
  engine_->install(*runner_);
  scheduler_ = std::make_unique<jobs::Scheduler>(
      *writer_, clock_, [this] { return settings(); },
      static_cast<int64_t>(config_.scheduler_interval_s * 1000), [this] { runner_->wake(); });

  // Events may be pending while these differ: `announced` is bumped whenever events are stored
  // (a webhook, a reconciliation), `drained` set to the bump seen by a pass that found less than
  // its batch. A runner pass skips the pending-events query (a writer round trip before every
  // claim) when they are equal; they start different, so events left pending by a crash or a
  // stop are processed after the restart.
  struct PendingEvents {
    std::atomic<uint64_t> announced{1};
    std::atomic<uint64_t> drained{0};
  };
  auto pending = std::make_shared<PendingEvents>();
  reconciler_ = std::make_unique<jobs::Reconciler>(
      *writer_, *whop_, keys_, clock_, connection().company_id,
      static_cast<int64_t>(config_.reconcile_interval_s * 1000), [this, pending] {
        pending->announced.fetch_add(1);
        runner_->wake();
      });

  services_ = std::make_unique<service::Context>(service::Context{
      *writer_, reads_.get(), clock_, keys_, default_settings(),
      store::RetentionSettings{config_.retention_payload_days, config_.retention_event_days},
      config_connection(),
      [this, pending] {
        pending->announced.fetch_add(1);
        runner_->wake();
      },
      [this](const store::ConnectionSettings& c) { apply_connection(c); },
      read_only_.empty() ? nullptr : &memory_sessions_});
  // Stored events are processed from the events table, a batch per write transaction; a batch
  // ends early when a webhook's insert waits for the writer (it then commits with the batch).
  // The batch runs in the runner's claim transaction (the T+0 nudge it enqueues is claimed by the
  // same commit). Switched off or failed: looked at again on the next pass.
  runner_->set_pending_work([this, pending]() -> jobs::PendingPass {
    const uint64_t announced = pending->announced.load();
    if (announced == pending->drained.load()) return {};  // nothing stored since the last pass
    constexpr int kBatch = 8;
    return service::pending_pass(*services_,
                                 {[this] { return settings(); }, [this] { scheduler_->wake(); }},
                                 kBatch, [pending, announced](const jobs::PendingOutcome& taken) {
                                   if (taken.events < kBatch && !taken.yielded)
                                     pending->drained.store(announced);
                                 });
  });
  runner_->on<jobs::ProcessEventJob>([this](const store::Job&, const jobs::ProcessEventJob& p) {
    return service::process_event(
        *services_, {[this] { return settings(); }, [this] { scheduler_->wake(); }}, p.event_id);
  });

  ingest_ = std::make_unique<service::IngestContext>(service::IngestContext{
      *services_, [this] { return connection().webhook_secrets; },
      [this]() -> std::string {
        if (!read_only_.empty()) return "the database is read-only";
        return db_check_.state() == "failed" ? "the database failed its integrity check" : "";
      }});
  http::Deps deps;
  deps.ingest = ingest_.get();
  deps.engine = engine_.get();
  deps.services = services_.get();
  deps.reads = reads_.get();
  deps.clock = &clock_;
  deps.keys = &keys_;
  deps.whop = whop_.get();
  deps.webhook_stats = &webhook_stats_;
  // Rejection counts survive a restart: restored now, saved at most every 10 s and at stop.
  {
    auto db = reads_->lease();
    if (auto saved = store::find_setting(*db, "webhook_rejections")) webhook_stats_.restore(*saved);
  }
  if (read_only_.empty()) {
    webhook_stats_.persist_with(
        [this](const std::string& json) {
          const int64_t now = clock_.now_ms();
          auto st = writer_->run([&](SQLite::Database& db) {
            store::save_setting(db, "webhook_rejections", json, now);
          });
          if (!st)
            log::warn("could not save the webhook rejection counts", {{"error", st.error()}});
        },
        10000);
  }
  deps.env_processing_off = config_.disable_processing;
  deps.env_scheduler_off = config_.disable_scheduler;
  deps.env_notifications_off = config_.disable_notifications;
  deps.connection = [this] { return connection(); };
  deps.whop_api_base = config_.whop_api_base;
  deps.trusted_proxy = config_.trusted_proxy;
  deps.ops = &ops_->prepare();  // health, readiness, metrics, alerts (issue 5)
  http::ServerOptions hopts;
  hopts.threads = config_.http_threads;
  http_ = std::make_unique<http::Server>(deps, hopts);
  auto bound = http_->bind(listen->first, listen->second);
  if (!bound) return Error{bound.error()};
  port_ = *bound;

  if (background_check_) {
    check_thread_ = std::thread([this] {
      name_this_thread("cs-start-check");
      // Idle priority: the check yields the CPU to serving and the writer.
      ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 19);
      try {
        auto db = store::open_connection(config_.db_path, store::ConnectionRole::Reader);
        auto st = store::quick_check(*db);
        if (st) {
          db_check_.set_ok();
        } else {
          db_check_.set_failed(st.error());
          log::error("database integrity check failed: webhooks are refused (503)",
                     {{"error", st.error()}});
        }
      } catch (const std::exception& e) {
        db_check_.set_failed(e.what());
      }
    });
  }
  if (options_.background_workers && read_only_.empty()) {
    runner_->start();
    scheduler_->start();
    if (!connection().api_key.empty() && !connection().company_id.empty() &&
        !reconciler_started_.exchange(true)) {
      reconciler_->start();
    } else {
      log::warn(
          "reconciliation is off: set CHURN_SAVER_WHOP_API_KEY and "
          "CHURN_SAVER_WHOP_COMPANY_ID");
    }
  }
  if (connection().webhook_secrets.empty()) {
    log::warn(
        "no webhook secret configured: webhooks are answered 503 until "
        "CHURN_SAVER_WHOP_WEBHOOK_SECRET is set");
  }
  auto s = settings();
  if (!s.processing_enabled) log::warn("webhook processing is switched off (events are stored)");
  if (!s.scheduler_enabled) log::warn("the scheduler is switched off");
  if (!s.notifications_enabled) log::warn("outbound notifications are switched off");
  if (connection().public_url.empty()) {
    log::warn(
        "CHURN_SAVER_PUBLIC_URL is not set: messages link to Whop directly, clicks are not "
        "tracked");
  }
  // Read-only: the probes and watchdog run; the maintenance thread (backups, retention, alert
  // state) does not.
  ops_->start(options_.background_workers &&
              read_only_.empty());  // probes + watchdog; daily maintenance (serve)
  return Ok{};
}

void App::serve() {
  {
    std::lock_guard<std::mutex> lock(serve_mu_);
    serving_ = true;
  }
  if (http_) http_->serve();
  {
    std::lock_guard<std::mutex> lock(serve_mu_);
    serving_ = false;
  }
  serve_cv_.notify_all();
}

void App::stop() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  if (ops_) ops_->stop();  // readiness answers 503 from here on; probes and maintenance end
  if (http_) http_->stop();
  {
    // Graceful drain: serve() returns once the requests in flight are answered; only then go
    // the workers and the writer those requests use.
    std::unique_lock<std::mutex> lock(serve_mu_);
    serve_cv_.wait_for(lock, std::chrono::seconds(30), [this] { return !serving_; });
  }
  if (check_thread_.joinable()) check_thread_.join();
  if (reconciler_) reconciler_->stop();
  if (scheduler_) scheduler_->stop();
  if (runner_) runner_->stop();
  webhook_stats_.flush();
  writer_.reset();  // drains queued writes
}

}  // namespace cs::app
