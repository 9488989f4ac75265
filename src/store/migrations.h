#pragma once
// Numbered schema migrations, embedded from schema/NNNN_name.{up,down}.sql. Each step runs in one
// transaction together with its `PRAGMA user_version` bump.
#include <string>
#include <string_view>
#include <vector>

#include <SQLiteCpp/Database.h>

#include "util/result.h"

namespace cs::store {

struct Migration {
  int version = 0;
  std::string name;  // "0001_init"
  std::string_view up;
  std::string_view down;
};

/// All embedded migrations, ordered by version (1, 2, ...; no gaps).
const std::vector<Migration>& migrations();
/// The schema version this binary knows (the highest migration).
int binary_schema_version();
/// The database's `PRAGMA user_version`.
int schema_version(SQLite::Database& db);

/// Error when the database was migrated by a newer binary: the message names both versions.
Status check_not_newer(SQLite::Database& db);
/// Applies every pending up migration. Refuses a newer database.
Status migrate_up(SQLite::Database& db);
/// Applies `steps` down migrations from the current version (at most down to 0).
Status migrate_down(SQLite::Database& db, int steps);
/// Checks that the database's schema is exactly what the migrations up to its version produce
/// (tables, indexes and their SQL). Error listing the differences.
Status verify_schema(SQLite::Database& db);

}  // namespace cs::store
