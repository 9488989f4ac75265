#pragma once
// zlib (deflate) compression of stored payloads.
#include <string>
#include <string_view>

#include "util/result.h"

namespace cs::compress {

/// Deflates `data` (zlib format), with a preset `dictionary` when one is given (the same bytes
/// must be given to inflate).
std::string deflate(std::string_view data, std::string_view dictionary = {});
/// Inflates zlib data; Error when it is corrupt, would exceed `max_size` bytes, or needs a
/// dictionary other than `dictionary`.
Result<std::string> inflate(std::string_view data, size_t max_size = 16 * 1024 * 1024,
                            std::string_view dictionary = {});

}  // namespace cs::compress
