#include "store/db.h"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <sqlite3.h>

#include "domain/case_state.h"
#include "store/statements.h"

namespace cs::store {
namespace {

/// SQL net_recovered_cents(status, recovered_cents, refunded_cents): domain::net_recovered_cents
/// for queries that sum it, so the rule is written once.
void sql_net_recovered(sqlite3_context* ctx, int, sqlite3_value** argv) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
  auto status = domain::status_from_name(text ? text : "");
  sqlite3_result_int64(ctx, status
                                ? domain::net_recovered_cents(*status, sqlite3_value_int64(argv[1]),
                                                              sqlite3_value_int64(argv[2]))
                                : 0);
}

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

/// `path` as an SQLite URI path (the characters a URI gives meaning to are %-escaped).
std::string uri_path(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (c == '%' || c == '?' || c == '#') {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

std::unique_ptr<SQLite::Database> open_read_only(const std::string& path) {
  auto setup = [](SQLite::Database& db) {
    db.exec("PRAGMA busy_timeout = 5000");
    db.exec("PRAGMA query_only = ON");
    prepare(db, "SELECT count(*) FROM sqlite_master")->executeStep();  // opens the file
  };
  try {
    auto db =
        std::make_unique<SQLite::Database>(path, SQLite::OPEN_READONLY | SQLite::OPEN_FULLMUTEX);
    setup(*db);
    return db;
  } catch (const SQLite::Exception&) {
    // A WAL database in a read-only directory without its -shm file: nothing can change it
    // while the filesystem stays read-only, so it is read as immutable (no locks, no -shm).
    auto db = std::make_unique<SQLite::Database>(
        "file:" + uri_path(path) + "?immutable=1",
        SQLite::OPEN_READONLY | SQLite::OPEN_FULLMUTEX | SQLite::OPEN_URI);
    setup(*db);
    return db;
  }
}

}  // namespace

std::string read_only_cause(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "";
  auto denied = [](const std::string& p) -> std::string {
    if (::access(p.c_str(), W_OK) == 0) return "";
    return std::strerror(errno);
  };
  struct statvfs vfs {};
  if (::statvfs(path.c_str(), &vfs) == 0 && (vfs.f_flag & ST_RDONLY)) {
    return "the filesystem it is on is mounted read-only";
  }
  if (auto e = denied(path); !e.empty()) return "the file cannot be written (" + e + ")";
  if (auto e = denied(dir_of(path)); !e.empty()) {
    return "its directory cannot be written (" + e +
           "); SQLite creates the -wal and -shm files there";
  }
  for (const char* suffix : {"-wal", "-shm"}) {
    std::string side = path + suffix;
    if (::stat(side.c_str(), &st) != 0) continue;
    if (auto e = denied(side); !e.empty()) {
      return std::string("the ") + suffix + " file beside it cannot be written (" + e + ")";
    }
  }
  return "";
}

std::unique_ptr<SQLite::Database> open_connection(const std::string& path, ConnectionRole role) {
  if (role == ConnectionRole::ReadOnly) {
    auto db = open_read_only(path);
    db->createFunction("net_recovered_cents", 3, true, nullptr, sql_net_recovered);
    return db;
  }
  int flags = SQLite::OPEN_READWRITE | SQLite::OPEN_FULLMUTEX;
  // The writer connection is used by one thread at a time (the writer's, or its opener's before
  // the writer starts): no mutex around every SQLite call.
  if (role == ConnectionRole::Writer) flags = SQLite::OPEN_READWRITE | SQLite::OPEN_NOMUTEX;
  if (role == ConnectionRole::Writer) flags |= SQLite::OPEN_CREATE;
  auto db = std::make_unique<SQLite::Database>(path, flags);
  db->exec("PRAGMA busy_timeout = 5000");
  db->exec("PRAGMA journal_mode = WAL");
  if (role == ConnectionRole::Writer) {
    db->exec("PRAGMA synchronous = FULL");
    // Processing reads each membership's events and cases: an 8 MiB page cache (SQLite's
    // default is 2 MiB) keeps the hot pages instead of copying them from the OS on every read.
    db->exec("PRAGMA cache_size = -8192");
  } else {
    db->exec("PRAGMA synchronous = NORMAL");
  }
  db->exec("PRAGMA foreign_keys = ON");
  if (role == ConnectionRole::Reader) db->exec("PRAGMA query_only = ON");
  db->createFunction("net_recovered_cents", 3, true, nullptr, sql_net_recovered);
  return db;
}

bool wal_left_behind(const std::string& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path + "-wal", ec);
  return !ec && size > 0;
}

Status quick_check(SQLite::Database& db) {
  auto q = prepare(db, "PRAGMA quick_check");
  std::string first;
  while (q->executeStep()) {
    std::string row = q->getColumn(0).getString();
    if (row == "ok") return Ok{};
    if (first.empty()) first = row;
  }
  return Error{
      "database integrity check failed (" + first +
      "); stop the service and restore the last good backup with `churn-saver restore FILE`"};
}

ReadPool::ReadPool(const std::string& path, size_t size, ConnectionRole role) {
  for (size_t i = 0; i < size; ++i) {
    free_.push_back(open_connection(path, role));
    enable_statement_cache(*free_.back());
  }
}

ReadPool::~ReadPool() {
  // Every lease has been returned by now (leases never outlive the pool's owner).
  for (auto& db : free_) forget_statements(*db);
}

ReadPool::Lease ReadPool::lease() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !free_.empty(); });
  auto db = std::move(free_.back());
  free_.pop_back();
  return Lease(this, std::move(db));
}

void ReadPool::give_back(std::unique_ptr<SQLite::Database> db) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(std::move(db));
  }
  cv_.notify_one();
}

ReadPool::Lease::~Lease() {
  if (db_ && pool_) pool_->give_back(std::move(db_));
}

void overwrite_deleted_bytes(SQLite::Database& db) {
  db.exec("PRAGMA secure_delete = ON");
}

void vacuum(SQLite::Database& db) {
  db.exec("VACUUM");
}

void use_rollback_journal(SQLite::Database& db) {
  db.exec("PRAGMA journal_mode = DELETE");
}

}  // namespace cs::store
