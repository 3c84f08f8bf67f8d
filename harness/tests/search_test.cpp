// The capacity search on simulated servers: which values it tries, where it stops, and how it
// treats a noisy run. No I/O; a "server" is a function from the knob to a run's outcome.
#include "load/search.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <vector>

namespace sockspec::load {
namespace {

// Runs the search to its end (bounded) and returns the knobs it tried, in order.
std::vector<double> drive(Search& s, const std::function<RunOutcome(double, int)>& server) {
  std::vector<double> tried;
  for (int i = 0; i < 200; ++i) {
    auto k = s.next();
    if (!k) break;
    tried.push_back(*k);
    s.record(server(*k, i));
  }
  return tried;
}

RunOutcome below(double knob, double capacity) { return {knob <= capacity, false, knob}; }

TEST(Search, ConvergesOnTheCapacityWithinThePrecision) {
  for (double capacity : {37.0, 1234.0, 98765.0}) {
    SearchSettings set;
    set.min = 10;
    set.precision = 0.05;
    Search s(set);
    drive(s, [&](double k, int) { return below(k, capacity); });
    ASSERT_EQ(s.outcome(), Search::Outcome::found) << capacity;
    ASSERT_TRUE(s.last_pass() && s.first_fail());
    EXPECT_LE(*s.last_pass(), capacity);
    EXPECT_GT(*s.first_fail(), capacity);
    EXPECT_LE(*s.first_fail() - *s.last_pass(), 0.05 * *s.last_pass()) << capacity;
  }
}

TEST(Search, GrowsGeometricallyThenBisects) {
  SearchSettings set;
  set.min = 100;
  set.precision = 0.2;
  set.repeats = 1;
  Search s(set);
  auto tried = drive(s, [](double k, int) { return below(k, 500); });
  std::vector<double> want = {100, 200, 400, 800, 600, 500};
  EXPECT_EQ(tried, want);
  EXPECT_EQ(s.outcome(), Search::Outcome::found);
  EXPECT_EQ(*s.last_pass(), 500);
  EXPECT_EQ(*s.first_fail(), 600);
}

TEST(Search, RepeatsAStepNearTheBoundaryUntilTwoRunsAgree) {
  SearchSettings set;
  set.min = 100;
  set.precision = 0.2;
  Search s(set);
  auto tried = drive(s, [](double k, int) { return below(k, 500); });
  // A passing growth step runs once; a failing one and every bisection step run twice.
  std::vector<double> want = {100, 200, 400, 800, 800, 600, 600, 500, 500};
  EXPECT_EQ(tried, want);
}

TEST(Search, ALastPassMeasuredOnceIsConfirmedBeforeTheSearchEnds) {
  SearchSettings set;
  set.min = 100;
  set.precision = 0.2;
  Search s(set);
  auto tried = drive(s, [](double k, int) { return below(k, 420); });
  std::vector<double> want = {100, 200, 400, 800, 800, 600, 600, 500, 500, 450, 450, 400};
  EXPECT_EQ(tried, want);
  EXPECT_EQ(s.outcome(), Search::Outcome::found);
  EXPECT_EQ(*s.last_pass(), 400);
}

TEST(Search, ALastPassThatFailsItsConfirmationMovesTheBracketBelowIt) {
  SearchSettings set;
  set.min = 100;
  set.precision = 0.2;
  Search s(set);
  // 400 passed by luck on its first run; it really fails, as everything above 300 does.
  auto tried = drive(s, [](double k, int i) { return below(k, i == 2 ? 400 : 300); });
  EXPECT_EQ(s.outcome(), Search::Outcome::found);
  EXPECT_EQ(*s.last_pass(), 300);
  EXPECT_EQ(*s.first_fail(), 350);
  EXPECT_EQ(std::count(tried.begin(), tried.end(), 400.0), 3);
}

TEST(Search, OneNoisyFailureDuringGrowthIsOutvoted) {
  SearchSettings set;
  set.min = 100;
  set.precision = 0.05;
  Search s(set);
  // The third run (at 400) fails once by bad luck; its repeats pass.
  drive(s, [](double k, int i) { return RunOutcome{i != 2 && k <= 5000, false, k}; });
  ASSERT_EQ(s.outcome(), Search::Outcome::found);
  EXPECT_GT(*s.last_pass(), 4000);
}

TEST(Search, AStepThatDisagreesWithItselfIsDecidedByTheMajority) {
  SearchSettings set;
  set.min = 100;
  set.max = 100;
  Search s(set);
  s.record({false, false, 100});
  EXPECT_EQ(s.next(), 100);  // one failure is not yet a verdict
  s.record({true, false, 100});
  EXPECT_EQ(s.next(), 100);  // one each: a third run decides
  s.record({true, false, 100});
  EXPECT_EQ(s.outcome(), Search::Outcome::max_passed);
}

TEST(Search, ReportsWhenEvenTheMinimumFails) {
  SearchSettings set;
  set.min = 1000;
  Search s(set);
  auto tried = drive(s, [](double k, int) { return below(k, 10); });
  EXPECT_EQ(s.outcome(), Search::Outcome::min_failed);
  EXPECT_FALSE(s.last_pass());
  EXPECT_EQ(tried, (std::vector<double>{1000, 1000}));
}

TEST(Search, StopsAtTheMaximumWhenItPasses) {
  SearchSettings set;
  set.min = 100;
  set.max = 1000;
  Search s(set);
  auto tried = drive(s, [](double k, int) { return below(k, 1e9); });
  EXPECT_EQ(s.outcome(), Search::Outcome::max_passed);
  EXPECT_EQ(*s.last_pass(), 1000);
  EXPECT_EQ(tried.back(), 1000);
}

TEST(Search, StopsWhenTheGeneratorIsTheBottleneck) {
  SearchSettings set;
  set.min = 100;
  Search s(set);
  drive(s, [](double k, int) { return RunOutcome{k <= 3200, k > 3200, k}; });
  EXPECT_EQ(s.outcome(), Search::Outcome::generator_limit);
  EXPECT_EQ(*s.last_pass(), 3200);
  EXPECT_EQ(*s.first_fail(), 6400);
}

TEST(Search, UsersStopWhereThroughputStopsGrowing) {
  SearchSettings set;
  set.min = 1;
  set.max = 4096;
  set.integer = true;
  set.plateau_gain = 0.1;
  Search s(set);
  // Throughput grows with users up to 8, then stays flat; no threshold breaks.
  auto tried = drive(s, [](double n, int) {
    return RunOutcome{true, false, 100 * std::min(n, 8.0)};
  });
  EXPECT_EQ(s.outcome(), Search::Outcome::plateau);
  EXPECT_EQ(*s.last_pass(), 8);
  EXPECT_EQ(s.last_pass_throughput(), 800);
  EXPECT_EQ(tried, (std::vector<double>{1, 2, 4, 8, 16, 16}));  // the flat step twice
}

TEST(Search, UsersBisectToTheLastCountWithinTheThreshold) {
  SearchSettings set;
  set.min = 1;
  set.precision = 0.01;
  set.integer = true;
  set.plateau_gain = 0.1;
  Search s(set);
  drive(s, [](double n, int) { return RunOutcome{n <= 13, false, 100 * n}; });
  EXPECT_EQ(s.outcome(), Search::Outcome::found);
  EXPECT_EQ(*s.last_pass(), 13);
  EXPECT_EQ(*s.first_fail(), 14);
}

TEST(Search, EndsWhenTheBudgetRunsOut) {
  SearchSettings set;
  set.min = 100;
  Search s(set);
  s.record({true, false, 100});
  s.out_of_budget();
  EXPECT_EQ(s.outcome(), Search::Outcome::budget);
  EXPECT_FALSE(s.next());
  EXPECT_EQ(*s.last_pass(), 100);
}

TEST(Search, PrecisionReadsPercentOrFraction) {
  EXPECT_DOUBLE_EQ(*parse_precision("5%"), 0.05);
  EXPECT_DOUBLE_EQ(*parse_precision("0.1"), 0.1);
  EXPECT_FALSE(parse_precision("0%"));
  EXPECT_FALSE(parse_precision("150%"));
  EXPECT_FALSE(parse_precision("five"));
  EXPECT_FALSE(parse_precision("5%%"));
}

}  // namespace
}  // namespace sockspec::load
