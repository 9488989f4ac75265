#include "service/context.h"

#include "store/cases.h"

namespace cs::service {

void audit(SQLite::Database& db, int64_t now, const std::string& type, const std::string& outcome,
           const std::string& metadata) {
  store::save_action(db, {"", now, type, "", std::nullopt, kActorAdmin, outcome, metadata});
}

}  // namespace cs::service
