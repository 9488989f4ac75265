#pragma once
// The events table: what Whop delivered (and what reconciliation synthesised).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include "domain/event.h"
#include "domain/recovery.h"
#include "util/crypto.h"

namespace cs::store {

/// Additional authenticated data that binds a sealed event payload to its row.
inline std::string event_payload_aad(const std::string& webhook_id) {
  return "events.payload:" + webhook_id;
}

/// The stored form of a raw webhook body: deflated, then sealed with the current key and bound to
/// its row by the webhook-id.
std::string seal_event_payload(const crypto::Keyring& keys, std::string_view body,
                               const std::string& webhook_id);
/// The raw body back from its stored form. Error when the key is missing, the row binding does
/// not match, or the data is corrupt.
Result<std::string> open_event_payload(const crypto::Keyring& keys, std::string_view sealed,
                                       const std::string& webhook_id);

struct NewEvent {
  std::string webhook_id;
  std::string source = "webhook";
  std::string type;
  std::string api_version;
  std::string sig_scheme;
  int64_t event_time = 0;
  int64_t received_at = 0;
  std::string membership_id, payment_id, user_id;
  std::string product_id;  // "" when the event names none
  std::optional<int64_t> amount_cents;
  std::string currency;
  std::string failure_message;
  std::string payload;  // sealed bytes
};

struct EventRow {
  int64_t id = 0;
  std::string webhook_id, source, type, api_version, sig_scheme;
  int64_t event_time = 0, received_at = 0;
  std::string membership_id, payment_id, user_id, product_id;
  std::optional<int64_t> amount_cents;
  std::string currency;
  bool has_payload = false;
  std::string process_state, process_note;
  std::optional<int64_t> processed_at;
};

/// The columns of an EventRow, in the order read_event reads them (for SELECTs in the store).
extern const char* const kEventCols;
/// Reads one row selected with kEventCols (by column name).
EventRow read_event(SQLite::Statement& q);

/// The stored row of a mapped event (webhook or reconciliation): ids, amounts and times from
/// `ev`, received now. Source, signature scheme and the sealed payload are the caller's.
NewEvent new_event_row(const domain::Event& ev, const std::string& webhook_id, int64_t now);
/// Inserts the event unless its webhook_id is already stored. Returns its row id, or nullopt for
/// a duplicate (nothing written).
std::optional<int64_t> save_event(SQLite::Database& db, const NewEvent& e);
std::optional<EventRow> find_event(SQLite::Database& db, int64_t id);
/// The sealed payload of one event ("" when stripped or absent).
std::string event_payload(SQLite::Database& db, int64_t id);
/// The sealed payload of the newest event that still has one (which key sealed the data).
std::optional<std::string> find_newest_sealed_payload(SQLite::Database& db);
/// Newest first by id, at most `limit`.
std::vector<EventRow> list_recent_events(SQLite::Database& db, int limit);
/// Every recovery-relevant fact of one membership (kind mapped from type).
std::vector<domain::Fact> list_facts_for_membership(SQLite::Database& db,
                                                    const std::string& membership_id);
/// Win-back facts for one membership: the payments and activations (and the refunds and disputes
/// of those payments) of OTHER memberships of the same user for the same product, (user, product)
/// taken from the membership's own events. Marked `other_membership`.
std::vector<domain::Fact> list_rejoin_facts_for_membership(SQLite::Database& db,
                                                           const std::string& membership_id);
/// Events of other memberships of the same user and product as `membership_id`'s events, with
/// event_time in [from, to], oldest first (the case page's timeline shows a rejoin or a late
/// purchase of a new membership).
std::vector<EventRow> list_rejoin_events_for_membership(SQLite::Database& db,
                                                        const std::string& membership_id,
                                                        int64_t from, int64_t to, int limit);
/// Memberships other than `exclude_membership` with an event of user `user_id` about product
/// `product_id` whose time is in [from, to]: the memberships whose case a purchase of a new
/// membership at `to` may win back (`from` = `to` - window). Reads events_user_product.
std::vector<std::string> list_memberships_to_win_back(SQLite::Database& db,
                                                      const std::string& user_id,
                                                      const std::string& product_id,
                                                      const std::string& exclude_membership,
                                                      int64_t from, int64_t to);
/// Ids of stored events not processed yet, oldest first, at most `limit` (the work of the event
/// processor; events_state (process_state, id) reads exactly these rows, in order).
std::vector<int64_t> list_pending_events(SQLite::Database& db, int limit);
/// Runs `fn` in a savepoint of the caller's transaction: when it throws, its writes are rolled
/// back and the exception passes on.
void in_savepoint(SQLite::Database& db, const std::function<void()>& fn);
void mark_event(SQLite::Database& db, int64_t id, const std::string& state, const std::string& note,
                int64_t now);
int64_t count_events(SQLite::Database& db);
/// The newest event (by event time) of a membership that has a sealed payload, if any.
std::optional<EventRow> find_latest_event_with_payload(SQLite::Database& db,
                                                       const std::string& membership_id);

}  // namespace cs::store
