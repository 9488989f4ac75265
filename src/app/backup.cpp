#include "app/backup.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <regex>

#include "store/db.h"
#include "store/maintenance.h"
#include "store/migrations.h"
#include "util/crypto.h"

namespace cs::app {
namespace fs = std::filesystem;

namespace {

std::string dir_of(const std::string& path) {
  fs::path p(path);
  auto parent = p.parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

/// fsync of a file or directory; false when it cannot be opened or synced.
bool sync_path(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

void remove_quietly(const std::string& path) {
  std::error_code ec;
  fs::remove(path, ec);
  fs::remove(path + "-wal", ec);
  fs::remove(path + "-shm", ec);
  fs::remove(path + "-journal", ec);
}

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string compact_utc(int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

Result<std::unique_ptr<DatabaseLock>> DatabaseLock::acquire(const std::string& db_path) {
  std::string dir = dir_of(db_path);
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return Error{"cannot open the database directory " + dir + ": " + std::strerror(errno)};
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return Error{"churn-saver is running on " + db_path + " (a serve process holds the lock of " +
                   dir + "; one serve per database directory); stop it first, e.g. " +
                   "`sudo systemctl stop churn-saver`"};
    }
    return Error{"cannot lock " + dir + ": " + std::strerror(err)};
  }
  return std::unique_ptr<DatabaseLock>(new DatabaseLock(fd));
}

DatabaseLock::~DatabaseLock() {
  if (fd_ >= 0) ::close(fd_);
}

Result<int> validate_database_file(const std::string& path, const std::atomic<bool>* stop) {
  try {
    auto db = store::open_for_maintenance(path);
    store::interrupt_on(*db, stop);
    // A self-contained file: no -wal belongs to it, so copying the one file is enough.
    store::use_rollback_journal(*db);
    auto report = store::check_database(*db, false);
    if (!report.ok) {
      return Error{"the database fails its integrity check: " + report.problems.front()};
    }
    int version = store::schema_version(*db);
    if (version == 0) return Error{"this is not a Churn Saver database (no schema)"};
    if (auto st = store::check_not_newer(*db); !st) return Error{st.error()};
    if (auto st = store::verify_schema(*db); !st) {
      return Error{"the schema is not what churn-saver made: " + st.error()};
    }
    return version;
  } catch (const std::exception& e) {
    return Error{std::string("cannot read it as a database: ") + e.what()};
  }
}

Result<BackupResult> backup_database(const std::string& db_path, const std::string& dest,
                                     const std::atomic<bool>* stop) {
  auto started = steady_ms();
  if (!fs::exists(db_path)) return Error{"no database at " + db_path};
  if (fs::exists(dest)) return Error{dest + " already exists; choose a new file name"};
  std::string tmp = dest + ".tmp-" + crypto::random_hex(4);
  auto stopped = [&] { return stop != nullptr && stop->load(); };
  try {
    auto db = store::open_for_maintenance(db_path);
    store::interrupt_on(*db, stop);
    store::vacuum_into(*db, tmp);  // one step: a consistent snapshot while serve writes
  } catch (const std::exception& e) {
    remove_quietly(tmp);
    if (stopped()) return Error{kBackupStopped};
    return Error{std::string("backup failed: ") + e.what()};
  }
  ::chmod(tmp.c_str(), 0600);
  auto valid = validate_database_file(tmp, stop);
  if (!valid) {
    remove_quietly(tmp);
    if (stopped()) return Error{kBackupStopped};
    return Error{"the backup did not pass its check (" + valid.error() + "); nothing was kept"};
  }
  std::error_code ec;
  fs::remove(tmp + "-wal", ec);
  fs::remove(tmp + "-shm", ec);
  if (!sync_path(tmp, false)) {
    remove_quietly(tmp);
    return Error{"cannot sync the backup file " + tmp};
  }
  if (::rename(tmp.c_str(), dest.c_str()) != 0) {
    int err = errno;
    remove_quietly(tmp);
    return Error{"cannot move the backup into place at " + dest + ": " + std::strerror(err)};
  }
  sync_path(dir_of(dest), true);
  BackupResult r;
  r.file = dest;
  r.bytes = static_cast<int64_t>(fs::file_size(dest, ec));
  r.millis = steady_ms() - started;
  return r;
}

std::vector<BackupFile> list_backups(const std::string& dir) {
  static const std::regex kName(
      R"(^churn-saver-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z\.db$)");
  std::vector<BackupFile> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    std::smatch m;
    if (!it->is_regular_file(ec) || !std::regex_match(name, m, kName)) continue;
    std::tm tm{};
    tm.tm_year = std::stoi(m[1]) - 1900;
    tm.tm_mon = std::stoi(m[2]) - 1;
    tm.tm_mday = std::stoi(m[3]);
    tm.tm_hour = std::stoi(m[4]);
    tm.tm_min = std::stoi(m[5]);
    tm.tm_sec = std::stoi(m[6]);
    BackupFile f;
    f.path = it->path().string();
    f.name = name;
    f.time_ms = static_cast<int64_t>(timegm(&tm)) * 1000;
    std::error_code size_ec;
    f.bytes = static_cast<int64_t>(fs::file_size(it->path(), size_ec));
    out.push_back(std::move(f));
  }
  std::sort(out.begin(), out.end(),
            [](const BackupFile& a, const BackupFile& b) { return a.name > b.name; });
  return out;
}

Result<BackupResult> backup_to_dir(const std::string& db_path, const std::string& dir, int keep,
                                   int64_t now_ms, const std::atomic<bool>* stop) {
  std::error_code ec;
  if (!fs::exists(dir)) {
    fs::create_directories(dir, ec);
    if (ec) return Error{"cannot create the backup directory " + dir + ": " + ec.message()};
    ::chmod(dir.c_str(), 0700);
  }
  std::string dest = dir + "/churn-saver-" + compact_utc(now_ms) + ".db";
  auto r = backup_database(db_path, dest, stop);
  if (!r) return r;
  auto all = list_backups(dir);
  for (size_t i = static_cast<size_t>(std::max(keep, 1)); i < all.size(); ++i) {
    fs::remove(all[i].path, ec);
  }
  return r;
}

Result<RestoreResult> restore_database(const std::string& source, const std::string& db_path,
                                       int64_t now_ms) {
  if (!fs::is_regular_file(source)) return Error{"no backup file at " + source};
  std::string dir = dir_of(db_path);
  if (!fs::is_directory(dir)) return Error{"the database directory " + dir + " does not exist"};
  if (fs::exists(source + "-wal")) {
    return Error{source +
                 " has a -wal file beside it: it is a live database, not a backup (make one "
                 "with `churn-saver backup FILE`)"};
  }

  // 1. Validate a private copy, before anything else is touched.
  std::string tmp = db_path + ".restore-" + crypto::random_hex(4);
  std::error_code ec;
  fs::copy_file(source, tmp, ec);
  if (ec) return Error{"cannot copy " + source + ": " + ec.message()};
  ::chmod(tmp.c_str(), 0600);
  auto valid = validate_database_file(tmp);
  if (!valid) {
    remove_quietly(tmp);
    return Error{source + " cannot be restored: " + valid.error()};
  }
  fs::remove(tmp + "-wal", ec);
  fs::remove(tmp + "-shm", ec);
  sync_path(tmp, false);

  // 2. Refuse while serve runs.
  auto lock = DatabaseLock::acquire(db_path);
  if (!lock) {
    remove_quietly(tmp);
    return Error{"not restoring: " + lock.error()};
  }

  // 3. Keep what is there now (with its WAL, which may hold its newest commits).
  RestoreResult r;
  r.schema_version = *valid;
  struct stat old {};
  bool had_old = ::stat(db_path.c_str(), &old) == 0;
  if (had_old) {
    r.previous = db_path + ".before-restore-" + compact_utc(now_ms);
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::string from = db_path + suffix;
      if (fs::exists(from) && ::rename(from.c_str(), (r.previous + suffix).c_str()) != 0) {
        int err = errno;
        remove_quietly(tmp);
        return Error{"cannot move " + from + " aside: " + std::strerror(err)};
      }
    }
  } else {
    ::stat(dir.c_str(), &old);
  }

  // 4. Move the validated copy into place, owned like the database it replaces.
  if (::geteuid() == 0) {
    if (::chown(tmp.c_str(), old.st_uid, old.st_gid) != 0) {
      // Not fatal: the operator sees the owner in the message below if serve cannot open it.
    }
  }
  if (::rename(tmp.c_str(), db_path.c_str()) != 0) {
    int err = errno;
    return Error{"cannot move the restored database into place: " +
                 std::string(std::strerror(err)) + " (the validated copy is " + tmp + ")"};
  }
  sync_path(dir, true);
  return r;
}

}  // namespace cs::app
