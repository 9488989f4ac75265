#pragma once
// The keyed search index of members' names, emails and usernames (schema/0007_member_search,
// 0012_member_search_sets): the fragments of the details are stored only as keyed hashes, so the
// database file alone reveals no email. One set of fragments per membership and distinct details;
// each event points at the set of its details. Written when an event is processed; read by the
// cases search; released with the payloads they were made from.
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

/// Points event `event_id` of membership `membership_id` at the set of the fragments of `m` under
/// the current key, writing the set first if the membership has none with these fragments. The
/// set the event pointed at before goes if no other event points at it. Without a key the event
/// points at none.
void index_member(SQLite::Database& db, const crypto::Keyring& keys, int64_t event_id,
                  const std::string& membership_id, const domain::MemberDetails& m);

/// A set an event pointed at: its membership and its id.
struct SearchSetRef {
  std::string membership_id;
  int64_t set_id = 0;
};
/// The sets events `ids` point at (before their payloads or rows go).
std::vector<SearchSetRef> search_sets_of(SQLite::Database& db, const std::vector<int64_t>& ids);
/// Deletes those of `sets` that no event points at any more, with their fragments.
void release_search_sets(SQLite::Database& db, const std::vector<SearchSetRef>& sets);
/// Deletes every set of `membership_id` with its fragments (erasure).
void delete_search_sets(SQLite::Database& db, const std::string& membership_id);
/// SQL condition on a table with a membership_id column: the membership has a set (an event's
/// details) that contains every fragment of `t`. Precondition: !t.empty(). The tokens are written
/// as hex blob literals (they are our own hashes).
std::string member_search_condition(const SearchTokens& t);

}  // namespace cs::store

namespace cs::store {

/// The newest events of a membership that still have a sealed payload, newest first, at most
/// `limit` (where the case page reads the member's details).
std::vector<EventRow> events_with_payload(SQLite::Database& db, const std::string& membership_id,
                                          int limit);

}  // namespace cs::store
