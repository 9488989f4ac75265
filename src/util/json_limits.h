#pragma once
// Parsing JSON from outside: size is bounded by the caller, nesting depth here (SECURITY.md:
// nlohmann/json recurses when copying or dumping deep documents).
#include <string_view>

#include <nlohmann/json.hpp>

#include "util/result.h"

namespace cs {

constexpr int kMaxJsonDepth = 64;

/// Parses `text`; Error with a short reason when it is not valid JSON or nests deeper than
/// `max_depth` arrays/objects.
Result<nlohmann::json> parse_json_limited(std::string_view text, int max_depth = kMaxJsonDepth);

/// True when `text` is valid JSON within the plain subset that sax_parse_limited scans itself
/// (ASCII strings without escapes, integers of up to 18 digits, decimals without an exponent, at
/// most `max_depth` levels); false sends a text to nlohmann's parser.
bool plain_json(std::string_view text, int max_depth = kMaxJsonDepth);

/// Runs the SAX handler `sax` over `text` with the same limits, and the same error for the same
/// input, as parse_json_limited, without building a document. The handler's parse_error is not
/// called (the error is returned instead). A plain_json text is scanned here, giving the handler
/// the very events nlohmann's parser would; any other text goes to nlohmann's parser.
Status sax_parse_limited(std::string_view text, nlohmann::json_sax<nlohmann::json>& sax,
                         int max_depth = kMaxJsonDepth);

}  // namespace cs
