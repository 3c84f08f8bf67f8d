#include "load/live_feed.h"

#include <algorithm>

#include "reports/merge.h"
#include "reports/thresholds.h"

namespace sockspec::load {

namespace {

// A LoadResult's series held aside while the rest of it is copied or replaced: the series is
// the one part that grows with the run, and is handed over by the seconds that changed.
class SeriesAside {
 public:
  explicit SeriesAside(reports::LoadResult& r) : r_(r) { held_.swap(r_.series); }
  ~SeriesAside() { r_.series.swap(held_); }
  SeriesAside(const SeriesAside&) = delete;
  SeriesAside& operator=(const SeriesAside&) = delete;
  std::vector<reports::Interval>& series() { return held_; }

 private:
  reports::LoadResult& r_;
  std::vector<reports::Interval> held_;
};

// The run's settings, which the threads' parts do not carry (the driver sets them at the end).
void copy_settings(reports::LoadResult& to, const reports::LoadResult& from) {
  to.profile = from.profile;
  to.file = from.file;
  to.executor = from.executor;
  to.transport = from.transport;
  to.duration_s = from.duration_s;
  to.warmup_s = from.warmup_s;
  to.threads = from.threads;
  to.connections = from.connections;
  to.in_flight = from.in_flight;
  to.target_rate = from.target_rate;
  to.series_origin_unix_ms = from.series_origin_unix_ms;
}

}  // namespace

bool LiveFeed::offer(reports::LoadResult& part, size_t changed_from) {
  std::unique_lock lock(mutex_, std::try_to_lock);
  if (!lock.owns_lock()) return false;
  from_ = fresh_ ? std::min(from_, changed_from) : changed_from;
  SeriesAside aside(part);
  totals_ = part;  // copy-assignment: the histograms' buffers are reused, nothing allocated
  const auto& series = aside.series();
  if (from_ != kNone && from_ < series.size()) {
    seconds_.assign(series.begin() + static_cast<std::ptrdiff_t>(from_), series.end());
  } else {
    seconds_.clear();
  }
  fresh_ = true;
  return true;
}

size_t LiveFeed::take(reports::LoadResult& totals, std::vector<reports::Interval>& series) {
  std::lock_guard lock(mutex_);
  if (!fresh_) return kNone;
  fresh_ = false;
  {
    SeriesAside aside(totals);
    std::swap(totals, totals_);
  }
  if (seconds_.empty()) return kNone;  // only totals changed (from_ may be kNone)
  if (series.size() < from_ + seconds_.size()) series.resize(from_ + seconds_.size());
  for (size_t i = 0; i < seconds_.size(); ++i) std::swap(series[from_ + i], seconds_[i]);
  return from_;
}

LiveBoard::LiveBoard(size_t threads) : feeds_(new LiveFeed[threads]), views_(threads) {}

const reports::LoadResult& LiveBoard::collect(const reports::LoadResult& shape,
                                              const std::vector<reports::Threshold>& thresholds,
                                              double measured_s) {
  size_t from = LiveFeed::kNone;
  size_t seconds = 0;
  for (size_t i = 0; i < views_.size(); ++i) {
    from = std::min(from, feeds_[i].take(views_[i].totals, views_[i].series));
    seconds = std::max(seconds, views_[i].series.size());
  }
  SeriesAside aside(merged_);
  merged_ = reports::LoadResult();
  for (const auto& v : views_) reports::merge_load(merged_, v.totals);  // series empty: cheap
  copy_settings(merged_, shape);
  merged_.duration_s = measured_s;
  merged_.achieved_rate = measured_s > 0 ? static_cast<double>(merged_.iterations) / measured_s : 0;
  merged_.rate_kept = merged_.missed_starts == 0;
  for (const auto& t : thresholds) merged_.thresholds.push_back(reports::evaluate(t, merged_));
  // Only the seconds that changed are summed again.
  auto& series = aside.series();
  if (series.size() < seconds) series.resize(seconds);
  for (size_t s = from; s < seconds; ++s) {
    reports::Interval& m = series[s];
    m = reports::Interval{};
    m.start_s = static_cast<double>(s);
    for (const auto& v : views_) {
      if (s < v.series.size()) reports::add_interval(m, v.series[s]);
    }
    m.p50_ns = m.latency.percentile(50);
    m.p99_ns = m.latency.percentile(99);
  }
  return merged_;
}

}  // namespace sockspec::load
