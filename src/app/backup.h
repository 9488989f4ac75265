#pragma once
// Backups and restores of the one SQLite file (issue 5, SECURITY.md "SQLite"):
// - a backup is ONE `VACUUM INTO` (consistent while the service writes), into a temporary file
//   that is then checked (integrity, foreign keys, schema), made self-contained (no -wal), synced
//   and renamed into place: a backup file that exists is a good one;
// - `serve` holds an exclusive lock on the database's directory for its lifetime, so `restore`
//   can refuse while the service runs (a directory, not the database file: closing another
//   descriptor of the database file would drop SQLite's own POSIX locks);
// - a restore validates the file before it touches anything and keeps the database it replaces.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "util/result.h"

namespace cs::app {

/// An exclusive advisory lock (flock) on the directory that holds the database. `serve` holds one
/// for its lifetime.
class DatabaseLock {
 public:
  /// Takes the lock without waiting. Error saying that churn-saver is running on the database
  /// when another process holds it, or that the directory does not exist.
  static Result<std::unique_ptr<DatabaseLock>> acquire(const std::string& db_path);
  ~DatabaseLock();
  DatabaseLock(const DatabaseLock&) = delete;
  DatabaseLock& operator=(const DatabaseLock&) = delete;

 private:
  explicit DatabaseLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

struct BackupResult {
  std::string file;
  int64_t bytes = 0;
  int64_t millis = 0;  // how long it took
};

/// Checks that `path` is a usable Churn Saver database: opens, passes integrity_check and
/// foreign_key_check, has a schema this binary knows (not newer) exactly as the migrations made
/// it, and is self-contained (journal_mode=DELETE, so no -wal belongs to it). It may write to the
/// file: call it on a copy. Returns the schema version, or an error naming the first problem.
/// `stop` (may be null): gives up with an error soon after it turns true.
Result<int> validate_database_file(const std::string& path,
                                   const std::atomic<bool>* stop = nullptr);

/// Copies the live database at `db_path` into `dest` (which must not exist) and checks the copy.
/// The file is made 0600. `stop` (may be null): gives up soon after it turns true (serve is
/// stopping), leaving nothing behind.
Result<BackupResult> backup_database(const std::string& db_path, const std::string& dest,
                                     const std::atomic<bool>* stop = nullptr);

/// backup_database's error when `stop` ended it.
inline constexpr const char* kBackupStopped = "backup stopped: the service is shutting down";

/// A backup made by serve's daily job: <dir>/churn-saver-YYYYMMDDTHHMMSSZ.db.
struct BackupFile {
  std::string path;
  std::string name;
  int64_t time_ms = 0;  // from the name (UTC)
  int64_t bytes = 0;
};
/// serve's backups in `dir`, newest first (other files are ignored).
std::vector<BackupFile> list_backups(const std::string& dir);
/// Backs up into `dir` (created 0700 if missing) under a name made from `now_ms`, then deletes
/// the oldest of serve's backups beyond `keep`. Never touches other files.
Result<BackupResult> backup_to_dir(const std::string& db_path, const std::string& dir, int keep,
                                   int64_t now_ms, const std::atomic<bool>* stop = nullptr);

struct RestoreResult {
  std::string previous;  // where the replaced database was kept ("" when there was none)
  int schema_version = 0;
};
/// Replaces the database at `db_path` with the backup `source`: validates a copy of it first,
/// refuses while a process (serve) holds the database lock, keeps the current database (and its
/// -wal/-shm) as <db>.before-restore-<time>, then moves the copy into place.
Result<RestoreResult> restore_database(const std::string& source, const std::string& db_path,
                                       int64_t now_ms);

/// "YYYYMMDDTHHMMSSZ" for a unix ms time.
std::string compact_utc(int64_t ms);

}  // namespace cs::app
