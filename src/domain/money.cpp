#include "domain/money.h"

#include <cctype>
#include <cmath>
#include <limits>

namespace cs::domain {
namespace {

/// Lower-cases ASCII letters; currency codes are ASCII.
std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string ascii_upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

/// The symbol written before the amount for the currencies that have a well-known one, else "".
std::string_view currency_symbol(std::string_view lower_code) {
  if (lower_code == "usd") return "$";
  if (lower_code == "eur") return "\u20ac";
  if (lower_code == "gbp") return "\u00a3";
  return "";
}

}  // namespace

int64_t major_to_cents(double major) {
  // llround is undefined for NaN and values beyond int64: those are not money, and saturating
  // (NaN -> 0) keeps the function total instead of invoking undefined behaviour.
  const double scaled = major * 100.0;
  if (std::isnan(scaled)) return 0;
  constexpr double kLimit = 9.2e18;  // just inside the int64 range
  if (scaled >= kLimit) return std::numeric_limits<int64_t>::max();
  if (scaled <= -kLimit) return std::numeric_limits<int64_t>::min();
  return std::llround(scaled);
}

std::string cents_to_decimal(int64_t cents) {
  // Work on the magnitude as unsigned so that INT64_MIN has no overflow.
  const bool negative = cents < 0;
  const uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(cents) : cents;
  const uint64_t fraction = magnitude % 100;
  std::string out = negative ? "-" : "";
  out += std::to_string(magnitude / 100);
  out += '.';
  out += static_cast<char>('0' + fraction / 10);
  out += static_cast<char>('0' + fraction % 10);
  return out;
}

std::string format_money(int64_t cents, std::string_view currency) {
  // The sign goes before the symbol ("-$5.00"); an empty currency gives the bare amount.
  const std::string lower = ascii_lower(currency);
  const std::string_view symbol = currency_symbol(lower);
  if (symbol.empty()) {
    std::string out = cents_to_decimal(cents);
    if (!currency.empty()) out += " " + ascii_upper(currency);
    return out;
  }
  std::string out = cents_to_decimal(cents);
  const bool negative = !out.empty() && out.front() == '-';
  if (negative) out.erase(0, 1);
  return (negative ? "-" : "") + std::string(symbol) + out;
}

}  // namespace cs::domain
