#pragma once
// The admin account: the one-time setup link, setting the password (setup link or CLI), checking
// it at sign-in, and the server-side sessions. Session ids and link tokens are stored only as
// their SHA-256 (store/auth.h); callers hand over the hex hash of the cookie's id.
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "service/context.h"
#include "store/auth.h"
#include "util/result.h"

namespace cs::service {

constexpr int64_t kSessionIdleMs = 30LL * 60 * 1000;
constexpr int64_t kSessionAbsoluteMs = 8LL * 3600 * 1000;
constexpr int64_t kSetupLinkMs = 30LL * 60 * 1000;

/// The sessions of a server whose database is read-only (Context::memory_sessions): the same
/// rows, kept in memory (by id hash) and lost at restart. Thread-safe.
class MemorySessions {
 public:
  std::optional<store::SessionRow> find(const std::string& id_hash) const;
  void put(const store::SessionRow& row);
  void touch(const std::string& id_hash, int64_t now);
  void erase(const std::string& id_hash);
  /// Drops sessions past their absolute expiry or idle since before `idle_before`.
  void erase_expired(int64_t now, int64_t idle_before);

 private:
  mutable std::mutex mu_;
  std::map<std::string, store::SessionRow> rows_;
};

/// SHA-256 of a token or session id, hex (what the database keeps).
std::string token_hash(const std::string& token);

/// A fresh setup link token (stored as its hash, valid kSetupLinkMs), or "" when an admin
/// password is already set.
Result<std::string> create_setup_token(Context& ctx);
/// True once an admin password is set (before that, only a setup link or the CLI can set one).
bool admin_exists(Context& ctx);
/// True when `token` is a well-formed, unused, unexpired link and no admin exists yet.
bool setup_token_usable(Context& ctx, const std::string& token);

struct SetupOutcome {
  std::string problem;  // the password is weak or the two differ: nothing written
  bool used = false;    // false with no problem: the link is not (or no longer) valid
};
/// Sets the admin password through a setup link: checks strength and confirmation, then uses
/// the link, stores the password (revoking every session) and audits, in one transaction.
/// Throws when the database cannot be written.
SetupOutcome complete_setup(Context& ctx, const std::string& token, const std::string& password,
                            const std::string& confirm);
/// Sets the admin password from the command line (strength checked), audited as "cli".
Status save_admin_password(Context& ctx, const std::string& password);

/// True when an admin exists and `password` is theirs (slow on purpose: PBKDF2).
bool password_matches(Context& ctx, const std::string& password);

struct SessionInfo {
  std::string id;  // the cookie's value (only for a new session)
  std::string id_hash;
  std::string csrf_token;
};
/// The session with this id hash when it is still valid at now; an expired one is deleted, a
/// valid one's last-seen time refreshed at most once a minute.
std::optional<SessionInfo> resume_session(Context& ctx, const std::string& id_hash);
/// A new session (fresh id: rotation at sign-in); deletes `replaces` (the session the request
/// came with, if any) and expired sessions in the same transaction. Throws on a write failure.
SessionInfo start_session(Context& ctx, const std::optional<std::string>& replaces);
/// Revokes a session.
void end_session(Context& ctx, const std::string& id_hash);

}  // namespace cs::service
