#pragma once
// The keyed search index of members' names, emails and usernames (schema/0007_member_search):
// the fragments of the details are stored only as keyed hashes, so the database file alone
// reveals no email. Written when an event is processed; read by the cases search.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <SQLiteCpp/Database.h>

#include "domain/member.h"
#include "store/events.h"
#include "util/crypto.h"

namespace cs::store {

/// The hashed fragments of a search text, for every key of the ring (an event is indexed under
/// the key current when it was processed). Empty when the text is shorter than 3 characters.
struct SearchTokens {
  size_t per_key = 0;               // fragments in the text
  std::vector<std::string> tokens;  // per_key tokens per key of the ring
  bool empty() const { return per_key == 0 || tokens.empty(); }
};
SearchTokens search_tokens(const crypto::Keyring& keys, std::string_view text);

/// Replaces the index rows of event `event_id` with the fragments of `m` (current key).
void index_member(SQLite::Database& db, const crypto::Keyring& keys, int64_t event_id,
                  const domain::MemberDetails& m);
/// SQL condition on a table with a membership_id column: the membership has an event whose
/// details contain every fragment of `t`. Precondition: !t.empty(). The tokens are written as hex
/// blob literals (they are our own hashes).
std::string member_search_condition(const SearchTokens& t);

/// Events with a payload and no index rows, id above `after_id`, ascending (the backfill of
/// events stored before the index existed).
std::vector<int64_t> unindexed_events(SQLite::Database& db, int64_t after_id, int limit);

}  // namespace cs::store

namespace cs::store {

/// The newest events of a membership that still have a sealed payload, newest first, at most
/// `limit` (where the case page reads the member's details).
std::vector<EventRow> events_with_payload(SQLite::Database& db, const std::string& membership_id,
                                          int limit);

}  // namespace cs::store
