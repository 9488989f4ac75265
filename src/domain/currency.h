#pragma once
// ISO 4217 currencies and their minor units (exponents): the one table that says how many decimals
// an amount in each currency has. Whop sends amounts in major units ("1202.47" USD, "1000" JPY,
// "12.345" KWD); Churn Saver stores integer minor units (120247, 1000, 12345).
#include <optional>
#include <span>
#include <string_view>

namespace cs::domain {

struct Currency {
  std::string_view code;    // upper-case ISO 4217 alphabetic code: "USD"
  int exponent;             // minor-unit digits: 2 for USD, 0 for JPY, 3 for KWD; -1: none (XAU)
  std::string_view symbol;  // written before the amount ("$"), "" to write the code instead
  bool withdrawn;           // no longer active, still read so that older events convert exactly
};

/// Decimals assumed for a code that is not in the table (or has no minor unit, such as XAU):
/// amounts are read with two decimals, the most common exponent, and the currency is reported
/// as unknown (is_known_currency) so that callers can flag it.
constexpr int kAssumedExponent = 2;

/// Every active ISO 4217 code (plus a few recently withdrawn ones), sorted by code.
std::span<const Currency> iso4217_currencies();
/// The entry for `code` in any letter case; nullopt when it is not exactly a code of the table.
std::optional<Currency> find_currency(std::string_view code);
/// True when `code` names a currency of the table with a minor unit (so its exponent is known).
bool is_known_currency(std::string_view code);
/// The decimals of amounts in `code`: the table's exponent, else kAssumedExponent.
int minor_digits(std::string_view code);

}  // namespace cs::domain
