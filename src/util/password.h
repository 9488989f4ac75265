#pragma once
// Password hashing for the admin account: PBKDF2-HMAC-SHA256 (OpenSSL 3 has no Argon2), at least
// 600,000 iterations (shared/SECURITY.md), a 16-byte random salt, and the algorithm and parameters
// stored with the hash: "pbkdf2-sha256$<iterations>$<salt base64>$<hash base64>".
// At most two hashes run at once (each costs ~0.15 s of one core); further callers wait.
#include <string>
#include <string_view>

namespace cs::password {

constexpr int kIterations = 600000;
constexpr size_t kMinLength = 12;
constexpr size_t kMaxLength = 1024;

/// Hashes `password` with a fresh salt. Throws std::runtime_error if OpenSSL fails.
std::string hash(std::string_view password, int iterations = kIterations);
/// True when `password` matches `encoded` (constant-time comparison). False for a malformed or
/// unknown encoding, or one with fewer than 600,000 iterations.
bool verify(std::string_view password, const std::string& encoded);
/// "" when acceptable, else what is wrong, for a person (length 12 to 1024).
std::string check_strength(std::string_view password);

}  // namespace cs::password
