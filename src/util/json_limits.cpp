#include "util/json_limits.h"

namespace cs {
namespace {
struct TooDeep {};
}  // namespace

Result<nlohmann::json> parse_json_limited(std::string_view text, int max_depth) {
  using nlohmann::json;
  json::parser_callback_t cb = [max_depth](int depth, json::parse_event_t event, json&) {
    if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) &&
        depth >= max_depth) {
      throw TooDeep{};
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), cb);
  } catch (const TooDeep&) {
    return Error{"JSON nested deeper than " + std::to_string(max_depth) + " levels"};
  } catch (const json::parse_error& e) {
    return Error{"invalid JSON (at byte " + std::to_string(e.byte) + ")"};
  }
}

}  // namespace cs
