// The sign-in redirect target (issue 11 item 4) over hostile inputs.
#include <doctest/doctest.h>

#include <string>

#include "domain/redirect.h"

using cs::domain::safe_redirect_path;

TEST_CASE("redirect targets: same-origin paths pass unchanged") {
  for (const char* p : {"/", "/cases", "/cases?status=open&page=2", "/cases/abc#x",
                        "/events/1/replay", "/a%20b", "/cases?q=a%2Fb"}) {
    INFO(p);
    CHECK(safe_redirect_path(p) == p);
  }
}

TEST_CASE("redirect targets: anything that could leave the site goes to /") {
  const std::string hostile[] = {
      "",
      "cases",
      "//evil.example",
      "///evil.example",
      "/\\evil.example",
      "\\\\evil.example",
      "/\t/evil.example",  // what /login?next=/%09/evil.example decodes to
      "/\n/evil.example",
      "/\r/evil.example",
      std::string("/\0/evil.example", 15),
      "/ /evil.example",
      "/%09/evil.example",  // double-encoded: decodes once more to a tab
      "/%2F/evil.example",
      "/%2f/evil.example",
      "/%5C/evil.example",
      "/%5c%5cevil.example",
      "https://evil.example/",
      "http:/evil.example",
      "javascript:alert(1)",
      " /cases",
      "/cases\x7f",
      "/caf\xc3\xa9",
      "/" + std::string(600, 'a'),
  };
  for (const auto& p : hostile) {
    INFO(p);
    CHECK(safe_redirect_path(p) == "/");
  }
}
