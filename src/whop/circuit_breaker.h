#pragma once
// The circuit breaker of one Whop operation: closed -> open after N consecutive failures ->
// half-open once the pause is over (exactly one trial request goes through) -> closed on a
// healthy answer, open again when the trial fails. While open, calls are refused without touching
// the network. Not thread-safe: the client calls it under its own lock. The time is a parameter.
#include <cstdint>
#include <optional>
#include <string>

namespace cs::whop {

enum class BreakerState { Closed, Open, HalfOpen };

/// "closed" | "open" | "half_open".
const char* breaker_state_name(BreakerState s);

/// Circuit breaker state of one operation (health page).
struct BreakerInfo {
  std::string state;  // "closed" | "open" | "half_open"
  int consecutive_failures = 0;
  int64_t open_until_ms = 0;  // when open: the earliest time of the trial call
};

class CircuitBreaker {
 public:
  /// `failures_to_open` < 1 is taken as 1. `name` only names the operation in log lines.
  CircuitBreaker(std::string name, int failures_to_open, int64_t open_ms);

  /// The answer to "may a request go now?".
  struct Admission {
    bool allowed = false;
    bool trial = false;  // allowed as the half-open trial: report it back to record()
    BreakerState state = BreakerState::Closed;  // when refused: Open or HalfOpen (trial running)
    int64_t open_for_ms = 0;                    // when refused while Open: the pause left
    int failures = 0;                           // consecutive failures so far
  };
  Admission admit(int64_t now_ms);

  /// A trial that ended without an answer (e.g. refused by the rate limit) frees the trial slot.
  void release_trial();

  /// Records the outcome of an admitted request. Returns the pause left when the breaker is open
  /// afterwards.
  std::optional<int64_t> record(bool failure, bool trial, int64_t now_ms);

  /// For the health page: an open breaker whose pause is over shows as half-open.
  BreakerInfo info(int64_t now_ms) const;

 private:
  std::string name_;
  int failures_to_open_;
  int64_t open_ms_;
  BreakerState state_ = BreakerState::Closed;
  int failures_ = 0;
  int64_t open_until_ = 0;
  bool trial_in_flight_ = false;
};

}  // namespace cs::whop
