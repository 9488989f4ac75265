#pragma once
// Where to send a person after sign-in (issue 11 item 4): only a path on this site.
#include <string>

namespace cs::domain {

/// `next` as received (already percent-decoded once, as a query or form value) when it is a
/// same-origin path, else "/". A path starts with exactly one "/" and has no control character,
/// space, backslash or non-ASCII byte; after one more round of percent-decoding it still starts
/// with one "/" and has no control character or backslash (so "/%09/evil.example" and
/// "/%2F/evil.example" are refused too); at most 512 bytes.
std::string safe_redirect_path(const std::string& next);

}  // namespace cs::domain
