#pragma once
// The application services (docs/ARCHITECTURE.md, "Layers"): every state change a person or a job
// can cause is one function here. A service validates with the rules in src/domain/, writes in
// ONE writer transaction, and records its audit row (recovery_actions) in that same transaction,
// so a change and its audit commit together or not at all. HTTP handlers and CLI commands parse
// their input, call one service and render its answer; they never open a write transaction.
#include <functional>
#include <string>

#include <SQLiteCpp/Database.h>

#include "domain/settings.h"
#include "store/connection.h"
#include "store/dashboard.h"
#include "store/db.h"
#include "store/writer.h"
#include "util/clock.h"
#include "util/crypto.h"

namespace cs::service {

class MemorySessions;  // service/accounts.h

/// What every service needs. Owned by app::App (or a CLI command, or a test).
struct Context {
  store::Writer& writer;
  /// Read connections; null where only the writer exists (CLI maintenance commands).
  store::ReadPool* reads = nullptr;
  const Clock& clock;
  const crypto::Keyring& keys;

  /// Defaults the stored settings fall back to (built from the configuration).
  domain::RecoverySettings recovery_defaults;
  store::RetentionSettings retention_defaults;
  store::ConnectionSettings connection_defaults;

  /// Called after a service queued work for the job workers (replay, retry, a new event).
  std::function<void()> wake_jobs;
  /// Called after the Whop connection changed, with the values now in force.
  std::function<void(const store::ConnectionSettings&)> connection_changed;
  /// Set when the database is read-only (serve's read-only mode): dashboard sessions live here,
  /// in memory, so the admin can still sign in and read; null = sessions are stored.
  MemorySessions* memory_sessions = nullptr;
};

/// The services over one connection of their own (a writer thread on it), for the CLI commands
/// that change a stopped server's database: no read pool, no keyring, the system clock.
class Standalone {
 public:
  explicit Standalone(std::unique_ptr<SQLite::Database> db)
      : writer_(std::move(db)), ctx_{writer_, nullptr, clock_, keys_, {}, {}, {}, {}, {}} {}
  Context& ctx() { return ctx_; }

 private:
  SystemClock clock_;
  crypto::Keyring keys_;
  store::Writer writer_;
  Context ctx_;
};

/// Who caused a change, as the audit trail names them.
inline constexpr const char* kActorAdmin = "admin";
inline constexpr const char* kActorSystem = "system";

/// Records one audit row not tied to a case; call inside the change's writer task.
void audit(SQLite::Database& db, int64_t now, const std::string& type, const std::string& outcome,
           const std::string& metadata = "{}");

}  // namespace cs::service
