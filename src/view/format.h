#pragma once
// How the dashboard writes times, money and states for people.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "util/tz.h"

namespace cs::view {

/// The time zone every time below is written in, for the current thread (one request is served
/// on one thread): UTC unless a ZoneScope is alive. Never a process-wide TZ.
const tz::Zone& display_zone();
/// Sets the display zone of this thread for its lifetime (the dashboard sets the creator's
/// time zone around each request).
class ZoneScope {
 public:
  explicit ZoneScope(std::shared_ptr<const tz::Zone> zone);
  ~ZoneScope();
  ZoneScope(const ZoneScope&) = delete;
  ZoneScope& operator=(const ZoneScope&) = delete;

 private:
  std::shared_ptr<const tz::Zone> previous_;
};

/// "2026-11-20 23:09 UTC", "2026-11-20 18:09 EST" (display_zone()).
std::string datetime(int64_t ms);
/// "" for nullopt, else datetime().
std::string datetime(const std::optional<int64_t>& ms);
/// "Nov 20".
std::string short_date(int64_t ms);
/// "3 h ago", "in 2 days", "just now" relative to `now`.
std::string relative(int64_t ms, int64_t now);
/// "2 days 4 h" for a duration.
std::string duration(int64_t ms);
/// "$1,202.47", "¥1,000", "KWD 12.345": the currency's own decimals (domain::format_money).
std::string money(int64_t minor, const std::string& currency);
/// "USD" for "usd"; "XYZ (not an ISO 4217 code, read with 2 decimals)" for a code outside the
/// ISO table; "no currency" when the sender named none.
std::string currency_code(const std::string& currency);
/// "recovered" -> "Recovered".
std::string capitalize(const std::string& s);
/// "12,345".
std::string count(int64_t n);

}  // namespace cs::view

namespace cs::view {

/// `text` HTML-escaped, line breaks as <br>: how a push notification shows plain text.
std::string text_html(const std::string& text);
/// The markdown subset a Whop DM shows, as safe HTML: **bold**, *italic* / _italic_,
/// [links](https://...) and bare http(s) links, line breaks; everything else is escaped text.
std::string markdown_html(const std::string& text);

}  // namespace cs::view
