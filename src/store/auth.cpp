#include "store/auth.h"

#include <SQLiteCpp/Statement.h>

#include "store/statements.h"

namespace cs::store {

std::optional<std::string> find_admin_password_hash(SQLite::Database& db) {
  auto q = prepare(db, "SELECT password_hash FROM admin_user WHERE id = 1");
  if (!q->executeStep()) return std::nullopt;
  return q->getColumn(0).getString();
}

void save_admin_password(SQLite::Database& db, const std::string& encoded_hash, int64_t now) {
  auto q = prepare(db,
                   "INSERT INTO admin_user (id, password_hash, created_at, updated_at) "
                   "VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                   "password_hash = excluded.password_hash, updated_at = excluded.updated_at");
  q->bind(1, encoded_hash);
  q->bind(2, now);
  q->bind(3, now);
  q->exec();
  auto used = prepare(db, "UPDATE setup_tokens SET used_at = ? WHERE used_at IS NULL");
  used->bind(1, now);
  used->exec();
  prepare(db, "DELETE FROM sessions")->exec();
}

void save_session(SQLite::Database& db, const SessionRow& s) {
  auto q = prepare(db,
                   "INSERT INTO sessions (id_hash, csrf_token, created_at, last_seen_at, "
                   "expires_at) VALUES (?,?,?,?,?)");
  q->bind(1, s.id_hash);
  q->bind(2, s.csrf_token);
  q->bind(3, s.created_at);
  q->bind(4, s.last_seen_at);
  q->bind(5, s.expires_at);
  q->exec();
}

std::optional<SessionRow> find_session(SQLite::Database& db, const std::string& id_hash) {
  auto q = prepare(db,
                   "SELECT id_hash, csrf_token, created_at, last_seen_at, expires_at "
                   "FROM sessions WHERE id_hash = ?");
  q->bind(1, id_hash);
  if (!q->executeStep()) return std::nullopt;
  return SessionRow{q->getColumn("id_hash").getString(), q->getColumn("csrf_token").getString(),
                    q->getColumn("created_at").getInt64(), q->getColumn("last_seen_at").getInt64(),
                    q->getColumn("expires_at").getInt64()};
}

void touch_session(SQLite::Database& db, const std::string& id_hash, int64_t now) {
  auto q = prepare(db, "UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?");
  q->bind(1, now);
  q->bind(2, id_hash);
  q->exec();
}

void delete_session(SQLite::Database& db, const std::string& id_hash) {
  auto q = prepare(db, "DELETE FROM sessions WHERE id_hash = ?");
  q->bind(1, id_hash);
  q->exec();
}

int64_t delete_expired_sessions(SQLite::Database& db, int64_t now, int64_t idle_before) {
  auto q = prepare(db, "DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at < ?");
  q->bind(1, now);
  q->bind(2, idle_before);
  return q->exec();
}

void save_setup_token(SQLite::Database& db, const std::string& token_hash, int64_t now,
                      int64_t expires_at) {
  auto q =
      prepare(db, "INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES (?,?,?)");
  q->bind(1, token_hash);
  q->bind(2, now);
  q->bind(3, expires_at);
  q->exec();
}

bool setup_token_valid(SQLite::Database& db, const std::string& token_hash, int64_t now) {
  auto q = prepare(db,
                   "SELECT 1 FROM setup_tokens WHERE token_hash = ? AND used_at IS NULL "
                   "AND expires_at > ?");
  q->bind(1, token_hash);
  q->bind(2, now);
  return q->executeStep();
}

bool use_setup_token(SQLite::Database& db, const std::string& token_hash, int64_t now) {
  auto q = prepare(db,
                   "UPDATE setup_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL "
                   "AND expires_at > ?");
  q->bind(1, now);
  q->bind(2, token_hash);
  q->bind(3, now);
  return q->exec() == 1;
}

}  // namespace cs::store
