// Payload deflate with the preset dictionary (util/compress.cpp): each call deflates with a copy
// of a stream that read the dictionary once. The bytes must be exactly what a fresh stream with
// the same parameters writes after reading the dictionary, call after call, for any dictionary,
// and they must inflate back.
#include <doctest/doctest.h>

#include <zlib.h>

#include <random>
#include <string>
#include <thread>

#include "store/payload_dictionary.h"
#include "util/compress.h"

namespace {

/// What the payload format is defined as: level 3, an 8 KB window, memLevel 4, the dictionary.
std::string reference_deflate(const std::string& data, const std::string& dictionary) {
  z_stream zs{};
  REQUIRE(deflateInit2(&zs, 3, Z_DEFLATED, 13, 4, Z_DEFAULT_STRATEGY) == Z_OK);
  if (!dictionary.empty()) {
    REQUIRE(deflateSetDictionary(&zs, reinterpret_cast<const Bytef*>(dictionary.data()),
                                 static_cast<uInt>(dictionary.size())) == Z_OK);
  }
  std::string out(deflateBound(&zs, static_cast<uLong>(data.size())), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  REQUIRE(::deflate(&zs, Z_FINISH) == Z_STREAM_END);
  out.resize(out.size() - zs.avail_out);
  deflateEnd(&zs);
  return out;
}

std::string body(std::mt19937& rng, size_t size) {
  static const std::string words[] = {"\"payment.failed\"",
                                      "\"membership\"",
                                      "\"id\":",
                                      "mem_",
                                      "29.99",
                                      "\"usd\"",
                                      "{",
                                      "}",
                                      ",",
                                      "\"user\":",
                                      "2026-11-30T09:16:52.750Z",
                                      "xq7Zr"};
  std::string out;
  while (out.size() < size) out += words[rng() % std::size(words)];
  return out;
}

}  // namespace

TEST_CASE("deflate with a dictionary writes what a fresh stream writes, call after call") {
  const std::string dictionary(cs::store::kPayloadDictionaryV1);
  const std::string other = "{\"type\":\"refund.created\",\"data\":{\"amount\":";
  std::mt19937 rng(7);
  for (int i = 0; i < 200; ++i) {
    // Sizes from empty to far past the 8 KB window; the dictionary changes now and then.
    const size_t size = i % 50 == 49 ? 40000 : rng() % 4000;
    const std::string data = body(rng, size);
    const std::string& dict = i % 7 == 3 ? other : dictionary;
    const std::string z = cs::compress::deflate(data, dict);
    CHECK(z == reference_deflate(data, dict));
    auto back = cs::compress::inflate(z, 1 << 20, dict);
    REQUIRE(back);
    CHECK(*back == data);
  }
  // Without a dictionary, too.
  const std::string data = body(rng, 3000);
  CHECK(cs::compress::deflate(data) == reference_deflate(data, ""));
}

TEST_CASE("deflate on many threads at once, with two dictionaries: every payload reads back") {
  // The primed deflaters are shared: a thread may get one another thread used last, primed with
  // the other dictionary.
  const std::string dictionaries[] = {std::string(cs::store::kPayloadDictionaryV1),
                                      "{\"type\":\"refund.created\",\"data\":{\"amount\":"};
  std::vector<std::thread> threads;
  std::vector<int> wrong(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      for (int i = 0; i < 100; ++i) {
        const std::string data = body(rng, 500 + rng() % 3000);
        const std::string& dict = dictionaries[(i + t) % 3 == 0 ? 1 : 0];
        const std::string z = cs::compress::deflate(data, dict);
        auto back = cs::compress::inflate(z, 1 << 20, dict);
        if (!back || *back != data || z != reference_deflate(data, dict)) {
          ++wrong[static_cast<size_t>(t)];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int w : wrong) CHECK(w == 0);
}
