// Form, query and cookie parsing on hostile input: cpp-httplib's query parser (which reads
// application/x-www-form-urlencoded bodies and query strings), its URL decoder, and our Cookie
// header reader (src/http/auth.cpp). Input: "<cookie name>\n<text>".
// Invariants: nothing crashes; a cookie value found is a substring of the header.
#include <cstdint>

#include <httplib.h>

#include "fuzz/fuzz.h"
#include "http/auth.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto f = cs::fuzz::fields(data, size, 2);
  const std::string &name = f[0], &text = f[1];
  auto value = cs::http::cookie_value(text, name.empty() ? "cs_session" : name);
  if (value) cs::fuzz::check(text.find(*value) != std::string::npos, "cookie value invented");

  httplib::Params params;
  httplib::detail::parse_query_text(text, params);
  for (const auto& [k, v] : params) {
    cs::fuzz::check(k.size() <= text.size() && v.size() <= text.size(), "param grew");
  }
  (void)httplib::detail::decode_url(text, true);
  return 0;
}
