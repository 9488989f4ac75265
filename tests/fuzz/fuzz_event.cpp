// The JSON depth pre-scan (src/util/json_limits.cpp) and the Whop event mapper
// (src/domain/event.cpp) on hostile bodies. Invariants: nothing crashes or recurses without
// bound; whatever parses is shallow enough to copy and dump; the mapper never throws.
#include <cstdint>
#include <string_view>

#include "domain/event.h"
#include "fuzz/fuzz.h"
#include "util/json_limits.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = cs::parse_json_limited(text, 8);
  if (!parsed) return 0;
  nlohmann::json copy = *parsed;  // copying recurses: bounded by the depth limit
  (void)copy.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  auto event = cs::domain::map_whop_event(*parsed);
  if (event) {
    cs::fuzz::check(!event->type.empty(), "mapped an event without a type");
    for (char c : event->currency) {
      cs::fuzz::check(!(c >= 'A' && c <= 'Z'), "currency not lower-cased");
    }
  }
  return 0;
}
