// The CSV writer (src/http/csv.cpp) on hostile cells. Input: cells separated by 0x1f; each cell
// is written with csv::text and the row read back with an RFC 4180 reader.
// Invariants: the row reads back to exactly the cells written (with the ' prefix where a cell
// would start a formula), and no cell read back starts a formula in a spreadsheet.
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz.h"
#include "http/csv.h"

namespace {

// RFC 4180: one row, CRLF-terminated. Returns false when the text is not a well-formed row.
bool read_row(std::string_view s, std::vector<std::string>& cells) {
  size_t i = 0;
  while (true) {
    std::string cell;
    if (i < s.size() && s[i] == '"') {
      ++i;
      while (true) {
        if (i >= s.size()) return false;
        if (s[i] == '"') {
          if (i + 1 < s.size() && s[i + 1] == '"') {
            cell += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        cell += s[i++];
      }
    } else {
      while (i < s.size() && s[i] != ',' && s[i] != '\r' && s[i] != '\n' && s[i] != '"') {
        cell += s[i++];
      }
    }
    cells.push_back(cell);
    if (i < s.size() && s[i] == ',') {
      ++i;
      continue;
    }
    return s.substr(i) == "\r\n";
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> raw, written;
  size_t pos = 0;
  while (true) {
    auto sep = in.find('\x1f', pos);
    raw.emplace_back(in.substr(pos, sep == std::string_view::npos ? sep : sep - pos));
    if (sep == std::string_view::npos) break;
    pos = sep + 1;
  }
  for (const auto& c : raw) written.push_back(cs::http::csv::text(c));
  std::string row = cs::http::csv::row(written);
  std::vector<std::string> back;
  cs::fuzz::check(read_row(row, back), "row is not well-formed CSV");
  cs::fuzz::check(back.size() == raw.size(), "cell count changed");
  for (size_t i = 0; i < raw.size(); ++i) {
    const std::string& b = back[i];
    if (!b.empty()) {
      char c = b[0];
      cs::fuzz::check(
          !(c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r' || c == '\0'),
          "cell starts a formula");
    }
    cs::fuzz::check(b == raw[i] || b == "'" + raw[i], "cell changed");
  }
  return 0;
}
