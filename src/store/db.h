#pragma once
// Connections to the one SQLite file. Pragmas are set here and nowhere else.
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <SQLiteCpp/Database.h>

#include "util/result.h"

namespace cs::store {

enum class ConnectionRole {
  Writer,  // the single writer: WAL, synchronous=FULL, foreign keys
  Reader,  // query_only
  /// A database that cannot be written (read-only mode): opened read-only, query_only; when
  /// SQLite cannot read it that way (WAL needs a -shm file it cannot create in a read-only
  /// directory) it is opened as immutable.
  ReadOnly,
};

/// Opens `path` (creating it for the writer) and applies, in order: busy_timeout, journal_mode=WAL,
/// synchronous=FULL (writer), foreign_keys=ON, and query_only (reader). Throws SQLite::Exception.
std::unique_ptr<SQLite::Database> open_connection(const std::string& path, ConnectionRole role);

/// Why the existing database at `path` cannot be written, for the operator: the filesystem is
/// mounted read-only, or this user may not write the file, its directory (SQLite creates the -wal
/// and -shm files there) or an existing -wal/-shm file. "" when it can be written, or when the
/// file does not exist (creating it then fails with its own error).
std::string read_only_cause(const std::string& path);

/// True when `path` has a non-empty WAL beside it before any connection of this process opened
/// it: the last process did not close it cleanly (or another one has it open now).
bool wal_left_behind(const std::string& path);
/// Runs `PRAGMA quick_check`; Error naming the first problem (and how to restore) when not "ok".
Status quick_check(SQLite::Database& db);

/// Deleted bytes are overwritten from now on (PRAGMA secure_delete), for erasing personal data.
void overwrite_deleted_bytes(SQLite::Database& db);
/// Rewrites every page (VACUUM), so no old row versions stay in free space.
void vacuum(SQLite::Database& db);
/// Makes the file self-contained (journal_mode = DELETE: no -wal belongs to it), for copies.
void use_rollback_journal(SQLite::Database& db);

/// A fixed pool of read connections. lease() blocks until one is free.
class ReadPool {
 public:
  ReadPool(const std::string& path, size_t size, ConnectionRole role = ConnectionRole::Reader);
  ~ReadPool();
  class Lease {
   public:
    Lease(ReadPool* pool, std::unique_ptr<SQLite::Database> db) : pool_(pool), db_(std::move(db)) {}
    Lease(Lease&&) = default;
    ~Lease();
    SQLite::Database& operator*() { return *db_; }
    SQLite::Database* operator->() { return db_.get(); }

   private:
    ReadPool* pool_;
    std::unique_ptr<SQLite::Database> db_;
  };
  Lease lease();

 private:
  friend class Lease;
  void give_back(std::unique_ptr<SQLite::Database> db);
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<SQLite::Database>> free_;
};

}  // namespace cs::store
