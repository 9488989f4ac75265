#include "store/statements.h"

#include <mutex>
#include <unordered_map>

namespace cs::store {
namespace {

struct Registry {
  std::mutex mu;
  // connection handle -> sql -> statement. Only the thread that uses a connection touches its
  // statements; the mutex guards the maps.
  std::unordered_map<const void*,
                     std::unordered_map<std::string, std::unique_ptr<SQLite::Statement>>>
      by_connection;
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

Stmt::~Stmt() {
  if (s_ && !owned_) {
    try {
      s_->reset();
      s_->clearBindings();
    } catch (...) {
    }
  }
}

Stmt prepare(SQLite::Database& db, const std::string& sql) {
  auto& r = registry();
  {
    std::lock_guard<std::mutex> lock(r.mu);
    auto conn = r.by_connection.find(db.getHandle());
    if (conn != r.by_connection.end()) {
      auto& slot = conn->second[sql];
      if (!slot) slot = std::make_unique<SQLite::Statement>(db, sql);
      return Stmt(slot.get(), nullptr);
    }
  }
  return Stmt(nullptr, std::make_unique<SQLite::Statement>(db, sql));
}

void enable_statement_cache(SQLite::Database& db) {
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.by_connection[db.getHandle()];
}

void forget_statements(SQLite::Database& db) {
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.by_connection.erase(db.getHandle());
}

}  // namespace cs::store
