#include "util/compress.h"

#include <zlib.h>

#include <stdexcept>

namespace cs::compress {

std::string deflate(std::string_view data) {
  uLongf cap = compressBound(static_cast<uLong>(data.size()));
  std::string out(cap, '\0');
  int rc =
      compress2(reinterpret_cast<Bytef*>(out.data()), &cap,
                reinterpret_cast<const Bytef*>(data.data()), static_cast<uLong>(data.size()), 6);
  if (rc != Z_OK) throw std::runtime_error("zlib compression failed");
  out.resize(cap);
  return out;
}

Result<std::string> inflate(std::string_view data, size_t max_size) {
  z_stream zs{};
  if (inflateInit(&zs) != Z_OK) return Error{"zlib init failed"};
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buf[16384];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = ::inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      return Error{"stored payload is corrupt"};
    }
    out.append(buf, sizeof buf - zs.avail_out);
    if (out.size() > max_size) {
      inflateEnd(&zs);
      return Error{"stored payload is too large"};
    }
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
      inflateEnd(&zs);
      return Error{"stored payload is truncated"};
    }
  }
  inflateEnd(&zs);
  return out;
}

}  // namespace cs::compress
