#pragma once
// Creator settings as key/value rows.
#include <map>
#include <optional>
#include <string>

#include <SQLiteCpp/Database.h>

#include "domain/settings.h"

namespace cs::store {

/// The key/value tables (`settings`, `engine_state`: key, value, updated_at). `table` is one of
/// those names, never input.
std::optional<std::string> find_kv(SQLite::Database& db, const char* table, const std::string& key);
void save_kv(SQLite::Database& db, const char* table, const std::string& key,
             const std::string& value, int64_t now);

std::optional<std::string> find_setting(SQLite::Database& db, const std::string& key);
void save_setting(SQLite::Database& db, const std::string& key, const std::string& value,
                  int64_t now);
std::map<std::string, std::string> list_settings(SQLite::Database& db);

/// The creator's recovery settings: stored values over `defaults` (built from the configuration).
domain::RecoverySettings find_recovery_settings(SQLite::Database& db,
                                                const domain::RecoverySettings& defaults);
void save_recovery_settings(SQLite::Database& db, const domain::RecoverySettings& s, int64_t now);

}  // namespace cs::store
