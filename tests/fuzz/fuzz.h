#pragma once
// Shared by the libFuzzer targets in this folder: input splitting and a loud invariant check.
// Each target is built twice: with clang's libFuzzer (`bash packaging/dev.sh fuzz SECONDS`), and
// in every ordinary build against replay_main.cpp, which runs the seed corpus and every past
// finding (tests/fuzz/corpus/<target>/) as the ctest `fuzz_corpus` test.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace cs::fuzz {

/// Splits the input at '\n' into at most `n` fields; the last field keeps the rest.
inline std::vector<std::string> fields(const uint8_t* data, size_t size, size_t n) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> out;
  while (out.size() + 1 < n) {
    auto nl = in.find('\n');
    if (nl == std::string_view::npos) break;
    out.emplace_back(in.substr(0, nl));
    in.remove_prefix(nl + 1);
  }
  out.emplace_back(in);
  while (out.size() < n) out.emplace_back();
  return out;
}

/// An invariant the code under test must keep: abort (a finding) with a message when it fails.
inline void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

}  // namespace cs::fuzz
