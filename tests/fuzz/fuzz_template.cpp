// Template rendering (src/view/render.cpp, templates/) of hostile strings: every value a member
// or Whop controls reaches a page through {{x}}, which must escape it.
// Invariant: a hostile string with markup characters never appears verbatim in the page.
#include <cstdint>
#include <string>

#include "fuzz/fuzz.h"
#include "view/render.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string s(reinterpret_cast<const char*>(data), size);
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
  std::string html = cs::view::page(cs::templates::page_login, chrome, d);
  if (s.find_first_of("<>\"'&") != std::string::npos) {
    cs::fuzz::check(html.find(s) == std::string::npos, "hostile string rendered unescaped");
  }
  return 0;
}
