#pragma once
// The statistics of an experiment's results: the difference of two recovery rates with its 95 %
// confidence interval, the p-value of the two-proportion z-test, the sample each arm needs, and
// the plain sentence the results page shows. Pure; every number is checked against hand
// computations in tests/unit/test_domain_stats.cpp.
//
// Peeking: this is a FIXED-HORIZON design, not a sequential one. The interval and p-value are
// only honest when the sample size is decided before looking, so
// - the sample each arm needs (a 5-point difference, 80 % power, 5 % two-sided) is computed and
//   shown from the first case on, and no arm is called better or worse before every compared
//   group has that many closed cases (the sentence says how many more are needed instead);
// - every view of the results page is counted, and from kManyLooks views on the page warns that
//   looking again and again and stopping when the numbers look good inflates false positives.
// We chose this over a sequential method (alpha spending, mSPRT) because the creator can check
// the numbers by hand with any textbook, and the minimum sample tells them when to come back.
#include <cstdint>
#include <string>

namespace cs::domain {

/// Two-sided 95 % and 80 % power quantiles of the standard normal distribution.
constexpr double kZ975 = 1.959963984540054;
constexpr double kZ80 = 0.8416212335729143;
/// The difference in recovery rate an experiment is sized to see (5 percentage points).
constexpr double kMinDetectableDifference = 0.05;
/// From this many views of a running experiment's results on, the page warns about peeking.
constexpr int64_t kManyLooks = 10;

/// The standard normal cumulative distribution function.
double normal_cdf(double z);

/// Group 1 against group 2: x recovered of n closed cases each.
struct TwoProportions {
  bool valid = false;  // both groups have at least one closed case
  double p1 = 0, p2 = 0;
  double diff = 0;                 // p1 - p2
  double se = 0;                   // unpooled standard error of the difference (for the CI)
  double ci_low = 0, ci_high = 0;  // diff -/+ 1.96 se (Wald interval)
  double z = 0;                    // diff / pooled standard error (the test statistic)
  double p_value = 1;              // two-sided
};
TwoProportions two_proportions(int64_t x1, int64_t n1, int64_t x2, int64_t n2);

/// Closed cases each group needs to detect rates `p1` against `p1 + delta` (or `p1 - delta` when
/// that would pass 1) with a two-sided 5 % test at 80 % power (Fleiss, without continuity
/// correction): n = (z_.975 sqrt(2 pbar qbar) + z_.8 sqrt(p1 q1 + p2 q2))^2 / delta^2, rounded up.
int64_t required_per_group(double p1, double delta = kMinDetectableDifference);

/// What the results page says about one comparison.
struct Verdict {
  enum class Kind { NoData, NotEnoughData, Difference, NoDifference };
  Kind kind = Kind::NoData;
  int64_t required = 0;     // closed cases each group needs
  int64_t more_needed = 0;  // how many more the smaller group needs (0 once reached)
  TwoProportions test;
  std::string sentence;
};
/// `name` (x1 of n1) against `reference` (x2 of n2). The required sample is computed from the
/// reference group's rate (the pooled rate while the reference has no closed case, 50 % while
/// nobody has one: the largest sample). No winner is named before both groups reach it.
Verdict compare(const std::string& name, int64_t x1, int64_t n1, const std::string& reference,
                int64_t x2, int64_t n2);

/// "+2.5 points", "-0.4 points" (one decimal).
std::string format_points(double diff);
/// "0.028", "< 0.001".
std::string format_p_value(double p);

}  // namespace cs::domain
