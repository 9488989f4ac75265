#include "view/format.h"

#include <cstdio>
#include <ctime>

#include "domain/currency.h"
#include "domain/money.h"

namespace cs::view {
namespace {

std::tm utc(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}

std::string plural(int64_t n, const char* unit) {
  return std::to_string(n) + " " + unit + (n == 1 ? "" : "s");
}

}  // namespace

std::string datetime(int64_t ms) {
  std::tm tm = utc(ms);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

std::string datetime(const std::optional<int64_t>& ms) {
  return ms ? datetime(*ms) : "";
}

std::string short_date(int64_t ms) {
  std::tm tm = utc(ms);
  char buf[16];
  std::strftime(buf, sizeof buf, "%b %d", &tm);
  return buf;
}

std::string duration(int64_t ms) {
  if (ms < 0) ms = -ms;
  int64_t min = ms / 60000;
  if (min < 1) return "under a minute";
  if (min < 60) return plural(min, "minute");
  int64_t h = min / 60;
  if (h < 24) return plural(h, "hour");
  int64_t d = h / 24;
  h %= 24;
  return h == 0 || d >= 7 ? plural(d, "day") : plural(d, "day") + " " + plural(h, "hour");
}

std::string relative(int64_t ms, int64_t now) {
  int64_t diff = now - ms;
  if (diff >= -60000 && diff < 60000) return "just now";
  return diff > 0 ? duration(diff) + " ago" : "in " + duration(diff);
}

std::string money(int64_t minor, const std::string& currency) {
  return domain::format_money(minor, currency);
}

std::string currency_code(const std::string& currency) {
  if (currency.empty()) return "no currency";
  std::string code = currency;
  for (char& c : code) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  if (domain::is_known_currency(currency)) return code;
  return code + " (not an ISO 4217 code, read with " + std::to_string(domain::kAssumedExponent) +
         " decimals)";
}

std::string capitalize(const std::string& s) {
  if (s.empty()) return s;
  std::string out = s;
  if (out[0] >= 'a' && out[0] <= 'z') out[0] = static_cast<char>(out[0] - 'a' + 'A');
  for (auto& c : out) {
    if (c == '_') c = ' ';
  }
  return out;
}

std::string count(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  int k = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it, ++k) {
    if (k > 0 && k % 3 == 0) out.insert(out.begin(), ',');
    out.insert(out.begin(), *it);
  }
  return n < 0 ? "-" + out : out;
}

}  // namespace cs::view
