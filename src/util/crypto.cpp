// Cryptographic primitives over OpenSSL 3 (see crypto.h for the contracts).
#include "util/crypto.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace cs::crypto {
namespace {

constexpr char kB64Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kHexDigits[] = "0123456789abcdef";

constexpr unsigned char kSealVersion = 0x01;
constexpr size_t kHeaderLen = 1 + 4;  // version | key id
constexpr size_t kIvLen = 12;
constexpr size_t kTagLen = 16;
constexpr size_t kKeyLen = 32;
constexpr size_t kMinSealedLen = kHeaderLen + kIvLen + kTagLen;
// EVP update calls take an int length: feed long inputs in chunks of this size.
constexpr size_t kEvpChunk = size_t{1} << 30;
// A keyring holds a handful of short lines; anything bigger is not a keyring.
constexpr size_t kMaxKeyringBytes = 1 << 20;

constexpr char kKeyringHeader[] =
    "# Churn Saver data-at-rest keys. Back this file up with the database.\n";

const unsigned char* bytes_of(std::string_view s) {
  static const unsigned char kEmpty = 0;
  return s.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(s.data());
}

// Value of one base64 alphabet character, or -1 for anything else (including '=').
int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Value of one hex digit (either case), or -1.
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes one 4-character base64 quantum into `out`. `last` allows 1 or 2 trailing '='. Rejects
// non-zero unused bits before padding, so every byte string has exactly one accepted encoding.
bool decode_quantum(std::string_view q, bool last, std::string& out) {
  size_t pad = 0;
  if (last) pad = (q[3] == '=') ? ((q[2] == '=') ? 2 : 1) : 0;
  uint32_t acc = 0;
  for (size_t i = 0; i < 4 - pad; ++i) {
    const int v = b64_value(q[i]);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
  }
  acc <<= 6 * pad;
  if (pad == 2 && (acc & 0xFFFF) != 0) return false;
  if (pad == 1 && (acc & 0xFF) != 0) return false;
  out.push_back(static_cast<char>((acc >> 16) & 0xFF));
  if (pad < 2) out.push_back(static_cast<char>((acc >> 8) & 0xFF));
  if (pad < 1) out.push_back(static_cast<char>(acc & 0xFF));
  return true;
}

void put_u32_be(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xFF));
}

uint32_t get_u32_be(std::string_view s) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(s[i]);
  return v;
}

// The bytes authenticated besides the ciphertext: the blob header, then the caller's aad.
std::string seal_aad(std::string_view header, std::string_view aad) {
  std::string full(header);
  full.append(aad);
  return full;
}

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

CipherCtx new_cipher_ctx() {
  CipherCtx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  if (!ctx) throw std::runtime_error("crypto: EVP_CIPHER_CTX_new failed");
  return ctx;
}

// Feeds additional authenticated data into an initialised GCM context (encrypt or decrypt).
bool gcm_aad(EVP_CIPHER_CTX* ctx, std::string_view aad, bool encrypt) {
  for (size_t off = 0; off < aad.size(); off += kEvpChunk) {
    const std::string_view part = aad.substr(off, kEvpChunk);
    int len = 0;
    const int rc =
        encrypt
            ? EVP_EncryptUpdate(ctx, nullptr, &len, bytes_of(part), static_cast<int>(part.size()))
            : EVP_DecryptUpdate(ctx, nullptr, &len, bytes_of(part), static_cast<int>(part.size()));
    if (rc != 1) return false;
  }
  return true;
}

// Encrypts or decrypts `in` into `out` (same length: GCM is a stream mode).
bool gcm_update(EVP_CIPHER_CTX* ctx, std::string_view in, std::string& out, bool encrypt) {
  out.resize(in.size());
  for (size_t off = 0; off < in.size(); off += kEvpChunk) {
    const std::string_view part = in.substr(off, kEvpChunk);
    auto* dst = reinterpret_cast<unsigned char*>(out.data() + off);
    int len = 0;
    const int n = static_cast<int>(part.size());
    const int rc = encrypt ? EVP_EncryptUpdate(ctx, dst, &len, bytes_of(part), n)
                           : EVP_DecryptUpdate(ctx, dst, &len, bytes_of(part), n);
    if (rc != 1 || len != n) return false;
  }
  return true;
}

// ---- keyring file helpers ------------------------------------------------------------------

std::string errno_text() {
  return std::strerror(errno);
}

// Closes a file descriptor on scope exit.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Writes all of `data` to `fd`, retrying on EINTR and short writes.
bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Reads the whole file behind `fd` from offset 0 (at most kMaxKeyringBytes + 1 bytes).
Result<std::string> read_all(int fd, const std::string& path) {
  std::string data;
  char buf[4096];
  off_t off = 0;
  while (data.size() <= kMaxKeyringBytes) {
    const ssize_t n = ::pread(fd, buf, sizeof buf, off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      OPENSSL_cleanse(buf, sizeof buf);
      return Error{"keyring " + path + ": cannot read: " + errno_text()};
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
    off += n;
  }
  OPENSSL_cleanse(buf, sizeof buf);
  if (data.size() > kMaxKeyringBytes) {
    return Error{"keyring " + path + " is too large to be a keyring file"};
  }
  return data;
}

// Refuses anything but a regular file that only its owner may read or write.
Status check_keyring_mode(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Error{"keyring " + path + ": cannot stat: " + errno_text()};
  if (!S_ISREG(st.st_mode)) return Error{"keyring " + path + " is not a regular file"};
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Error{"keyring " + path + " has mode " + mode +
                 " (readable or writable by group/others); refusing to use it. Run: chmod 600 " +
                 path};
  }
  return Ok{};
}

std::string_view trim(std::string_view s) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Parses a key id: 1..10 decimal digits, value in [1, UINT32_MAX].
std::optional<uint32_t> parse_key_id(std::string_view s) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v == 0 || v > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(v);
}

// Parses one non-comment line "<id> <64 hex>" (separated by spaces or tabs).
std::optional<Key> parse_key_line(std::string_view line) {
  const size_t sep = line.find_first_of(" \t");
  if (sep == std::string_view::npos) return std::nullopt;
  const auto id = parse_key_id(line.substr(0, sep));
  const std::string_view hex = trim(line.substr(sep));
  if (!id || hex.size() != 2 * kKeyLen) return std::nullopt;
  auto bytes = hex_decode(hex);
  if (!bytes) return std::nullopt;
  return Key{*id, std::move(*bytes)};
}

// Parses keyring file contents. Error messages name the file and line, never key material.
Result<Keyring> parse_keyring(std::string_view text, const std::string& path) {
  std::vector<Key> keys;
  size_t line_no = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const std::string_view raw = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_no;
    const std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#') continue;
    auto key = parse_key_line(line);
    if (!key) {
      return Error{"keyring " + path + ": line " + std::to_string(line_no) +
                   " is malformed (expected '<id> <64 hex digits>')"};
    }
    const bool dup =
        std::any_of(keys.begin(), keys.end(), [&](const Key& k) { return k.id == key->id; });
    if (dup) {
      return Error{"keyring " + path + ": line " + std::to_string(line_no) + " repeats key id " +
                   std::to_string(key->id)};
    }
    keys.push_back(std::move(*key));
  }
  if (keys.empty()) return Error{"keyring " + path + " contains no keys"};
  return Keyring(std::move(keys));
}

// Checks the mode of an open keyring file, then reads and parses it.
Result<Keyring> read_keyring_fd(int fd, const std::string& path) {
  if (auto st = check_keyring_mode(fd, path); !st) return Error{st.error()};
  auto text = read_all(fd, path);
  if (!text) return Error{text.error()};
  auto ring = parse_keyring(*text, path);
  OPENSSL_cleanse(text->data(), text->size());
  return ring;
}

// One keyring line for `key`, "<id> <hex>\n".
std::string key_line(const Key& key) {
  return std::to_string(key.id) + " " + hex_encode(key.bytes) + "\n";
}

Key fresh_key(uint32_t id) {
  return Key{id, random_bytes(kKeyLen)};
}

// fsyncs the directory holding `path`, so a newly created entry survives power loss.
void sync_parent_dir(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return;
  ::fsync(dfd);
  ::close(dfd);
}

// Creates `path` exclusively (mode 0600 from the start) holding one fresh key. Returns nullopt
// when the file already exists, so the caller loads it instead.
std::optional<Result<Keyring>> create_keyring(const std::string& path) {
  Key key = fresh_key(1);  // before creating the file: a throwing RNG must not leave it empty
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 && errno == EEXIST) return std::nullopt;
  if (fd < 0) return Result<Keyring>(Error{"keyring " + path + ": cannot create: " + errno_text()});
  Fd guard(fd);
  std::string content = std::string(kKeyringHeader) + key_line(key);
  const bool written = write_all(fd, content) && ::fsync(fd) == 0;
  const std::string why = errno_text();
  OPENSSL_cleanse(content.data(), content.size());
  if (!written) {
    ::unlink(path.c_str());  // never leave a half-written keyring behind
    return Result<Keyring>(Error{"keyring " + path + ": cannot write: " + why});
  }
  sync_parent_dir(path);
  return Result<Keyring>(Keyring({std::move(key)}));
}

// Opens an existing keyring file for reading or appending, under a flock of the given kind.
Result<int> open_locked(const std::string& path, int flags, int lock) {
  const int fd = ::open(path.c_str(), flags | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return Error{"keyring " + path + ": cannot open: " + errno_text()};
  while (::flock(fd, lock) != 0) {
    if (errno == EINTR) continue;
    const std::string why = errno_text();
    ::close(fd);
    return Error{"keyring " + path + ": cannot lock: " + why};
  }
  return fd;
}

}  // namespace

// ---- encodings -----------------------------------------------------------------------------

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (uint32_t{static_cast<unsigned char>(bytes[i])} << 16) |
                       (uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out.push_back(kB64Alphabet[(v >> shift) & 63]);
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = uint32_t{static_cast<unsigned char>(bytes[i])} << 16;
    if (rest == 2) v |= uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8;
    out.push_back(kB64Alphabet[(v >> 18) & 63]);
    out.push_back(kB64Alphabet[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kB64Alphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

// Strict: length a multiple of 4, alphabet characters only, '=' only as the final one or two
// characters, and zero unused bits (only the canonical encoding of a byte string is accepted).
std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    if (!decode_quantum(text.substr(i, 4), last, out)) return std::nullopt;
  }
  return out;
}

std::string hex_encode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHexDigits[c >> 4]);
    out.push_back(kHexDigits[c & 0x0F]);
  }
  return out;
}

std::optional<std::string> hex_decode(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = hex_value(hex[i]);
    const int lo = hex_value(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>((hi << 4) | lo));
  }
  return out;
}

// ---- hashes and MACs -----------------------------------------------------------------------

// Throws std::runtime_error only if OpenSSL itself fails (out of memory).
std::string sha256(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (EVP_Digest(bytes_of(data), data.size(), md.data(), &len, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("crypto: SHA-256 failed");
  }
  return std::string(reinterpret_cast<const char*>(md.data()), len);
}

// Throws std::runtime_error only if OpenSSL itself fails (out of memory, key over INT_MAX).
std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (key.size() > INT_MAX || HMAC(EVP_sha256(), bytes_of(key), static_cast<int>(key.size()),
                                   bytes_of(data), data.size(), md.data(), &len) == nullptr) {
    throw std::runtime_error("crypto: HMAC-SHA256 failed");
  }
  return std::string(reinterpret_cast<const char*>(md.data()), len);
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(bytes_of(a), bytes_of(b), a.size()) == 0;
}

// ---- randomness ----------------------------------------------------------------------------

std::string random_bytes(size_t n) {
  std::string out(n, '\0');
  for (size_t off = 0; off < n; off += kEvpChunk) {
    const size_t part = std::min(kEvpChunk, n - off);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data() + off), static_cast<int>(part)) !=
        1) {
      throw std::runtime_error("crypto: RAND_bytes failed (CSPRNG unavailable)");
    }
  }
  return out;
}

std::string random_hex(size_t nbytes) {
  return hex_encode(random_bytes(nbytes));
}

// ---- keyring -------------------------------------------------------------------------------

// Keeps the keys sorted by id so current() is the last one.
Keyring::Keyring(std::vector<Key> keys) : keys_(std::move(keys)) {
  std::sort(keys_.begin(), keys_.end(), [](const Key& a, const Key& b) { return a.id < b.id; });
}

const Key& Keyring::current() const {
  return keys_.back();
}

const Key* Keyring::find(uint32_t id) const {
  for (const Key& k : keys_) {
    if (k.id == id) return &k;
  }
  return nullptr;
}

// ---- sealing -------------------------------------------------------------------------------

// Throws std::runtime_error when the key is not 32 bytes or OpenSSL fails (programming error or
// out of memory; never a property of the data).
std::string seal(const Key& key, std::string_view plaintext, std::string_view aad) {
  if (key.bytes.size() != kKeyLen) throw std::runtime_error("crypto: seal needs a 32-byte key");
  std::string out;
  out.reserve(kMinSealedLen + plaintext.size());
  out.push_back(static_cast<char>(kSealVersion));
  put_u32_be(out, key.id);
  const std::string iv = random_bytes(kIvLen);
  const std::string full_aad = seal_aad(std::string_view(out).substr(0, kHeaderLen), aad);
  out.append(iv);

  CipherCtx ctx = new_cipher_ctx();
  std::string ct;
  std::array<unsigned char, kTagLen> tag{};
  int len = 0;
  const bool ok = EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, bytes_of(key.bytes),
                                     bytes_of(iv)) == 1 &&
                  gcm_aad(ctx.get(), full_aad, true) &&
                  gcm_update(ctx.get(), plaintext, ct, true) &&
                  EVP_EncryptFinal_ex(ctx.get(), nullptr, &len) == 1 &&
                  EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagLen, tag.data()) == 1;
  if (!ok) throw std::runtime_error("crypto: AES-256-GCM encryption failed");
  out.append(ct);
  out.append(reinterpret_cast<const char*>(tag.data()), tag.size());
  return out;
}

Result<std::string> open(const Keyring& ring, std::string_view blob, std::string_view aad) {
  if (blob.size() < kMinSealedLen) return Error{"sealed data is truncated"};
  if (static_cast<unsigned char>(blob[0]) != kSealVersion) {
    return Error{"sealed data has an unknown format version"};
  }
  const uint32_t id = get_u32_be(blob.substr(1, 4));
  const Key* key = ring.find(id);
  if (key == nullptr)
    return Error{"sealed data names key id " + std::to_string(id) +
                 ", which is not in the keyring"};
  if (key->bytes.size() != kKeyLen) return Error{"key " + std::to_string(id) + " is not 32 bytes"};

  const std::string_view iv = blob.substr(kHeaderLen, kIvLen);
  const std::string_view ct = blob.substr(kHeaderLen + kIvLen, blob.size() - kMinSealedLen);
  std::string tag(blob.substr(blob.size() - kTagLen));
  const std::string full_aad = seal_aad(blob.substr(0, kHeaderLen), aad);

  CipherCtx ctx = new_cipher_ctx();
  std::string plain;
  int len = 0;
  const bool ok = EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, bytes_of(key->bytes),
                                     bytes_of(iv)) == 1 &&
                  gcm_aad(ctx.get(), full_aad, false) && gcm_update(ctx.get(), ct, plain, false) &&
                  EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagLen, tag.data()) == 1 &&
                  EVP_DecryptFinal_ex(ctx.get(), nullptr, &len) == 1;
  if (!ok) {
    OPENSSL_cleanse(plain.data(), plain.size());
    return Error{"sealed data failed authentication (wrong key, wrong context, or tampered)"};
  }
  return plain;
}

std::optional<uint32_t> sealed_key_id(std::string_view blob) {
  if (blob.size() < kMinSealedLen) return std::nullopt;
  if (static_cast<unsigned char>(blob[0]) != kSealVersion) return std::nullopt;
  return get_u32_be(blob.substr(1, 4));
}

// ---- keyring file --------------------------------------------------------------------------

// Tries to create the file first (O_EXCL, so an existing file is never touched), then loads it.
Result<Keyring> load_or_create_keyring(const std::string& path) {
  if (auto created = create_keyring(path)) return std::move(*created);
  auto fd = open_locked(path, O_RDONLY, LOCK_SH);
  if (!fd) return Error{fd.error()};
  Fd guard(*fd);
  return read_keyring_fd(*fd, path);
}

// Holds an exclusive flock while reading and appending, so concurrent rotations cannot pick the
// same id. The file must already exist and pass the same checks as load_or_create_keyring.
Result<Keyring> rotate_keyring(const std::string& path) {
  auto fd = open_locked(path, O_RDWR | O_APPEND, LOCK_EX);
  if (!fd) return Error{fd.error()};
  Fd guard(*fd);
  auto ring = read_keyring_fd(*fd, path);
  if (!ring) return ring;
  const uint32_t top = ring->current().id;
  if (top == UINT32_MAX)
    return Error{"keyring " + path + ": no key id left after " + std::to_string(top)};
  struct stat st {};
  char last = '\n';
  if (::fstat(*fd, &st) == 0 && st.st_size > 0) {
    if (::pread(*fd, &last, 1, st.st_size - 1) != 1) last = '\n';
  }
  Key key = fresh_key(top + 1);
  std::string line;
  if (last != '\n') line = "\n";
  line += key_line(key);
  const bool written = write_all(*fd, line) && ::fsync(*fd) == 0;
  const std::string why = errno_text();
  OPENSSL_cleanse(line.data(), line.size());
  if (!written) return Error{"keyring " + path + ": cannot append a key: " + why};
  std::vector<Key> keys = ring->keys();
  keys.push_back(std::move(key));
  return Keyring(std::move(keys));
}

}  // namespace cs::crypto
