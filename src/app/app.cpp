#include "app/app.h"

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "jobs/processor.h"
#include "store/cases.h"
#include "store/migrations.h"
#include "util/log.h"

namespace cs::app {

App::App(Config config, const Clock& clock, AppOptions options)
    : config_(std::move(config)), clock_(clock), options_(options) {}

App::~App() {
  stop();
}

domain::RecoveryPolicy App::policy() const {
  domain::RecoveryPolicy p;
  p.attribution_window_ms = static_cast<int64_t>(config_.attribution_window_days) * kDayMs;
  return p;
}

Status App::start() {
  auto listen = http::parse_listen(config_.listen);
  if (!listen) return Error{listen.error()};
  std::unique_ptr<SQLite::Database> wdb;
  try {
    umask(0077);
    wdb = store::open_connection(config_.db_path, store::ConnectionRole::Writer);
    if (auto st = store::quick_check(*wdb); !st) return st;
    if (auto st = store::migrate_up(*wdb); !st) return st;
  } catch (const std::exception& e) {
    return Error{"cannot open database " + config_.db_path + ": " + e.what()};
  }
  auto keys = crypto::load_or_create_keyring(config_.key_file);
  if (!keys) return Error{keys.error()};
  keys_ = std::move(*keys);

  writer_ = std::make_unique<store::Writer>(std::move(wdb));
  reads_ = std::make_unique<store::ReadPool>(config_.db_path, 4);
  runner_ = std::make_unique<jobs::JobRunner>(*writer_, clock_);
  runner_->on("process_event", [this](const store::Job& job) {
    auto payload = nlohmann::json::parse(job.payload, nullptr, false);
    if (!payload.is_object() || !payload.contains("event_id")) {
      return jobs::JobOutcome::fatal("malformed process_event payload");
    }
    int64_t event_id = payload["event_id"].get<int64_t>();
    int64_t now = clock_.now_ms();
    auto st = writer_->run(
        [&](SQLite::Database& db) { jobs::process_event(db, keys_, event_id, policy(), now); });
    if (!st) return jobs::JobOutcome::failure(st.error());
    return jobs::JobOutcome::success();
  });

  ingest_ = std::make_unique<whop::IngestContext>(
      whop::IngestContext{*writer_, keys_, clock_, [this] { return config_.webhook_secrets; },
                          [this] { runner_->wake(); }});
  http::Deps deps;
  deps.ingest = ingest_.get();
  http::ServerOptions hopts;
  hopts.threads = config_.http_threads;
  http_ = std::make_unique<http::Server>(deps, hopts);
  auto bound = http_->bind(listen->first, listen->second);
  if (!bound) return Error{bound.error()};
  port_ = *bound;

  if (options_.background_workers) {
    runner_->start();
    maintenance_ = std::thread([this] { maintenance_loop(); });
  }
  started_ = true;
  if (config_.webhook_secrets.empty()) {
    log::warn(
        "no webhook secret configured: webhooks are answered 503 until "
        "CHURN_SAVER_WHOP_WEBHOOK_SECRET is set");
  }
  return Ok{};
}

void App::serve() {
  if (http_) http_->serve();
}

void App::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (http_) http_->stop();
  if (maintenance_.joinable()) maintenance_.join();
  if (runner_) runner_->stop();
  writer_.reset();  // drains queued writes
}

int App::expire_cases(int64_t now) {
  auto pol = policy();
  std::vector<std::string> memberships;
  {
    auto db = reads_->lease();
    memberships = store::memberships_with_expired_cases(*db, now, pol.attribution_window_ms, 1000);
  }
  int changed = 0;
  for (const auto& m : memberships) {
    auto st = writer_->run(
        [&](SQLite::Database& db) { changed += jobs::refold_membership(db, m, pol, now); });
    if (!st) log::error("could not expire cases", {{"error", st.error()}});
  }
  return changed;
}

void App::maintenance_loop() {
  for (;;) {
    int changed = expire_cases(clock_.now_ms());
    if (changed > 0) log::info("attribution windows passed", {{"cases", changed}});
    std::unique_lock<std::mutex> lock(mu_);
    if (cv_.wait_for(lock, std::chrono::seconds(60), [&] { return stopping_; })) return;
  }
}

}  // namespace cs::app
