#pragma once
// ISO-8601 <-> unix milliseconds (UTC). Pure functions.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cs::domain {

/// Parses an ISO-8601 date-time such as "2026-11-20T23:09:16.752Z", "2026-11-20T23:09:16Z",
/// "2026-11-20T23:09:16.752+02:00" or "2026-11-20T23:09:16" (taken as UTC). Fractions of a second
/// beyond milliseconds are truncated. nullopt when the text is not such a date-time.
std::optional<int64_t> parse_iso8601_ms(std::string_view text);
/// Formats unix ms as "YYYY-MM-DDTHH:MM:SS.mmmZ".
std::string format_iso8601_ms(int64_t ms);

}  // namespace cs::domain
