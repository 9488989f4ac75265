// Time zones from the system's tz database (util/tz): offsets, abbreviations, local days, names.
#include <doctest/doctest.h>

#include "util/tz.h"

using namespace cs;

namespace {
constexpr int64_t kH = 3600000;
// 2026-07-01T12:00:00Z and 2026-01-15T12:00:00Z
constexpr int64_t kJuly = 1782907200000;
constexpr int64_t kJanuary = 1768478400000;
}  // namespace

TEST_CASE("time zones: offsets and abbreviations through the year, local day starts") {
  auto paris = tz::find("Europe/Paris");
  REQUIRE(paris);
  CHECK((*paris)->offset_ms(kJuly) == 2 * kH);
  CHECK((*paris)->abbreviation(kJuly) == "CEST");
  CHECK((*paris)->offset_ms(kJanuary) == 1 * kH);
  CHECK((*paris)->abbreviation(kJanuary) == "CET");
  // Midnight in Paris on 2026-07-01 is 22:00 UTC the day before.
  CHECK((*paris)->day_start(kJuly) == kJuly - 12 * kH - 2 * kH);
  auto ny = tz::find("America/New_York");
  REQUIRE(ny);
  CHECK((*ny)->offset_ms(kJanuary) == -5 * kH);
  // 03:00 UTC on Jan 15 is still Jan 14 in New York: its day started at 05:00 UTC on Jan 14.
  CHECK((*ny)->day_start(kJanuary - 9 * kH) == kJanuary - 12 * kH - 24 * kH + 5 * kH);
  auto kathmandu = tz::find("Asia/Kathmandu");
  REQUIRE(kathmandu);
  CHECK((*kathmandu)->offset_ms(kJuly) == 5 * kH + 45 * 60000);
  auto utc = tz::find("UTC");
  REQUIRE(utc);
  CHECK((*utc)->offset_ms(kJuly) == 0);
  CHECK((*utc)->day_start(kJuly) == kJuly - 12 * kH);
  // The same zone is loaded once and shared.
  CHECK(tz::find("Europe/Paris")->get() == paris->get());
}

TEST_CASE("time zones: names that are not zones are refused with a message") {
  for (const std::string bad : {"", "Mars/Olympus", "../../etc/passwd", "/etc/passwd",
                                "Europe/../Europe/Paris", "Europe", "Europe/Paris ", "zone.tab"}) {
    INFO(bad);
    auto z = tz::find(bad);
    REQUIRE_FALSE(z);
    CHECK(z.error().find("time zone") != std::string::npos);
  }
  CHECK_FALSE(tz::Zone::parse("x", "not a tzif file"));
  CHECK_FALSE(tz::Zone::parse("x", std::string("TZif2") + std::string(39, '\0')));
}
