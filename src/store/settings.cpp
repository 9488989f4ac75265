#include "store/settings.h"

#include <SQLiteCpp/Statement.h>

#include <nlohmann/json.hpp>
#include "store/statements.h"

namespace cs::store {

std::optional<std::string> find_kv(SQLite::Database& db, const char* table,
                                   const std::string& key) {
  auto q = prepare(db, std::string("SELECT value FROM ") + table + " WHERE key = ?");
  q->bind(1, key);
  if (!q->executeStep()) return std::nullopt;
  return q->getColumn(0).getString();
}

void save_kv(SQLite::Database& db, const char* table, const std::string& key,
             const std::string& value, int64_t now) {
  auto q = prepare(db, std::string("INSERT INTO ") + table +
                           " (key, value, updated_at) VALUES (?,?,?) "
                           "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
                           "updated_at = excluded.updated_at");
  q->bind(1, key);
  q->bind(2, value);
  q->bind(3, now);
  q->exec();
}

std::optional<std::string> find_setting(SQLite::Database& db, const std::string& key) {
  return find_kv(db, "settings", key);
}

void save_setting(SQLite::Database& db, const std::string& key, const std::string& value,
                  int64_t now) {
  save_kv(db, "settings", key, value, now);
}

std::map<std::string, std::string> list_settings(SQLite::Database& db) {
  std::map<std::string, std::string> out;
  auto q = prepare(db, "SELECT key, value FROM settings");
  while (q->executeStep()) out[q->getColumn(0).getString()] = q->getColumn(1).getString();
  return out;
}

domain::RecoverySettings find_recovery_settings(SQLite::Database& db,
                                                const domain::RecoverySettings& defaults) {
  auto stored = find_setting(db, "recovery");
  nlohmann::json merged = domain::to_json(defaults);
  if (stored) {
    auto j = nlohmann::json::parse(*stored, nullptr, false);
    if (j.is_object()) {
      domain::upgrade_legacy_copy(j);  // saved before copy per step: keep what the creator wrote
      for (auto it = j.begin(); it != j.end(); ++it) merged[it.key()] = it.value();
    }
  }
  return domain::settings_from_json(merged);
}

void save_recovery_settings(SQLite::Database& db, const domain::RecoverySettings& s, int64_t now) {
  save_setting(db, "recovery", domain::to_json(s).dump(), now);
}

}  // namespace cs::store
