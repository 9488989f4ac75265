#pragma once
// CSV cells per RFC 4180, safe against formula injection (shared/SECURITY.md): a text cell that
// starts with = + - @, tab, CR or NUL gets a ' prefix, and a cell is quoted when it contains a
// comma, a quote, CR or LF (quotes doubled). Rows end with CRLF.
#include <string>
#include <vector>

namespace cs::http::csv {

/// A text cell from outside (names, ids, messages): neutralised, then quoted when needed.
std::string text(const std::string& s);
/// A cell we produced ourselves (numbers, ISO times): quoted when needed, never prefixed.
std::string plain(const std::string& s);
/// Joins cells with commas and ends the row with CRLF.
std::string row(const std::vector<std::string>& cells);

}  // namespace cs::http::csv
