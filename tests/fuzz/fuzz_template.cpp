// Template rendering (src/view/render.cpp, templates/) of hostile strings: every value a member
// or Whop controls reaches a page through {{x}}, which must escape it.
// Invariant: a hostile string reaches the page escaped, and changes nothing else.
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

/// HTML escaping as the page must apply it to a value: the five characters that can end a text
/// run or an attribute value.
std::string escaped(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string s(reinterpret_cast<const char*>(data), size);
  // The page with s is the page with a plain marker, each marker replaced by s escaped. (Earlier
  // versions counted verbatim copies of s: the template's own markup may contain s, "<scr" is in
  // <script>, and an escaped value next to markup may form it, '"&' in value="&quot;&amp;.)
  static const std::string kMarker = "Zq7marker7qZ";
  if (s.empty() || s.find(kMarker) != std::string::npos) return 0;  // "" hides sections
  const std::string expected = replace_all(render_with(kMarker), kMarker, escaped(s));
  cs::fuzz::check(render_with(s) == expected, "a value rendered other than escaped");
  return 0;
}
