// The experiment statistics against hand computations (each worked out in the comments, with
// z_.975 = 1.959964 and z_.8 = 0.841621).
#include <doctest/doctest.h>

#include "domain/stats.h"

using namespace cs::domain;
using doctest::Approx;

TEST_CASE("normal_cdf matches the table") {
  CHECK(normal_cdf(0) == Approx(0.5));
  CHECK(normal_cdf(kZ975) == Approx(0.975).epsilon(1e-9));
  CHECK(normal_cdf(kZ80) == Approx(0.8).epsilon(1e-9));
  CHECK(normal_cdf(-1.0) == Approx(0.158655).epsilon(1e-5));
}

TEST_CASE("two proportions: 45 of 100 against 30 of 100") {
  // p1 = .45, p2 = .30, diff = .15.
  // Unpooled SE = sqrt(.45*.55/100 + .30*.70/100) = sqrt(.002475 + .0021) = sqrt(.004575)
  //             = .0676387; CI = .15 -/+ 1.959964 * .0676387 = .15 -/+ .132570 = [.017430,
  //             .282570].
  // Pooled p = 75/200 = .375; SE0 = sqrt(.375*.625*(1/100 + 1/100)) = sqrt(.0046875) = .0684653;
  // z = .15 / .0684653 = 2.190890 (z^2 = 4.8, the chi-square of the 2x2 table without
  // continuity correction); p = 2 (1 - Phi(2.190890)) = .028460.
  auto t = two_proportions(45, 100, 30, 100);
  REQUIRE(t.valid);
  CHECK(t.p1 == Approx(0.45));
  CHECK(t.p2 == Approx(0.30));
  CHECK(t.diff == Approx(0.15));
  CHECK(t.se == Approx(0.0676387).epsilon(1e-6));
  CHECK(t.ci_low == Approx(0.017430).epsilon(1e-4));
  CHECK(t.ci_high == Approx(0.282570).epsilon(1e-5));
  CHECK(t.z == Approx(2.190890).epsilon(1e-6));
  CHECK(t.z * t.z == Approx(4.8));
  CHECK(t.p_value == Approx(0.028460).epsilon(1e-4));
  // The other way round: the same interval mirrored, the same p-value.
  auto r = two_proportions(30, 100, 45, 100);
  CHECK(r.diff == Approx(-0.15));
  CHECK(r.ci_low == Approx(-0.282570).epsilon(1e-5));
  CHECK(r.p_value == Approx(t.p_value));
}

TEST_CASE("two proportions: equal rates, no data, all or nothing") {
  // 20/200 against 20/200: diff 0, z 0, p 1; SE = sqrt(2 * .1*.9/200) = .03; CI = -/+ .058799.
  auto t = two_proportions(20, 200, 20, 200);
  CHECK(t.diff == Approx(0));
  CHECK(t.p_value == Approx(1));
  CHECK(t.ci_high == Approx(0.058799).epsilon(1e-5));
  CHECK_FALSE(two_proportions(0, 0, 5, 10).valid);
  // Everyone recovered in both groups: no variance, no evidence of a difference.
  auto all = two_proportions(10, 10, 8, 8);
  CHECK(all.valid);
  CHECK(all.p_value == Approx(1));
}

TEST_CASE("required sample per group for a 5-point difference at 80 % power") {
  // 10 % against 15 %: pbar = .125; z_.975 sqrt(2*.125*.875) = 1.959964*.467707 = .916689;
  // z_.8 sqrt(.1*.9 + .15*.85) = .841621*.466369 = .392506; (.916689 + .392506)^2 / .05^2
  // = 1.713992 / .0025 = 685.6 -> 686 (the textbook figure for 10 % vs 15 %).
  CHECK(required_per_group(0.10) == 686);
  // 20 % against 25 %: 1093.7 -> 1094; 50 % against 55 %: 1564.7 -> 1565.
  CHECK(required_per_group(0.20) == 1094);
  CHECK(required_per_group(0.50) == 1565);
  // 98 %: p2 would pass 100 %, so 98 % against 93 %, the same as 7 % against 2 % by symmetry.
  CHECK(required_per_group(0.98) == required_per_group(0.02));
}

TEST_CASE("the sentence names no winner before the minimum sample") {
  // 45/100 vs 30/100 is significant (p = .028) but 100 per group is short of the 1331 needed for
  // 30 % against 35 %: pbar .325, 1.959964*sqrt(2*.325*.675) = 1.959964*.662382 = 1.298245;
  // .841621*sqrt(.21 + .2275) = .841621*.661438 = .556682; (1.854927)^2/.0025 = 1376.3 -> 1377.
  auto v = compare("B", 45, 100, "A", 30, 100);
  CHECK(v.kind == Verdict::Kind::NotEnoughData);
  CHECK(v.required == 1377);
  CHECK(v.more_needed == 1277);
  CHECK(v.sentence.find("Not enough data yet: about 1,277 more closed cases per group") == 0);
  CHECK(v.sentence.find("5-point difference with 80 % power") != std::string::npos);
  CHECK(v.sentence.find("recovers more") == std::string::npos);

  // Ten times the data: 450/1000 vs 300/1000 needs 1377 per group, still short by 377.
  CHECK(compare("B", 450, 1000, "A", 300, 1000).more_needed == 377);
  // 700/2000 vs 600/2000 (35 % vs 30 %): enough; SE0 = sqrt(.325*.675*2/2000) = .014811,
  // z = .05/.014811 = 3.3759, p = .00074 -> "< 0.001".
  auto d = compare("B", 700, 2000, "A", 600, 2000);
  CHECK(d.kind == Verdict::Kind::Difference);
  CHECK(d.test.p_value == Approx(0.000736).epsilon(1e-5));
  CHECK(d.sentence.find("B recovers more cases than A: 35.0 % against 30.0 %, +5.0 points") == 0);
  CHECK(d.sentence.find("p = < 0.001") != std::string::npos);
  // 610/2000 vs 600/2000: no difference shown, with the interval.
  auto n = compare("B", 610, 2000, "A", 600, 2000);
  CHECK(n.kind == Verdict::Kind::NoDifference);
  CHECK(n.sentence.find("No difference shown between B and A") == 0);
  // Nothing closed yet: the sample at 50 %, the most conservative guess.
  auto none = compare("B", 0, 0, "A", 0, 0);
  CHECK(none.kind == Verdict::Kind::NoData);
  CHECK(none.required == 1565);
}

TEST_CASE("formatting of points and p-values") {
  CHECK(format_points(0.05) == "+5.0 points");
  CHECK(format_points(-0.0004) == "+0.0 points");
  CHECK(format_points(-0.123) == "-12.3 points");
  CHECK(format_p_value(0.0284597) == "0.028");
  CHECK(format_p_value(0.0004) == "< 0.001");
}
