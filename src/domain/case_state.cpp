#include "domain/case_state.h"

#include <algorithm>
#include <initializer_list>

namespace cs::domain {
namespace {

template <typename E>
std::optional<E> from_name(std::string_view name, std::initializer_list<E> all,
                           const char* (*to_name)(E)) {
  for (E e : all) {
    if (name == to_name(e)) return e;
  }
  return std::nullopt;
}

}  // namespace

const char* status_name(CaseStatus s) {
  switch (s) {
    case CaseStatus::Open:
      return "open";
    case CaseStatus::Recovered:
      return "recovered";
    case CaseStatus::Lost:
      return "lost";
    case CaseStatus::Cancelled:
      return "cancelled";
  }
  return "open";
}

const std::vector<CaseStatus>& all_case_statuses() {
  static const std::vector<CaseStatus> all = {CaseStatus::Open, CaseStatus::Recovered,
                                              CaseStatus::Lost, CaseStatus::Cancelled};
  return all;
}

std::optional<CaseStatus> status_from_name(std::string_view name) {
  for (CaseStatus s : all_case_statuses())
    if (name == status_name(s)) return s;
  return std::nullopt;
}

const char* resolution_name(Resolution r) {
  switch (r) {
    case Resolution::None:
      return "";
    case Resolution::Payment:
      return "payment";
    case Resolution::Activation:
      return "activation";
    case Resolution::Deactivated:
      return "deactivated";
    case Resolution::Expired:
      return "expired";
    case Resolution::Admin:
      return "admin";
    case Resolution::Stale:
      return "stale";
    case Resolution::Erased:
      return "erased";
    case Resolution::PeriodEnd:
      return "period_end";
    case Resolution::Rejoined:
      return "rejoined";
  }
  return "";
}

std::optional<Resolution> resolution_from_name(std::string_view name) {
  return from_name(
      name,
      {Resolution::None, Resolution::Payment, Resolution::Activation, Resolution::Deactivated,
       Resolution::Expired, Resolution::Admin, Resolution::Stale, Resolution::Erased,
       Resolution::PeriodEnd, Resolution::Rejoined},
      resolution_name);
}

const char* send_state_name(SendState s) {
  switch (s) {
    case SendState::Sending:
      return "sending";
    case SendState::Sent:
      return "sent";
    case SendState::Failed:
      return "failed";
    case SendState::Unknown:
      return "unknown";
    case SendState::Skipped:
      return "skipped";
  }
  return "unknown";
}

std::optional<SendState> send_state_from_name(std::string_view name) {
  return from_name(name,
                   {SendState::Sending, SendState::Sent, SendState::Failed, SendState::Unknown,
                    SendState::Skipped},
                   send_state_name);
}

const char* incentive_state_name(IncentiveState s) {
  switch (s) {
    case IncentiveState::None:
      return "";
    case IncentiveState::Pending:
      return "pending";
    case IncentiveState::Queued:
      return "queued";
    case IncentiveState::Granting:
      return "granting";
    case IncentiveState::Granted:
      return "granted";
    case IncentiveState::Failed:
      return "failed";
    case IncentiveState::Off:
      return "off";
  }
  return "";
}

std::optional<IncentiveState> incentive_state_from_name(std::string_view name) {
  return from_name(name,
                   {IncentiveState::None, IncentiveState::Pending, IncentiveState::Queued,
                    IncentiveState::Granting, IncentiveState::Granted, IncentiveState::Failed,
                    IncentiveState::Off},
                   incentive_state_name);
}

int64_t net_recovered_cents(CaseStatus status, int64_t recovered_cents, int64_t refunded_cents) {
  switch (status) {
    case CaseStatus::Recovered:
      return std::max<int64_t>(0, recovered_cents - std::min(refunded_cents, recovered_cents));
    case CaseStatus::Open:
    case CaseStatus::Lost:
    case CaseStatus::Cancelled:
      return 0;
  }
  return 0;
}

bool paid_after_window(CaseStatus status, Resolution resolution, std::optional<int64_t> resolved_at,
                       std::optional<int64_t> last_paid_at) {
  return status == CaseStatus::Lost &&
         (resolution == Resolution::Expired || resolution == Resolution::Deactivated) &&
         resolved_at && last_paid_at && *last_paid_at > *resolved_at;
}

CaseActions allowed_actions(CaseStatus status, Resolution resolution, bool holdout) {
  CaseActions a;
  switch (status) {
    case CaseStatus::Open:
      a.nudge = !holdout;
      a.cancel = true;
      a.cancel_at_period_end = true;
      a.terminate = true;
      break;
    case CaseStatus::Recovered:
      break;  // the member paid: nothing to stop, nothing to end
    case CaseStatus::Lost:
    case CaseStatus::Cancelled:
      switch (resolution) {
        case Resolution::Expired:  // no payment inside the window: the membership may run on
        case Resolution::Stale:
        case Resolution::Admin:  // the creator stopped the nudges; the membership is untouched
        case Resolution::None:
          a.cancel_at_period_end = true;
          a.terminate = true;
          break;
        case Resolution::PeriodEnd:  // already ends at period end: only ending it now is left
          a.terminate = true;
          break;
        case Resolution::Deactivated:  // Whop already ended it
        case Resolution::Erased:
        case Resolution::Payment:
        case Resolution::Activation:
        case Resolution::Rejoined:  // a recovery resolution: not seen on a lost case
          break;
      }
      break;
  }
  return a;
}

}  // namespace cs::domain
