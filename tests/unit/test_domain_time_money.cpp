// ISO-8601 parsing/formatting and money conversion (src/domain/time.h, src/domain/money.h).
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "domain/money.h"
#include "domain/time.h"

using cs::domain::cents_to_decimal;
using cs::domain::format_iso8601_ms;
using cs::domain::format_money;
using cs::domain::major_to_cents;
using cs::domain::parse_iso8601_ms;

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

TEST_CASE("major_to_cents rounds to the nearest cent") {
  CHECK(major_to_cents(29.99) == 2999);  // 29.99 * 100 is 2998.9999999999995 in binary
  CHECK(major_to_cents(0.1 + 0.2) == 30);
  CHECK(major_to_cents(19.999) == 2000);
  CHECK(major_to_cents(1.005) == 100);  // 1.005 is 1.00499999999999989... in binary
  CHECK(major_to_cents(0.0) == 0);
  CHECK(major_to_cents(0.004) == 0);
  CHECK(major_to_cents(0.005) == 1);
  CHECK(major_to_cents(-29.99) == -2999);
  CHECK(major_to_cents(-0.1 - 0.2) == -30);
  CHECK(major_to_cents(4.35) == 435);
  CHECK(major_to_cents(1234567.89) == 123456789);
  CHECK(major_to_cents(std::numeric_limits<double>::quiet_NaN()) == 0);
  CHECK(major_to_cents(std::numeric_limits<double>::infinity()) ==
        std::numeric_limits<int64_t>::max());
}

TEST_CASE("cents_to_decimal") {
  CHECK(cents_to_decimal(2999) == "29.99");
  CHECK(cents_to_decimal(0) == "0.00");
  CHECK(cents_to_decimal(5) == "0.05");
  CHECK(cents_to_decimal(100) == "1.00");
  CHECK(cents_to_decimal(123456789) == "1234567.89");
  CHECK(cents_to_decimal(-5) == "-0.05");
  CHECK(cents_to_decimal(-2999) == "-29.99");
  CHECK(cents_to_decimal(std::numeric_limits<int64_t>::min()) == "-92233720368547758.08");
}

TEST_CASE("format_money") {
  CHECK(format_money(2999, "usd") == "$29.99");
  CHECK(format_money(2999, "USD") == "$29.99");
  CHECK(format_money(2999, "eur") == "\u20ac29.99");
  CHECK(format_money(2999, "gbp") == "\u00a329.99");
  CHECK(format_money(2999, "cad") == "29.99 CAD");
  CHECK(format_money(-500, "usd") == "-$5.00");
  CHECK(format_money(-500, "cad") == "-5.00 CAD");
  CHECK(format_money(2999, "") == "29.99");
}
