#include "store/connection.h"

#include <nlohmann/json.hpp>

#include "store/settings.h"

namespace cs::store {
namespace {

constexpr const char* kKey = "whop_connection";
constexpr const char* kAad = "settings.value:whop_connection";

}  // namespace

Result<StoredConnection> find_connection(SQLite::Database& db, const crypto::Keyring& keys) {
  StoredConnection c;
  auto row = find_setting(db, kKey);
  if (!row) return c;
  auto blob = crypto::base64_decode(*row);
  if (!blob) return Error{"the stored Whop connection is not readable"};
  auto plain = crypto::open(keys, *blob, kAad);
  if (!plain) return Error{"the stored Whop connection cannot be decrypted: " + plain.error()};
  auto j = nlohmann::json::parse(*plain, nullptr, false);
  if (!j.is_object()) return Error{"the stored Whop connection is not valid JSON"};
  auto str = [&](const char* k, std::optional<std::string>& dst) {
    if (j.contains(k) && j[k].is_string()) dst = j[k].get<std::string>();
  };
  str("api_key", c.api_key);
  str("company_id", c.company_id);
  str("experience_id", c.experience_id);
  str("public_url", c.public_url);
  if (j.contains("webhook_secrets") && j["webhook_secrets"].is_array()) {
    std::vector<std::string> v;
    for (const auto& s : j["webhook_secrets"]) {
      if (s.is_string()) v.push_back(s.get<std::string>());
    }
    c.webhook_secrets = v;
  }
  return c;
}

void save_connection(SQLite::Database& db, const crypto::Keyring& keys, const StoredConnection& c,
                     int64_t now) {
  nlohmann::json j = nlohmann::json::object();
  if (c.api_key) j["api_key"] = *c.api_key;
  if (c.webhook_secrets) j["webhook_secrets"] = *c.webhook_secrets;
  if (c.company_id) j["company_id"] = *c.company_id;
  if (c.experience_id) j["experience_id"] = *c.experience_id;
  if (c.public_url) j["public_url"] = *c.public_url;
  save_setting(db, kKey, crypto::base64_encode(crypto::seal(keys.current(), j.dump(), kAad)), now);
}

ConnectionSettings merge_connection(const ConnectionSettings& base, const StoredConnection& c) {
  ConnectionSettings out = base;
  if (c.api_key) out.api_key = *c.api_key;
  if (c.webhook_secrets) out.webhook_secrets = *c.webhook_secrets;
  if (c.company_id) out.company_id = *c.company_id;
  if (c.experience_id) out.experience_id = *c.experience_id;
  if (c.public_url) out.public_url = *c.public_url;
  return out;
}

}  // namespace cs::store
