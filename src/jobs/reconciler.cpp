#include "jobs/reconciler.h"

#include "domain/event.h"
#include "domain/time.h"
#include "jobs/kinds.h"
#include "store/engine.h"
#include "store/events.h"
#include "store/jobs.h"
#include "util/log.h"
#include "util/thread_name.h"

namespace cs::jobs {
namespace {

constexpr const char* kPaymentsCursor = "reconcile.payments_updated_after";

std::string str(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

}  // namespace

std::string event_type_for_payment(const nlohmann::json& p) {
  std::string status = str(p, "status"), sub = str(p, "substatus");
  if (status == "paid" || sub == "succeeded") return "payment.succeeded";
  if (sub == "failed" || sub == "past_due") return "payment.failed";
  if ((status == "open" || status == "uncollectible") && !str(p, "failure_message").empty()) {
    return "payment.failed";
  }
  return "";
}

Reconciler::Reconciler(store::Writer& writer, whop::Client& whop, const crypto::Keyring& keys,
                       const Clock& clock, std::string company_id, int64_t interval_ms,
                       std::function<void()> on_added)
    : writer_(writer),
      whop_(whop),
      keys_(keys),
      clock_(clock),
      company_id_(std::move(company_id)),
      interval_ms_(interval_ms),
      on_added_(std::move(on_added)) {}

Reconciler::~Reconciler() {
  stop();
}

void Reconciler::start() {
  thread_ = std::thread([this] {
    name_this_thread("cs-reconciler");
    loop();
  });
}

void Reconciler::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Reconciler::add_event(const std::string& type, const nlohmann::json& data,
                           const std::string& id_suffix, int64_t now, bool membership_based) {
  // A synthetic v1 envelope, so the same mapping and processing apply as for a webhook.
  nlohmann::json body = {{"id", "recon_" + id_suffix},
                         {"api_version", "v1"},
                         {"timestamp", domain::format_iso8601_ms(now)},
                         {"type", type},
                         {"data", data},
                         {"company_id", company_id()}};
  auto ev = domain::map_whop_event(body);
  if (!ev || ev->membership_id.empty()) return false;
  std::string text = body.dump();
  store::NewEvent row = store::new_event_row(*ev, "recon_" + id_suffix, now);
  row.source = "reconcile";
  row.payload = store::seal_event_payload(keys_, text, row.webhook_id);
  bool added = false;
  auto st = writer_.run([&](SQLite::Database& db) {
    if (membership_based) {
      // Known already: an open case, or a failure stored but not processed yet (e.g. the one this
      // pass just added from the payments list, or a webhook while processing is switched off).
      if (store::has_open_case(db, row.membership_id) ||
          store::has_pending_failure(db, row.membership_id)) {
        return;
      }
    } else if (store::payment_event_exists(db, row.payment_id, row.type, row.event_time)) {
      return;  // the webhook already brought it
    }
    if (!jobs::insert_event_for_processing(db, row, now)) return;
    added = true;
  });
  if (!st) log::error("reconciliation could not store an event", {{"error", st.error()}});
  return added;
}

void Reconciler::set_company_id(const std::string& company_id) {
  std::lock_guard<std::mutex> lock(company_mu_);
  company_id_ = company_id;
}

std::string Reconciler::company_id() const {
  std::lock_guard<std::mutex> lock(company_mu_);
  return company_id_;
}

ReconcileResult Reconciler::run_once() {
  ReconcileResult r;
  int64_t now = clock_.now_ms();
  const std::string company = company_id();
  if (company.empty()) {
    r.error = "CHURN_SAVER_WHOP_COMPANY_ID is not set";
    return r;
  }
  std::optional<std::string> cursor;
  writer_.run(
      [&](SQLite::Database& db) { cursor = store::find_engine_state(db, kPaymentsCursor); });
  std::string newest = cursor.value_or("");
  auto pages = whop::for_each_page(
      [&](const std::optional<std::string>& after) {
        return whop_.list_payments(company, cursor, after, 50);
      },
      [&](const whop::Page& page) {
        for (const auto& p : page.data) {
          ++r.payments_seen;
          std::string updated = str(p, "updated_at");
          if (updated > newest) newest = updated;
          std::string type = event_type_for_payment(p);
          if (type.empty()) continue;
          std::string pid = str(p, "id");
          if (pid.empty()) continue;
          std::string when =
              type == "payment.succeeded" ? str(p, "paid_at") : str(p, "last_payment_attempt");
          if (add_event(type, p, pid + "_" + type + "_" + (when.empty() ? updated : when), now,
                        false)) {
            ++r.events_added;
          }
        }
        return true;
      });
  if (!pages) {
    r.error = pages.error().message;
  } else if (!newest.empty()) {
    writer_.run(
        [&](SQLite::Database& db) { store::save_engine_state(db, kPaymentsCursor, newest, now); });
  }
  // Memberships Whop says are past due but that have no open case: a failure we never heard of.
  auto members = whop::for_each_page(
      [&](const std::optional<std::string>& after) {
        return whop_.list_memberships(company, {"past_due"}, after, 50);
      },
      [&](const whop::Page& page) {
        for (const auto& m : page.data) {
          ++r.memberships_seen;
          std::string mid = str(m, "id");
          if (mid.empty()) continue;
          std::string updated = str(m, "updated_at");
          nlohmann::json data = {
              {"id", ""},
              {"status", "open"},
              {"substatus", "past_due"},
              {"last_payment_attempt", updated.empty() ? nullptr : nlohmann::json(updated)},
              {"membership", {{"id", mid}, {"status", "past_due"}}}};
          for (const char* k : {"user", "product", "plan", "currency"}) {
            if (m.contains(k)) data[k] = m[k];
          }
          if (add_event("payment.failed", data, mid + "_past_due_" + updated, now, true)) {
            ++r.events_added;
          }
        }
        return true;
      });
  if (!members && r.error.empty()) r.error = members.error().message;
  last_run_.store(now);
  if (r.events_added > 0 && on_added_) on_added_();
  log::write(r.error.empty() ? log::Level::Info : log::Level::Warn, "reconciliation",
             {{"payments", r.payments_seen},
              {"memberships", r.memberships_seen},
              {"added", r.events_added},
              {"error", r.error}});
  return r;
}

void Reconciler::loop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (cv_.wait_for(lock, std::chrono::milliseconds(interval_ms_), [&] { return stopping_; })) {
        return;
      }
    }
    run_once();
  }
}

}  // namespace cs::jobs
