#include "store/events.h"

#include <SQLiteCpp/Statement.h>
#include <nlohmann/json.hpp>

#include "store/cases.h"
#include "store/jobs.h"
#include "store/payload_dictionary.h"
#include "store/statements.h"
#include "util/compress.h"

namespace cs::store {

const char* const kEventCols =
    "id, webhook_id, source, type, api_version, sig_scheme, event_time, received_at, "
    "membership_id, payment_id, user_id, product_id, amount_cents, currency, "
    "payload IS NOT NULL AS has_payload, "
    "process_state, process_note, processed_at";

EventRow read_event(SQLite::Statement& q) {
  EventRow r;
  r.id = q.getColumn("id").getInt64();
  r.webhook_id = q.getColumn("webhook_id").getString();
  r.source = q.getColumn("source").getString();
  r.type = q.getColumn("type").getString();
  r.api_version = q.getColumn("api_version").getString();
  r.sig_scheme = q.getColumn("sig_scheme").getString();
  r.event_time = q.getColumn("event_time").getInt64();
  r.received_at = q.getColumn("received_at").getInt64();
  r.membership_id = q.getColumn("membership_id").getString();
  r.payment_id = q.getColumn("payment_id").getString();
  r.user_id = q.getColumn("user_id").getString();
  r.product_id = q.getColumn("product_id").getString();
  if (auto c = q.getColumn("amount_cents"); !c.isNull()) r.amount_cents = c.getInt64();
  r.currency = q.getColumn("currency").getString();
  r.has_payload = q.getColumn("has_payload").getInt() != 0;
  r.process_state = q.getColumn("process_state").getString();
  r.process_note = q.getColumn("process_note").getString();
  if (auto c = q.getColumn("processed_at"); !c.isNull()) r.processed_at = c.getInt64();
  return r;
}

NewEvent new_event_row(const domain::Event& ev, const std::string& webhook_id, int64_t now) {
  NewEvent row;
  row.webhook_id = webhook_id;
  row.type = ev.type;
  row.api_version = ev.api_version;
  row.event_time = ev.event_time_ms.value_or(now);
  row.received_at = now;
  row.membership_id = ev.membership_id;
  row.payment_id = ev.payment_id;
  row.user_id = ev.user_id;
  row.product_id = ev.product_id;
  row.amount_cents = ev.amount_cents;
  row.currency = ev.currency;
  row.failure_message = ev.failure_message.substr(0, 500);
  return row;
}

// Stored plaintext: a format byte, then zlib data. "d": deflated with the preset dictionary
// kPayloadDictionaryV1 (written since schema 8); "z": plain deflate (written before, still read).
std::string seal_event_payload(const crypto::Keyring& keys, std::string_view body,
                               const std::string& webhook_id) {
  std::string plain = compress::deflate(body, kPayloadDictionaryV1);
  plain.insert(plain.begin(), 'd');
  return crypto::seal(keys.current(), plain, event_payload_aad(webhook_id));
}

Result<std::string> open_event_payload(const crypto::Keyring& keys, std::string_view sealed,
                                       const std::string& webhook_id) {
  auto plain = crypto::open(keys, sealed, event_payload_aad(webhook_id));
  if (!plain) return Error{plain.error()};
  if (plain->empty()) return Error{"unknown stored payload format"};
  const std::string_view zdata = std::string_view(*plain).substr(1);
  if ((*plain)[0] == 'd') return compress::inflate(zdata, 16 * 1024 * 1024, kPayloadDictionaryV1);
  if ((*plain)[0] == 'z') return compress::inflate(zdata);
  return Error{"unknown stored payload format"};
}

std::optional<int64_t> save_event(SQLite::Database& db, const NewEvent& e) {
  auto q = prepare(db,
                   "INSERT INTO events (webhook_id, source, type, api_version, sig_scheme, "
                   "event_time, received_at, membership_id, payment_id, user_id, amount_cents, "
                   "currency, failure_message, payload, product_id) "
                   "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
                   "ON CONFLICT (webhook_id) DO NOTHING");
  q->bind(1, e.webhook_id);
  q->bind(2, e.source);
  q->bind(3, e.type);
  q->bind(4, e.api_version);
  q->bind(5, e.sig_scheme);
  q->bind(6, e.event_time);
  q->bind(7, e.received_at);
  q->bind(8, e.membership_id);
  q->bind(9, e.payment_id);
  q->bind(10, e.user_id);
  if (e.amount_cents) {
    q->bind(11, *e.amount_cents);
  } else {
    q->bind(11);
  }
  q->bind(12, e.currency);
  q->bind(13, e.failure_message);
  if (e.payload.empty()) {
    q->bind(14);
  } else {
    q->bind(14, e.payload.data(), static_cast<int>(e.payload.size()));
  }
  q->bind(15, e.product_id);
  if (q->exec() == 0) return std::nullopt;
  return db.getLastInsertRowid();
}

std::optional<EventRow> find_event(SQLite::Database& db, int64_t id) {
  auto q = prepare(db, std::string("SELECT ") + kEventCols + " FROM events WHERE id = ?");
  q->bind(1, id);
  if (!q->executeStep()) return std::nullopt;
  return read_event(*q);
}

std::optional<std::string> find_newest_sealed_payload(SQLite::Database& db) {
  auto q =
      prepare(db, "SELECT payload FROM events WHERE payload IS NOT NULL ORDER BY id DESC LIMIT 1");
  if (!q->executeStep()) return std::nullopt;
  return q->getColumn(0).getString();
}

std::string event_payload(SQLite::Database& db, int64_t id) {
  auto q = prepare(db, "SELECT payload FROM events WHERE id = ?");
  q->bind(1, id);
  if (!q->executeStep() || q->getColumn(0).isNull()) return "";
  const auto& c = q->getColumn(0);
  return std::string(static_cast<const char*>(c.getBlob()), static_cast<size_t>(c.getBytes()));
}

std::vector<EventRow> list_recent_events(SQLite::Database& db, int limit) {
  auto q =
      prepare(db, std::string("SELECT ") + kEventCols + " FROM events ORDER BY id DESC LIMIT ?");
  q->bind(1, limit);
  std::vector<EventRow> out;
  while (q->executeStep()) out.push_back(read_event(*q));
  return out;
}

namespace {

/// Reads the facts of a statement selecting (webhook_id, type, event_time, payment_id,
/// amount_cents, currency, failure_message); kinds recovery ignores are skipped.
std::vector<domain::Fact> read_facts(SQLite::Statement* q) {
  std::vector<domain::Fact> out;
  while (q->executeStep()) {
    domain::Fact f;
    f.id = q->getColumn(0).getString();
    f.kind = domain::kind_from_type(q->getColumn(1).getString());
    if (f.kind == domain::EventKind::Other) continue;
    f.time_ms = q->getColumn(2).getInt64();
    f.payment_id = q->getColumn(3).getString();
    if (!q->getColumn(4).isNull()) f.amount_cents = q->getColumn(4).getInt64();
    f.currency = q->getColumn(5).getString();
    f.failure_message = q->getColumn(6).getString();
    out.push_back(std::move(f));
  }
  return out;
}

/// The events of other memberships of the same (user, product) as `membership_id`'s events.
/// Uses events_membership for the pairs, then events_user_product.
constexpr const char* kRejoinEvents =
    "FROM events o WHERE o.user_id != '' AND o.product_id != '' AND o.membership_id != ?1 AND "
    "(o.user_id, o.product_id) IN (SELECT DISTINCT user_id, product_id FROM events WHERE "
    "membership_id = ?1 AND user_id != '' AND product_id != '')";

}  // namespace

std::vector<domain::Fact> list_facts_for_membership(SQLite::Database& db,
                                                    const std::string& membership_id) {
  auto q = prepare(db,
                   "SELECT webhook_id, type, event_time, payment_id, amount_cents, currency, "
                   "failure_message "
                   "FROM events WHERE membership_id = ? ORDER BY event_time, id");
  q->bind(1, membership_id);
  return read_facts(&*q);
}

std::vector<domain::Fact> list_rejoin_facts_for_membership(SQLite::Database& db,
                                                           const std::string& membership_id) {
  // The other memberships' payments and activations, and reversals of those payments (a refund
  // may name no product).
  auto q = prepare(
      db, std::string("SELECT webhook_id, type, event_time, payment_id, amount_cents, currency, "
                      "failure_message FROM events WHERE id IN (SELECT o.id ") +
              kRejoinEvents +
              ") OR (payment_id != '' AND (type LIKE 'refund.%' OR type LIKE 'dispute.%') AND "
              "payment_id IN (SELECT o.payment_id " +
              kRejoinEvents + " AND o.payment_id != '')) ORDER BY event_time, id");
  q->bind(1, membership_id);
  auto facts = read_facts(&*q);
  std::vector<domain::Fact> out;
  for (auto& f : facts) {
    const bool signal = f.kind == domain::EventKind::PaymentSucceeded ||
                        f.kind == domain::EventKind::MembershipActivated;
    const bool reversal =
        f.kind == domain::EventKind::Refund || f.kind == domain::EventKind::Dispute;
    if (!signal && !reversal) continue;
    f.other_membership = signal;  // a reversal is matched by payment id alone
    out.push_back(std::move(f));
  }
  return out;
}

std::vector<EventRow> list_rejoin_events_for_membership(SQLite::Database& db,
                                                        const std::string& membership_id,
                                                        int64_t from, int64_t to, int limit) {
  auto q = prepare(db, std::string("SELECT ") + kEventCols +
                           " FROM events WHERE id IN (SELECT o.id " + kRejoinEvents +
                           ") AND event_time >= ?2 AND event_time <= ?3 ORDER BY event_time, id "
                           "LIMIT ?4");
  q->bind(1, membership_id);
  q->bind(2, from);
  q->bind(3, to);
  q->bind(4, limit);
  std::vector<EventRow> out;
  while (q->executeStep()) out.push_back(read_event(*q));
  return out;
}

std::vector<std::string> list_memberships_to_win_back(SQLite::Database& db,
                                                      const std::string& user_id,
                                                      const std::string& product_id,
                                                      const std::string& exclude_membership,
                                                      int64_t from, int64_t to) {
  std::vector<std::string> out;
  if (user_id.empty() || product_id.empty()) return out;
  auto q = prepare(db,
                   "SELECT DISTINCT membership_id FROM events INDEXED BY events_user_product "
                   "WHERE user_id = ? AND product_id = ? AND user_id != '' AND product_id != '' "
                   "AND membership_id != ? AND membership_id != '' AND event_time >= ? AND "
                   "event_time <= ? ORDER BY membership_id");
  q->bind(1, user_id);
  q->bind(2, product_id);
  q->bind(3, exclude_membership);
  q->bind(4, from);
  q->bind(5, to);
  while (q->executeStep()) out.push_back(q->getColumn(0).getString());
  return out;
}

std::vector<int64_t> list_pending_events(SQLite::Database& db, int limit) {
  auto q = prepare(db,
                   "SELECT id FROM events INDEXED BY events_state "
                   "WHERE process_state = 'pending' ORDER BY id LIMIT ?");
  q->bind(1, limit);
  std::vector<int64_t> out;
  while (q->executeStep()) out.push_back(q->getColumn(0).getInt64());
  return out;
}

void in_savepoint(SQLite::Database& db, const std::function<void()>& fn) {
  db.exec("SAVEPOINT one_event");
  try {
    fn();
  } catch (...) {
    db.exec("ROLLBACK TO one_event");
    db.exec("RELEASE one_event");
    throw;
  }
  db.exec("RELEASE one_event");
}

void mark_event(SQLite::Database& db, int64_t id, const std::string& state, const std::string& note,
                int64_t now) {
  auto q = prepare(db,
                   "UPDATE events SET process_state = ?, process_note = ?, processed_at = ? "
                   "WHERE id = ?");
  q->bind(1, state);
  q->bind(2, note);
  q->bind(3, now);
  q->bind(4, id);
  q->exec();
}

int64_t count_events(SQLite::Database& db) {
  return db.execAndGet("SELECT count(*) FROM events").getInt64();
}

std::optional<EventRow> find_latest_event_with_payload(SQLite::Database& db,
                                                       const std::string& membership_id) {
  auto q = prepare(db, std::string("SELECT ") + kEventCols +
                           " FROM events WHERE membership_id = ? AND payload IS NOT NULL "
                           "ORDER BY event_time DESC, id DESC LIMIT 1");
  q->bind(1, membership_id);
  if (!q->executeStep()) return std::nullopt;
  return read_event(*q);
}

}  // namespace cs::store
