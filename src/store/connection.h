#pragma once
// The Whop connection entered on the dashboard's settings page: API key, webhook secrets, company
// id, experience id and public URL. Stored as one settings row ("whop_connection") whose value is
// the JSON sealed with AES-256-GCM (crypto::seal, bound to the row), so secrets are never at rest
// in plaintext. A field that is not stored falls back to the configuration.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <SQLiteCpp/Database.h>

#include "util/crypto.h"
#include "util/result.h"

namespace cs::store {

struct ConnectionSettings {
  std::string api_key;
  std::vector<std::string> webhook_secrets;
  std::string company_id;
  std::string experience_id;
  std::string public_url;
};

/// What the dashboard stored; a field is nullopt when it was never set there.
struct StoredConnection {
  std::optional<std::string> api_key;
  std::optional<std::vector<std::string>> webhook_secrets;
  std::optional<std::string> company_id;
  std::optional<std::string> experience_id;
  std::optional<std::string> public_url;
};

/// Reads and opens the stored connection. Error when the row cannot be opened with `keys`
/// (keyring lost or replaced); no row gives an empty StoredConnection.
Result<StoredConnection> find_connection(SQLite::Database& db, const crypto::Keyring& keys);
/// Seals and stores `c` (fields left nullopt are not stored).
void save_connection(SQLite::Database& db, const crypto::Keyring& keys, const StoredConnection& c,
                     int64_t now);
/// The stored values over `base` (the configuration's).
ConnectionSettings merge_connection(const ConnectionSettings& base, const StoredConnection& c);

}  // namespace cs::store
