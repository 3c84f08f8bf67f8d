// The histogram against exact percentiles of known distributions and random samples.
#include "reports/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

namespace sockspec::reports {
namespace {

// The exact percentile the way the histogram defines it: the value of rank ceil(p * n).
uint64_t exact(std::vector<uint64_t> v, double p) {
  std::sort(v.begin(), v.end());
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::max<size_t>(rank, 1) - 1];
}

// Within 1/1024 of the exact value: better than three significant digits.
void expect_close(uint64_t got, uint64_t want, const std::string& what) {
  double err = std::abs(static_cast<double>(got) - static_cast<double>(want));
  EXPECT_LE(err, static_cast<double>(want) / 1024.0 + 1.0)
      << what << ": got " << got << ", exact " << want;
}

TEST(Histogram, SmallValuesAreExact) {
  Histogram h;
  for (uint64_t v = 0; v < 2048; ++v) h.record(v);
  EXPECT_EQ(h.count(), 2048u);
  EXPECT_EQ(h.percentile(50), 1023u);
  EXPECT_EQ(h.percentile(100), 2047u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 2047u);
}

TEST(Histogram, EveryBucketBoundaryMapsBackToItself) {
  for (uint64_t v : {uint64_t{1000}, uint64_t{4095}, uint64_t{4096}, uint64_t{1'000'000},
                     uint64_t{60'000'000'000}}) {
    Histogram h;
    size_t i = h.index_of(v);
    EXPECT_LE(h.lowest_of(i), v);
    EXPECT_GE(h.highest_of(i), v);
    EXPECT_LE(h.highest_of(i) - h.lowest_of(i), v / 1024) << v;
  }
}

TEST(Histogram, UniformMicrosecondsToSecondsMatchExactPercentiles) {
  std::vector<uint64_t> values;
  Histogram h;
  for (uint64_t v = 1000; v <= 1'000'000'000; v += 997'003) {  // 1 µs .. 1 s
    values.push_back(v);
    h.record(v);
  }
  for (double p : {1.0, 25.0, 50.0, 90.0, 99.0, 99.9, 100.0})
    expect_close(h.percentile(p), exact(values, p), "p" + std::to_string(p));
}

TEST(Histogram, RandomLogNormalSamplesMatchExactPercentiles) {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(std::log(200'000.0), 1.0);  // around 200 µs
  std::vector<uint64_t> values;
  Histogram h;
  for (int i = 0; i < 200000; ++i) {
    auto v = static_cast<uint64_t>(std::min(dist(rng), 6e10));
    values.push_back(v);
    h.record(v);
  }
  for (double p : {50.0, 90.0, 99.0, 99.9, 99.99})
    expect_close(h.percentile(p), exact(values, p), "p" + std::to_string(p));
  EXPECT_EQ(h.max(), *std::max_element(values.begin(), values.end()));
}

TEST(Histogram, MergingTwoHalvesEqualsRecordingEverything) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<uint64_t> dist(1000, 60'000'000'000ull);
  Histogram a, b, all;
  for (int i = 0; i < 50000; ++i) {
    uint64_t v = dist(rng);
    (i % 2 ? a : b).record(v);
    all.record(v);
  }
  a.merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.buckets(), all.buckets());
  for (double p : {50.0, 99.0, 99.99}) EXPECT_EQ(a.percentile(p), all.percentile(p));
}

TEST(Histogram, SerialisedBucketsRebuildTheSamePercentiles) {
  Histogram h;
  for (uint64_t v = 1; v < 5'000'000; v = v * 3 + 17) h.record(v, v % 5 + 1);
  Histogram back = Histogram::from_buckets(h.buckets());
  for (double p : {10.0, 50.0, 99.0, 100.0}) EXPECT_EQ(back.percentile(p), h.percentile(p));
}

TEST(Histogram, CoarseHistogramsStayWithinOnePercent) {
  Histogram coarse(Histogram::kCoarseBits);
  std::vector<uint64_t> values;
  for (uint64_t v = 1000; v < 100'000'000; v = v * 11 / 10 + 7) {
    values.push_back(v);
    coarse.record(v);
  }
  for (double p : {50.0, 99.0}) {
    uint64_t want = exact(values, p), got = coarse.percentile(p);
    EXPECT_LE(std::abs(static_cast<double>(got) - static_cast<double>(want)),
              static_cast<double>(want) / 64.0 + 1);
  }
}

TEST(Histogram, ValuesBeyondTheRangeAreClampedAndCounted) {
  Histogram h;
  h.record(Histogram::kHighest + 5);
  EXPECT_EQ(h.clamped(), 1u);
  EXPECT_EQ(h.max(), Histogram::kHighest);
  EXPECT_EQ(Histogram().percentile(99), 0u);
}

}  // namespace
}  // namespace sockspec::reports
