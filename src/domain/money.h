#pragma once
// Money is an integer number of minor units (cents for USD, yen for JPY, fils for KWD) plus a
// lowercase ISO 4217 currency code; never floats once parsed. The decimals of each currency come
// from the ISO 4217 table (domain/currency.h).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cs::domain {

/// The largest amount accepted, in major units: beyond it a value is not money (nullopt).
constexpr int64_t kMaxMajorAmount = 10'000'000'000'000;  // 1e13

/// Converts the decimal text of an amount in major units ("1202.47", "-0.29", "1e3", the JSON
/// number grammar) exactly into minor units with `digits` decimals (2 for USD: 120247). Digits
/// beyond the currency's decimals are rounded half to even ("0.125" -> 12, "0.135" -> 14), so an
/// amount is never refused for its precision. nullopt for anything that is not a JSON number
/// (spaces, "+1", ".5", "1.", "0x10", "nan", "inf", "") and for magnitudes above
/// kMaxMajorAmount. No binary floating point is involved.
std::optional<int64_t> parse_major_amount(std::string_view text, int digits);

/// The same as parse_major_amount(text, minor_digits(currency)).
std::optional<int64_t> parse_major_amount_in(std::string_view text, std::string_view currency);

/// A major-unit double (from an already parsed JSON document without its number text) in minor
/// units: converts the shortest decimal text that reads back as `major` (what the sender wrote
/// whenever it had at most 15 significant digits) with parse_major_amount. nullopt for NaN,
/// infinities and magnitudes above kMaxMajorAmount.
std::optional<int64_t> major_double_to_minor(double major, int digits);

/// Machine-readable decimal for CSV and JSON: "1202.47" for 120247 usd, "1000" for 1000 jpy,
/// "12.345" for 12345 kwd; negative amounts keep their sign, no separators, no symbol.
std::string minor_to_decimal(int64_t minor, std::string_view currency);

/// A count for people: 1465 -> "1,465", -12000 -> "-12,000".
std::string format_count(int64_t n);

/// For people: the currency's own decimals, thousands separators and symbol or code:
/// "$1,202.47", "¥1,000", "KWD 12.345", "-$5.00". A code outside the ISO table is shown
/// upper-cased with two decimals ("XYZ 12.34"); an empty or malformed code gives the bare amount.
std::string format_money(int64_t minor, std::string_view currency);

}  // namespace cs::domain
