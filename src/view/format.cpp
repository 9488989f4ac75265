#include "view/format.h"

#include <cctype>
#include <cstdio>
#include <ctime>

#include "domain/currency.h"
#include "domain/money.h"
#include "view/charts.h"

namespace cs::view {
namespace {

thread_local std::shared_ptr<const tz::Zone> t_zone;

/// The calendar fields of `ms` in the display zone.
std::tm local(int64_t ms) {
  const int64_t l = ms + display_zone().offset_ms(ms);
  std::time_t t = static_cast<std::time_t>((l - (((l % 1000) + 1000) % 1000)) / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}

std::string plural(int64_t n, const char* unit) {
  return std::to_string(n) + " " + unit + (n == 1 ? "" : "s");
}

}  // namespace

const tz::Zone& display_zone() {
  return t_zone ? *t_zone : *tz::utc();
}

ZoneScope::ZoneScope(std::shared_ptr<const tz::Zone> zone) : previous_(std::move(t_zone)) {
  t_zone = std::move(zone);
}

ZoneScope::~ZoneScope() {
  t_zone = std::move(previous_);
}

std::string datetime(int64_t ms) {
  std::tm tm = local(ms);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  std::string abbr = display_zone().abbreviation(ms);
  return std::string(buf) + " " + (abbr.empty() ? display_zone().name() : abbr);
}

std::string datetime(const std::optional<int64_t>& ms) {
  return ms ? datetime(*ms) : "";
}

std::string short_date(int64_t ms) {
  std::tm tm = local(ms);
  char buf[16];
  std::strftime(buf, sizeof buf, "%b %d", &tm);
  return buf;
}

std::string duration(int64_t ms) {
  if (ms < 0) ms = -ms;
  int64_t min = ms / 60000;
  if (min < 1) return "under a minute";
  if (min < 60) return plural(min, "minute");
  int64_t h = min / 60;
  if (h < 24) return plural(h, "hour");
  int64_t d = h / 24;
  h %= 24;
  return h == 0 || d >= 7 ? plural(d, "day") : plural(d, "day") + " " + plural(h, "hour");
}

std::string relative(int64_t ms, int64_t now) {
  int64_t diff = now - ms;
  if (diff >= -60000 && diff < 60000) return "just now";
  return diff > 0 ? duration(diff) + " ago" : "in " + duration(diff);
}

std::string money(int64_t minor, const std::string& currency) {
  return domain::format_money(minor, currency);
}

std::string currency_code(const std::string& currency) {
  if (currency.empty()) return "no currency";
  std::string code = currency;
  for (char& c : code) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  if (domain::is_known_currency(currency)) return code;
  return code + " (not an ISO 4217 code, read with " + std::to_string(domain::kAssumedExponent) +
         " decimals)";
}

std::string capitalize(const std::string& s) {
  if (s.empty()) return s;
  std::string out = s;
  if (out[0] >= 'a' && out[0] <= 'z') out[0] = static_cast<char>(out[0] - 'a' + 'A');
  for (auto& c : out) {
    if (c == '_') c = ' ';
  }
  return out;
}

std::string count(int64_t n) {
  return domain::format_count(n);
}

}  // namespace cs::view

namespace cs::view {
namespace {

// As xml_escape (charts.h), and line breaks as <br>.
void escape_to(std::string& out, char ch) {
  if (ch == '\r') return;
  if (ch == '\n') {
    out += "<br>\n";
    return;
  }
  xml_escape_to(out, ch);
}

std::string escape(const std::string& s) {
  std::string out;
  for (char ch : s) escape_to(out, ch);
  return out;
}

bool starts_url(const std::string& s, size_t i) {
  return s.compare(i, 8, "https://") == 0 || s.compare(i, 7, "http://") == 0;
}

bool word_char(char ch) {
  return std::isalnum(static_cast<unsigned char>(ch)) != 0;
}

std::string link(const std::string& url, const std::string& inner_html) {
  return "<a href=\"" + escape(url) + "\" rel=\"nofollow noopener\">" + inner_html + "</a>";
}

std::string markdown_span(const std::string& s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    char ch = s[i];
    if (ch == '*' && s.compare(i, 2, "**") == 0) {
      size_t end = s.find("**", i + 2);
      if (end != std::string::npos && end > i + 2 && s[i + 2] != ' ') {
        out += "<strong>" + markdown_span(s.substr(i + 2, end - i - 2)) + "</strong>";
        i = end + 2;
        continue;
      }
    }
    if ((ch == '*' || ch == '_') && i + 1 < s.size() && s[i + 1] != ' ' && s[i + 1] != ch &&
        (ch == '*' || i == 0 || !word_char(s[i - 1]))) {
      size_t end = s.find(ch, i + 1);
      size_t nl = s.find('\n', i + 1);
      if (end != std::string::npos && (nl == std::string::npos || end < nl) && s[end - 1] != ' ' &&
          (ch == '*' || end + 1 >= s.size() || !word_char(s[end + 1]))) {
        out += "<em>" + markdown_span(s.substr(i + 1, end - i - 1)) + "</em>";
        i = end + 1;
        continue;
      }
    }
    if (ch == '[') {
      size_t mid = s.find("](", i + 1);
      size_t nl = s.find('\n', i + 1);
      if (mid != std::string::npos && (nl == std::string::npos || mid < nl) &&
          starts_url(s, mid + 2)) {
        size_t end = s.find(')', mid + 2);
        std::string url = end == std::string::npos ? "" : s.substr(mid + 2, end - mid - 2);
        if (!url.empty() && url.find_first_of(" \n\t") == std::string::npos) {
          out += link(url, markdown_span(s.substr(i + 1, mid - i - 1)));
          i = end + 1;
          continue;
        }
      }
    }
    if ((ch == 'h' || ch == 'H') && starts_url(s, i) && (i == 0 || !word_char(s[i - 1]))) {
      size_t end = s.find_first_of(" \t\r\n<>\"", i);
      if (end == std::string::npos) end = s.size();
      while (end > i && std::string(".,;:!?)'").find(s[end - 1]) != std::string::npos) --end;
      std::string url = s.substr(i, end - i);
      out += link(url, escape(url));
      i = end;
      continue;
    }
    escape_to(out, ch);
    ++i;
  }
  return out;
}

}  // namespace

std::string text_html(const std::string& text) {
  return escape(text);
}

std::string markdown_html(const std::string& text) {
  return markdown_span(text);
}

}  // namespace cs::view
