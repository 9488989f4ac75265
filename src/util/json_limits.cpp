#include "util/json_limits.h"

namespace cs {
namespace {

/// True when `text` nests arrays/objects deeper than `max_depth`, counting only brackets outside
/// strings. A cheap byte scan, so the real parse can run without a per-token callback.
bool nests_deeper_than(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

}  // namespace

Result<nlohmann::json> parse_json_limited(std::string_view text, int max_depth) {
  if (nests_deeper_than(text, max_depth)) {
    return Error{"JSON nested deeper than " + std::to_string(max_depth) + " levels"};
  }
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    return Error{"invalid JSON (at byte " + std::to_string(e.byte) + ")"};
  } catch (const nlohmann::json::exception&) {
    // out_of_range: a number too large for a double (1e400). Found by tests/fuzz/fuzz_event.
    return Error{"invalid JSON (a number is out of range)"};
  }
}

}  // namespace cs
