// A latency histogram with bounded memory: log-linear buckets (the HdrHistogram layout) over
// nanoseconds, 2048 sub-buckets per power of two, so any recorded value is known to within
// 1/1024 of itself (better than 3 significant digits) from 1 ns to 2^37 ns (137 s).
// Recording is O(1) with no allocation; two histograms merge exactly by adding counts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <utility>
#include <vector>

namespace sockspec::reports {

// Zeroed memory from calloc, with value-initialisation left to it: the untouched pages of a
// large, mostly empty histogram are then never mapped, so each costs memory only where values
// fall (a load run holds several per thread).
template <typename T>
struct ZeroedAllocator {
  using value_type = T;
  ZeroedAllocator() = default;
  template <typename U>
  ZeroedAllocator(const ZeroedAllocator<U>&) {}
  T* allocate(std::size_t n) {
    void* p = std::calloc(n, sizeof(T));
    if (!p) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t) { std::free(p); }
  template <typename U>
  void construct(U*) noexcept {}  // already zero
  template <typename U, typename... A>
  void construct(U* p, A&&... a) {
    ::new (static_cast<void*>(p)) U(std::forward<A>(a)...);
  }
  template <typename U>
  bool operator==(const ZeroedAllocator<U>&) const {
    return true;
  }
};

class Histogram {
 public:
  static constexpr int kPreciseBits = 11;  // 2048 sub-buckets: within 1/1024 of the value
  static constexpr int kCoarseBits = 7;  // 128 sub-buckets: within 1/64, 16 KiB (per-second series)
  static constexpr int kMaxBits = 37;    // highest trackable value: 2^37 - 1 ns
  static constexpr uint64_t kHighest = (uint64_t{1} << kMaxBits) - 1;

  explicit Histogram(int sub_bucket_bits = kPreciseBits);
  int sub_bucket_bits() const { return bits_; }

  void record(uint64_t value_ns, uint64_t count = 1);
  void merge(const Histogram& other);

  uint64_t count() const { return total_; }
  uint64_t min() const { return total_ ? min_ : 0; }
  uint64_t max() const { return max_; }
  double mean() const {
    return total_ ? static_cast<double>(sum_) / static_cast<double>(total_) : 0;
  }
  uint64_t clamped() const { return clamped_; }  // values above kHighest, recorded as kHighest

  // The value at or below which `percentile` percent of the recorded values fall, reported as
  // the highest value equivalent to its bucket (as HdrHistogram does). 0 when empty.
  uint64_t percentile(double percentile) const;

  // Non-empty buckets as (lowest value of the bucket, count), for serialising.
  std::vector<std::pair<uint64_t, uint64_t>> buckets() const;
  // Rebuilds from buckets(); min, max and mean come back to bucket precision.
  static Histogram from_buckets(const std::vector<std::pair<uint64_t, uint64_t>>& buckets,
                                int sub_bucket_bits = kPreciseBits);

  // Puts back the exact min, max and mean a report recorded next to the buckets.
  void restore_exact(uint64_t min, uint64_t max, double mean);

  std::size_t index_of(uint64_t value) const;
  uint64_t lowest_of(std::size_t index) const;
  uint64_t highest_of(std::size_t index) const;

 private:
  int bits_;
  std::vector<uint64_t, ZeroedAllocator<uint64_t>> counts_;
  uint64_t total_ = 0, min_ = UINT64_MAX, max_ = 0, sum_ = 0, clamped_ = 0;
};

}  // namespace sockspec::reports
