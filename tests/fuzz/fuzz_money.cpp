// The exact decimal money parser (src/domain/money.h) on hostile input: "<currency>\n<text>".
// Invariants: nothing crashes or overflows (UBSan); an accepted amount is within
// kMaxMajorAmount; a plain decimal with no more fraction digits than the currency has gives
// exactly the integer a schoolbook reading gives; minor_to_decimal's text reads back as the same
// amount; the text read as a double (major_double_to_minor) and format_money never crash.
#include <cstdint>
#include <cstring>

#include "domain/currency.h"
#include "domain/money.h"
#include "fuzz/fuzz.h"

namespace {

/// The schoolbook value of ^-?[0-9]{1,15}(\.[0-9]{1,digits})?$ in minor units, else nullopt.
std::optional<__int128> reference(const std::string& s, int digits) {
  size_t i = 0;
  bool neg = false;
  if (i < s.size() && s[i] == '-') {
    neg = true;
    ++i;
  }
  size_t start = i;
  __int128 v = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - start <= 15) {
    v = v * 10 + (s[i++] - '0');
  }
  size_t int_digits = i - start;
  if (int_digits == 0 || int_digits > 15) return std::nullopt;
  if (int_digits > 1 && s[start] == '0') return std::nullopt;  // JSON: no leading zeros
  int frac = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && frac <= digits) {
      v = v * 10 + (s[i++] - '0');
      ++frac;
    }
    if (frac == 0 || frac > digits) return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  for (int k = frac; k < digits; ++k) v *= 10;
  return neg ? -v : v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto f = cs::fuzz::fields(data, size, 2);
  const std::string &currency = f[0], &text = f[1];
  int digits = cs::domain::minor_digits(currency);
  cs::fuzz::check(digits >= 0 && digits <= 4, "minor digits out of range");

  auto minor = cs::domain::parse_major_amount_in(text, currency);
  if (minor) {
    __int128 limit = cs::domain::kMaxMajorAmount;
    for (int k = 0; k < digits; ++k) limit *= 10;
    cs::fuzz::check(*minor <= limit && *minor >= -limit, "amount beyond the limit accepted");
    std::string back = cs::domain::minor_to_decimal(*minor, currency);
    auto again = cs::domain::parse_major_amount_in(back, currency);
    cs::fuzz::check(again && *again == *minor, "minor_to_decimal does not read back");
    (void)cs::domain::format_money(*minor, currency);
  }
  if (auto ref = reference(text, digits)) {
    __int128 limit = cs::domain::kMaxMajorAmount;
    for (int k = 0; k < digits; ++k) limit *= 10;
    if (*ref <= limit && *ref >= -limit) {
      cs::fuzz::check(minor && *minor == *ref, "plain decimal misread");
    } else {
      cs::fuzz::check(!minor, "amount beyond the limit accepted");
    }
  }
  // Any 8 bytes as a double: NaN, infinities, subnormals, huge values.
  if (text.size() >= sizeof(double)) {
    double d;
    std::memcpy(&d, text.data(), sizeof d);
    if (auto m = cs::domain::major_double_to_minor(d, digits)) {
      (void)cs::domain::format_money(*m, currency);
    }
  }
  (void)cs::domain::format_money(static_cast<int64_t>(text.size()) * 1000003 - 7, currency);
  return 0;
}
