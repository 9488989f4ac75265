#include "util/password.h"

#include <openssl/evp.h>

#include <semaphore>
#include <stdexcept>
#include <vector>

#include "util/crypto.h"

namespace cs::password {
namespace {

constexpr size_t kSaltBytes = 16;
constexpr size_t kHashBytes = 32;

/// Bounds concurrent hashing so parallel logins cannot exhaust the CPU.
std::counting_semaphore<2>& hash_slots() {
  static std::counting_semaphore<2> slots(2);
  return slots;
}

std::string pbkdf2(std::string_view password, std::string_view salt, int iterations) {
  std::string out(kHashBytes, '\0');
  hash_slots().acquire();
  int ok =
      PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()),
                        static_cast<int>(salt.size()), iterations, EVP_sha256(),
                        static_cast<int>(out.size()), reinterpret_cast<unsigned char*>(out.data()));
  hash_slots().release();
  if (ok != 1) throw std::runtime_error("PKCS5_PBKDF2_HMAC failed");
  return out;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t p = s.find(sep, start);
    parts.push_back(s.substr(start, p == std::string::npos ? std::string::npos : p - start));
    if (p == std::string::npos) break;
    start = p + 1;
  }
  return parts;
}

}  // namespace

std::string hash(std::string_view password, int iterations) {
  std::string salt = crypto::random_bytes(kSaltBytes);
  return "pbkdf2-sha256$" + std::to_string(iterations) + "$" + crypto::base64_encode(salt) + "$" +
         crypto::base64_encode(pbkdf2(password, salt, iterations));
}

bool verify(std::string_view password, const std::string& encoded) {
  auto parts = split(encoded, '$');
  if (parts.size() != 4 || parts[0] != "pbkdf2-sha256") return false;
  if (parts[1].empty() || parts[1].size() > 9 ||
      parts[1].find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  int iterations = std::stoi(parts[1]);
  if (iterations < kIterations) return false;
  auto salt = crypto::base64_decode(parts[2]);
  auto want = crypto::base64_decode(parts[3]);
  if (!salt || !want || want->size() != kHashBytes) return false;
  return crypto::constant_time_equal(pbkdf2(password, *salt, iterations), *want);
}

std::string check_strength(std::string_view password) {
  if (password.size() < kMinLength) {
    return "Use at least " + std::to_string(kMinLength) + " characters.";
  }
  if (password.size() > kMaxLength) return "Use at most 1024 characters.";
  return "";
}

}  // namespace cs::password
