#include "util/tz.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

namespace cs::tz {
namespace {

constexpr const char* kZoneDir = "/usr/share/zoneinfo/";
constexpr int64_t kDayMs = 86400000;

int64_t be(const std::string& d, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(d[at + i]);
  if (bytes == 4) return static_cast<int32_t>(static_cast<uint32_t>(v));
  return static_cast<int64_t>(v);
}

}  // namespace

Zone::Zone() {
  types_.push_back({0, false, "UTC"});
}

Result<Zone> Zone::parse(const std::string& name, const std::string& d) {
  auto bad = [&] { return Error{"\"" + name + "\" is not a valid time zone file"}; };
  if (d.size() < 44 || d.compare(0, 4, "TZif") != 0) return bad();
  struct Counts {
    int64_t isut, isstd, leap, time, type, chars;
  };
  auto counts = [&](size_t at) {
    return Counts{be(d, at + 20, 4), be(d, at + 24, 4), be(d, at + 28, 4),
                  be(d, at + 32, 4), be(d, at + 36, 4), be(d, at + 40, 4)};
  };
  auto block_size = [](const Counts& c, int tbytes) {
    return c.time * tbytes + c.time + c.type * 6 + c.chars + c.leap * (tbytes + 4) + c.isstd +
           c.isut;
  };
  Counts c = counts(0);
  if (c.time < 0 || c.type <= 0 || c.chars < 0 || c.leap < 0 || c.isut < 0 || c.isstd < 0 ||
      c.type > 256) {
    return bad();
  }
  size_t at = 44;
  int tbytes = 4;
  if (d[4] >= '2') {
    // Skip the 32-bit block: the 64-bit one follows with its own header.
    at += static_cast<size_t>(block_size(c, 4));
    if (d.size() < at + 44 || d.compare(at, 4, "TZif") != 0) return bad();
    c = counts(at);
    if (c.time < 0 || c.type <= 0 || c.chars < 0 || c.leap < 0 || c.type > 256) return bad();
    at += 44;
    tbytes = 8;
  }
  if (d.size() < at + static_cast<size_t>(block_size(c, tbytes))) return bad();
  Zone z;
  z.name_ = name;
  z.types_.clear();
  for (int64_t i = 0; i < c.time; ++i)
    z.transitions_.push_back(be(d, at + i * tbytes, tbytes) * 1000);
  at += static_cast<size_t>(c.time * tbytes);
  for (int64_t i = 0; i < c.time; ++i) {
    uint8_t t = static_cast<uint8_t>(d[at + i]);
    if (t >= c.type) return bad();
    z.index_.push_back(t);
  }
  at += static_cast<size_t>(c.time);
  const size_t chars_at = at + static_cast<size_t>(c.type) * 6;
  for (int64_t i = 0; i < c.type; ++i) {
    Type t;
    t.offset_ms = be(d, at + i * 6, 4) * 1000;
    t.dst = d[at + i * 6 + 4] != 0;
    size_t ai = static_cast<unsigned char>(d[at + i * 6 + 5]);
    if (ai < static_cast<size_t>(c.chars)) {
      t.abbr = std::string(d.c_str() + chars_at + ai);
      if (t.abbr.size() > static_cast<size_t>(c.chars) - ai) t.abbr.clear();
    }
    z.types_.push_back(t);
  }
  // RFC 8536: local time before the first transition is type 0.
  z.initial_ = 0;
  if (!std::is_sorted(z.transitions_.begin(), z.transitions_.end())) return bad();
  return z;
}

const Zone::Type& Zone::type_at(int64_t utc_ms) const {
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), utc_ms);
  if (it == transitions_.begin()) return types_[initial_];
  return types_[index_[static_cast<size_t>(it - transitions_.begin() - 1)]];
}

int64_t Zone::offset_ms(int64_t utc_ms) const {
  return type_at(utc_ms).offset_ms;
}

std::string Zone::abbreviation(int64_t utc_ms) const {
  return type_at(utc_ms).abbr;
}

int64_t Zone::day_start(int64_t utc_ms) const {
  const int64_t local = utc_ms + offset_ms(utc_ms);
  const int64_t local_midnight = local - ((local % kDayMs) + kDayMs) % kDayMs;
  // The offset in force at midnight may differ from now's (a DST change during the day).
  int64_t start = local_midnight - offset_ms(utc_ms);
  start = local_midnight - offset_ms(start);
  return start;
}

bool plausible_name(const std::string& name) {
  if (name.empty() || name.size() > 64 || name.front() == '/' || name.back() == '/') return false;
  if (name.find("..") != std::string::npos || name.find("//") != std::string::npos) return false;
  return name.find_first_not_of(
             "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-+/") ==
         std::string::npos;
}

std::shared_ptr<const Zone> utc() {
  static const auto z = std::make_shared<const Zone>();
  return z;
}

Result<std::shared_ptr<const Zone>> find(const std::string& name) {
  if (name == "UTC") return utc();
  const std::string hint =
      " Use an IANA time zone name such as Europe/Paris, America/New_York or UTC.";
  if (!plausible_name(name)) return Error{"\"" + name + "\" is not a time zone name." + hint};
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<const Zone>> cache;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(name);
    if (it != cache.end()) return it->second;
  }
  std::ifstream in(kZoneDir + name, std::ios::binary);
  if (!in) return Error{"There is no time zone called \"" + name + "\"." + hint};
  std::ostringstream ss;
  ss << in.rdbuf();
  auto z = Zone::parse(name, ss.str());
  if (!z) return Error{"There is no time zone called \"" + name + "\"." + hint};
  auto shared = std::make_shared<const Zone>(std::move(*z));
  std::lock_guard<std::mutex> lock(mu);
  if (cache.size() < 64) cache.emplace(name, shared);
  return shared;
}

}  // namespace cs::tz
