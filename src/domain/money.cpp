#include "domain/money.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>

#include "domain/currency.h"

namespace cs::domain {
namespace {

constexpr int kMaxDigits = 5;  // 1e13 major units in minor units must fit int64 comfortably

uint64_t pow10(int n) {
  uint64_t p = 1;
  for (int i = 0; i < n; ++i) p *= 10;
  return p;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

/// Parses the run of digits from `i`; false when there is none.
bool digits_from(std::string_view s, size_t& i, std::string& out) {
  const size_t start = i;
  while (i < s.size() && is_digit(s[i])) out += s[i++];
  return i > start;
}

/// "12345" -> "12,345".
std::string group_thousands(const std::string& digits) {
  std::string out;
  const size_t n = digits.size();
  for (size_t i = 0; i < n; ++i) {
    if (i > 0 && (n - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

bool is_alpha_code(std::string_view code) {
  return code.size() == 3 && std::all_of(code.begin(), code.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
         });
}

std::string ascii_upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

/// Splits |minor| into whole major units and the zero-padded fraction of `digits` decimals.
std::pair<std::string, std::string> split_minor(int64_t minor, int digits) {
  // Work on the magnitude as unsigned so that INT64_MIN has no overflow.
  const uint64_t magnitude = minor < 0 ? 0 - static_cast<uint64_t>(minor) : minor;
  const uint64_t scale = pow10(digits);
  std::string fraction = std::to_string(magnitude % scale);
  if (digits == 0) fraction.clear();
  fraction.insert(0, static_cast<size_t>(digits) - fraction.size(), '0');
  return {std::to_string(magnitude / scale), fraction};
}

}  // namespace

std::string format_count(int64_t n) {
  const std::string digits =
      std::to_string(n < 0 ? -static_cast<uint64_t>(n) : static_cast<uint64_t>(n));
  return (n < 0 ? "-" : "") + group_thousands(digits);
}

std::optional<int64_t> parse_major_amount(std::string_view text, int digits) {
  digits = std::clamp(digits, 0, kMaxDigits);
  // The JSON number grammar: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
  size_t i = 0;
  const bool negative = i < text.size() && text[i] == '-';
  if (negative) ++i;
  std::string mantissa;  // integer and fraction digits, the point removed
  const size_t int_start = i;
  if (!digits_from(text, i, mantissa)) return std::nullopt;
  if (text[int_start] == '0' && i - int_start > 1) return std::nullopt;  // leading zero
  int64_t exponent = 0;  // value = mantissa * 10^exponent
  if (i < text.size() && text[i] == '.') {
    ++i;
    const size_t before = mantissa.size();
    if (!digits_from(text, i, mantissa)) return std::nullopt;
    exponent -= static_cast<int64_t>(mantissa.size() - before);
  }
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool exp_negative = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) exp_negative = text[i++] == '-';
    std::string exp_digits;
    if (!digits_from(text, i, exp_digits)) return std::nullopt;
    // Saturate: any exponent beyond a million makes the value zero or far too large anyway.
    int64_t e = 0;
    for (char c : exp_digits) e = std::min<int64_t>(e * 10 + (c - '0'), 1'000'000);
    exponent += exp_negative ? -e : e;
  }
  if (i != text.size()) return std::nullopt;

  mantissa.erase(0, std::min(mantissa.find_first_not_of('0'), mantissa.size()));
  if (mantissa.empty()) return 0;  // zero, whatever the exponent ("-0", "0e999")

  const uint64_t limit = static_cast<uint64_t>(kMaxMajorAmount) * pow10(digits);
  const int64_t shift = exponent + digits;  // minor = mantissa * 10^shift
  uint64_t magnitude = 0;
  if (shift >= 0) {
    if (static_cast<int64_t>(mantissa.size()) + shift > 19) return std::nullopt;
    for (char c : mantissa) magnitude = magnitude * 10 + static_cast<uint64_t>(c - '0');
    magnitude *= pow10(static_cast<int>(shift));
  } else {
    // Drop the last -shift digits, rounding half to even.
    const auto cut = static_cast<uint64_t>(-shift);
    const size_t keep = cut >= mantissa.size() ? 0 : mantissa.size() - cut;
    if (keep > 19) return std::nullopt;
    for (size_t k = 0; k < keep; ++k) magnitude = magnitude * 10 + (mantissa[k] - '0');
    // The first dropped digit is 0 when the whole mantissa lies beyond it (0.001 at 2 digits).
    const int first = cut > mantissa.size() ? 0 : mantissa[keep] - '0';
    const bool rest_nonzero =
        cut <= mantissa.size() && mantissa.find_first_not_of('0', keep + 1) != std::string::npos;
    if (first > 5 || (first == 5 && (rest_nonzero || magnitude % 2 == 1))) ++magnitude;
  }
  if (magnitude > limit) return std::nullopt;
  const auto value = static_cast<int64_t>(magnitude);
  return negative ? -value : value;
}

std::optional<int64_t> parse_major_amount_in(std::string_view text, std::string_view currency) {
  return parse_major_amount(text, minor_digits(currency));
}

std::optional<int64_t> major_double_to_minor(double major, int digits) {
  if (!std::isfinite(major)) return std::nullopt;
  std::array<char, 64> buf{};
  const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), major);
  if (ec != std::errc()) return std::nullopt;
  return parse_major_amount(std::string_view(buf.data(), end - buf.data()), digits);
}

std::string minor_to_decimal(int64_t minor, std::string_view currency) {
  const int digits = minor_digits(currency);
  auto [whole, fraction] = split_minor(minor, digits);
  std::string out = minor < 0 ? "-" : "";
  out += whole;
  if (digits > 0) out += "." + fraction;
  return out;
}

std::string format_money(int64_t minor, std::string_view currency) {
  const int digits = minor_digits(currency);
  auto [whole, fraction] = split_minor(minor, digits);
  std::string prefix;
  if (const auto c = find_currency(currency); c && !c->symbol.empty()) {
    prefix = std::string(c->symbol);
  } else if (is_alpha_code(currency)) {
    prefix = ascii_upper(currency) + " ";
  }
  // The sign goes before the symbol or code ("-$5.00", "-KWD 5.000").
  std::string out = minor < 0 ? "-" : "";
  out += prefix + group_thousands(whole);
  if (digits > 0) out += "." + fraction;
  return out;
}

}  // namespace cs::domain
