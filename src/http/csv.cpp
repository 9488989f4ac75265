#include "http/csv.h"

namespace cs::http::csv {

std::string plain(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string text(const std::string& s) {
  if (!s.empty()) {
    char c = s[0];
    if (c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r' || c == '\0') {
      return plain("'" + s);
    }
  }
  return plain(s);
}

std::string row(const std::vector<std::string>& cells) {
  std::string out;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (i) out += ',';
    out += cells[i];
  }
  return out + "\r\n";
}

}  // namespace cs::http::csv
