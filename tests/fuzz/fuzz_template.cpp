// Template rendering (src/view/render.cpp, templates/) of hostile strings: every value a member
// or Whop controls reaches a page through {{x}}, which must escape it.
// Invariant: a hostile string with markup characters never appears verbatim in the page.
#include <cstdint>
#include <string>

#include "fuzz/fuzz.h"
#include "view/render.h"

namespace {

std::string render_with(const std::string& s) {
  cs::view::Chrome chrome;
  chrome.title = s;
  chrome.active = "cases";
  chrome.csrf = "token";
  chrome.flash_kind = "error";
  chrome.flash_text = s;
  chrome.alerts = {{"warning", s}};
  cs::view::Data d;
  for (const char* key : {"error", "message", "next", "username", "q", "title", "body"}) {
    cs::view::set(d, key, s);
  }
  return cs::view::page(cs::templates::page_login, chrome, d);
}

size_t count(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string s(reinterpret_cast<const char*>(data), size);
  if (s.empty() || s.find_first_of("<>\"'&") == std::string::npos) return 0;
  // The template's own markup may contain the string ("<scr" is in <script>): compare with the
  // same page rendered with harmless values. (A finding of the first version of this check.)
  const std::string page = render_with(s);
  const std::string base = render_with("x");
  cs::fuzz::check(count(page, s) <= count(base, s), "hostile string rendered unescaped");
  return 0;
}
