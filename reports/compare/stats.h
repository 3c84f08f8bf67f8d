// The statistics of `sockspec compare`, pure functions of histograms and numbers (no I/O, no
// report model), so they are tested on synthetic data without a socket.
//
// Two kinds of evidence, because they answer different questions:
// - within a run: a load run records every latency, so a percentile's sampling error is known
//   from the histogram alone (the distribution-free interval between two order statistics) and
//   two distributions are compared whole by the Mann-Whitney U test on their buckets. With
//   millions of samples these intervals are narrow: they say what one run measured, not what a
//   second run on a shared machine would measure;
// - across runs (or seconds): the values of several repetitions per side, compared by Welch's
//   t-test. Run-to-run drift lives here, so when it is available it usually decides.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "reports/histogram.h"

namespace sockspec::reports::stats {

// A p-value as people read it: "0.012", "<0.001".
std::string p_text(double p);

// Two-sided p-value of a standard normal z.
double normal_p(double z);
// The z of a two-sided interval at confidence 1 - alpha (1.96 for 0.05).
double normal_z(double alpha);

// A percentile's value and its distribution-free confidence interval: the order statistics at
// ranks n*q -/+ z*sqrt(n*q*(1-q)), read from the histogram (to its bucket precision).
struct QuantileCI {
  double value = 0, lo = 0, hi = 0;
  uint64_t n = 0;
};
QuantileCI quantile_ci(const Histogram& h, double percentile, double alpha);

// The standard error of log(value), from an interval at `alpha` around it: (ln hi - ln lo)/2z,
// never below the histogram's own resolution (a bucket is 1/1024 of its value wide).
double log_se(const QuantileCI& q, double alpha);

// A histogram's mean and the standard error of that mean (bucket midpoints for the spread).
struct MeanSE {
  double mean = 0, se = 0;
  uint64_t n = 0;
};
MeanSE mean_se(const Histogram& h);

// The change new/old - 1 of a positive quantity, from log-scale estimates and their standard
// errors: the point change, its interval and the two-sided p of "no change".
struct RelativeChange {
  double change = 0, lo = 0, hi = 0, p = 1;
};
RelativeChange relative_change(double old_value, double old_log_se, double new_value,
                               double new_log_se, double alpha);

// Mann-Whitney U on two histograms of one layout, each bucket a group of ties: the probability
// that a value of `b` exceeds one of `a` (ties count half: 0.5 means no shift) and the two-sided
// p of the normal approximation with the tie correction.
struct UTest {
  double prob_b_greater = 0.5, p = 1, z = 0;
  uint64_t n_a = 0, n_b = 0;
};
UTest mann_whitney(const Histogram& a, const Histogram& b);

// A t-test of mean(b) - mean(a) on two small samples (runs, seconds): the difference, its
// interval and the two-sided p. Fewer than two values on a side: p = 1, `usable` false.
struct TTest {
  double diff = 0, lo = 0, hi = 0, p = 1, df = 0;
  bool usable = false;
};
// Welch's: each side's variance apart.
TTest welch(const std::vector<double>& a, const std::vector<double>& b, double alpha);

// Student's t-test with the variance pooled over both samples: the test across runs. A
// machine's run-to-run noise is much the same on both sides (on the log scale for latencies),
// and with two or three runs a side Welch's test would spend most of its few degrees of
// freedom estimating two variances: pooled, 2+2 runs have 2 degrees of freedom, not ~1.
TTest pooled_t(const std::vector<double>& a, const std::vector<double>& b, double alpha);

// Two proportions k_a/n_a and k_b/n_b (errors per iteration, lost per datagram): the difference
// b - a, its interval and the two-sided p of the pooled z-test. p = 1 when both are 0 or n is 0.
struct Proportions {
  double a = 0, b = 0, diff = 0, lo = 0, hi = 0, p = 1;
};
Proportions two_proportions(uint64_t k_a, uint64_t n_a, uint64_t k_b, uint64_t n_b, double alpha);

}  // namespace sockspec::reports::stats
