// ISO-8601 parsing/formatting, the ISO 4217 table and money conversion (src/domain/time.h,
// currency.h, money.h).
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "domain/currency.h"
#include "domain/money.h"
#include "domain/time.h"

using cs::domain::format_count;
using cs::domain::format_iso8601_ms;
using cs::domain::format_money;
using cs::domain::is_known_currency;
using cs::domain::major_double_to_minor;
using cs::domain::minor_digits;
using cs::domain::minor_to_decimal;
using cs::domain::parse_iso8601_ms;
using cs::domain::parse_major_amount;
using cs::domain::parse_major_amount_in;

namespace {
constexpr int64_t kFixtureFailedAt = 1795216156752;  // 2026-11-20T23:09:16.752Z
constexpr int64_t kHour = 3600 * 1000;
}  // namespace

TEST_CASE("parse_iso8601_ms: the epoch and a known instant") {
  CHECK(parse_iso8601_ms("1970-01-01T00:00:00Z") == 0);
  CHECK(parse_iso8601_ms("1970-01-01T00:00:00.001Z") == 1);
  CHECK(parse_iso8601_ms("2026-01-01T00:00:00.000Z") == 1767225600000);  // fixture vector time
  CHECK(parse_iso8601_ms("2026-11-20T23:09:16.752Z") == kFixtureFailedAt);
}

TEST_CASE("parse_iso8601_ms: separators and zones") {
  const std::optional<int64_t> utc = kFixtureFailedAt;
  CHECK(parse_iso8601_ms("2026-11-20 23:09:16.752Z") == utc);
  CHECK(parse_iso8601_ms("2026-11-20t23:09:16.752z") == utc);
  CHECK(parse_iso8601_ms("2026-11-20T23:09:16.752") == utc);  // no zone = UTC
  CHECK(parse_iso8601_ms("2026-11-20T23:09:16.752+00:00") == utc);
  CHECK(parse_iso8601_ms("2026-11-20T23:09:16.752-00:00") == utc);
  CHECK(parse_iso8601_ms("2026-11-21T01:09:16.752+02:00") == utc);
  CHECK(parse_iso8601_ms("2026-11-21T01:09:16.752+0200") == utc);
  CHECK(parse_iso8601_ms("2026-11-20T18:09:16.752-05:00") == utc);
  CHECK(parse_iso8601_ms("2026-11-20T18:09:16.752-0500") == utc);
  CHECK(parse_iso8601_ms("2026-11-21T04:39:16.752+05:30") == utc);
  // An offset that crosses a year boundary.
  CHECK(parse_iso8601_ms("2025-12-31T23:30:00-01:00") == *parse_iso8601_ms("2026-01-01T00:30:00Z"));
}

TEST_CASE("parse_iso8601_ms: fractions of any length are truncated to milliseconds") {
  const int64_t base = *parse_iso8601_ms("2026-11-20T23:09:16Z");
  CHECK(parse_iso8601_ms("2026-11-20T23:09:16.7Z") == base + 700);
  CHECK(parse_iso8601_ms("2026-11-20T23:09:16.75Z") == base + 750);
  CHECK(parse_iso8601_ms("2026-11-20T23:09:16.752Z") == base + 752);
  CHECK(parse_iso8601_ms("2026-11-20T23:09:16.7529Z") == base + 752);
  CHECK(parse_iso8601_ms("2026-11-20T23:09:16.752999999Z") == base + 752);
  CHECK(parse_iso8601_ms("2026-11-20T23:09:16.000001Z") == base);
  CHECK(parse_iso8601_ms("2026-11-20T23:09:16,5Z") == base + 500);
}

TEST_CASE("parse_iso8601_ms: calendar edges") {
  CHECK(parse_iso8601_ms("2024-02-29T00:00:00Z").has_value());  // leap year
  CHECK(parse_iso8601_ms("2000-02-29T00:00:00Z").has_value());  // 400-year leap
  CHECK_FALSE(parse_iso8601_ms("2023-02-29T00:00:00Z"));        // not a leap year
  CHECK_FALSE(parse_iso8601_ms("1900-02-29T00:00:00Z"));        // century, not leap
  CHECK(parse_iso8601_ms("1969-12-31T23:59:59.999Z") == -1);    // before the epoch
  CHECK(parse_iso8601_ms("0000-01-01T00:00:00Z") == -62167219200000);
  CHECK(parse_iso8601_ms("9999-12-31T23:59:59.999Z") == 253402300799999);
  CHECK(*parse_iso8601_ms("2024-03-01T00:00:00Z") - *parse_iso8601_ms("2024-02-28T00:00:00Z") ==
        48 * kHour);
}

TEST_CASE("parse_iso8601_ms: rejects garbage and out-of-range fields") {
  const char* bad[] = {
      "",
      "garbage",
      "2026-11-20",                  // no time
      "2026-11-20T23:09",            // no seconds
      "2026-11-20T23:09:16.Z",       // empty fraction
      "2026-11-20T23:09:16Zjunk",    // trailing text
      " 2026-11-20T23:09:16Z",       // leading space
      "2026-11-20T23:09:16Z ",       // trailing space
      "2026-11-20X23:09:16Z",        // bad separator
      "26-11-20T23:09:16Z",          // two-digit year
      "2026-1-20T23:09:16Z",         // one-digit month
      "2026-00-20T23:09:16Z",        // month 0
      "2026-13-20T23:09:16Z",        // month 13
      "2026-11-00T23:09:16Z",        // day 0
      "2026-11-31T23:09:16Z",        // November has 30 days
      "2026-11-20T24:00:00Z",        // hour 24
      "2026-11-20T23:60:16Z",        // minute 60
      "2026-11-20T23:09:60Z",        // second 60
      "2026-11-20T23:09:16+24:00",   // offset hour 24
      "2026-11-20T23:09:16+02:60",   // offset minute 60
      "2026-11-20T23:09:16+02",      // offset without minutes
      "2026-11-20T23:09:16+2:00",    // one-digit offset hour
      "2026-11-20T23:09:16Z+02:00",  // two zones
      "+2026-11-20T23:09:16Z",       // signed year
      "2026-11-20T23:09:16.75a2Z",   // letter in fraction
      "1767225600",                  // unix seconds are not ISO text
  };
  for (const char* text : bad) {
    CAPTURE(text);
    CHECK_FALSE(parse_iso8601_ms(text).has_value());
  }
}

TEST_CASE("format_iso8601_ms: fixed shape, before and after the epoch") {
  CHECK(format_iso8601_ms(0) == "1970-01-01T00:00:00.000Z");
  CHECK(format_iso8601_ms(kFixtureFailedAt) == "2026-11-20T23:09:16.752Z");
  CHECK(format_iso8601_ms(-1) == "1969-12-31T23:59:59.999Z");
  CHECK(format_iso8601_ms(951782400000) == "2000-02-29T00:00:00.000Z");
  CHECK(format_iso8601_ms(253402300799999) == "9999-12-31T23:59:59.999Z");
}

TEST_CASE("ISO-8601 round trips") {
  // Every 997 hours (plus odd milliseconds) over ~57 years crosses all months and leap days.
  for (int64_t ms = -10LL * 365 * 24 * kHour; ms < 47LL * 365 * 24 * kHour;
       ms += 997 * kHour + 12345) {
    const std::string text = format_iso8601_ms(ms);
    CAPTURE(text);
    REQUIRE(parse_iso8601_ms(text) == ms);
  }
  for (const char* text :
       {"2026-11-20T23:09:16.752Z", "2024-02-29T12:00:00.000Z", "1999-12-31T23:59:59.999Z"}) {
    CHECK(format_iso8601_ms(*parse_iso8601_ms(text)) == text);
  }
  CHECK(format_iso8601_ms(*parse_iso8601_ms("2026-11-21T01:09:16.752+02:00")) ==
        "2026-11-20T23:09:16.752Z");
}

TEST_CASE("ISO 4217 table: sorted, unique, exponents of the currencies that differ from 2") {
  const auto all = cs::domain::iso4217_currencies();
  CHECK(all.size() >= 175);
  for (size_t i = 1; i < all.size(); ++i) {
    INFO(all[i].code);
    CHECK(all[i - 1].code < all[i].code);
  }
  for (const auto& c : all) {
    INFO(c.code);
    CHECK(c.code.size() == 3);
    CHECK((c.exponent >= -1 && c.exponent <= 4));
    CHECK(cs::domain::find_currency(c.code)->code == c.code);
  }
  CHECK(minor_digits("usd") == 2);
  CHECK(minor_digits("EUR") == 2);
  for (const char* zero : {"jpy", "krw", "vnd", "clp", "isk", "xof", "xaf", "ugx", "pyg"}) {
    INFO(zero);
    CHECK(minor_digits(zero) == 0);
  }
  for (const char* three : {"kwd", "bhd", "jod", "omr", "tnd", "lyd", "iqd"}) {
    INFO(three);
    CHECK(minor_digits(three) == 3);
  }
  CHECK(minor_digits("clf") == 4);
  CHECK(minor_digits("uyw") == 4);
  // Unknown, malformed or without a minor unit: two decimals, reported as not known.
  for (const char* odd : {"xyz", "", "us", "usdd", "u$d", "xau", "xxx", "us\xc3\xa9", "USD "}) {
    INFO(odd);
    CHECK(minor_digits(odd) == 2);
    CHECK_FALSE(is_known_currency(odd));
  }
  CHECK(is_known_currency("jpy"));
  CHECK(is_known_currency("KWD"));
}

TEST_CASE("parse_major_amount: exact decimals in each currency's minor units") {
  CHECK(parse_major_amount_in("1202.47", "usd") == 120247);
  CHECK(parse_major_amount_in("0.29", "usd") == 29);
  CHECK(parse_major_amount_in("19.99", "usd") == 1999);
  CHECK(parse_major_amount_in("29.99", "usd") == 2999);
  CHECK(parse_major_amount_in("1.005", "usd") == 100);  // half to even: 100.5 -> 100
  CHECK(parse_major_amount_in("1.015", "usd") == 102);  // 101.5 -> 102
  CHECK(parse_major_amount_in("1.0051", "usd") == 101);
  CHECK(parse_major_amount_in("0.125", "usd") == 12);
  CHECK(parse_major_amount_in("0.135", "usd") == 14);
  CHECK(parse_major_amount_in("-0.125", "usd") == -12);
  CHECK(parse_major_amount_in("-29.99", "usd") == -2999);
  CHECK(parse_major_amount_in("1000", "jpy") == 1000);
  CHECK(parse_major_amount_in("1000.5", "jpy") == 1000);
  CHECK(parse_major_amount_in("1001.5", "jpy") == 1002);
  CHECK(parse_major_amount_in("12.345", "kwd") == 12345);
  CHECK(parse_major_amount_in("12.3", "kwd") == 12300);
  CHECK(parse_major_amount_in("12.3455", "kwd") == 12346);
  CHECK(parse_major_amount_in("12.3445", "kwd") == 12344);
  CHECK(parse_major_amount_in("1.2345", "clf") == 12345);
  CHECK(parse_major_amount_in("12.34", "xyz") == 1234);  // unknown: two decimals
  // Exponents, zeros, and tiny values.
  CHECK(parse_major_amount_in("1e3", "usd") == 100000);
  CHECK(parse_major_amount_in("1E+3", "jpy") == 1000);
  CHECK(parse_major_amount_in("2999e-2", "usd") == 2999);
  CHECK(parse_major_amount_in("1.2e-1", "usd") == 12);
  CHECK(parse_major_amount_in("0", "usd") == 0);
  CHECK(parse_major_amount_in("-0", "usd") == 0);
  CHECK(parse_major_amount_in("0.0", "kwd") == 0);
  CHECK(parse_major_amount_in("0e999999999999999999999", "usd") == 0);
  CHECK(parse_major_amount_in("0.004", "usd") == 0);
  CHECK(parse_major_amount_in("0.005", "usd") == 0);  // half to even
  CHECK(parse_major_amount_in("0.0051", "usd") == 1);
  CHECK(parse_major_amount_in("1e-999999999999", "usd") == 0);
  CHECK(parse_major_amount_in("0.00000000000000000000000000000001", "usd") == 0);
  CHECK(parse_major_amount_in("1234567.89", "usd") == 123456789);
  CHECK(parse_major_amount_in("10000000000000", "usd") == 1000000000000000);  // the limit
  CHECK(parse_major_amount_in("10000000000000.0049", "usd") == 1000000000000000);
}

TEST_CASE("parse_major_amount: hostile and malformed text is not an amount") {
  for (const char* bad : {"",
                          " ",
                          "-",
                          "+1",
                          " 1",
                          "1 ",
                          ".5",
                          "5.",
                          "01",
                          "-01.5",
                          "1..2",
                          "1.2.3",
                          "1e",
                          "1e+",
                          "e5",
                          "0x10",
                          "nan",
                          "NaN",
                          "inf",
                          "-inf",
                          "Infinity",
                          "1,000",
                          "1_000",
                          "$5",
                          "5$",
                          "\xef\xbc\x95",
                          "1\n",
                          "--1",
                          "1-",
                          "1e3.5",
                          "10000000000000.01",
                          "10000000000001",
                          "1e14",
                          "99999999999999999999999999",
                          "1e999999999999999999999",
                          "-1e19",
                          "18446744073709551616"}) {
    INFO(std::string(bad));
    CHECK_FALSE(parse_major_amount_in(bad, "usd").has_value());
  }
  CHECK_FALSE(parse_major_amount(std::string_view("1\0", 2), 2).has_value());
  // A long run of digits neither overflows nor loses the rounding.
  CHECK(parse_major_amount_in("0." + std::string(5000, '0') + "1", "usd") == 0);
  CHECK(parse_major_amount_in("1.00" + std::string(5000, '0') + "1", "usd") == 100);
  CHECK(parse_major_amount_in("1.005" + std::string(5000, '0') + "1", "usd") == 101);
  CHECK(parse_major_amount_in(std::string(5000, '9'), "usd") == std::nullopt);
}

TEST_CASE("major_double_to_minor: a parsed double converts as the digits it was written with") {
  CHECK(major_double_to_minor(29.99, 2) == 2999);  // 29.99 * 100 is 2998.9999999999995 in binary
  CHECK(major_double_to_minor(0.29, 2) == 29);
  CHECK(major_double_to_minor(1202.47, 2) == 120247);
  CHECK(major_double_to_minor(12.345, 3) == 12345);
  CHECK(major_double_to_minor(1000.0, 0) == 1000);
  CHECK(major_double_to_minor(1.005, 2) == 100);  // half to even on what was written
  CHECK(major_double_to_minor(-29.99, 2) == -2999);
  CHECK(major_double_to_minor(1e13, 2) == 1000000000000000);
  CHECK_FALSE(major_double_to_minor(1e14, 2).has_value());
  CHECK_FALSE(major_double_to_minor(std::numeric_limits<double>::quiet_NaN(), 2).has_value());
  CHECK_FALSE(major_double_to_minor(std::numeric_limits<double>::infinity(), 2).has_value());
  CHECK(major_double_to_minor(std::numeric_limits<double>::denorm_min(), 2) == 0);
}

TEST_CASE("minor_to_decimal: machine-readable, in the currency's decimals") {
  CHECK(minor_to_decimal(2999, "usd") == "29.99");
  CHECK(minor_to_decimal(0, "usd") == "0.00");
  CHECK(minor_to_decimal(5, "usd") == "0.05");
  CHECK(minor_to_decimal(120247, "usd") == "1202.47");
  CHECK(minor_to_decimal(-5, "usd") == "-0.05");
  CHECK(minor_to_decimal(1000, "jpy") == "1000");
  CHECK(minor_to_decimal(-1000, "jpy") == "-1000");
  CHECK(minor_to_decimal(12345, "kwd") == "12.345");
  CHECK(minor_to_decimal(5, "kwd") == "0.005");
  CHECK(minor_to_decimal(1234, "xyz") == "12.34");
  CHECK(minor_to_decimal(std::numeric_limits<int64_t>::min(), "usd") == "-92233720368547758.08");
}

TEST_CASE("format_count: thousands separators for counts shown to people") {
  CHECK(format_count(0) == "0");
  CHECK(format_count(999) == "999");
  CHECK(format_count(1465) == "1,465");
  CHECK(format_count(1234567) == "1,234,567");
  CHECK(format_count(-12000) == "-12,000");
  CHECK(format_count(INT64_MIN) == "-9,223,372,036,854,775,808");
}

TEST_CASE("format_money: symbol or code, the currency's decimals, thousands separators") {
  CHECK(format_money(120247, "usd") == "$1,202.47");
  CHECK(format_money(2999, "USD") == "$29.99");
  CHECK(format_money(1000, "jpy") == "\u00a51,000");
  CHECK(format_money(12345, "kwd") == "KWD 12.345");
  CHECK(format_money(123456789, "usd") == "$1,234,567.89");
  CHECK(format_money(2999, "eur") == "\u20ac29.99");
  CHECK(format_money(2999, "gbp") == "\u00a329.99");
  CHECK(format_money(2999, "cad") == "CAD 29.99");
  CHECK(format_money(100000, "cad") == "CAD 1,000.00");
  CHECK(format_money(-500, "usd") == "-$5.00");
  CHECK(format_money(-500, "cad") == "-CAD 5.00");
  CHECK(format_money(-1234567, "jpy") == "-\u00a51,234,567");
  CHECK(format_money(0, "usd") == "$0.00");
  CHECK(format_money(99, "usd") == "$0.99");
  CHECK(format_money(100, "usd") == "$1.00");
  CHECK(format_money(99999, "usd") == "$999.99");
  CHECK(format_money(1234, "xyz") == "XYZ 12.34");
  CHECK(format_money(2999, "") == "29.99");
  CHECK(format_money(2999, "<b>") == "29.99");  // a malformed code is not echoed
  CHECK(format_money(std::numeric_limits<int64_t>::min(), "usd") == "-$92,233,720,368,547,758.08");
}
