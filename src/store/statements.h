#pragma once
// Prepared statements kept per long-lived connection (the writer and the read pool), so hot paths
// do not re-prepare their SQL on every call. Connections opt in with enable_statement_cache() and
// must call forget_statements() before they are closed (a cached statement keeps its connection
// open). On any other connection prepare() simply prepares a fresh statement.
#include <memory>
#include <string>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

namespace cs::store {

/// A statement to bind and run; a cached one is reset and its bindings cleared on destruction.
class Stmt {
 public:
  Stmt(SQLite::Statement* cached, std::unique_ptr<SQLite::Statement> owned)
      : owned_(std::move(owned)), s_(cached ? cached : owned_.get()) {}
  Stmt(Stmt&& o) noexcept : owned_(std::move(o.owned_)), s_(o.s_) { o.s_ = nullptr; }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt();
  SQLite::Statement& operator*() { return *s_; }
  SQLite::Statement* operator->() { return s_; }

 private:
  std::unique_ptr<SQLite::Statement> owned_;
  SQLite::Statement* s_;
};

/// The prepared statement for `sql` on `db` (cached when the connection opted in).
Stmt prepare(SQLite::Database& db, const std::string& sql);
void enable_statement_cache(SQLite::Database& db);
/// Finalizes and drops every cached statement of `db`.
void forget_statements(SQLite::Database& db);

}  // namespace cs::store
