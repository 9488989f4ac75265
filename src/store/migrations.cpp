#include "store/migrations.h"

#include <algorithm>
#include <map>
#include <regex>

#include <SQLiteCpp/Transaction.h>

#include "store/statements.h"
#include "util/embedded.h"

namespace cs::store {
namespace {

std::vector<Migration> load_migrations() {
  std::map<int, Migration> by_version;
  static const std::regex name_re(R"(^schema/((\d{4})_[a-z0-9_]+)\.(up|down)\.sql$)");
  for (const auto& [path, text] : embedded::files()) {
    std::string p(path);
    std::smatch m;
    if (!std::regex_match(p, m, name_re)) continue;
    int version = std::stoi(m[2].str());
    Migration& mig = by_version[version];
    mig.version = version;
    mig.name = m[1].str();
    (m[3].str() == "up" ? mig.up : mig.down) = text;
  }
  std::vector<Migration> out;
  for (auto& [v, mig] : by_version) out.push_back(mig);
  return out;
}

void set_user_version(SQLite::Database& db, int v) {
  db.exec("PRAGMA user_version = " + std::to_string(v));
}

/// name -> normalised SQL of every table and index (not sqlite internals).
std::map<std::string, std::string> schema_objects(SQLite::Database& db) {
  std::map<std::string, std::string> out;
  auto q = prepare(db,
                   "SELECT type || ' ' || name, sql FROM sqlite_master "
                   "WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'");
  static const std::regex ws(R"(\s+)");
  while (q->executeStep()) {
    out[q->getColumn(0).getString()] = std::regex_replace(q->getColumn(1).getString(), ws, " ");
  }
  return out;
}

}  // namespace

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> all = load_migrations();
  return all;
}

int binary_schema_version() {
  return migrations().empty() ? 0 : migrations().back().version;
}

int schema_version(SQLite::Database& db) {
  return db.execAndGet("PRAGMA user_version").getInt();
}

Status check_not_newer(SQLite::Database& db) {
  int have = schema_version(db);
  if (have > binary_schema_version()) {
    return Error{
        "the database " + db.getFilename() + " has schema version " + std::to_string(have) +
        ", newer than this churn-saver " CHURN_SAVER_VERSION " knows (schema version " +
        std::to_string(binary_schema_version()) +
        "); install the newer churn-saver again, or restore a backup made by this version"};
  }
  return Ok{};
}

Status migrate_up(SQLite::Database& db) {
  if (auto st = check_not_newer(db); !st) return st;
  int have = schema_version(db);
  for (const auto& m : migrations()) {
    if (m.version <= have) continue;
    try {
      SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
      db.exec(std::string(m.up));
      set_user_version(db, m.version);
      tx.commit();
    } catch (const std::exception& e) {
      return Error{"migration " + m.name + " failed: " + e.what()};
    }
  }
  return Ok{};
}

Status migrate_down(SQLite::Database& db, int steps) {
  if (auto st = check_not_newer(db); !st) return st;
  int have = schema_version(db);
  for (int i = 0; i < steps && have > 0; ++i, --have) {
    const auto& m = migrations()[static_cast<size_t>(have - 1)];
    try {
      SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
      db.exec(std::string(m.down));
      set_user_version(db, m.version - 1);
      tx.commit();
    } catch (const std::exception& e) {
      return Error{"down migration " + m.name + " failed: " + e.what()};
    }
  }
  return Ok{};
}

Status verify_schema(SQLite::Database& db) {
  if (auto st = check_not_newer(db); !st) return st;
  int have = schema_version(db);
  SQLite::Database ref(":memory:", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  for (const auto& m : migrations()) {
    if (m.version > have) break;
    ref.exec(std::string(m.up));
  }
  auto want = schema_objects(ref);
  auto got = schema_objects(db);
  std::string diff;
  for (const auto& [name, sql] : want) {
    auto it = got.find(name);
    if (it == got.end()) {
      diff += "missing " + name + "; ";
    } else if (it->second != sql) {
      diff += "changed " + name + "; ";
    }
  }
  for (const auto& [name, sql] : got) {
    if (!want.count(name)) diff += "unexpected " + name + "; ";
  }
  if (!diff.empty())
    return Error{"schema differs from version " + std::to_string(have) + ": " + diff};
  return Ok{};
}

}  // namespace cs::store
