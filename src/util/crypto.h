#pragma once
// Cryptographic primitives over OpenSSL 3: encodings, hashes, HMAC, constant-time comparison,
// random tokens, AES-256-GCM sealing for data at rest, and the keyring file that holds the keys.
// Byte strings are std::string (binary-safe).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace cs::crypto {

/// Standard base64 (RFC 4648 alphabet, with '=' padding).
std::string base64_encode(std::string_view bytes);
/// Decodes standard base64 with padding; nullopt on any invalid character or length.
std::optional<std::string> base64_decode(std::string_view text);
/// Lowercase hex.
std::string hex_encode(std::string_view bytes);
/// Decodes hex (either case); nullopt on odd length or a non-hex character.
std::optional<std::string> hex_decode(std::string_view hex);

/// SHA-256 digest, 32 raw bytes.
std::string sha256(std::string_view data);
/// HMAC-SHA256, 32 raw bytes.
std::string hmac_sha256(std::string_view key, std::string_view data);
/// Constant-time equality (CRYPTO_memcmp); different lengths compare unequal.
bool constant_time_equal(std::string_view a, std::string_view b);

/// `n` bytes from the OpenSSL CSPRNG; throws std::runtime_error if the RNG fails.
std::string random_bytes(size_t n);
/// `nbytes` random bytes as lowercase hex (2*nbytes characters); 16 gives a 128-bit id.
std::string random_hex(size_t nbytes);

/// One AES-256 key with its id (ids are small positive integers, newest = highest).
struct Key {
  uint32_t id = 0;
  std::string bytes;  // 32 raw bytes
};

/// The set of keys the data at rest may be sealed with. The newest key seals; any key opens.
class Keyring {
 public:
  Keyring() = default;
  explicit Keyring(std::vector<Key> keys);
  bool empty() const { return keys_.empty(); }
  /// The key new data is sealed with (the highest id). Precondition: !empty().
  const Key& current() const;
  const Key* find(uint32_t id) const;
  const std::vector<Key>& keys() const { return keys_; }

 private:
  std::vector<Key> keys_;
};

/// Seals `plaintext` with AES-256-GCM under `key`, binding `aad` (additional authenticated data).
/// Output format: version (1 byte, 0x01) | key id (4 bytes big-endian) | iv (12 random bytes) |
/// ciphertext | tag (16 bytes). The key id is also bound into the tag.
std::string seal(const Key& key, std::string_view plaintext, std::string_view aad);
/// Opens a blob made by seal() with whichever key of `ring` its key id names. Error on an unknown
/// version or key id, a truncated blob, or an authentication failure (wrong aad, tampering).
Result<std::string> open(const Keyring& ring, std::string_view blob, std::string_view aad);
/// Key id a sealed blob names, or nullopt if the blob is too short or of an unknown version.
std::optional<uint32_t> sealed_key_id(std::string_view blob);

/// Loads the keyring file at `path`, creating it with one fresh random key (mode 0600, parent
/// directory must exist) when it does not exist. File format: one key per line, `<id> <64 hex>`,
/// '#' comments and blank lines ignored. Error (with a message naming the file) when the file is
/// unreadable, malformed, or readable by group/others.
Result<Keyring> load_or_create_keyring(const std::string& path);
/// Appends a new random key (id = highest + 1) to the keyring file and returns the new ring.
Result<Keyring> rotate_keyring(const std::string& path);

}  // namespace cs::crypto
