#pragma once
// Money is integer cents plus a lowercase ISO currency code; never floats once parsed.
#include <cstdint>
#include <string>
#include <string_view>

namespace cs::domain {

/// Whop sends money as a JSON number in major units (29.99): returns llround(major * 100).
int64_t major_to_cents(double major);
/// "29.99" for 2999 (no currency symbol; negative amounts keep their sign).
std::string cents_to_decimal(int64_t cents);
/// "$29.99" for usd, "€29.99" for eur, "£" for gbp, else "29.99 CAD" (upper-cased code).
std::string format_money(int64_t cents, std::string_view currency);

}  // namespace cs::domain
