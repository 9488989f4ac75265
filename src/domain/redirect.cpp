#include "domain/redirect.h"

namespace cs::domain {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

/// Starts with exactly one "/", and has no control character or backslash; `strict` also refuses
/// spaces and non-ASCII bytes (what goes into the Location header as is).
bool local_path(const std::string& p, bool strict) {
  if (p.empty() || p[0] != '/') return false;
  if (p.size() > 1 && (p[1] == '/' || p[1] == '\\')) return false;
  for (unsigned char c : p) {
    if (c < 0x20 || c == 0x7f || c == '\\') return false;
    if (strict && (c == ' ' || c > 0x7f)) return false;
  }
  return true;
}

}  // namespace

std::string safe_redirect_path(const std::string& next) {
  if (next.size() > 512 || !local_path(next, true) || !local_path(percent_decode(next), false)) {
    return "/";
  }
  return next;
}

}  // namespace cs::domain
