#include "reports/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace sockspec::reports {

// Layout: with B sub-bucket bits, bucket b holds values of magnitude [2^(b+B-1), 2^(b+B)) at
// a resolution of 2^b; bucket 0 also holds 0..2^B-1 exactly. Only the upper half of each
// bucket's sub-buckets is stored (the lower half is the previous bucket's range), so the
// index is (b + 1) * 2^(B-1) + sub - 2^(B-1) = (b << (B-1)) + sub.
Histogram::Histogram(int sub_bucket_bits)
    : bits_(sub_bucket_bits),
      counts_(static_cast<size_t>(kMaxBits - sub_bucket_bits + 2) << (sub_bucket_bits - 1)) {}

size_t Histogram::index_of(uint64_t v) const {
  const int half_bits = bits_ - 1;
  const uint64_t sub_mask = (uint64_t{1} << bits_) - 1;
  int bucket = 63 - std::countl_zero(v | sub_mask) - half_bits;
  uint64_t sub = v >> bucket;
  return (static_cast<size_t>(bucket) << half_bits) + static_cast<size_t>(sub);
}

uint64_t Histogram::lowest_of(size_t index) const {
  const int half_bits = bits_ - 1;
  const uint64_t half_count = uint64_t{1} << half_bits;
  int bucket = static_cast<int>(index >> half_bits) - 1;
  uint64_t sub = (index & (half_count - 1)) + half_count;
  if (bucket < 0) {
    sub -= half_count;
    bucket = 0;
  }
  return sub << bucket;
}

uint64_t Histogram::highest_of(size_t index) const {
  int bucket = std::max(0, static_cast<int>(index >> (bits_ - 1)) - 1);
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
  if (o.bits_ == bits_) {
    for (size_t i = 0; i < counts_.size(); ++i) {
      if (o.counts_[i]) counts_[i] += o.counts_[i];  // writes only where values are: see above
    }
  } else {  // another precision: re-file its buckets at ours
    for (const auto& [v, n] : o.buckets()) counts_[index_of(v)] += n;
  }
  total_ += o.total_;
  sum_ += o.sum_;
  clamped_ += o.clamped_;
  if (o.total_) {
    min_ = std::min(min_, o.min_);
    max_ = std::max(max_, o.max_);
  }
}

void Histogram::restore_exact(uint64_t min, uint64_t max, double mean) {
  if (total_ == 0) return;
  min_ = min;
  max_ = max;
  sum_ = static_cast<uint64_t>(std::llround(mean * static_cast<double>(total_)));
}

uint64_t Histogram::percentile(double p) const {
  if (total_ == 0) return 0;
  p = std::clamp(p, 0.0, 100.0);
  // The 1-based rank of the value asked for; at least the first value.
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

Histogram Histogram::from_buckets(const std::vector<std::pair<uint64_t, uint64_t>>& buckets,
                                  int sub_bucket_bits) {
  Histogram h(sub_bucket_bits);
  for (const auto& [value, n] : buckets) h.record(value, n);
  return h;
}

}  // namespace sockspec::reports
