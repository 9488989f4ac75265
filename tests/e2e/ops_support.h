#pragma once
// Helpers of the operations tests (tests/e2e/test_ops_*.cpp): the real churn-saver binary as a
// server process (support/server_process.h) and small file helpers.
#include <doctest/doctest.h>

#include <fstream>
#include <string>

#include "support/server_process.h"
#include "support/test_app.h"

namespace cs::ops_test {

using test::read_file;
using test::ServerProcess;
using test::tail;

inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

/// True when `needle` occurs in the file's bytes (a missing file contains nothing).
inline bool file_contains(const std::string& path, const std::string& needle) {
  return read_file(path).find(needle) != std::string::npos;
}

}  // namespace cs::ops_test
