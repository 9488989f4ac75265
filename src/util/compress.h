#pragma once
// zlib (deflate) compression of stored payloads.
#include <string>
#include <string_view>

#include "util/result.h"

namespace cs::compress {

/// Deflates `data` (zlib format).
std::string deflate(std::string_view data);
/// Inflates zlib data; Error when it is corrupt or would exceed `max_size` bytes.
Result<std::string> inflate(std::string_view data, size_t max_size = 16 * 1024 * 1024);

}  // namespace cs::compress
