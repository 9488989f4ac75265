#pragma once
// Waiting for an asynchronous outcome in tests that run the real binary: poll with a bound,
// never sleep for the clock.
#include <chrono>
#include <cstdint>
#include <functional>
#include <thread>

namespace cs::test {

/// Wall-clock time in ms (for event times relative to now in payloads).
inline int64_t wall_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// How long a test client waits for an answer, in seconds. A sign-in runs PBKDF2 with 600,000
/// iterations; a sanitizer build on a busy machine can take far longer than 10 s for it, which is
/// slowness, not a defect.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr int kClientReadTimeoutS = 120;
#else
inline constexpr int kClientReadTimeoutS = 10;
#endif

/// Polls `done` every `every` until it holds or `limit` passes. Returns whether it held.
inline bool wait_for(const std::function<bool()>& done,
                     std::chrono::milliseconds limit = std::chrono::milliseconds(20000),
                     std::chrono::milliseconds every = std::chrono::milliseconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(every);
  }
  return done();
}

}  // namespace cs::test
