#include "store/member_search.h"

#include <set>

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

namespace {

/// The set of `membership_id` with the fragments `frags` under the derived key `k`: found by its
/// digest, or written with its tokens.
int64_t find_or_add_set(SQLite::Database& db, const std::string& k,
                        const std::string& membership_id, const std::set<std::string>& frags) {
  // The digest of the fragments (sorted, each with its length): one hash, where the tokens would
  // be one per fragment.
  std::string all;
  for (const auto& f : frags) {
    all += static_cast<char>(f.size());
    all += f;
  }
  const std::string digest = token(k, all);
  {
    auto find =
        prepare(db, "SELECT id FROM member_search_sets WHERE membership_id = ? AND digest = ?");
    find->bind(1, membership_id);
    find->bind(2, digest.data(), static_cast<int>(digest.size()));
    if (find->executeStep()) return find->getColumn(0).getInt64();
  }

  auto add = prepare(db, "INSERT INTO member_search_sets (membership_id, digest) VALUES (?, ?)");
  add->bind(1, membership_id);
  add->bind(2, digest.data(), static_cast<int>(digest.size()));
  add->exec();
  const int64_t set_id = db.getLastInsertRowid();
  auto ins =
      prepare(db, "INSERT OR IGNORE INTO member_search_tokens (token, set_id) VALUES (?, ?)");
  for (const auto& f : frags) {
    const std::string t = token(k, f);
    ins->reset();
    ins->bind(1, t.data(), static_cast<int>(t.size()));
    ins->bind(2, set_id);
    ins->exec();
  }
  return set_id;
}

}  // namespace

void index_member(SQLite::Database& db, const crypto::Keyring& keys, int64_t event_id,
                  const std::string& membership_id, const domain::MemberDetails& m) {
  int64_t set_id = 0;
  if (!keys.empty()) {
    const auto frags = domain::member_trigrams(m);
    if (!frags.empty()) {
      set_id = find_or_add_set(db, search_key(keys.current()), membership_id, frags);
    }
  }
  const auto before = search_sets_of(db, {event_id});
  const int64_t had = before.empty() ? 0 : before[0].set_id;
  if (had == set_id) return;  // processed again with the same details
  auto point = prepare(db, "UPDATE events SET search_set = ? WHERE id = ?");
  if (set_id != 0) {
    point->bind(1, set_id);
  } else {
    point->bind(1);  // NULL
  }
  point->bind(2, event_id);
  point->exec();
  release_search_sets(db, before);
}

std::vector<SearchSetRef> search_sets_of(SQLite::Database& db, const std::vector<int64_t>& ids) {
  auto q = prepare(db,
                   "SELECT membership_id, search_set FROM events WHERE id = ? AND search_set IS "
                   "NOT NULL");
  std::vector<SearchSetRef> out;
  for (int64_t id : ids) {
    q->reset();
    q->bind(1, id);
    if (q->executeStep()) out.push_back({q->getColumn(0).getString(), q->getColumn(1).getInt64()});
  }
  return out;
}

void release_search_sets(SQLite::Database& db, const std::vector<SearchSetRef>& sets) {
  // Through the membership's events (events_membership): events.search_set has no index of its
  // own, which would cost every processed event one more random write.
  auto del = prepare(db,
                     "DELETE FROM member_search_sets WHERE id = ?2 AND NOT EXISTS (SELECT 1 FROM "
                     "events WHERE membership_id = ?1 AND search_set = ?2)");
  for (const auto& s : sets) {
    del->reset();
    del->bind(1, s.membership_id);
    del->bind(2, s.set_id);
    del->exec();  // its tokens go by ON DELETE CASCADE
  }
}

void delete_search_sets(SQLite::Database& db, const std::string& membership_id) {
  auto del = prepare(db, "DELETE FROM member_search_sets WHERE membership_id = ?");
  del->bind(1, membership_id);
  del->exec();
}

std::string member_search_condition(const SearchTokens& t) {
  std::string list;
  for (const auto& tok : t.tokens) {
    if (!list.empty()) list += ",";
    list += "X'" + crypto::hex_encode(tok) + "'";
  }
  return "membership_id IN (SELECT membership_id FROM member_search_sets WHERE id IN (SELECT "
         "set_id FROM member_search_tokens WHERE token IN (" +
         list + ") GROUP BY set_id HAVING count(*) >= " + std::to_string(t.per_key) + "))";
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
