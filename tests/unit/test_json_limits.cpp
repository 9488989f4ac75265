// sax_parse_limited scans plain JSON (util/json_limits.h: plain_json) itself instead of running
// nlohmann's lexer. For every text it scans, nlohmann must accept the text and give the handler
// exactly the same events (same calls, order and values); every other text goes to nlohmann.
// Checked on the Whop fixtures (which must take the plain path: it is the webhook's fast path),
// on hand-made edges of the subset, and on thousands of seeded mutations of the fixtures.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "support/sax_recorder.h"
#include "util/json_limits.h"

using cs::plain_json;
using cs::sax_parse_limited;
using cs::test::reference_sax_parse;
using cs::test::SaxRecorder;

namespace {

std::vector<std::string> fixture_bodies() {
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator(CS_FIXTURES_DIR "/whop")) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    out.push_back(ss.str());
  }
  REQUIRE(out.size() >= 7);
  return out;
}

/// The plain path against nlohmann's parser for one text. Returns whether it was plain.
bool check_against_reference(const std::string& text) {
  SaxRecorder reference;
  const bool accepted = reference_sax_parse(text, reference);
  SaxRecorder ours;
  const auto st = sax_parse_limited(text, ours);
  if (!plain_json(text)) {
    // nlohmann's path: the same verdict and error as the document parse.
    const auto document = cs::parse_json_limited(text);
    CHECK(static_cast<bool>(st) == static_cast<bool>(document));
    if (!st && !document) CHECK(st.error() == document.error());
    return false;
  }
  CHECK_MESSAGE(accepted, "plain_json accepted what nlohmann refuses");
  CHECK(st);
  CHECK(ours.log == reference.log);
  return true;
}

}  // namespace

TEST_CASE("every Whop fixture is plain JSON and scans to nlohmann's events") {
  for (const auto& body : fixture_bodies()) {
    INFO(body.substr(0, 80));
    CHECK(check_against_reference(body));
  }
}

TEST_CASE("the edges of plain JSON: what is scanned gives nlohmann's events, the rest goes to it") {
  struct Row {
    std::string text;
    bool plain;
  };
  const std::string deep64 = std::string(64, '[') + std::string(64, ']');
  const std::string deep65 = std::string(65, '[') + std::string(65, ']');
  const std::vector<Row> rows = {
      {"{}", true},
      {"[]", true},
      {" \t\r\n{ \"a\" : 1 , \"b\" :[ true,false ,null ] }\r\n", true},
      {"0", true},
      {"-0", true},
      {"-0.0", true},
      {"29.99", true},
      {"-1202.470", true},
      {"123456789012345678", true},
      {"-123456789012345678", true},
      {"1234567890123456789", false},  // 19 digits: nlohmann decides signed/unsigned/float
      {"18446744073709551616", false},
      {"0.1000000000000000055511151231257827021181583404541015625", true},
      {"1." + std::string(64, '5'), false},  // past 64 characters
      {"1e5", false},
      {"1E-5", false},
      {"1.", false},
      {".5", false},
      {"01", false},
      {"-", false},
      {"--1", false},
      {"+1", false},
      {"\"a\\\"b\"", false},  // escapes go to nlohmann
      {"\"\\u00e9\"", false},
      {"\"caf\xc3\xa9\"", false},  // non-ASCII too (nlohmann checks UTF-8)
      {"\"\xff\"", false},
      {"\"a\x1f\"", false},  // a control character: invalid
      {"\"a\x7f\"", true},   // DEL is allowed in JSON strings
      {"\"unterminated", false},
      {"tru", false},
      {"nulll", false},
      {"[1,]", false},
      {"{\"a\":1,}", false},
      {"{\"a\" 1}", false},
      {"{\"a\":1}x", false},
      {"{} {}", false},
      {"", false},
      {" ", false},
      {"\xEF\xBB\xBF{}", false},    // a byte order mark: nlohmann skips it
      {"{\"a\":1,\"a\":2}", true},  // duplicate keys: both reach the handler, in order
      {deep64, true},
      {deep65, false},  // the depth limit's error comes from the slow path
      {std::string("{\"a\":\0}", 7), false},
  };
  for (const auto& row : rows) {
    INFO(row.text);
    CHECK(check_against_reference(row.text) == row.plain);
  }
  // Past the depth limit the error is the limit's, as before.
  SaxRecorder rec;
  const auto st = sax_parse_limited(deep65, rec);
  REQUIRE_FALSE(st);
  CHECK(st.error() == "JSON nested deeper than 64 levels");
}

TEST_CASE("seeded mutations of the fixtures: every plain one scans to nlohmann's events") {
  std::mt19937 rng(20261130);
  const std::string alphabet = "{}[]\",:0123456789-.eE+ tfnul\\\x7f\x80\x1f\n";
  size_t plain = 0, total = 0;
  for (const auto& body : fixture_bodies()) {
    for (int i = 0; i < 1500; ++i) {
      std::string m = body;
      const int edits = 1 + static_cast<int>(rng() % 3);
      for (int e = 0; e < edits && !m.empty(); ++e) {
        const size_t at = rng() % m.size();
        switch (rng() % 4) {
          case 0:
            m[at] = alphabet[rng() % alphabet.size()];
            break;
          case 1:
            m.erase(at, 1 + rng() % 3);
            break;
          case 2:
            m.insert(at, 1, alphabet[rng() % alphabet.size()]);
            break;
          default:
            m.resize(at);
            break;
        }
      }
      INFO(m);
      plain += check_against_reference(m) ? 1 : 0;
      ++total;
    }
  }
  // Both sides of the split are exercised.
  CHECK(plain > total / 20);
  CHECK(plain < total);
}

TEST_CASE("a handler that stops the plain scan stops the parse") {
  struct StopAtKey : SaxRecorder {
    bool key(string_t&) override { return false; }
  } stop;
  const auto st = sax_parse_limited("{\"a\":1}", stop);
  REQUIRE_FALSE(st);
  CHECK(st.error() == "invalid JSON");
}
