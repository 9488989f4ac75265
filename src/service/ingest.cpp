#include "service/ingest.h"

#include "domain/event.h"
#include "jobs/kinds.h"
#include "store/events.h"
#include "store/jobs.h"
#include "util/log.h"

namespace cs::service {

using whop::outcome_name;
using whop::SignatureHeaders;
using whop::VerifyOutcome;
namespace {

bool valid_webhook_id(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

IngestResult reject(int status, std::string reason, std::string message, std::string id = "") {
  return {status, std::move(reason), std::move(message), std::move(id)};
}

}  // namespace

IngestResult ingest_webhook(IngestContext& in, const SignatureHeaders& headers,
                            std::string_view body) {
  Context& ctx = in.ctx;
  auto secrets = in.secrets();
  int64_t now = ctx.clock.now_ms();
  auto v = whop::verify(secrets, headers, body, now / 1000);
  if (v.outcome == VerifyOutcome::NoSecret) {
    return reject(503, "no_secret",
                  "no webhook secret is configured; set CHURN_SAVER_WHOP_WEBHOOK_SECRET");
  }
  if (v.outcome == VerifyOutcome::Ok && in.refusal) {
    if (auto why = in.refusal(); !why.empty()) {
      return reject(503, "unavailable", why + "; Whop will retry");
    }
  }
  if (v.outcome != VerifyOutcome::Ok) {
    return reject(401, outcome_name(v.outcome),
                  std::string("webhook signature rejected: ") + outcome_name(v.outcome));
  }
  std::string webhook_id = v.scheme == "v1"
                               ? headers.webhook_id
                               : "legacy_" + crypto::hex_encode(crypto::sha256(body)).substr(0, 32);
  if (!valid_webhook_id(webhook_id)) {
    return reject(400, "bad_webhook_id", "webhook-id must be 1-128 letters, digits or _-.:");
  }
  // One pass over the body, keeping only what the mapping reads (no document is built).
  auto parsed = domain::parse_whop_event(body);
  if (parsed.bad_json) return reject(400, "bad_json", std::move(parsed.error), webhook_id);
  if (!parsed.event) return reject(400, "bad_event", std::move(parsed.error), webhook_id);
  const domain::Event* ev = &*parsed.event;

  store::NewEvent row = store::new_event_row(*ev, webhook_id, now);
  row.sig_scheme = v.scheme;
  row.payload = store::seal_event_payload(ctx.keys, body, webhook_id);

  bool inserted = false;
  // Urgent: the sender waits for this commit; event processing makes way for it.
  auto st = ctx.writer.run(
      [&](SQLite::Database& db) {
        inserted = jobs::insert_event_for_processing(db, row, now).has_value();
      },
      store::Writer::Priority::Urgent);
  if (!st) {
    log::error("webhook not stored", {{"webhook_id", webhook_id}, {"error", st.error()}});
    return reject(503, "store_failed", "the event could not be stored; Whop will retry",
                  webhook_id);
  }
  if (inserted && ctx.wake_jobs) ctx.wake_jobs();
  return {200, inserted ? "stored" : "duplicate", inserted ? "stored" : "duplicate", webhook_id};
}

}  // namespace cs::service
