#include "reports/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace sockspec::reports {

namespace {
constexpr int kHalfBits = Histogram::kSubBucketBits - 1;  // 1024 per half
constexpr uint64_t kHalfCount = uint64_t{1} << kHalfBits;
constexpr uint64_t kSubMask = (uint64_t{1} << Histogram::kSubBucketBits) - 1;
constexpr size_t kBucketCount = Histogram::kMaxBits - Histogram::kSubBucketBits + 1;
constexpr size_t kCountsLen = (kBucketCount + 1) * kHalfCount;
}  // namespace

Histogram::Histogram() : counts_(kCountsLen, 0) {}

// Bucket b holds values of magnitude [2^(b+10), 2^(b+11)) at a resolution of 2^b; bucket 0
// also holds 0..2047 exactly. Only the upper half of each bucket's sub-buckets is stored
// (the lower half is the previous bucket's range), hence (b + 1) * 1024 + sub - 1024.
size_t Histogram::index_of(uint64_t v) {
  int bucket = 63 - std::countl_zero(v | kSubMask) - kHalfBits;
  uint64_t sub = v >> bucket;
  return (static_cast<size_t>(bucket) << kHalfBits) + static_cast<size_t>(sub);
}

uint64_t Histogram::lowest_of(size_t index) {
  int bucket = static_cast<int>(index >> kHalfBits) - 1;
  uint64_t sub = (index & (kHalfCount - 1)) + kHalfCount;
  if (bucket < 0) {
    sub -= kHalfCount;
    bucket = 0;
  }
  return sub << bucket;
}

uint64_t Histogram::highest_of(size_t index) {
  int bucket = std::max(0, static_cast<int>(index >> kHalfBits) - 1);
  return lowest_of(index) + (uint64_t{1} << bucket) - 1;
}

void Histogram::record(uint64_t v, uint64_t n) {
  if (n == 0) return;
  if (v > kHighest) {
    clamped_ += n;
    v = kHighest;
  }
  counts_[index_of(v)] += n;
  total_ += n;
  sum_ += v * n;
  min_ = std::min(min_, v);
  max_ = std::max(max_, v);
}

void Histogram::merge(const Histogram& o) {
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += o.counts_[i];
  total_ += o.total_;
  sum_ += o.sum_;
  clamped_ += o.clamped_;
  if (o.total_) {
    min_ = std::min(min_, o.min_);
    max_ = std::max(max_, o.max_);
  }
}

uint64_t Histogram::percentile(double p) const {
  if (total_ == 0) return 0;
  p = std::clamp(p, 0.0, 100.0);
  // The rank of the value asked for, 1-based; at least the first value.
  auto rank = static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(total_)));
  rank = std::max<uint64_t>(rank, 1);
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return highest_of(i);
  }
  return max_;
}

std::vector<std::pair<uint64_t, uint64_t>> Histogram::buckets() const {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i]) out.emplace_back(lowest_of(i), counts_[i]);
  }
  return out;
}

Histogram Histogram::from_buckets(const std::vector<std::pair<uint64_t, uint64_t>>& buckets) {
  Histogram h;
  for (const auto& [value, n] : buckets) h.record(value, n);
  return h;
}

}  // namespace sockspec::reports
