// Unit tests for util/crypto: encodings, hashes, HMAC, randomness, AES-GCM sealing, keyring file.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "util/crypto.h"

namespace crypto = cs::crypto;
using namespace std::string_literals;

namespace {

// A fresh directory under /tmp, removed with its contents at scope exit.
struct TempDir {
  std::string path;
  TempDir() {
    std::string tmpl = "/tmp/cs_crypto_test_XXXXXX";
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return path + "/" + name; }
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& content, mode_t mode) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
  }
  REQUIRE(::chmod(path.c_str(), mode) == 0);
}

mode_t file_mode(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

crypto::Key test_key(uint32_t id, char fill) {
  return crypto::Key{id, std::string(32, fill)};
}

const std::string kHexKey(64, 'a');

}  // namespace

TEST_CASE("base64 encodes RFC 4648 vectors and round-trips") {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, enc] : vectors) {
    CHECK(crypto::base64_encode(plain) == enc);
    auto dec = crypto::base64_decode(enc);
    REQUIRE(dec.has_value());
    CHECK(*dec == plain);
  }
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (size_t n = 0; n <= all.size(); n += 17) {
    const std::string part = all.substr(0, n);
    CHECK(crypto::base64_decode(crypto::base64_encode(part)) == part);
  }
  CHECK(crypto::base64_encode("\xfb\xff"s) == "+/8=");
}

TEST_CASE("base64_decode rejects invalid input strictly") {
  const char* bad[] = {
      "Zg",        // missing padding
      "Zg=",       // short padding
      "Zm9",       // length not a multiple of 4
      "Zg===",     // too much padding
      "Z===",      // three '='
      "====",      // padding only
      "Zg==Zg==",  // padding in the middle
      "Zm=v",      // '=' before a data character
      "Zm9v\n",    // newline
      " Zm9v",     // whitespace
      "Zm9v!A==",  // invalid character
      "Zm-_",      // URL-safe alphabet
      "Zh==",      // non-zero unused bits
      "Zm9=",      // non-zero unused bits
  };
  for (const char* s : bad) {
    CAPTURE(s);
    CHECK_FALSE(crypto::base64_decode(s).has_value());
  }
  CHECK_FALSE(crypto::base64_decode("Zm9v\0AAA"s).has_value());
}

TEST_CASE("hex encodes lowercase, decodes either case, rejects bad input") {
  CHECK(crypto::hex_encode("\x00\x01\xab\xff"s) == "0001abff");
  CHECK(crypto::hex_encode("") == "");
  CHECK(crypto::hex_decode("0001abff") == "\x00\x01\xab\xff"s);
  CHECK(crypto::hex_decode("0001ABFF") == "\x00\x01\xab\xff"s);
  CHECK(crypto::hex_decode("") == ""s);
  CHECK_FALSE(crypto::hex_decode("abc").has_value());
  CHECK_FALSE(crypto::hex_decode("zz").has_value());
  CHECK_FALSE(crypto::hex_decode("0g").has_value());
  CHECK_FALSE(crypto::hex_decode(" a").has_value());
  const std::string bytes = crypto::random_bytes(64);
  CHECK(crypto::hex_decode(crypto::hex_encode(bytes)) == bytes);
}

TEST_CASE("sha256 known vectors") {
  CHECK(crypto::hex_encode(crypto::sha256("")) ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(crypto::hex_encode(crypto::sha256("abc")) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(crypto::sha256("abc").size() == 32);
}

TEST_CASE("hmac_sha256 RFC 4231 test case 2") {
  CHECK(crypto::hex_encode(crypto::hmac_sha256("Jefe", "what do ya want for nothing?")) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("hmac_sha256 RFC 4231 test case 1 and empty inputs") {
  CHECK(crypto::hex_encode(crypto::hmac_sha256(std::string(20, '\x0b'), "Hi There")) ==
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  CHECK(crypto::hmac_sha256("", "").size() == 32);
}

TEST_CASE("constant_time_equal") {
  CHECK(crypto::constant_time_equal("", ""));
  CHECK(crypto::constant_time_equal("abc", "abc"));
  CHECK_FALSE(crypto::constant_time_equal("abc", "abd"));
  CHECK_FALSE(crypto::constant_time_equal("abc", "ab"));
  CHECK_FALSE(crypto::constant_time_equal("", "a"));
  CHECK(crypto::constant_time_equal("a\0b"s, "a\0b"s));
  CHECK_FALSE(crypto::constant_time_equal("a\0b"s, "a\0c"s));
}

TEST_CASE("random_bytes and random_hex") {
  CHECK(crypto::random_bytes(0).empty());
  CHECK(crypto::random_bytes(33).size() == 33);
  CHECK(crypto::random_hex(0).empty());
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string h = crypto::random_hex(16);
    CHECK(h.size() == 32);
    CHECK(h.find_first_not_of("0123456789abcdef") == std::string::npos);
    seen.insert(h);
  }
  CHECK(seen.size() == 100);
}

TEST_CASE("seal/open round trip and format") {
  const crypto::Keyring ring({test_key(7, 'k')});
  for (const std::string& plain : {""s, "x"s, "alice@example.com"s, std::string(5000, '\0')}) {
    const std::string blob = crypto::seal(ring.current(), plain, "members.email:42");
    CHECK(blob.size() == 1 + 4 + 12 + plain.size() + 16);
    CHECK(blob[0] == '\x01');
    CHECK(blob.substr(1, 4) == "\x00\x00\x00\x07"s);
    CHECK(crypto::sealed_key_id(blob) == 7u);
    auto opened = crypto::open(ring, blob, "members.email:42");
    REQUIRE(opened.ok());
    CHECK(*opened == plain);
  }
  // Random IVs: sealing twice gives different blobs.
  CHECK(crypto::seal(ring.current(), "same", "") != crypto::seal(ring.current(), "same", ""));
}

TEST_CASE("open rejects wrong aad, tampering, unknown key, truncation") {
  const crypto::Keyring ring({test_key(1, 'a'), test_key(2, 'b')});
  const std::string aad = "members.email:42";
  const std::string blob = crypto::seal(ring.current(), "alice@example.com", aad);
  REQUIRE(crypto::open(ring, blob, aad).ok());

  SUBCASE("wrong aad") {
    CHECK_FALSE(crypto::open(ring, blob, "members.email:43").ok());
    CHECK_FALSE(crypto::open(ring, blob, "").ok());
  }
  SUBCASE("a flipped bit in every part") {
    // version (0), key id (1-4), iv (5-16), ciphertext (17..), tag (last 16)
    const size_t positions[] = {
        0, 1, 4, 5, 16, 17, blob.size() - 17, blob.size() - 16, blob.size() - 1};
    for (size_t pos : positions) {
      for (int bit : {0, 7}) {
        std::string t = blob;
        t[pos] = static_cast<char>(t[pos] ^ (1 << bit));
        CAPTURE(pos);
        CAPTURE(bit);
        CHECK_FALSE(crypto::open(ring, t, aad).ok());
      }
    }
  }
  SUBCASE("key id rewritten to another key in the ring") {
    std::string t = blob;
    t[4] = '\x01';  // id 2 -> 1: key exists but the id is bound in the tag
    CHECK_FALSE(crypto::open(ring, t, aad).ok());
  }
  SUBCASE("unknown key id") {
    const crypto::Keyring other({test_key(1, 'a')});
    auto r = crypto::open(other, blob, aad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().find("key id 2") != std::string::npos);
  }
  SUBCASE("truncated") {
    for (size_t n : {size_t{0}, size_t{1}, size_t{5}, size_t{32}, blob.size() - 1}) {
      CAPTURE(n);
      CHECK_FALSE(crypto::open(ring, blob.substr(0, n), aad).ok());
    }
    CHECK_FALSE(crypto::sealed_key_id(blob.substr(0, 32)).has_value());
  }
  SUBCASE("unknown version") {
    std::string t = blob;
    t[0] = '\x02';
    CHECK_FALSE(crypto::sealed_key_id(t).has_value());
    CHECK_FALSE(crypto::open(ring, t, aad).ok());
  }
}

TEST_CASE("Keyring orders keys and finds by id") {
  const crypto::Keyring ring({test_key(3, 'c'), test_key(1, 'a'), test_key(2, 'b')});
  CHECK(ring.current().id == 3);
  REQUIRE(ring.find(1) != nullptr);
  CHECK(ring.find(1)->bytes == std::string(32, 'a'));
  CHECK(ring.find(4) == nullptr);
  CHECK(crypto::Keyring().empty());
}

TEST_CASE("keyring file: create, reload, rotate") {
  TempDir dir;
  const std::string path = dir.file("keys");

  auto created = crypto::load_or_create_keyring(path);
  REQUIRE_MESSAGE(created.ok(), created.error());
  CHECK(file_mode(path) == 0600);
  REQUIRE(created->keys().size() == 1);
  CHECK(created->current().id == 1);
  CHECK(created->current().bytes.size() == 32);
  const std::string text = read_file(path);
  CHECK(text == "# Churn Saver data-at-rest keys. Back this file up with the database.\n1 " +
                    crypto::hex_encode(created->current().bytes) + "\n");

  auto reloaded = crypto::load_or_create_keyring(path);
  REQUIRE_MESSAGE(reloaded.ok(), reloaded.error());
  REQUIRE(reloaded->keys().size() == 1);
  CHECK(reloaded->current().id == 1);
  CHECK(reloaded->current().bytes == created->current().bytes);

  const std::string old_blob = crypto::seal(created->current(), "old secret", "t.c:1");

  auto rotated = crypto::rotate_keyring(path);
  REQUIRE_MESSAGE(rotated.ok(), rotated.error());
  CHECK(rotated->keys().size() == 2);
  CHECK(rotated->current().id == 2);
  CHECK(rotated->current().bytes != created->current().bytes);
  CHECK(file_mode(path) == 0600);

  auto after = crypto::load_or_create_keyring(path);
  REQUIRE_MESSAGE(after.ok(), after.error());
  CHECK(after->keys().size() == 2);
  CHECK(after->current().id == 2);
  CHECK(after->current().bytes == rotated->current().bytes);
  CHECK(crypto::open(*after, old_blob, "t.c:1").value() == "old secret");
  const std::string new_blob = crypto::seal(after->current(), "new secret", "t.c:1");
  CHECK(crypto::sealed_key_id(new_blob) == 2u);
  CHECK(crypto::open(*after, new_blob, "t.c:1").value() == "new secret");

  auto third = crypto::rotate_keyring(path);
  REQUIRE(third.ok());
  CHECK(third->current().id == 3);
}

TEST_CASE("keyring file: accepted layouts") {
  TempDir dir;
  const std::string path = dir.file("keys");
  SUBCASE("comments, blank lines, CRLF, tabs, no final newline, ids out of order") {
    write_file(path, "# c\n\n  \n5\t" + kHexKey + "\r\n  # indented\n2 " + std::string(64, 'B'),
               0600);
    auto ring = crypto::load_or_create_keyring(path);
    REQUIRE_MESSAGE(ring.ok(), ring.error());
    CHECK(ring->keys().size() == 2);
    CHECK(ring->current().id == 5);
    auto rotated = crypto::rotate_keyring(path);
    REQUIRE_MESSAGE(rotated.ok(), rotated.error());
    CHECK(rotated->current().id == 6);
    auto again = crypto::load_or_create_keyring(path);
    REQUIRE_MESSAGE(again.ok(), again.error());
    CHECK(again->keys().size() == 3);
  }
  SUBCASE("owner-only 0400") {
    write_file(path, "1 " + kHexKey + "\n", 0400);
    CHECK(crypto::load_or_create_keyring(path).ok());
  }
}

TEST_CASE("keyring file: refusals") {
  TempDir dir;
  const std::string path = dir.file("keys");

  SUBCASE("group/other readable") {
    for (mode_t mode : {mode_t{0644}, mode_t{0640}, mode_t{0604}, mode_t{0620}}) {
      write_file(path, "1 " + kHexKey + "\n", mode);
      auto r = crypto::load_or_create_keyring(path);
      CAPTURE(mode);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().find(path) != std::string::npos);
      CHECK_FALSE(crypto::rotate_keyring(path).ok());
    }
    CHECK(read_file(path) == "1 " + kHexKey + "\n");  // untouched
  }
  SUBCASE("malformed lines") {
    const std::string bad[] = {
        "1\n",
        "1 " + kHexKey.substr(2) + "\n",
        "1 " + kHexKey + "00\n",
        "1 " + kHexKey.substr(1) + "g\n",
        "0 " + kHexKey + "\n",
        "x " + kHexKey + "\n",
        "-1 " + kHexKey + "\n",
        "4294967296 " + kHexKey + "\n",
        "1 " + kHexKey + " extra\n",
        "1 " + kHexKey + "\n1 " + kHexKey + "\n",  // duplicate id
    };
    for (const std::string& content : bad) {
      write_file(path, content, 0600);
      auto r = crypto::load_or_create_keyring(path);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().find(path) != std::string::npos);
      CHECK(r.error().find(kHexKey) == std::string::npos);  // never echoes key material
    }
  }
  SUBCASE("no keys") {
    write_file(path, "# only a comment\n\n", 0600);
    auto r = crypto::load_or_create_keyring(path);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().find(path) != std::string::npos);
  }
  SUBCASE("missing parent directory") {
    auto r = crypto::load_or_create_keyring(dir.file("nope/keys"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().find("nope/keys") != std::string::npos);
  }
  SUBCASE("rotate needs an existing file") {
    CHECK_FALSE(crypto::rotate_keyring(path).ok());
    CHECK_FALSE(std::filesystem::exists(path));
  }
}
