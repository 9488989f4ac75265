#include "store/member_search.h"

#include <SQLiteCpp/Statement.h>

#include "store/statements.h"

namespace cs::store {
namespace {

/// The key derived from `key` for this purpose only.
std::string search_key(const crypto::Key& key) {
  return crypto::hmac_sha256(key.bytes, "churn-saver member search v1");
}

/// 8 bytes of HMAC-SHA256 under the derived key `k`.
std::string token(const std::string& k, const std::string& fragment) {
  return crypto::hmac_sha256(k, fragment).substr(0, 8);
}

}  // namespace

SearchTokens search_tokens(const crypto::Keyring& keys, std::string_view text) {
  SearchTokens t;
  const auto frags = domain::search_trigrams(text);
  t.per_key = frags.size();
  if (frags.empty()) return t;
  for (const auto& key : keys.keys()) {
    const std::string k = search_key(key);
    for (const auto& f : frags) t.tokens.push_back(token(k, f));
  }
  return t;
}

void index_member(SQLite::Database& db, const crypto::Keyring& keys, int64_t event_id,
                  const domain::MemberDetails& m) {
  auto del = prepare(db, "DELETE FROM member_search WHERE event_id = ?");
  del->bind(1, event_id);
  del->exec();
  if (keys.empty()) return;
  auto ins = prepare(db, "INSERT OR IGNORE INTO member_search (token, event_id) VALUES (?, ?)");
  const std::string k = search_key(keys.current());  // once per event, not per fragment
  for (const auto& f : domain::member_trigrams(m)) {
    const std::string t = token(k, f);
    ins->reset();
    ins->bind(1, t.data(), static_cast<int>(t.size()));
    ins->bind(2, event_id);
    ins->exec();
  }
}

std::string member_search_condition(const SearchTokens& t) {
  std::string list;
  for (const auto& tok : t.tokens) {
    if (!list.empty()) list += ",";
    list += "X'" + crypto::hex_encode(tok) + "'";
  }
  return "membership_id IN (SELECT e.membership_id FROM events e WHERE e.id IN (SELECT event_id "
         "FROM member_search WHERE token IN (" +
         list + ") GROUP BY event_id HAVING count(*) >= " + std::to_string(t.per_key) + "))";
}

std::vector<int64_t> unindexed_events(SQLite::Database& db, int64_t after_id, int limit) {
  auto q = prepare(db,
                   "SELECT id FROM events e WHERE id > ? AND payload IS NOT NULL AND NOT EXISTS "
                   "(SELECT 1 FROM member_search s WHERE s.event_id = e.id) ORDER BY id LIMIT ?");
  q->bind(1, after_id);
  q->bind(2, limit);
  std::vector<int64_t> out;
  while (q->executeStep()) out.push_back(q->getColumn(0).getInt64());
  return out;
}

}  // namespace cs::store

namespace cs::store {

std::vector<EventRow> events_with_payload(SQLite::Database& db, const std::string& membership_id,
                                          int limit) {
  auto q = prepare(db, std::string("SELECT ") + kEventCols +
                           " FROM events WHERE membership_id = ? AND payload IS NOT NULL "
                           "ORDER BY event_time DESC, id DESC LIMIT ?");
  q->bind(1, membership_id);
  q->bind(2, limit);
  std::vector<EventRow> out;
  while (q->executeStep()) out.push_back(read_event(*q));
  return out;
}

}  // namespace cs::store
