// Where sign-in sends a person (src/domain/redirect.cpp, issue 11 item 4) on hostile `next`
// values. Invariants: the answer is "/" or the input unchanged, and what a browser makes of it,
// as a Location header, is a path on this site: after dropping tabs and newlines and reading
// backslashes as slashes (WHATWG URL parsing), and after one more round of percent-decoding, it
// starts with exactly one "/"; no control character, space, backslash or non-ASCII byte is sent.
#include <cstdint>
#include <string>

#include "domain/redirect.h"
#include "fuzz/fuzz.h"

namespace {

using cs::fuzz::check;

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// What a browser's URL parser keeps of a relative reference: tab, LF and CR removed, leading
/// C0 controls and spaces trimmed, "\" read as "/".
std::string as_browser_reads(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\t' || c == '\n' || c == '\r') continue;
    if (out.empty() && static_cast<unsigned char>(c) <= 0x20) continue;
    out += c == '\\' ? '/' : c;
  }
  return out;
}

std::string decode_once(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

void check_same_site(const std::string& p, const char* what) {
  const std::string seen = as_browser_reads(p);
  check(!seen.empty() && seen[0] == '/', what);
  check(seen.size() == 1 || seen[1] != '/', what);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string next(reinterpret_cast<const char*>(data), size);
  const std::string out = cs::domain::safe_redirect_path(next);
  check(out == "/" || out == next, "the redirect target was rewritten instead of refused");
  check(out.size() <= 512, "an over-long redirect target was kept");
  for (unsigned char c : out) {
    check(c > 0x20 && c < 0x7f && c != '\\', "a control, space, backslash or non-ASCII byte kept");
  }
  check_same_site(out, "the redirect leaves the site");
  check_same_site(decode_once(out), "the redirect leaves the site after one percent-decoding");
  return 0;
}
