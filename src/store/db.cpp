#include "store/db.h"

#include <SQLiteCpp/Statement.h>
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

}  // namespace

std::unique_ptr<SQLite::Database> open_connection(const std::string& path, ConnectionRole role) {
  int flags = SQLite::OPEN_READWRITE | SQLite::OPEN_FULLMUTEX;
  if (role == ConnectionRole::Writer) flags |= SQLite::OPEN_CREATE;
  auto db = std::make_unique<SQLite::Database>(path, flags);
  db->exec("PRAGMA busy_timeout = 5000");
  db->exec("PRAGMA journal_mode = WAL");
  if (role == ConnectionRole::Writer) {
    db->exec("PRAGMA synchronous = FULL");
  } else {
    db->exec("PRAGMA synchronous = NORMAL");
  }
  db->exec("PRAGMA foreign_keys = ON");
  if (role == ConnectionRole::Reader) db->exec("PRAGMA query_only = ON");
  db->createFunction("net_recovered_cents", 3, true, nullptr, sql_net_recovered);
  return db;
}

Status quick_check(SQLite::Database& db) {
  SQLite::Statement q(db, "PRAGMA quick_check");
  std::string first;
  while (q.executeStep()) {
    std::string row = q.getColumn(0).getString();
    if (row == "ok") return Ok{};
    if (first.empty()) first = row;
  }
  return Error{
      "database integrity check failed (" + first +
      "); stop the service and restore the last good backup with `churn-saver restore FILE`"};
}

ReadPool::ReadPool(const std::string& path, size_t size) {
  for (size_t i = 0; i < size; ++i) {
    free_.push_back(open_connection(path, ConnectionRole::Reader));
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
