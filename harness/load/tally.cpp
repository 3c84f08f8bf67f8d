#include "load/tally.h"

#include <algorithm>

namespace sockspec::load {

namespace {
constexpr size_t kKeptErrors = 5;
}  // namespace

uint64_t ns_between(TimePoint a, TimePoint b) {
  return b > a ? static_cast<uint64_t>(
                     std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count())
               : 0;
}

void Tally::passed(TimePoint intended, TimePoint started, TimePoint from, TimePoint first,
                   TimePoint last) {
  uint64_t latency = ns_between(from, last);
  part_.latency.record(latency);
  part_.service.record(ns_between(first, last));
  part_.max_lag_ms =
      std::max(part_.max_lag_ms, static_cast<double>(ns_between(intended, started)) / 1e6);
  last_counted_ = std::max(last_counted_, last);
  ++part_.iterations;
  reports::Interval& sec = second(intended);
  ++sec.iterations;
  sec.latency.record(latency);
  progress_.done.fetch_add(1, std::memory_order_relaxed);
}

void Tally::failed(TimePoint intended, reports::ErrorSample sample) {
  ++part_.errors;
  ++second(intended).errors;
  progress_.errors.fetch_add(1, std::memory_order_relaxed);
  ++part_.errors_by_kind[sample.kind];
  if (part_.first_errors.size() < kKeptErrors) part_.first_errors.push_back(std::move(sample));
}

void Tally::handshake(TimePoint now, double ms, bool ok, bool resumed) {
  if (!counts(now)) return;
  if (!ok) {
    ++part_.tls_failed;
    return;
  }
  (resumed ? part_.tls_resumed : part_.tls_full).record(static_cast<uint64_t>(ms * 1e6));
}

void Tally::udp(const UdpCounts& before, const UdpCounts& now, TimePoint at) {
  part_.udp_sent += now.sent - before.sent;
  part_.udp_lost += now.lost - before.lost;
  part_.udp_late += now.late - before.late;
  part_.udp_duplicates += now.duplicates - before.duplicates;
  part_.udp_reordered += now.reordered - before.reordered;
  if (now.lost == before.lost && now.late == before.late && now.duplicates == before.duplicates &&
      now.reordered == before.reordered)
    return;
  reports::Interval& sec =
      second(std::clamp(at, measure_from_, end_ - std::chrono::nanoseconds(1)));
  sec.udp_lost += now.lost - before.lost;
  sec.udp_late += now.late - before.late;
  sec.udp_duplicates += now.duplicates - before.duplicates;
  sec.udp_reordered += now.reordered - before.reordered;
}

reports::Interval& Tally::second(TimePoint t) {
  auto since = t - measure_from_;
  auto idx = static_cast<size_t>(std::chrono::duration_cast<std::chrono::seconds>(since).count());
  if (progress_.live) {
    // Only a later tenth makes an offer due: late replies booked in earlier ones do not.
    int64_t tenth = std::chrono::duration_cast<std::chrono::milliseconds>(since).count() / 100;
    if (tenth > offered_tenth_) {
      offered_tenth_ = tenth;
      offer_due_ = true;
    }
  }
  auto& series = part_.series;
  if (idx >= series.size()) {
    if (!series.empty())
      progress_.p99.store(series.back().latency.percentile(99), std::memory_order_relaxed);
    for (size_t i = series.size(); i <= idx; ++i)
      series.emplace_back().start_s = static_cast<double>(i);
  }
  if (offer_due_ && progress_.live->offer(part_, changed_from_)) {
    offer_due_ = false;
    changed_from_ = LiveFeed::kNone;
  }
  changed_from_ = std::min(changed_from_, idx);
  return series[idx];
}

}  // namespace sockspec::load
