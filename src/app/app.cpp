#include "app/app.h"

#include <sys/stat.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "jobs/processor.h"
#include "store/migrations.h"
#include "store/settings.h"
#include "util/log.h"

namespace cs::app {

App::App(Config config, const Clock& clock, AppOptions options)
    : config_(std::move(config)), clock_(clock), options_(std::move(options)) {}

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
    s = store::load_recovery_settings(*db, default_settings());
  }
  if (config_.disable_processing) s.processing_enabled = false;
  if (config_.disable_scheduler) s.scheduler_enabled = false;
  if (config_.disable_notifications) s.notifications_enabled = false;
  return s;
}

Status App::start() {
  auto listen = http::parse_listen(config_.listen);
  if (!listen) return Error{listen.error()};
  std::unique_ptr<SQLite::Database> wdb;
  try {
    umask(0077);
    wdb = store::open_connection(config_.db_path, store::ConnectionRole::Writer);
    std::error_code ec;
    auto size = std::filesystem::file_size(config_.db_path, ec);
    if (ec || size <= 32ull * 1024 * 1024) {
      if (auto st = store::quick_check(*wdb); !st) return st;
    }
    if (auto st = store::migrate_up(*wdb); !st) return st;
  } catch (const std::exception& e) {
    return Error{"cannot open database " + config_.db_path + ": " + e.what()};
  }
  auto keys = crypto::load_or_create_keyring(config_.key_file);
  if (!keys) return Error{keys.error()};
  keys_ = std::move(*keys);

  writer_ = std::make_unique<store::Writer>(std::move(wdb));
  reads_ = std::make_unique<store::ReadPool>(config_.db_path, 4);
  whop::ClientConfig wc;
  wc.api_base = config_.whop_api_base;
  wc.api_key = config_.whop_api_key;
  whop_ = std::make_unique<whop::Client>(wc, clock_, options_.whop_sleep);
  jobs::RunnerOptions ro;
  ro.lease_ms = static_cast<int64_t>(config_.job_lease_s) * 1000;
  runner_ = std::make_unique<jobs::JobRunner>(*writer_, clock_, ro);
  jobs::EngineConfig ec{config_.public_url, config_.whop_company_id, config_.whop_experience_id};
  engine_ = std::make_unique<jobs::RecoveryEngine>(*writer_, *reads_, *whop_, keys_, clock_, ec,
                                                   [this] { return settings(); });
  engine_->install(*runner_);
  scheduler_ = std::make_unique<jobs::Scheduler>(
      *writer_, clock_, [this] { return settings(); },
      static_cast<int64_t>(config_.scheduler_interval_s * 1000), [this] { runner_->wake(); });

  reconciler_ = std::make_unique<jobs::Reconciler>(
      *writer_, *whop_, keys_, clock_, config_.whop_company_id,
      static_cast<int64_t>(config_.reconcile_interval_s * 1000), [this] { runner_->wake(); });

  runner_->on("process_event", [this](const store::Job& job) {
    auto payload = nlohmann::json::parse(job.payload, nullptr, false);
    if (!payload.is_object() || !payload.contains("event_id") ||
        !payload["event_id"].is_number_integer()) {
      return jobs::JobOutcome::fatal("malformed process_event payload");
    }
    auto s = settings();
    if (!s.processing_enabled) {
      return jobs::JobOutcome::defer("webhook processing is switched off", 60 * 1000);
    }
    int64_t event_id = payload["event_id"].get<int64_t>();
    int64_t now = clock_.now_ms();
    jobs::ProcessOutcome out;
    auto st = writer_->run(
        [&](SQLite::Database& db) { out = jobs::process_event(db, keys_, event_id, s, now); });
    if (!st) return jobs::JobOutcome::failure(st.error());
    if (out.opened > 0) scheduler_->wake();  // a T+0 reminder may be due right now
    return jobs::JobOutcome::success();
  });

  ingest_ = std::make_unique<whop::IngestContext>(
      whop::IngestContext{*writer_, keys_, clock_, [this] { return config_.webhook_secrets; },
                          [this] { runner_->wake(); }, nullptr});
  http::Deps deps;
  deps.ingest = ingest_.get();
  deps.engine = engine_.get();
  http::ServerOptions hopts;
  hopts.threads = config_.http_threads;
  http_ = std::make_unique<http::Server>(deps, hopts);
  auto bound = http_->bind(listen->first, listen->second);
  if (!bound) return Error{bound.error()};
  port_ = *bound;

  if (options_.background_workers) {
    runner_->start();
    scheduler_->start();
    if (!config_.whop_api_key.empty() && !config_.whop_company_id.empty()) {
      reconciler_->start();
    } else {
      log::warn(
          "reconciliation is off: set CHURN_SAVER_WHOP_API_KEY and "
          "CHURN_SAVER_WHOP_COMPANY_ID");
    }
  }
  if (config_.webhook_secrets.empty()) {
    log::warn(
        "no webhook secret configured: webhooks are answered 503 until "
        "CHURN_SAVER_WHOP_WEBHOOK_SECRET is set");
  }
  auto s = settings();
  if (!s.processing_enabled) log::warn("webhook processing is switched off (events are stored)");
  if (!s.scheduler_enabled) log::warn("the scheduler is switched off");
  if (!s.notifications_enabled) log::warn("outbound notifications are switched off");
  if (config_.public_url.empty()) {
    log::warn(
        "CHURN_SAVER_PUBLIC_URL is not set: messages link to Whop directly, clicks are not "
        "tracked");
  }
  return Ok{};
}

void App::serve() {
  if (http_) http_->serve();
}

void App::stop() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  if (http_) http_->stop();
  if (reconciler_) reconciler_->stop();
  if (scheduler_) scheduler_->stop();
  if (runner_) runner_->stop();
  writer_.reset();  // drains queued writes
}

}  // namespace cs::app
