#pragma once
// The single admin account, server-side sessions and one-time setup links. Tokens and session ids
// are never stored: callers pass their SHA-256 (hex), so a copy of the database cannot be used to
// sign in.
#include <cstdint>
#include <optional>
#include <string>

#include <SQLiteCpp/Database.h>

namespace cs::store {

/// The admin's encoded password hash, or nullopt when no admin has been set up.
std::optional<std::string> find_admin_password_hash(SQLite::Database& db);
/// Creates or replaces the admin's password hash, marks every setup link used and revokes every
/// session (a new password signs everybody out).
void save_admin_password(SQLite::Database& db, const std::string& encoded_hash, int64_t now);

struct SessionRow {
  std::string id_hash;
  std::string csrf_token;
  int64_t created_at = 0, last_seen_at = 0, expires_at = 0;
};
void save_session(SQLite::Database& db, const SessionRow& s);
/// The session with this id hash if it exists (expiry is the caller's decision).
std::optional<SessionRow> find_session(SQLite::Database& db, const std::string& id_hash);
void touch_session(SQLite::Database& db, const std::string& id_hash, int64_t now);
void delete_session(SQLite::Database& db, const std::string& id_hash);
/// Deletes sessions past their absolute expiry or idle since before `idle_before`.
int64_t delete_expired_sessions(SQLite::Database& db, int64_t now, int64_t idle_before);

void save_setup_token(SQLite::Database& db, const std::string& token_hash, int64_t now,
                      int64_t expires_at);
/// True when the link exists, is unused and has not expired at `now`.
bool setup_token_valid(SQLite::Database& db, const std::string& token_hash, int64_t now);
/// Marks the link used; false when it was not valid (already used, expired or unknown).
bool use_setup_token(SQLite::Database& db, const std::string& token_hash, int64_t now);

}  // namespace cs::store
