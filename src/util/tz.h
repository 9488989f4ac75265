#pragma once
// IANA time zones for display, read from the system's compiled tz database (TZif files under
// /usr/share/zoneinfo, Debian's tzdata). No process-wide TZ or setenv: a Zone is an immutable
// value, safe to share between threads. GCC 12's libstdc++ has no std::chrono::locate_zone.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "util/result.h"

namespace cs::tz {

class Zone {
 public:
  /// UTC (no file needed).
  Zone();
  const std::string& name() const { return name_; }
  /// Offset from UTC in force at `utc_ms`, in milliseconds (east positive).
  int64_t offset_ms(int64_t utc_ms) const;
  /// "EST", "CET", "+0545", "UTC": the abbreviation in force at `utc_ms`.
  std::string abbreviation(int64_t utc_ms) const;
  /// The UTC instant at which the local day containing `utc_ms` starts.
  int64_t day_start(int64_t utc_ms) const;

  /// Parses TZif data (versions 1 to 4; the 64-bit block when present). Error on anything else.
  static Result<Zone> parse(const std::string& name, const std::string& data);

 private:
  struct Type {
    int64_t offset_ms = 0;
    bool dst = false;
    std::string abbr;
  };
  const Type& type_at(int64_t utc_ms) const;
  std::string name_ = "UTC";
  std::vector<int64_t> transitions_;  // UTC ms, ascending
  std::vector<uint8_t> index_;        // type of each transition
  std::vector<Type> types_;
  size_t initial_ = 0;  // the type before the first transition
};

/// True when `name` looks like an IANA zone name ("Europe/Paris", "America/Argentina/Salta",
/// "UTC", "Etc/GMT+5"): letters, digits, '_', '-', '+', '/' between parts, no "..".
bool plausible_name(const std::string& name);
/// The zone called `name` ("UTC" is built in), loaded once and shared. Error with a message a
/// person understands when the name is not an IANA zone on this system.
Result<std::shared_ptr<const Zone>> find(const std::string& name);
/// The built-in UTC zone.
std::shared_ptr<const Zone> utc();

}  // namespace cs::tz
