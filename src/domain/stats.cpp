#include "domain/stats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "domain/money.h"

namespace cs::domain {

double normal_cdf(double z) {
  return 0.5 * std::erfc(-z / std::sqrt(2.0));
}

TwoProportions two_proportions(int64_t x1, int64_t n1, int64_t x2, int64_t n2) {
  TwoProportions t;
  if (n1 <= 0 || n2 <= 0) return t;
  x1 = std::clamp<int64_t>(x1, 0, n1);
  x2 = std::clamp<int64_t>(x2, 0, n2);
  t.valid = true;
  const double N1 = static_cast<double>(n1), N2 = static_cast<double>(n2);
  t.p1 = static_cast<double>(x1) / N1;
  t.p2 = static_cast<double>(x2) / N2;
  t.diff = t.p1 - t.p2;
  t.se = std::sqrt(t.p1 * (1 - t.p1) / N1 + t.p2 * (1 - t.p2) / N2);
  t.ci_low = t.diff - kZ975 * t.se;
  t.ci_high = t.diff + kZ975 * t.se;
  const double pooled = static_cast<double>(x1 + x2) / (N1 + N2);
  const double se0 = std::sqrt(pooled * (1 - pooled) * (1 / N1 + 1 / N2));
  if (se0 > 0) {
    t.z = t.diff / se0;
    t.p_value = std::min(1.0, 2 * (1 - normal_cdf(std::fabs(t.z))));
  }
  return t;
}

int64_t required_per_group(double p1, double delta) {
  p1 = std::clamp(p1, 0.0, 1.0);
  double p2 = p1 + delta <= 1.0 ? p1 + delta : p1 - delta;
  const double pbar = (p1 + p2) / 2;
  const double a = kZ975 * std::sqrt(2 * pbar * (1 - pbar));
  const double b = kZ80 * std::sqrt(p1 * (1 - p1) + p2 * (1 - p2));
  // A tiny tolerance keeps an exact integer (floating-point noise) from rounding up once more.
  return static_cast<int64_t>(std::ceil((a + b) * (a + b) / (delta * delta) - 1e-9));
}

std::string format_points(double diff) {
  char buf[32];
  double pts = diff * 100;
  if (std::fabs(pts) < 0.05) pts = 0;  // never "-0.0"
  std::snprintf(buf, sizeof buf, "%+.1f points", pts);
  return buf;
}

std::string format_p_value(double p) {
  if (p < 0.001) return "< 0.001";
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.3f", p);
  return buf;
}

namespace {

std::string pct(double p) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.1f %%", p * 100);
  return buf;
}

std::string interval(const TwoProportions& t) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%+.1f to %+.1f points", t.ci_low * 100, t.ci_high * 100);
  return buf;
}

}  // namespace

Verdict compare(const std::string& name, int64_t x1, int64_t n1, const std::string& reference,
                int64_t x2, int64_t n2) {
  Verdict v;
  v.test = two_proportions(x1, n1, x2, n2);
  double baseline = 0.5;
  if (n2 > 0) {
    baseline = static_cast<double>(x2) / static_cast<double>(n2);
  } else if (n1 > 0) {
    baseline = static_cast<double>(x1) / static_cast<double>(n1);
  }
  v.required = required_per_group(baseline);
  v.more_needed = std::max<int64_t>(0, v.required - std::min(n1, n2));
  const std::string needed = format_count(v.more_needed);
  if (!v.test.valid) {
    v.kind = Verdict::Kind::NoData;
    v.sentence = "No closed cases in both groups yet: about " + format_count(v.required) +
                 " closed cases per group are needed to see a 5-point difference with 80 % "
                 "power.";
    return v;
  }
  if (v.more_needed > 0) {
    v.kind = Verdict::Kind::NotEnoughData;
    v.sentence = "Not enough data yet: about " + needed +
                 " more closed cases per group are needed to see a 5-point difference with 80 % "
                 "power. So far " +
                 name + " " + pct(v.test.p1) + " against " + reference + " " + pct(v.test.p2) +
                 "; no winner is named before then.";
    return v;
  }
  if (v.test.p_value < 0.05) {
    v.kind = Verdict::Kind::Difference;
    v.sentence = name + " recovers " + (v.test.diff > 0 ? "more" : "fewer") + " cases than " +
                 reference + ": " + pct(v.test.p1) + " against " + pct(v.test.p2) + ", " +
                 format_points(v.test.diff) + " (95 % CI " + interval(v.test) +
                 "; p = " + format_p_value(v.test.p_value) + ").";
  } else {
    v.kind = Verdict::Kind::NoDifference;
    v.sentence = "No difference shown between " + name + " and " + reference + ": " +
                 pct(v.test.p1) + " against " + pct(v.test.p2) +
                 "; the true difference is likely between " + interval(v.test) +
                 " (p = " + format_p_value(v.test.p_value) + ").";
  }
  return v;
}

}  // namespace cs::domain
