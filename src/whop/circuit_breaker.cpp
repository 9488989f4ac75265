// Circuit breaker (see circuit_breaker.h).
#include "whop/circuit_breaker.h"

#include <algorithm>

#include "util/log.h"

namespace cs::whop {

const char* breaker_state_name(BreakerState s) {
  switch (s) {
    case BreakerState::Closed:
      return "closed";
    case BreakerState::Open:
      return "open";
    case BreakerState::HalfOpen:
      return "half_open";
  }
  return "closed";
}

CircuitBreaker::CircuitBreaker(std::string name, int failures_to_open, int64_t open_ms)
    : name_(std::move(name)), failures_to_open_(std::max(1, failures_to_open)), open_ms_(open_ms) {}

CircuitBreaker::Admission CircuitBreaker::admit(int64_t now_ms) {
  if (state_ == BreakerState::Open && now_ms >= open_until_) {
    state_ = BreakerState::HalfOpen;
    trial_in_flight_ = false;
    log::info("whop breaker half-open", {{"op", name_}});
  }
  Admission a;
  a.state = state_;
  a.failures = failures_;
  if (state_ == BreakerState::Closed) {
    a.allowed = true;
  } else if (state_ == BreakerState::HalfOpen && !trial_in_flight_) {
    trial_in_flight_ = true;
    a.allowed = true;
    a.trial = true;
  } else if (state_ == BreakerState::Open) {
    a.open_for_ms = std::max<int64_t>(1, open_until_ - now_ms);
  }
  return a;
}

void CircuitBreaker::release_trial() {
  if (state_ == BreakerState::HalfOpen) trial_in_flight_ = false;
}

std::optional<int64_t> CircuitBreaker::record(bool failure, bool trial, int64_t now_ms) {
  if (trial) trial_in_flight_ = false;
  if (!failure) {
    if (state_ != BreakerState::Closed) log::info("whop breaker closed", {{"op", name_}});
    failures_ = 0;
    state_ = BreakerState::Closed;
    return std::nullopt;
  }
  ++failures_;
  const bool open_now = (state_ == BreakerState::Closed && failures_ >= failures_to_open_) ||
                        (state_ == BreakerState::HalfOpen && trial);
  if (open_now) {
    state_ = BreakerState::Open;
    open_until_ = now_ms + open_ms_;
    log::warn("whop breaker open",
              {{"op", name_}, {"consecutive_failures", failures_}, {"open_ms", open_ms_}});
  }
  if (state_ == BreakerState::Open) return std::max<int64_t>(1, open_until_ - now_ms);
  return std::nullopt;
}

BreakerInfo CircuitBreaker::info(int64_t now_ms) const {
  BreakerInfo b;
  b.state = (state_ == BreakerState::Open && now_ms >= open_until_) ? "half_open"
                                                                    : breaker_state_name(state_);
  b.consecutive_failures = failures_;
  b.open_until_ms = state_ == BreakerState::Open ? open_until_ : 0;
  return b;
}

}  // namespace cs::whop
