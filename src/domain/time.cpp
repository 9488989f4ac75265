#include "domain/time.h"

#include <cstdio>

namespace cs::domain {
namespace {

constexpr int64_t kMsPerSecond = 1000;
constexpr int64_t kSecondsPerDay = 86400;
constexpr int64_t kMsPerDay = kSecondsPerDay * kMsPerSecond;

struct CivilDate {
  int64_t year = 1970;
  unsigned month = 1;  // 1..12
  unsigned day = 1;    // 1..31
};

/// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's days_from_civil). Valid for
/// any year that fits; the caller validates month and day.
int64_t days_from_civil(const CivilDate& date) {
  const int64_t y = date.year - (date.month <= 2 ? 1 : 0);
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);                 // [0, 399]
  const unsigned mp = date.month > 2 ? date.month - 3 : date.month + 9;  // March = 0
  const unsigned doy = (153 * mp + 2) / 5 + date.day - 1;                // [0, 365]
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;            // [0, 146096]
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

/// Inverse of days_from_civil: the proleptic Gregorian date of a day count since 1970-01-01.
CivilDate civil_from_days(int64_t days) {
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);                    // [0, 146096]
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                // [0, 365]
  const unsigned mp = (5 * doy + 2) / 153;                                     // [0, 11]
  CivilDate date;
  date.day = doy - (153 * mp + 2) / 5 + 1;
  date.month = mp < 10 ? mp + 3 : mp - 9;
  date.year = static_cast<int64_t>(yoe) + era * 400 + (date.month <= 2 ? 1 : 0);
  return date;
}

bool is_leap_year(int64_t year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

unsigned days_in_month(int64_t year, unsigned month) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap_year(year) ? 29 : kDays[month - 1];
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

/// A forward-only reader over the text being parsed.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}

  bool done() const { return pos_ == text_.size(); }
  char peek() const { return done() ? '\0' : text_[pos_]; }

  /// Consumes `c` when it is next; reports whether it did.
  bool eat(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }

  /// Consumes exactly `count` decimal digits and returns their value; nullopt when fewer digits
  /// follow (the parse is then abandoned, so the position no longer matters).
  std::optional<int> digits(int count) {
    int value = 0;
    for (int i = 0; i < count; ++i) {
      if (!is_digit(peek())) return std::nullopt;
      value = value * 10 + (text_[pos_++] - '0');
    }
    return value;
  }

  /// Consumes a run of at least one digit and returns its first three as milliseconds
  /// ("5" -> 500, "75" -> 750, "123456" -> 123: extra precision is truncated).
  std::optional<int> fraction_ms() {
    if (!is_digit(peek())) return std::nullopt;
    int ms = 0;
    int scale = 100;
    while (is_digit(peek())) {
      ms += (text_[pos_++] - '0') * scale;
      scale /= 10;
    }
    return ms;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

struct Fields {
  CivilDate date;
  int hour = 0;
  int minute = 0;
  int second = 0;
  int millis = 0;
  int offset_minutes = 0;  // local time minus UTC
};

/// Reads "YYYY-MM-DD" into `out`; false on a shape mismatch (ranges are checked later).
bool read_date(Cursor& in, Fields& out) {
  const auto year = in.digits(4);
  if (!year || !in.eat('-')) return false;
  const auto month = in.digits(2);
  if (!month || !in.eat('-')) return false;
  const auto day = in.digits(2);
  if (!day) return false;
  out.date = CivilDate{*year, static_cast<unsigned>(*month), static_cast<unsigned>(*day)};
  return true;
}

/// Reads "HH:MM:SS" and an optional ".fff…" (or ",fff…") fraction into `out`.
bool read_time(Cursor& in, Fields& out) {
  const auto hour = in.digits(2);
  if (!hour || !in.eat(':')) return false;
  const auto minute = in.digits(2);
  if (!minute || !in.eat(':')) return false;
  const auto second = in.digits(2);
  if (!second) return false;
  out.hour = *hour;
  out.minute = *minute;
  out.second = *second;
  if (in.eat('.') || in.eat(',')) {
    const auto ms = in.fraction_ms();
    if (!ms) return false;
    out.millis = *ms;
  }
  return true;
}

/// Reads the zone: nothing (UTC), "Z", "+hh:mm", "-hh:mm", "+hhmm" or "-hhmm".
bool read_zone(Cursor& in, Fields& out) {
  if (in.done()) return true;
  if (in.eat('Z') || in.eat('z')) return true;
  int sign = 0;
  if (in.eat('+')) {
    sign = 1;
  } else if (in.eat('-')) {
    sign = -1;
  } else {
    return false;
  }
  const auto hours = in.digits(2);
  if (!hours) return false;
  in.eat(':');
  const auto minutes = in.digits(2);
  if (!minutes || *hours > 23 || *minutes > 59) return false;
  out.offset_minutes = sign * (*hours * 60 + *minutes);
  return true;
}

bool fields_in_range(const Fields& f) {
  const CivilDate& d = f.date;
  return d.month >= 1 && d.month <= 12 && d.day >= 1 && d.day <= days_in_month(d.year, d.month) &&
         f.hour <= 23 && f.minute <= 59 && f.second <= 59;
}

}  // namespace

std::optional<int64_t> parse_iso8601_ms(std::string_view text) {
  Cursor in(text);
  Fields f;
  if (!read_date(in, f)) return std::nullopt;
  if (!(in.eat('T') || in.eat('t') || in.eat(' '))) return std::nullopt;
  if (!read_time(in, f) || !read_zone(in, f) || !in.done()) return std::nullopt;
  if (!fields_in_range(f)) return std::nullopt;
  const int64_t local_seconds =
      days_from_civil(f.date) * kSecondsPerDay + f.hour * 3600LL + f.minute * 60LL + f.second;
  const int64_t utc_seconds = local_seconds - f.offset_minutes * 60LL;
  return utc_seconds * kMsPerSecond + f.millis;
}

std::string format_iso8601_ms(int64_t ms) {
  // Floor division so that instants before 1970 land on the previous day.
  int64_t days = ms / kMsPerDay;
  int64_t in_day = ms % kMsPerDay;
  if (in_day < 0) {
    in_day += kMsPerDay;
    --days;
  }
  const CivilDate date = civil_from_days(days);
  const int64_t seconds = in_day / kMsPerSecond;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
                static_cast<long long>(date.year), date.month, date.day,
                static_cast<long long>(seconds / 3600), static_cast<long long>(seconds / 60 % 60),
                static_cast<long long>(seconds % 60),
                static_cast<long long>(in_day % kMsPerSecond));
  return buf;
}

}  // namespace cs::domain
